/**
 * One series of bench/tier_bus.ts, in a process of its own (one build per process: see
 * `_events_child.ts`): one cache with the in-process tier on the bench services, its store over
 * TCP (`redis`) or the Upstash bridge (`upstash`), the bus on, off, or not an option at all (the
 * build before the bus). It primes the 1 KB rows, checks that hits come from the tier, and then,
 * per `{ samples }` message, times that many batches of tier hits. With the bus on, what it does
 * meanwhile is in the samples: a subscription's messages (none arrive here), or the reads of the
 * log every 100 ms that hits start on Upstash.
 *
 * Started by tier_bus.ts with `LARDER_BENCH_CHILD` = JSON of {@link BusChildSpec}.
 *
 * @module
 */
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { makeRows } from "./_data.ts";

/** What one child measures. */
export interface BusChildSpec {
  /** The directory whose mod.ts and src/ to load. */
  readonly dir: string;
  /** The store: Redis over TCP (push) or the Upstash bridge (poll). */
  readonly store: "redis" | "upstash";
  /** The services. */
  readonly redisUrl: string;
  readonly upstash: { readonly url: string; readonly token: string };
  /** This cache's prefix. */
  readonly prefix: string;
  /** `memory.bus` (undefined: the option is not given, as the build before the bus has none). */
  readonly bus: boolean | undefined;
  /** JSON size of the rows. */
  readonly jsonBytes: number;
  /** Calls per sample. */
  readonly batch: number;
}

const spec = JSON.parse(process.env.LARDER_BENCH_CHILD ?? "null") as BusChildSpec;
const mod = await import(pathToFileURL(path.join(spec.dir, "mod.ts")).href);
const store = spec.store === "redis"
  ? (await import(pathToFileURL(path.join(spec.dir, "src/stores/redis.ts")).href)).redisStore({ url: spec.redisUrl })
  : (await import(pathToFileURL(path.join(spec.dir, "src/stores/upstash.ts")).href)).upstashStore(spec.upstash);
const cache = mod.createCache({
  store,
  prefix: spec.prefix,
  globalStats: false,
  memory: { ttl: "1h", ...(spec.bus === undefined ? {} : { bus: spec.bus }) },
});
const rows = makeRows(spec.jsonBytes);
const wrapped = cache.wrap(async (_i: number) => rows, { name: "rows" });
await wrapped(0);
await cache.flush();
for (let i = 0; i < 5 && cache.stats().hits.memory === 0; i++) await wrapped(0);
const hit = await wrapped(0);
if (!Array.isArray(hit) || hit.length !== rows.length) throw new Error(`${spec.prefix}: the hit is not the rows`);
if (cache.stats().hits.memory === 0) throw new Error(`${spec.prefix}: no hit from the tier`);

process.on("message", async (message: { samples: number } | "stop") => {
  if (message === "stop") {
    process.send!({ heard: cache.stats().bus?.polls ?? 0 }, () => process.exit(0));
    return;
  }
  const times: number[] = [];
  for (let s = 0; s < message.samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < spec.batch; i++) await wrapped(0);
    times.push(performance.now() - t0);
  }
  process.send!({ times });
});
process.on("disconnect", () => process.exit(0));
process.send!({ ready: true });
