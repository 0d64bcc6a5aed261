/**
 * The README's demo: a slow "query" wrapped with Larder on the embedded default (in-process
 * store and blobs, no servers). Prints miss vs hit timings and the cache's stats.
 *
 *   npm install && npm run demo
 */
import { createCache } from "larder";

const cache = createCache({ prefix: "demo", ttl: "1h" });

/** Stands in for a slow analytical query: 400 ms, then a few thousand rows. */
async function topCustomers(region: string, year: number) {
  await new Promise((resolve) => setTimeout(resolve, 400));
  return Array.from({ length: 5_000 }, (_, i) => ({
    id: i,
    name: `${region}-customer-${i}`,
    revenue: Math.round((year - 2000) * 1_000 + i * 13.37),
    since: new Date(Date.UTC(year, i % 12, 1 + (i % 28))),
  }));
}

const report = cache.wrap(topCustomers, { namespace: "reports", ttl: "15m" });

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${label.padEnd(28)} ${(performance.now() - started).toFixed(2).padStart(9)} ms`);
  return result;
}

const first = await timed("miss (runs the query)", () => report("emea", 2024));
await cache.flush(); // the write runs in the background; wait for it so the next call hits
const second = await timed("first hit (cold JIT)", () => report("emea", 2024));
const samples: number[] = [];
for (let i = 0; i < 20; i++) {
  const started = performance.now();
  await report("emea", 2024);
  samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);
console.log(`${"hit, median of 20".padEnd(28)} ${samples[10]!.toFixed(2).padStart(9)} ms`);
await timed("miss (other arguments)", () => report("apac", 2024));
await cache.flush();

if (JSON.stringify(first) !== JSON.stringify(second) || !(second[0]?.since instanceof Date)) {
  throw new Error("demo: the hit did not return what the miss computed");
}
const stats = cache.stats();
console.log(`\n${first.length} rows; Dates come back as Dates: ${second[0]?.since instanceof Date}`);
console.log(
  `stats: ${stats.hits.total} hits (${stats.hits.inline} inline, ${stats.hits.blob} blob), ${stats.misses} misses, ` +
    `hit rate ${(stats.hitRate * 100).toFixed(0)} %, ${stats.writes.ok} writes, ${stats.errors.total} errors`,
);
console.log(`hit latency p50 ${stats.latency.hit.p50} ms, miss lookup p50 ${stats.latency.miss.p50} ms`);
