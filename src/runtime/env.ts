/**
 * `larder/env`: cache options from environment variables, the way apps are configured in
 * production (twelve-factor): `CACHE_URL` (or `REDIS_URL`) = `redis://…`, `rediss://…` or
 * `mem://`, or Upstash's `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`, plus
 * `LARDER_S3_*` for payload blobs, `LARDER_PREFIX` / `LARDER_NAMESPACE`, and `LARDER_TTL_<NAME>`
 * for TTL profiles (`LARDER_TTL_SHORT=30s` retunes the profile `short`). The TCP client is
 * loaded only when a `redis://` URL asks for it (a dynamic import), so `larder` itself never
 * loads it.
 *
 * With no argument it reads the process environment (Node, Bun: `process.env`; Deno:
 * `Deno.env`, which needs `--allow-env`). Pass the variables yourself anywhere else, e.g. a
 * Worker's `env` (Upstash only there: Workers have no TCP client).
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 * import { cacheOptionsFromEnv } from "larder/env";
 *
 * const options = await cacheOptionsFromEnv({ CACHE_URL: "mem://" });
 * const cache = createCache({ ...options, ttl: "15m" });
 * console.log(await cache.wrap(async () => "hello", { name: "greet" })()); // "hello"
 * await options.store?.close?.();
 * ```
 *
 * @module
 */
import { backendsFromEnv, type Env, ttlOverridesFromEnv } from "../config/env.ts";
import { ConfigError } from "../core/errors.ts";
import type { BlobStore, MetadataStore } from "../core/types.ts";

export type { Env } from "../config/env.ts";

/** What {@link cacheOptionsFromEnv} gives `createCache`. */
export interface EnvCacheOptions {
  /** The store (absent for `mem://`: the embedded default). A TCP store has `close()`. */
  store?: MetadataStore & { close?(): Promise<void> };
  /** S3 blobs, when `LARDER_S3_BUCKET` is set. */
  blobs?: BlobStore;
  /** `LARDER_PREFIX`, when set. */
  prefix?: string;
  /** `LARDER_NAMESPACE`, when set. */
  namespace?: string;
  /** The TTL profiles retuned by `LARDER_TTL_<NAME>` variables, in ms (`createCache` checks that each exists). */
  ttlOverrides?: Record<string, number>;
}

/**
 * Options for `createCache` from `env` (default: the process environment). Rejects with a
 * `ConfigError` naming the variable when one is missing or invalid, never showing a secret.
 */
export async function cacheOptionsFromEnv(env?: Env): Promise<EnvCacheOptions> {
  const variables = env ?? processEnv();
  // Checked first: a mistyped TTL is reported even when the store is not configured yet.
  const ttlOverrides = ttlOverridesFromEnv(variables);
  return { ...await backendsFromEnv(variables), ...(ttlOverrides ? { ttlOverrides } : {}) };
}

/** The process environment on Node, Bun and Deno. */
function processEnv(): Env {
  const global = globalThis as unknown as {
    process?: { env?: Env };
    Deno?: { env: { toObject(): Record<string, string> } };
  };
  if (global.Deno) return global.Deno.env.toObject();
  if (global.process?.env) return global.process.env;
  throw new ConfigError("cacheOptionsFromEnv: this runtime has no process environment; pass the variables");
}
