/**
 * The response-cache part of the workerd suite's Worker:
 *
 * - `GET /http-scenarios` and `GET /http-scenario?name=…`: the shared HTTP scenarios
 *   (test/runtime/_http_scenarios.ts), run inside workerd with Hono's `app.request()`;
 * - `/app/*`: a real Hono app served as this Worker's fetch, with `cacheResponses` on a cache that
 *   has no `waitUntil` of its own (only `c.executionCtx.waitUntil` keeps its writes alive);
 * - `/plain/*`: a plain fetch handler wrapped with `cacheHandler`, likewise (the handler's `ctx`).
 *
 * The app and the handler read their cache prefix from `?prefix=`, so each test has its own entries.
 */
import { Hono } from "hono";
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { cacheHandler } from "larder/http";
import { cacheResponses } from "larder/hono";
import { httpScenarios, largeBody } from "../../../_http_scenarios.ts";
import { servicesFromEnv } from "../../../_scenarios.ts";

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

type Env = Record<string, string>;
const lib = { createCache, upstashStore, s3BlobStore, cacheHandler, cacheResponses, Hono };
const json = (body: unknown, status = 200): Response => Response.json(body, { status });

/** One cache per prefix (per isolate), with no waitUntil of its own; gzip when the prefix says so. */
const caches = new Map<string, ReturnType<typeof createCache>>();
function cacheFor(env: Env, prefix: string): ReturnType<typeof createCache> {
  let cache = caches.get(prefix);
  if (!cache) {
    const services = servicesFromEnv(env);
    cache = createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix,
      waitUntil: undefined,
      compression: prefix.includes("gzip") ? "gzip" : "zstd",
    });
    caches.set(prefix, cache);
  }
  return cache;
}

let runs = 0;
const app = new Hono<{ Bindings: Env }>();
app.use("/app/*", async (c, next) => {
  const prefix = c.req.query("prefix") ?? "workerd-http-default";
  await cacheResponses(cacheFor(c.env, prefix), { ttl: "5m", query: [] })(c, next);
});
app.get("/app/report/:id", (c) => {
  runs++;
  c.header("x-runs", String(runs));
  return c.json({ id: c.req.param("id"), rows: Array.from({ length: 200 }, (_, i) => ({ i, label: `row ${i}` })) });
});
app.get("/app/big", (c) => {
  runs++;
  return c.body(largeBody(1024 * 1024) as Uint8Array<ArrayBuffer>, 200, { "content-type": "text/csv" });
});

const plainRoutes = async (request: Request, env: Env, ctx: ExecutionContext): Promise<Response> => {
  const prefix = new URL(request.url).searchParams.get("prefix") ?? "workerd-plain-default";
  return await cacheHandler(cacheFor(env, prefix), (_request: Request, _env: Env, _ctx: ExecutionContext) => {
    runs++;
    return new Response(`plain #${runs}`, { headers: { "x-runs": String(runs) } });
  }, { query: [] })(request, env, ctx);
};

/** Answers the response-cache routes; undefined for other paths. */
export async function handleHttp(request: Request, env: Env, ctx: ExecutionContext): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (url.pathname === "/http-scenarios") return json(httpScenarios.map((s) => s.name));
  if (url.pathname === "/http-scenario") {
    const name = url.searchParams.get("name");
    const found = httpScenarios.find((s) => s.name === name);
    if (!found) return json({ error: `no scenario ${name}` }, 404);
    await found.run({ lib, services: servicesFromEnv(env), runtime: "workerd" });
    return json({ ok: true });
  }
  // Hono's ExecutionContext type asks for more than the middleware uses (waitUntil).
  if (url.pathname.startsWith("/app/")) return await app.fetch(request, env, ctx as never);
  if (url.pathname.startsWith("/plain/")) return await plainRoutes(request, env, ctx);
  return undefined;
}
