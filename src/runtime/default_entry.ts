/**
 * `createCache` as `larder` exports it (mod.ts), for Node, Bun and Deno, and for any runtime that
 * compiles WebAssembly from bytes: the core's `createCache` with zstd's embedded WebAssembly and
 * what {@link probeRuntime} finds of the runtime, so that the mistakes of a first hour are loud:
 *
 * - on Node, Bun and Deno, a process that exits with background writes pending says so
 *   (exit_warning.ts): `larder: 1 background write lost: await cache.flush() before exiting`;
 * - on workerd (this entry on Cloudflare Workers, where `larder/workers` belongs), background work
 *   without `waitUntil` is lost when the response is sent: the first time it happens, the cache
 *   warns with the fix, and it takes no lease that only that lost write would release.
 *
 * Nothing runs when this module is loaded: probing and watching happen in `createCache`, so a
 * bundle that does not call it (`larder/workers` has its own) leaves it and the embedded
 * WebAssembly out.
 *
 * @module
 */
import { embeddedZstdWasm } from "../codec/_zstd_embedded.ts";
import { type Cache, createCacheFor } from "../core/api/create_cache.ts";
import type { CacheOptions } from "../core/api/options.ts";
import { warnAtExit } from "./exit_warning.ts";
import { probeRuntime } from "./probe.ts";

/** The warning of `larder` on workerd without `waitUntil`. */
export const WORKERD_WITHOUT_WAIT_UNTIL =
  'larder: background writes are lost on Cloudflare Workers without waitUntil (nothing gets cached, and no lease is taken): import { createCache } from "larder/workers", or pass waitUntil: ctx.waitUntil.bind(ctx)';

let warnedWorkerd = false;

/**
 * Creates a cache. With no `store` and no `blobs` it runs fully in-process.
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 *
 * const cache = createCache({ prefix: "demo", ttl: "1h" });
 * const square = cache.wrap(async (n: number) => n * n, { name: "square" });
 * await square(12); // runs the function
 * await square(12); // served from the cache
 * ```
 */
export function createCache(options?: CacheOptions): Cache {
  const runtime = probeRuntime();
  const cache = createCacheFor(options, {
    zstdWasm: embeddedZstdWasm,
    ...(runtime.workerd
      ? {
        unkeptWarning: () => {
          if (warnedWorkerd) return undefined;
          warnedWorkerd = true;
          return WORKERD_WITHOUT_WAIT_UNTIL;
        },
      }
      : {}),
  });
  if (runtime.onExit) warnAtExit(cache, { logger: options?.logger, onExit: runtime.onExit });
  return cache;
}
