/**
 * A Hono middleware that caches whole responses (status, headers and body bytes) in Larder: shared
 * by every instance and region through the cache's store and blobs, on every runtime Hono runs
 * on, and invalidated like any entry (`cache.delete(responseKey(url))`). Unlike `hono/cache`, it
 * does not need the Web Cache API.
 *
 * What is cached, the key, and the headers it adds are those of `cacheHandler` in `larder/http`,
 * with two differences that come from being a middleware, which cannot re-dispatch a request:
 *
 * - A `HEAD` is answered from the `GET` entry when there is a fresh one; otherwise the handler
 *   answers it (it sees the `HEAD`, and may answer without a body, as `serveStatic` does), and
 *   nothing is stored: a body-less answer must never become the `GET` entry.
 * - Unsafe requests (`POST`, `PUT`, `PATCH`, `DELETE`…) invalidate the stored responses of their
 *   URL (RFC 9111 §4.4) only if they go through the middleware: register it for every method
 *   (`app.use(path, cacheResponses(cache))`), not only on `app.get`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createCache } from "larder";
 * import { cacheResponses } from "larder/hono";
 *
 * const cache = createCache({ prefix: "myapp" });
 * const app = new Hono();
 * app.use("/report/*", cacheResponses(cache, { ttl: "5m" })); // every method: a POST invalidates
 * app.get("/report/:id", async (c) => {
 *   return c.json({ id: c.req.param("id"), rows: [] }); // a slow query in real life
 * });
 *
 * const first = await app.request("/report/7"); // Cache-Status: Larder; fwd=uri-miss
 * await cache.flush();
 * const second = await app.request("/report/7"); // Cache-Status: Larder; hit; ttl=299; detail=inline
 * ```
 *
 * @module
 */
import type { Cache } from "../core/api/create_cache.ts";
import type { WaitUntil } from "../core/types.ts";
import { createEngine, respond } from "../http/_engine.ts";
import type { ResponseCacheOptions } from "../http/_options.ts";

export type { ResponseCacheOptions } from "../http/_options.ts";

/**
 * What the middleware uses of Hono's `Context` (declared here rather than imported, so that the
 * middleware fits Hono from npm and from JSR alike, and loads nothing of Hono itself).
 */
export interface HonoContext {
  /** The request. */
  readonly req: { readonly raw: Request };
  /** The response; Hono's getter always returns one, and assigning `undefined` clears it. */
  res: Response | undefined;
  /** Whether a response was set. */
  finalized: boolean;
  /** The Workers execution context; its getter throws where there is none. */
  readonly executionCtx: { waitUntil(promise: Promise<unknown>): void };
}

/** A Hono middleware (assignable to Hono's `MiddlewareHandler`). */
export type ResponseCacheMiddleware = (c: HonoContext, next: () => Promise<void>) => Promise<void>;
export { responseKey, type ResponseKeyOptions } from "../http/_key.ts";

/**
 * A middleware serving the route's responses from `cache`, and storing them after the handler
 * ran. Background writes are registered with `c.executionCtx.waitUntil` when there is one.
 *
 * @example
 * ```ts ignore
 * app.get("/report/:id", cacheResponses(cache, { ttl: "5m", vary: ["accept-language"] }), handler);
 * ```
 */
export function cacheResponses(cache: Cache, options?: ResponseCacheOptions): ResponseCacheMiddleware {
  const engine = createEngine(cache, options, "cacheResponses");
  return async function larderCacheResponses(c, next): Promise<void> {
    const response = await respond(engine, {
      request: c.req.raw,
      run: async () => {
        // A stale-while-revalidate refresh runs after this middleware answered: the context was
        // finalized with the stale response, so the handler's would not be taken otherwise.
        if (c.finalized) {
          c.res = undefined;
          c.finalized = false;
        }
        await next();
        return c.res as Response;
      },
      waitUntil: waitUntilOf(c),
      // Hono drops a HEAD answer's body itself; answering without one spares a copy.
      headOnly: c.req.raw.method === "HEAD",
      // next() runs the handler with the HEAD as it came: a HEAD miss is not stored.
      forwardsGet: false,
    });
    // Cleared first: assigning over a response merges the old one's headers into the new one.
    c.res = undefined;
    c.res = response;
  };
}

function waitUntilOf(c: HonoContext): WaitUntil | undefined {
  try {
    const ctx = c.executionCtx;
    return (task) => ctx.waitUntil(task);
  } catch {
    return undefined; // no ExecutionContext (Node, Bun, Deno, app.request())
  }
}
