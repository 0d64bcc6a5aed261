/**
 * Larder's response cache in a Hono app on Cloudflare Workers: `GET /report/:id` runs a slow
 * query once; later requests, on any isolate in any location sharing the same Redis and bucket,
 * get the stored response (same status, headers and bytes) with `Cache-Status: Larder; hit`.
 * `POST /report/:id/refresh` invalidates it.
 *
 * The cache writes in the background through the request's `c.executionCtx.waitUntil` (and
 * `larder/workers`' default), so a miss is never slowed down by the write.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { cacheResponses, responseKey } from "larder/hono";

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
  store: upstashStore({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
  }),
  blobs: s3BlobStore({
    endpoint: config.S3_ENDPOINT,
    ...(config.S3_REGION ? { region: config.S3_REGION } : {}),
    bucket: config.S3_BUCKET,
    accessKeyId: config.AWS_ACCESS_KEY_ID,
    secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
  }),
  prefix: config.CACHE_PREFIX ?? "example-hono-worker",
  // Workers receive `Accept-Encoding: br, gzip`: gzip payloads can be sent to clients as stored.
  compression: "gzip",
});

let runs = 0;
const app = new Hono();

app.get("/report/:id", cacheResponses(cache, { ttl: "5m" }), async (c) => {
  runs++;
  await new Promise((resolve) => setTimeout(resolve, 300)); // stands in for a slow query
  // Large enough (about 300 KB of JSON, 100 KB gzipped) to be compressed and go to S3.
  const rows = Array.from(
    { length: 5_000 },
    (_, i) => ({ day: i, visits: (i * 7919) % 1000, share: Math.sin(i) }),
  );
  return c.json({
    report: c.req.param("id"),
    generatedAt: new Date().toISOString(),
    rows,
  });
});

app.post("/report/:id/refresh", async (c) => {
  const url = new URL(`/report/${c.req.param("id")}`, c.req.url);
  return c.json({ deleted: await cache.delete(responseKey(url)) });
});

// Per isolate: how often the report ran here, and what the cache did (not cached itself).
app.get(
  "/stats",
  (c) => c.json({ runs, ...cache.stats().hits, misses: cache.stats().misses }),
);

// Readiness: where the store and the bucket stand after this isolate's calls (no request of its own).
// A cache fails open, so the app works whatever this says: use it for readiness and alerts.
app.get("/health", (c) => {
  const health = cache.health();
  return c.json(health, health.ok ? 200 : 503);
});

export default app;
