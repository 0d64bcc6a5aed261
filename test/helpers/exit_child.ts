/**
 * A short script as users write them, for the exit suite (test/integration/exit.test.ts): it
 * creates a cache on the local services, calls a wrapped function once, and then either exits at
 * once with `process.exit()` (`mode: "exit"`: its background write is still pending), or
 * awaits `cache.flush()` first (`mode: "flush"`). It prints one JSON line on stdout: how long its
 * call took and its cache's lease counters, so the suite can measure what the previous run's
 * orphaned lease cost this one.
 *
 * Its one argument is a JSON {@link ExitChildConfig}; the `LARDER_TEST_*` environment names the services.
 *
 * @module
 */
import process from "node:process";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { requireServices } from "./services.ts";

/** What the suite tells the script. */
export interface ExitChildConfig {
  /** The cache's prefix, the same for every run of one test. */
  readonly prefix: string;
  /** `exit`: `process.exit(0)` right after the call; `flush`: `await cache.flush()` first. */
  readonly mode: "exit" | "flush";
  /** The cache's `lease` option, when not the default. */
  readonly lease?: { readonly ttl: number; readonly wait: number };
}

/** The line the script prints. */
export interface ExitChildReport {
  /** The call's duration, ms. */
  readonly callMs: number;
  /** Its cache's lease counters after the call. */
  readonly leases: { acquired: number; waited: number; givenUp: number; takenOver?: number };
  /** Background writes pending when it exits. */
  readonly pending: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as ExitChildConfig;
const services = requireServices();
const cache = createCache({
  store: upstashStore(services.upstash),
  blobs: s3BlobStore(services.s3),
  prefix: config.prefix,
  ...(config.lease ? { lease: config.lease } : {}),
});
const report = cache.wrap(async (month: string) => ({ month, rows: [1, 2, 3] }), { name: "report" });
const started = performance.now();
await report("2024-01");
const callMs = performance.now() - started;
if (config.mode === "flush") await cache.flush();
const stats = cache.stats();
const line: ExitChildReport = { callMs, leases: stats.leases, pending: stats.writes.pending };
process.stdout.write(`${JSON.stringify(line)}\n`);
process.exit(0);
