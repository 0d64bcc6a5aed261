/**
 * Larder on Cloudflare Workers: `GET /forecast?city=paris` calls a slow upstream once; later
 * requests, on any isolate in any location sharing the same Redis, are served from the cache.
 * The forecast (an ensemble: 50 runs × 16 days of hourly temperatures, over 100 KB) is too large
 * for a Redis record, so its payload goes to R2, through the Worker's bucket binding: no
 * credentials, no signing.
 *
 * `larder/workers` brings the compiled zstd module and registers background writes with
 * `waitUntil` from `cloudflare:workers`, so the response never waits for the cache write.
 */
import { env } from "cloudflare:workers";
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { r2BlobStore, type R2BucketBinding } from "larder/blobs/r2";
import { s3BlobStore } from "larder/blobs/s3";

interface Env {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  /** The R2 bucket binding ([[r2_buckets]] in wrangler.toml). */
  CACHE_BUCKET?: R2BucketBinding;
  // The alternative, without a binding: any S3-compatible store (R2's S3 API, AWS S3, MinIO…).
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  CACHE_PREFIX?: string;
}
const config = env as unknown as Env;

// Created once per isolate and shared by its requests (creating it does no I/O).
const cache = createCache({
  store: upstashStore({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN }),
  blobs: config.CACHE_BUCKET ? r2BlobStore(config.CACHE_BUCKET) : s3BlobStore({
    endpoint: config.S3_ENDPOINT!,
    ...(config.S3_REGION ? { region: config.S3_REGION } : {}),
    bucket: config.S3_BUCKET!,
    accessKeyId: config.AWS_ACCESS_KEY_ID!,
    secretAccessKey: config.AWS_SECRET_ACCESS_KEY!,
  }),
  prefix: config.CACHE_PREFIX ?? "example-worker",
  ttl: "1h",
});

let runs = 0;
/** Stands in for a slow upstream API. */
async function forecast(city: string) {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const members = Array.from({ length: 50 }, (_, run) =>
    Array.from({ length: 16 * 24 }, (_, hour) => {
      const daily = 6 * Math.sin(((hour % 24) - 9) / 24 * 2 * Math.PI);
      const spread = Math.sin(run * 12.9898 + hour * 78.233) * 43758.5453 % 1;
      return Math.round((14 + daily + spread * (1 + hour / 48)) * 100) / 100;
    }));
  return { city, issued: new Date(Date.UTC(2024, 5, 1)), unit: "°C", members };
}
const cachedForecast = cache.wrap(forecast, { namespace: "weather", ttl: "10m" });

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/forecast") return new Response("not found", { status: 404 });
    const result = await cachedForecast(url.searchParams.get("city") ?? "paris");
    const stats = cache.stats();
    // `runs` and the counters are per isolate: they show, in this example, what the cache did.
    return Response.json({
      city: result.city,
      members: result.members.length,
      runs,
      hits: stats.hits.total,
      blobHits: stats.hits.blob,
      misses: stats.misses,
      blobs: config.CACHE_BUCKET ? "r2" : "s3",
    });
  },
};
