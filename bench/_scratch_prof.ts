import process from "node:process";
import { createCache } from "../mod.ts";
import { upstashStore } from "../src/stores/upstash.ts";
import { makeRows } from "./_data.ts";
import { baseOptions, entryKeys } from "./_fixtures.ts";
import { startBenchServices } from "./_services.ts";
import type { StoreOp } from "../src/core/types.ts";

const which = process.argv[2] ?? "hit";
const services = await startBenchServices();
try {
  const env = services.env;
  const prefix = `scratch-${Date.now().toString(36)}`;
  const rows = makeRows(1024);
  const store = upstashStore({ url: env.LARDER_TEST_UPSTASH_URL, token: env.LARDER_TEST_UPSTASH_TOKEN });
  const cache = createCache({ ...baseOptions(env, prefix), store });
  const w = cache.wrap(async (_l: string, _i: number) => rows, { name: "rows" });
  await w("1 KB", 0);
  await cache.flush();
  const record = (await entryKeys(prefix, "1 KB")).record;
  const gens = [`${prefix}:v:all`, `${prefix}:v:ns:default`];
  const readLease: StoreOp = { type: "read", key: record, gens, token: "t", lease: { key: record + "l", token: "x", ttlMs: 15000 } };
  const run = which === "hit" ? () => w("1 KB", 0) : () => store.run([readLease], { signal: new AbortController().signal });
  for (let i = 0; i < 500; i++) await run();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = 6000;
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(c0);
  console.log(which, ((performance.now() - t0) * 1000 / n).toFixed(0), "µs wall", ((used.user + used.system) / n).toFixed(0), "µs cpu");
} finally {
  await services.stop();
}
