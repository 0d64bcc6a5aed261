/**
 * Larder for Cloudflare Workers: `createCache` with the two things a Worker cannot find by
 * itself filled in.
 *
 * - **zstd**: workerd cannot compile WebAssembly from bytes at run time, so this entry imports
 *   the compiled `zstd.wasm` as a module (wrangler turns a `.wasm` import into a
 *   `WebAssembly.Module` by default) and passes it as `zstd.wasm`.
 * - **waitUntil**: background writes are registered with `waitUntil` from `cloudflare:workers`,
 *   which keeps them alive after the response without threading `ctx` through your code. Pass
 *   your own `waitUntil` (e.g. `ctx.waitUntil.bind(ctx)`) to override it. A cache left without
 *   one (`waitUntil: undefined`) loses its background writes when the response is sent: the first
 *   time, it warns with the fix, and it takes no cross-instance lease (only the lost write would
 *   release it, so the key's next caller would wait out its TTL).
 *
 * Everything else is exported unchanged from `larder`.
 *
 * @example
 * ```ts ignore
 * import { env } from "cloudflare:workers";
 * import { createCache } from "larder/workers";
 * import { upstashStore } from "larder/stores/upstash";
 * import { s3BlobStore } from "larder/blobs/s3";
 *
 * const cache = createCache({
 *   store: upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
 *   blobs: s3BlobStore({ endpoint: env.R2_ENDPOINT, region: "auto", bucket: "cache", accessKeyId: env.R2_KEY_ID, secretAccessKey: env.R2_SECRET }),
 * });
 * const report = cache.wrap(async (id: string) => ({ id, rows: [] }), { name: "report", ttl: "15m" });
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     return Response.json(await report(new URL(request.url).searchParams.get("id") ?? ""));
 *   },
 * };
 * ```
 *
 * @module
 */
// A namespace import: a `waitUntil` missing from an old workerd is then `undefined`, not a link error.
import * as workers from "cloudflare:workers";
import zstdWasm from "./zstd.wasm";
import { type Cache, createCacheFor } from "../core/api/create_cache.ts";
import type { CacheOptions } from "../core/api/options.ts";
import type { WaitUntil } from "../core/types.ts";

export * from "../../mod.ts";

const runtimeWaitUntil = (workers as { waitUntil?: WaitUntil }).waitUntil;

/** The warning of a `larder/workers` cache that has no `waitUntil`. */
const WITHOUT_WAIT_UNTIL = runtimeWaitUntil === undefined
  ? "larder: background writes are lost: this workerd's cloudflare:workers has no waitUntil; pass waitUntil: ctx.waitUntil.bind(ctx) to createCache"
  : "larder: background writes are lost: this cache was given waitUntil: undefined; leave waitUntil out (cloudflare:workers' own is used) or pass waitUntil: ctx.waitUntil.bind(ctx)";

let warned = false;

/** The compiled `zstd.wasm` (of `@bokuweb/zstd-wasm` 0.0.27) that {@link createCache} uses. */
export const zstdModule: WebAssembly.Module = zstdWasm;

/**
 * `createCache` from `larder`, with the compiled zstd module and `cloudflare:workers`'
 * `waitUntil` as defaults. Options given here win over both.
 */
export function createCache(options?: CacheOptions): Cache {
  return createCacheFor({
    ...(runtimeWaitUntil === undefined ? {} : { waitUntil: (task: Promise<unknown>) => runtimeWaitUntil(task) }),
    ...options,
  }, {
    zstdWasm,
    unkeptWarning: () => {
      if (warned) return undefined;
      warned = true;
      return WITHOUT_WAIT_UNTIL;
    },
  });
}
