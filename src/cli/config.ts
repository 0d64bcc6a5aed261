/**
 * The operator CLI's configuration, read from environment variables (the standard Upstash and
 * AWS names where they exist). Nothing here reads the environment itself: the per-runtime entry
 * passes it in. Secrets are kept so that messages can be scrubbed of them, never printed.
 *
 * @module
 */
import { backendsFromEnv, type Env, ENV_VARIABLES, SECRET_VARIABLES } from "../config/env.ts";
import type { Cache } from "../core/api/create_cache.ts";
import { createCache } from "../runtime/default_entry.ts";
import { toMs } from "../core/util/durations.ts";
import { ConfigError } from "../core/errors.ts";
import type { Logger } from "../core/types.ts";
import { UsageError } from "./args.ts";

export type { Env } from "../config/env.ts";

/** The variables the CLI reads, with what they mean (printed by `--help`). */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ...ENV_VARIABLES,
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
  /** Closes the store's connections (a TCP store's client). */
  close(): Promise<void>;
}

/** Values that must never appear in output: tokens, secrets and URL passwords from the environment. */
export function secretsOf(env: Env): string[] {
  const passwords = ["CACHE_URL", "REDIS_URL"].flatMap((name) => {
    const match = /^[a-z]+:\/\/[^/@]*:([^/@]+)@/i.exec(env[name]?.trim() ?? "");
    return match ? [match[1]!, safeDecode(match[1]!)] : [];
  });
  return [...SECRET_VARIABLES.map((name) => env[name]), ...passwords]
    .filter((value): value is string => typeof value === "string" && value.length >= 4);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Builds the cache from `env` (see src/config/env.ts). A missing or invalid variable is a
 * {@link UsageError} (exit code 2) that names the variable, never its value when it is a secret.
 */
export async function configure(env: Env, logger: Logger, needs: { blobs: boolean }): Promise<CliConfig> {
  let backends;
  try {
    backends = await backendsFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const { store, blobs } = backends;
  if (store === undefined) throw new UsageError("the CLI needs a shared store: CACHE_URL=mem:// is this process' own");
  if (needs.blobs && blobs === undefined) {
    throw new UsageError("LARDER_S3_BUCKET is not set (this command needs S3)");
  }
  const timeoutMs = toMs(env.LARDER_TIMEOUT?.trim() || "30s", "LARDER_TIMEOUT");
  const prefix = backends.prefix ?? "larder";
  const namespace = backends.namespace ?? "default";
  const cache: Cache = createCache({
    store,
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
  return {
    cache,
    prefix,
    namespace,
    hasBlobs: blobs !== undefined,
    timeoutMs,
    close: async () => {
      await store.close?.();
    },
  };
}
