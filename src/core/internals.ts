/**
 * The way from a public {@link Cache} object to its internal state, for the package's own
 * entry points built on the core (the response cache in `larder/http` and `larder/hono`). Not
 * exported from the package: users never see a cache's context.
 *
 * @module
 */
import type { Cache } from "./cache.ts";
import type { CacheContext } from "./context.ts";
import { ConfigError } from "./errors.ts";

const contexts = new WeakMap<object, CacheContext>();

/** Records `ctx` as the state behind `cache` (called once, by `createCache`). */
export function attachContext(cache: Cache, ctx: CacheContext): void {
  contexts.set(cache, ctx);
}

/** The state behind `cache`; a `ConfigError` naming `what` when it is not a cache from `createCache`. */
export function contextOf(cache: unknown, what: string): CacheContext {
  const ctx = typeof cache === "object" && cache !== null ? contexts.get(cache) : undefined;
  if (ctx === undefined) {
    throw new ConfigError(
      `${what}: expected a cache created by createCache() (from this copy of larder; "larder" and "larder/workers" share one)`,
    );
  }
  return ctx;
}
