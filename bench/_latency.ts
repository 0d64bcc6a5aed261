/**
 * Simulated network distance: per-prefix latency rules on the Upstash bridge (matched against
 * command arguments, so every request naming a key under the prefix waits) and on the S3 proxy
 * (matched against the object path). Each request pays the delay once, like a round trip would.
 *
 * @module
 */
import { addFaults, removeFaults } from "../test/helpers/services.ts";
import type { ServicesEnv } from "../scripts/services/index.ts";

/** Added latency per request, ms. */
export interface Latency {
  readonly name: string;
  readonly storeMs: number;
  readonly s3Ms: number;
}

/** The scenarios: loopback as is, a nearby region, a distant one. */
export const SCENARIOS: readonly Latency[] = [
  { name: "loopback", storeMs: 0, s3Ms: 0 },
  { name: "store +2 ms / S3 +20 ms", storeMs: 2, s3Ms: 20 },
  { name: "store +20 ms / S3 +40 ms", storeMs: 20, s3Ms: 40 },
];

/** Adds `latency` for the caches under `prefixes`; resolves to a function that removes it. */
export async function applyLatency(
  env: ServicesEnv,
  latency: Latency,
  prefixes: readonly string[],
): Promise<() => Promise<void>> {
  const store = env.LARDER_TEST_UPSTASH_URL;
  const token = env.LARDER_TEST_UPSTASH_TOKEN;
  const s3 = env.LARDER_TEST_S3_ENDPOINT;
  // Every store key of a cache starts with `<prefix>:`, every object path with `/<bucket>/<prefix>/`
  // (src/core/record/key_layout.ts).
  const storeMatches = prefixes.map((prefix) => `${prefix}:`);
  const s3Matches = prefixes.map((prefix) => `/${prefix}/`);
  if (latency.storeMs > 0) {
    await addFaults(store, storeMatches.map((match) => ({ match, latencyMs: latency.storeMs })), token);
  }
  if (latency.s3Ms > 0) await addFaults(s3, s3Matches.map((match) => ({ match, latencyMs: latency.s3Ms })));
  return async () => {
    for (const match of storeMatches) await removeFaults(store, match, token);
    for (const match of s3Matches) await removeFaults(s3, match);
  };
}
