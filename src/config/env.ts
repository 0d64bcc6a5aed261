/**
 * Backends from environment variables, the way the libraries Larder replaces are configured: one
 * URL for the store (`CACHE_URL` or `REDIS_URL`: `redis://`, `rediss://`, or `mem://` for the
 * embedded default), or Upstash's pair (`UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`),
 * and the `LARDER_S3_*` variables for payload blobs. Shared by `cacheOptionsFromEnv()` and the
 * operator CLI; `LARDER_TTL_<NAME>` (TTL profiles) is read for `cacheOptionsFromEnv()` only. Nothing here reads the environment itself: the caller passes it in. The TCP
 * store is loaded by a dynamic import, only when a `redis://` URL asks for it.
 *
 * @module
 */
import { s3BlobStore, type S3BlobStoreOptions } from "../blobs/s3.ts";
import { ConfigError } from "../core/errors.ts";
import { toMs } from "../core/util/durations.ts";
import type { BlobStore, MetadataStore } from "../core/types.ts";
import { upstashStore } from "../stores/upstash.ts";

/** Environment variables, as the runtime hands them over. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The variables read, with what they mean (the CLI's `--help` prints them). */
export const ENV_VARIABLES: readonly (readonly [string, string])[] = [
  ["CACHE_URL", "the store: redis://[user:pass@]host[:port][/db], rediss:// (TLS), ?cluster=true, or mem://"],
  ["REDIS_URL", "the store, when CACHE_URL is not set"],
  ["UPSTASH_REDIS_REST_URL", "the store over HTTP (Upstash REST URL), when neither is set"],
  ["UPSTASH_REDIS_REST_TOKEN", "its REST token"],
  ["LARDER_PREFIX", 'the cache\'s prefix (default "larder")'],
  ["LARDER_NAMESPACE", 'default namespace (default "default")'],
  ["LARDER_S3_BUCKET", "bucket of the payloads (no bucket: large values are not cached)"],
  ["LARDER_S3_ENDPOINT", "S3 endpoint, e.g. https://<account>.r2.cloudflarestorage.com (default: AWS)"],
  ["LARDER_S3_REGION", "signing region (or AWS_REGION / AWS_DEFAULT_REGION)"],
  ["LARDER_S3_ACCESS_KEY_ID", "access key id (or AWS_ACCESS_KEY_ID)"],
  ["LARDER_S3_SECRET_ACCESS_KEY", "secret access key (or AWS_SECRET_ACCESS_KEY)"],
  ["LARDER_S3_SESSION_TOKEN", "session token of temporary credentials (or AWS_SESSION_TOKEN)"],
  ["LARDER_S3_FORCE_PATH_STYLE", "true or false (default: path-style except on amazonaws.com)"],
];

/** The variables that retune TTL profiles: `LARDER_TTL_SHORT` is the profile `short`. */
const TTL_VARIABLE = /^LARDER_TTL_(.*)$/;
const TTL_PROFILE = /^[a-z][a-z0-9_]{0,31}$/;

/** Variables whose values are secrets (never printed). */
export const SECRET_VARIABLES: readonly string[] = [
  "UPSTASH_REDIS_REST_TOKEN",
  "LARDER_S3_SECRET_ACCESS_KEY",
  "AWS_SECRET_ACCESS_KEY",
  "LARDER_S3_SESSION_TOKEN",
  "AWS_SESSION_TOKEN",
];

/** What the environment configures. */
export interface EnvBackends {
  /** The store; absent for `mem://` (the embedded default). */
  readonly store?: MetadataStore & { close?(): Promise<void> };
  /** The blob store, when `LARDER_S3_BUCKET` is set. */
  readonly blobs?: BlobStore;
  /** `LARDER_PREFIX`, when set. */
  readonly prefix?: string;
  /** `LARDER_NAMESPACE`, when set. */
  readonly namespace?: string;
}

