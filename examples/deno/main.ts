/**
 * Larder on Deno, imported from JSR (`deno add jsr:@larder/larder`): a slow query cached in Upstash Redis (and S3
 * for large results). The second call is served from the cache.
 *
 *   UPSTASH_REDIS_REST_URL=… UPSTASH_REDIS_REST_TOKEN=… S3_ENDPOINT=… S3_REGION=… S3_BUCKET=… \
 *   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… deno run --allow-env --allow-net main.ts
 */
import { createCache } from "@larder/larder";
import { upstashStore } from "@larder/larder/stores/upstash";
import { s3BlobStore } from "@larder/larder/blobs/s3";

const env = (name: string): string => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`set ${name}`);
  return value;
};

const cache = createCache({
  store: upstashStore({ url: env("UPSTASH_REDIS_REST_URL"), token: env("UPSTASH_REDIS_REST_TOKEN") }),
  blobs: s3BlobStore({
    endpoint: env("S3_ENDPOINT"),
    region: Deno.env.get("S3_REGION") ?? "us-east-1",
    bucket: env("S3_BUCKET"),
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  }),
  prefix: Deno.env.get("CACHE_PREFIX") ?? "example-deno",
  ttl: "1h",
});

let runs = 0;
/** Stands in for a slow analytical query; its result (about 1 MB) is compressed and goes to S3. */
async function topProducts(region: string, year: number) {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    region,
    year,
    at: new Date(Date.UTC(year, 0, 1)),
    products: Array.from({ length: 20_000 }, (_, i) => ({ sku: `A-${i}`, units: BigInt(i * 7), score: Math.sin(i) })),
  };
}
const cachedTopProducts = cache.wrap(topProducts, { namespace: "reports", ttl: "15m" });

let started = performance.now();
const first = await cachedTopProducts("emea", 2024);
console.log(`first call:  ${(performance.now() - started).toFixed(1)} ms (runs: ${runs})`);
if (runs !== 1 || cache.stats().misses !== 1 || cache.stats().hits.total !== 0) {
  throw new Error("the first call was not a miss");
}
await cache.flush(); // the write runs in the background; a server would not wait for it

started = performance.now();
const second = await cachedTopProducts("emea", 2024);
console.log(`second call: ${(performance.now() - started).toFixed(1)} ms (runs: ${runs})`);

const stats = cache.stats();
if (runs !== 1 || stats.misses !== 1 || stats.hits.blob !== 1 || !(second.at instanceof Date)) {
  throw new Error(
    `expected a miss then a hit from S3, got runs=${runs} ${JSON.stringify(stats.hits)} misses=${stats.misses}`,
  );
}
if (second.products[7]?.units !== first.products[7]?.units || second.products.length !== first.products.length) {
  throw new Error("the hit returned a different value");
}
console.log("deno example: miss then hit (from S3) ✓");
