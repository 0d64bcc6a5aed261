// Larder on Node 20+, installed from npm: a slow query cached in Upstash Redis (and S3 for large
// results). The second call is served from the cache.
//
//   npm install larder
//   UPSTASH_REDIS_REST_URL=… UPSTASH_REDIS_REST_TOKEN=… S3_ENDPOINT=… S3_REGION=… S3_BUCKET=… \
//   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… node main.js
import process from "node:process";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};

const cache = createCache({
  store: upstashStore({ url: env("UPSTASH_REDIS_REST_URL"), token: env("UPSTASH_REDIS_REST_TOKEN") }),
  blobs: s3BlobStore({
    endpoint: env("S3_ENDPOINT"),
    region: process.env.S3_REGION ?? "us-east-1",
    bucket: env("S3_BUCKET"),
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  }),
  prefix: process.env.CACHE_PREFIX ?? "example-node",
  ttl: "1h",
});

let runs = 0;
/** Stands in for a slow query whose result is large enough to go to S3 (about 1 MB). */
async function monthlyEvents(month) {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return Array.from(
    { length: 20_000 },
    (_, i) => ({ id: `${month}-${i}`, at: new Date(Date.UTC(2024, 0, 1 + (i % 28))), score: Math.sin(i) }),
  );
}
const cachedMonthlyEvents = cache.wrap(monthlyEvents, { namespace: "events", ttl: "15m" });

let started = performance.now();
const first = await cachedMonthlyEvents("2024-01");
console.log(`first call:  ${(performance.now() - started).toFixed(1)} ms (runs: ${runs})`);
await cache.flush(); // the write runs in the background; a server would not wait for it

started = performance.now();
const second = await cachedMonthlyEvents("2024-01");
console.log(`second call: ${(performance.now() - started).toFixed(1)} ms (runs: ${runs})`);

const stats = cache.stats();
if (runs !== 1 || stats.misses !== 1 || stats.hits.blob !== 1) {
  throw new Error(
    `expected a miss then a hit from S3, got runs=${runs} ${JSON.stringify(stats.hits)} misses=${stats.misses}`,
  );
}
if (second.length !== first.length || !(second[5].at instanceof Date) || second[5].score !== first[5].score) {
  throw new Error("the hit returned a different value");
}
console.log("node example: miss then hit (from S3) ✓");
