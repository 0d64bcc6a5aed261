/**
 * The operator CLI's configuration, read from environment variables (the standard Upstash and
 * AWS names where they exist). Nothing here reads the environment itself: the per-runtime entry
 * passes it in. Secrets are kept so that messages can be scrubbed of them, never printed.
 *
 * @module
 */
import { s3BlobStore, type S3BlobStoreOptions } from "../blobs/s3.ts";
import { type Cache, createCache } from "../core/api/create_cache.ts";
import { toMs } from "../core/util/durations.ts";
import type { Logger } from "../core/types.ts";
import { upstashStore } from "../stores/upstash.ts";
import { UsageError } from "./args.ts";

/** Environment variables, as the runtime hands them over. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The variables the CLI reads, with what they mean (printed by `--help`). */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ["UPSTASH_REDIS_REST_URL", "REST URL of the Redis database (required)"],
  ["UPSTASH_REDIS_REST_TOKEN", "its REST token (required)"],
  ["LARDER_PREFIX", 'the cache\'s prefix (default "larder")'],
  ["LARDER_NAMESPACE", 'default namespace of `inspect <key>` (default "default")'],
  ["LARDER_S3_BUCKET", "bucket of the payloads; needed by cleanup and to check blobs"],
  ["LARDER_S3_ENDPOINT", "S3 endpoint, e.g. https://<account>.r2.cloudflarestorage.com (default: AWS)"],
  ["LARDER_S3_REGION", "signing region (or AWS_REGION / AWS_DEFAULT_REGION)"],
  ["LARDER_S3_ACCESS_KEY_ID", "access key id (or AWS_ACCESS_KEY_ID)"],
  ["LARDER_S3_SECRET_ACCESS_KEY", "secret access key (or AWS_SECRET_ACCESS_KEY)"],
  ["LARDER_S3_SESSION_TOKEN", "session token of temporary credentials (or AWS_SESSION_TOKEN)"],
  ["LARDER_S3_FORCE_PATH_STYLE", "true or false (default: path-style except on amazonaws.com)"],
  ["LARDER_TIMEOUT", 'time limit of each Redis or S3 call (default "30s")'],
];

/** What a command needs to run. */
export interface CliConfig {
  /** The cache over the configured backends. */
  readonly cache: Cache;
  /** Its prefix. */
  readonly prefix: string;
  /** Default namespace for `inspect`. */
  readonly namespace: string;
  /** Whether S3 is configured. */
  readonly hasBlobs: boolean;
  /** The per-call time limit, in ms. */
  readonly timeoutMs: number;
}

/** Values that must never appear in output: tokens and secrets from the environment. */
export function secretsOf(env: Env): string[] {
  return [
    "UPSTASH_REDIS_REST_TOKEN",
    "LARDER_S3_SECRET_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "LARDER_S3_SESSION_TOKEN",
    "AWS_SESSION_TOKEN",
  ]
    .map((name) => env[name])
    .filter((value): value is string => typeof value === "string" && value.length >= 4);
}

/**
 * Builds the cache from `env`. A missing or invalid variable is a {@link UsageError} (exit code 2)
 * that names the variable, never its value when it is a secret.
 */
export function configure(env: Env, logger: Logger, needs: { blobs: boolean }): CliConfig {
  const get = (...names: string[]): string | undefined => {
    for (const name of names) {
      const value = env[name]?.trim();
      if (value) return value;
    }
    return undefined;
  };
  const require = (name: string, why: string): string => {
    const value = get(name);
    if (value === undefined) throw new UsageError(`${name} is not set (${why})`);
    return value;
  };
  const url = require("UPSTASH_REDIS_REST_URL", "the Redis REST URL");
  const token = require("UPSTASH_REDIS_REST_TOKEN", "the Redis REST token");
  const bucket = get("LARDER_S3_BUCKET");
  if (needs.blobs && bucket === undefined) {
    throw new UsageError("LARDER_S3_BUCKET is not set (this command needs S3)");
  }
  const timeoutMs = toMs(get("LARDER_TIMEOUT") ?? "30s", "LARDER_TIMEOUT");
  let blobs;
  if (bucket !== undefined) {
    const accessKeyId = get("LARDER_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
    const secretAccessKey = get("LARDER_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
    if (accessKeyId === undefined) throw new UsageError("LARDER_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID) is not set");
    if (secretAccessKey === undefined) {
      throw new UsageError("LARDER_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY) is not set");
    }
    const pathStyle = get("LARDER_S3_FORCE_PATH_STYLE");
    if (pathStyle !== undefined && pathStyle !== "true" && pathStyle !== "false") {
      throw new UsageError("LARDER_S3_FORCE_PATH_STYLE must be true or false");
    }
    const options: S3BlobStoreOptions = { bucket, accessKeyId, secretAccessKey };
    const endpoint = get("LARDER_S3_ENDPOINT");
    const region = get("LARDER_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION");
    const sessionToken = get("LARDER_S3_SESSION_TOKEN", "AWS_SESSION_TOKEN");
    if (endpoint !== undefined) options.endpoint = endpoint;
    if (region !== undefined) options.region = region;
    if (sessionToken !== undefined) options.sessionToken = sessionToken;
    if (pathStyle !== undefined) options.forcePathStyle = pathStyle === "true";
    blobs = s3BlobStore(options);
  }
  const prefix = get("LARDER_PREFIX") ?? "larder";
  const namespace = get("LARDER_NAMESPACE") ?? "default";
  const cache = createCache({
    store: upstashStore({ url, token }),
    ...(blobs ? { blobs } : {}),
    prefix,
    namespace,
    logger,
    timeout: { store: timeoutMs, blob: timeoutMs },
    // An operator's command should fail loudly, not be skipped by a breaker or wait on leases.
    breaker: false,
    lease: false,
    // It reads the shared counters; it has nothing of its own to add to them.
    globalStats: false,
  });
  return { cache, prefix, namespace, hasBlobs: blobs !== undefined, timeoutMs };
}