/** The trimmed value of the first of `names` that is set and not blank. */
export function envValue(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Reads the backends from `env`; a missing or invalid variable is a `ConfigError` that names it (never a secret). */
export async function backendsFromEnv(env: Env): Promise<EnvBackends> {
  const store = await storeFromEnv(env);
  const blobs = blobsFromEnv(env);
  const prefix = envValue(env, "LARDER_PREFIX");
  const namespace = envValue(env, "LARDER_NAMESPACE");
  return {
    ...(store ? { store } : {}),
    ...(blobs ? { blobs } : {}),
    ...(prefix === undefined ? {} : { prefix }),
    ...(namespace === undefined ? {} : { namespace }),
  };
}

/**
 * The TTL profiles retuned by `LARDER_TTL_<NAME>` variables (`LARDER_TTL_SHORT=30s` retunes
 * `short`), in ms; undefined when none is set. A bad name or duration is a `ConfigError` naming
 * the variable; whether the profile exists is checked by `createCache` (it knows the declared ones).
 */
export function ttlOverridesFromEnv(env: Env): Record<string, number> | undefined {
  let found: Record<string, number> | undefined;
  for (const variable of Object.keys(env).sort()) {
    const match = TTL_VARIABLE.exec(variable);
    const value = envValue(env, variable);
    if (!match || value === undefined) continue;
    const profile = match[1]!.toLowerCase();
    if (!TTL_PROFILE.test(profile)) {
      throw new ConfigError(
        `${variable}: LARDER_TTL_<NAME> takes a profile name of letters, digits and "_" starting with a letter, e.g. LARDER_TTL_SHORT`,
      );
    }
    (found ??= {})[profile] = toMs(value, variable);
  }
  return found;
}

async function storeFromEnv(env: Env): Promise<(MetadataStore & { close?(): Promise<void> }) | undefined> {
  const named = envValue(env, "CACHE_URL") === undefined ? "REDIS_URL" : "CACHE_URL";
  const url = envValue(env, named);
  if (url !== undefined) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (scheme === "mem") return undefined;
    if (scheme === "redis" || scheme === "rediss") {
      const { redisStore } = await import("../stores/redis.ts");
      return redisStore({ url });
    }
    if (scheme === "http" || scheme === "https") {
      throw new ConfigError(
        `${named} is an ${scheme}:// URL: for Upstash over HTTP set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN instead`,
      );
    }
    throw new ConfigError(`${named} must be a redis://, rediss:// or mem:// URL`);
  }
  const restUrl = envValue(env, "UPSTASH_REDIS_REST_URL");
  const token = envValue(env, "UPSTASH_REDIS_REST_TOKEN");
  if (restUrl !== undefined || token !== undefined) {
    if (restUrl === undefined) {
      throw new ConfigError("UPSTASH_REDIS_REST_TOKEN is set but UPSTASH_REDIS_REST_URL is not");
    }
    if (token === undefined) throw new ConfigError("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not");
    return upstashStore({ url: restUrl, token });
  }
  throw new ConfigError(
    "no store configured: set CACHE_URL (or REDIS_URL) to redis://host:6379/0, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; CACHE_URL=mem:// uses the in-process store",
  );
}

/** The S3 blob store of the `LARDER_S3_*` variables, or undefined when `LARDER_S3_BUCKET` is not set. */
export function blobsFromEnv(env: Env): BlobStore | undefined {
  const bucket = envValue(env, "LARDER_S3_BUCKET");
  if (bucket === undefined) return undefined;
  const accessKeyId = envValue(env, "LARDER_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
  const secretAccessKey = envValue(env, "LARDER_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
  if (accessKeyId === undefined) throw new ConfigError("LARDER_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID) is not set");
  if (secretAccessKey === undefined) {
    throw new ConfigError("LARDER_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY) is not set");
  }
  const pathStyle = envValue(env, "LARDER_S3_FORCE_PATH_STYLE");
  if (pathStyle !== undefined && pathStyle !== "true" && pathStyle !== "false") {
    throw new ConfigError("LARDER_S3_FORCE_PATH_STYLE must be true or false");
  }
  const options: S3BlobStoreOptions = { bucket, accessKeyId, secretAccessKey };
  const endpoint = envValue(env, "LARDER_S3_ENDPOINT");
  const region = envValue(env, "LARDER_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION");
  const sessionToken = envValue(env, "LARDER_S3_SESSION_TOKEN", "AWS_SESSION_TOKEN");
  if (endpoint !== undefined) options.endpoint = endpoint;
  if (region !== undefined) options.region = region;
  if (sessionToken !== undefined) options.sessionToken = sessionToken;
  if (pathStyle !== undefined) options.forcePathStyle = pathStyle === "true";
  return s3BlobStore(options);
}
