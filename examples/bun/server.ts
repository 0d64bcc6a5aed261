/**
 * Larder in a Bun server, installed from npm (`bun add larder`): `GET /top?region=emea` runs a
 * slow query once; later requests, from this process or any other sharing the same Redis, are
 * served from the cache. The response says how many times the query ran in this process.
 *
 *   UPSTASH_REDIS_REST_URL=… UPSTASH_REDIS_REST_TOKEN=… S3_ENDPOINT=… S3_REGION=… S3_BUCKET=… \
 *   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… bun run server.ts
 */
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";

const env = (name: string): string => {
  const value = Bun.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};

// A long-lived server needs no waitUntil: background writes finish in this process.
const cache = createCache({
  store: upstashStore({ url: env("UPSTASH_REDIS_REST_URL"), token: env("UPSTASH_REDIS_REST_TOKEN") }),
  blobs: s3BlobStore({
    endpoint: env("S3_ENDPOINT"),
    region: Bun.env.S3_REGION ?? "us-east-1",
    bucket: env("S3_BUCKET"),
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  }),
  prefix: Bun.env.CACHE_PREFIX ?? "example-bun",
  ttl: "1h",
});

let runs = 0;
/** Stands in for a slow analytical query; its result (about 1 MB) is compressed and goes to S3. */
async function topCustomers(region: string) {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const customers = Array.from(
    { length: 20_000 },
    (_, i) => ({ id: i, revenue: Math.round(12_500 * (1 + Math.sin(i))) }),
  );
  return { region, since: new Date(Date.UTC(2020, 0, 1)), customers };
}
const cachedTopCustomers = cache.wrap(topCustomers, { namespace: "reports", ttl: "15m" });

const server = Bun.serve({
  port: Number(Bun.env.PORT ?? 3000),
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/top") return new Response("not found", { status: 404 });
    const report = await cachedTopCustomers(url.searchParams.get("region") ?? "emea");
    const stats = cache.stats();
    return Response.json({
      region: report.region,
      customers: report.customers.length,
      runs,
      hits: stats.hits.total,
      blobHits: stats.hits.blob,
      misses: stats.misses,
    });
  },
});
console.log(`listening on ${server.url}`);
