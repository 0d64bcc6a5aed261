/**
 * One series of bench/events.ts, in a process of its own: it loads one build of the library (this
 * checkout's, or the one before events extracted into the temp directory), makes one cache on the
 * bench services with the 1 KB rows wrapped, primes the entry, and then, per `{ samples }` message,
 * times that many hits and sends the times back. One build per process: two builds in one process
 * share its heap and JIT, so a series would pay for another's garbage (the one listening makes
 * some) and compete for its optimisations; apart, each series pays only for itself.
 *
 * Started by events.ts with `LARDER_BENCH_CHILD` = JSON of {@link ChildSpec}.
 *
 * @module
 */
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { makeRows } from "./_data.ts";

/** What one child measures. */
export interface ChildSpec {
  /** The directory whose mod.ts and src/ to load. */
  readonly dir: string;
  /** The services' Upstash bridge. */
  readonly upstash: { readonly url: string; readonly token: string };
  /** This cache's prefix. */
  readonly prefix: string;
  /** Hits from the store (`inline`) or from the in-process tier (`memory`). */
  readonly tier: "inline" | "memory";
  /** Subscribe one listener to every event. */
  readonly listen: boolean;
  /** JSON size of the rows. */
  readonly jsonBytes: number;
  /** Calls per sample. */
  readonly batch: number;
}

const spec = JSON.parse(process.env.LARDER_BENCH_CHILD ?? "null") as ChildSpec;
const mod = await import(pathToFileURL(path.join(spec.dir, "mod.ts")).href);
const stores = await import(pathToFileURL(path.join(spec.dir, "src/stores/upstash.ts")).href);
const cache = mod.createCache({
  store: stores.upstashStore(spec.upstash),
  prefix: spec.prefix,
  globalStats: false,
  ...(spec.tier === "memory" ? { memory: { ttl: "1h" } } : {}),
});
let heard = 0;
if (spec.listen) cache.on("*", () => void heard++);
const rows = makeRows(spec.jsonBytes);
const wrapped = cache.wrap(async (_i: number) => rows, { name: "rows" });
await wrapped(0);
await cache.flush();
const hit = await wrapped(0);
if (!Array.isArray(hit) || hit.length !== rows.length) throw new Error(`${spec.prefix}: the hit is not the rows`);
if (cache.stats().hits[spec.tier] !== 1) throw new Error(`${spec.prefix}: the hit is not from the ${spec.tier} tier`);

process.on("message", async (message: { samples: number } | "stop") => {
  if (message === "stop") {
    process.send!({ heard }, () => process.exit(0));
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
