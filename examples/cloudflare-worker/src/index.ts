/**
 * Larder on Cloudflare Workers: `GET /forecast?city=paris` calls a slow upstream once; later
 * requests, on any isolate in any location sharing the same Redis, are served from the cache.
 *
 * `larder/workers` brings the compiled zstd module and registers background writes with
 * `waitUntil` from `cloudflare:workers`, so the response never waits for the cache write.
 */
import { env } from "cloudflare:workers";
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";

interface Env {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION?: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  CACHE_PREFIX?: string;
}
const config = env as unknown as Env;

// Created once per isolate and shared by its requests (creating it does no I/O).
const cache = createCache({
  store: upstashStore({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN }),
  blobs: s3BlobStore({
    endpoint: config.S3_ENDPOINT,
    ...(config.S3_REGION ? { region: config.S3_REGION } : {}),
    bucket: config.S3_BUCKET,
    accessKeyId: config.AWS_ACCESS_KEY_ID,
    secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
  }),
  prefix: config.CACHE_PREFIX ?? "example-worker",
  ttl: "1h",
});

let runs = 0;
/** Stands in for a slow upstream API. */
async function forecast(city: string) {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { city, issued: new Date(Date.UTC(2024, 5, 1)), hourly: Array.from({ length: 48 }, (_, h) => 12 + (h % 9)) };
}
const cachedForecast = cache.wrap(forecast, { namespace: "weather", ttl: "10m" });

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/forecast") return new Response("not found", { status: 404 });
    const result = await cachedForecast(url.searchParams.get("city") ?? "paris");
    const stats = cache.stats();
    // `runs` and the counters are per isolate: they show, in this example, what the cache did.
    return Response.json({ forecast: result, runs, hits: stats.hits.total, misses: stats.misses });
  },
};
