/**
 * Whole-response caching for plain fetch handlers — `(request, env?, ctx?) => Response`, as on
 * Cloudflare Workers, `Deno.serve`, `Bun.serve` and Vercel/Netlify edge functions — shared by
 * every instance and region through the cache's store and blobs. For Hono routes, see
 * `larder/hono`.
 *
 * A shared cache in the sense of RFC 9111 (the README lists what it implements and what it does
 * not). `GET` and `HEAD` are cached (a `HEAD` is answered from the `GET` entry; on a miss the
 * handler runs as `GET`, and that response is stored); other methods, requests with
 * `Authorization` and upgrades pass through, and a non-error answer to an unsafe method
 * (`POST`, `PUT`, `PATCH`, `DELETE`…) invalidates every stored variant of its URL and of its
 * same-origin `Location` / `Content-Location`, on every instance, before it is returned. A
 * response is stored when its status is listed (200 by default) and it has no `no-store`,
 * `private` or `no-cache`, no `Set-Cookie`, no `Content-Encoding` of its own and no `Vary` beyond
 * the `vary` option; fresh for `s-maxage`, else `max-age`, else `Expires`, else the `ttl` option,
 * less the age it arrived with (`Age`, or `Date`). `must-revalidate`, `proxy-revalidate` and
 * `s-maxage` responses are never served stale. The response is sent as the handler produces it
 * while the cache reads its own copy; the write happens in the background (with the platform's
 * `waitUntil` when the handler receives one, e.g. Workers' `ctx`).
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 * import { cacheHandler } from "larder/http";
 *
 * const cache = createCache({ prefix: "myapp" });
 * const handler = cacheHandler(cache, async (request: Request): Promise<Response> => {
 *   const id = new URL(request.url).searchParams.get("id");
 *   return Response.json({ id, rows: [] }); // a slow query in real life
 * }, { ttl: "5m" });
 *
 * const first = await handler(new Request("https://example.com/report?id=7"));
 * console.log(first.headers.get("cache-status")); // Larder; fwd=uri-miss
 * await cache.flush();
 * const second = await handler(new Request("https://example.com/report?id=7"));
 * console.log(second.headers.get("cache-status")); // Larder; hit; ttl=299; detail=inline
 * ```
 *
 * @module
 */
import type { Cache } from "../core/api/create_cache.ts";
import { ConfigError } from "../core/errors.ts";
import type { WaitUntil } from "../core/types.ts";
import { createEngine, respond } from "./_engine.ts";
import type { ResponseCacheOptions } from "./_options.ts";

export type { ResponseCacheOptions } from "./_options.ts";
export { responseKey, type ResponseKeyOptions } from "./_key.ts";

/**
 * Wraps a fetch handler so that its responses are cached in `cache` (see the module doc for what
 * is stored). The wrapper has the handler's parameters; a parameter with a `waitUntil` method
 * (Workers' `ctx`, Vercel's and Netlify's `context`) keeps the background write alive.
 *
 * @example
 * ```ts ignore
 * export default {
 *   fetch: cacheHandler(cache, async (request: Request, env: Env, ctx: ExecutionContext) => render(request, env), {
 *     ttl: "5m",
 *     vary: ["accept-language"],
 *   }),
 * };
 * ```
 */
export function cacheHandler<A extends unknown[]>(
  cache: Cache,
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options?: ResponseCacheOptions,
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== "function") throw new ConfigError("cacheHandler: handler must be a function");
  const engine = createEngine(cache, options, "cacheHandler");
  return (request: Request, ...rest: A): Promise<Response> =>
    respond(engine, {
      request,
      run: async (forwarded) => await handler(forwarded, ...rest),
      waitUntil: waitUntilIn(rest),
      headOnly: request.method === "HEAD",
      forwardsGet: true,
    });
}

/** The `waitUntil` of the last argument that has one (Workers' `ctx`, an edge function's `context`). */
function waitUntilIn(args: readonly unknown[]): WaitUntil | undefined {
  for (let i = args.length - 1; i >= 0; i--) {
    const arg = args[i] as { waitUntil?: unknown } | null | undefined;
    if (typeof arg === "object" && arg !== null && typeof arg.waitUntil === "function") {
      const owner = arg;
      return (task) => (owner.waitUntil as WaitUntil).call(owner, task);
    }
  }
  return undefined;
}
