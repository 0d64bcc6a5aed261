/**
 * `createCache()`: the public object. Reads fail open (a broken backend is a miss), writes from
 * `wrap` happen in the background, and `flush()` waits for them.
 *
 * @module
 */
import { BackgroundQueue } from "./background.ts";
import { CircuitBreaker } from "./breaker.ts";
import type { CacheContext } from "./context.ts";
import { type Duration, toMs } from "./durations.ts";
import { ConfigError } from "./errors.ts";
import { guarded } from "./guard.ts";
import { attachContext } from "./internals.ts";
import { blobKey, checkName, keyHash, recordKey } from "./keys.ts";
import { type CacheOptions, resolveOptions } from "./options.ts";
import { PlacementHints } from "./placement.ts";
import { lookup } from "./read.ts";
import { type CacheStats, StatsRecorder } from "./stats.ts";
import { MemoryTier } from "./tier.ts";
import { type Registry, wrapFunction, type WrapOptions, type Wrapped } from "./wrap.ts";
import { writeEntry } from "./write.ts";

/** Options of {@link Cache.get}, {@link Cache.has} and {@link Cache.delete}. */
export interface KeyOptions {
  /** Namespace of the entry. @default the cache's `namespace` */
  namespace?: string;
}

/** Options of {@link Cache.set}. */
export interface SetOptions extends KeyOptions {
  /** Time to live. @default the cache's `ttl` */
  ttl?: Duration;
}

/** A cache created by {@link createCache}. */
export interface Cache {
  /**
   * Wraps `fn` so that calls with equal arguments are served from the cache. The wrapper has
   * `fn`'s parameters and returns a Promise of its result.
   *
   * @example
   * ```ts
   * const revenue = cache.wrap(runQuery, { name: "revenue", ttl: "15m" });
   * await revenue("SELECT ...", 2024);
   * ```
   */
  wrap<A extends unknown[], R>(fn: (...args: A) => R, options?: WrapOptions<A>): Wrapped<A, R>;
  /** The value stored under `key`, or `undefined` on a miss (including any cache failure). */
  get<T = unknown>(key: string, options?: KeyOptions): Promise<T | undefined>;
  /**
   * Stores `value` under `key` and waits for the write. Resolves to false when a backend failed
   * (counted and logged); rejects with `CodecError`/`TooLargeError` for a value that cannot be stored.
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<boolean>;
  /** Whether a record exists for `key` (without reading its payload). False on failure. */
  has(key: string, options?: KeyOptions): Promise<boolean>;
  /** Removes the entry under `key`; resolves to whether a record was removed. */
  delete(key: string, options?: KeyOptions): Promise<boolean>;
  /** A snapshot of this instance's counters. */
  stats(): CacheStats;
  /** Resolves once every background write started so far has settled. */
  flush(): Promise<void>;
}

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
  const resolved = resolveOptions(options);
  const breaker = resolved.breaker;
  const breakers = {
    store: breaker && new CircuitBreaker(breaker.threshold, breaker.cooldownMs, resolved.now),
    blob: breaker && new CircuitBreaker(breaker.threshold, breaker.cooldownMs, resolved.now),
  };
  const stats = new StatsRecorder(breakers);
  const ctx: CacheContext = {
    options: resolved,
    stats,
    guard: { stats, logger: resolved.logger, logged: new Set(), breakers },
    hints: new PlacementHints(),
    background: new BackgroundQueue(resolved.maxPendingWrites, resolved.waitUntil),
    tier: resolved.memory && new MemoryTier(resolved.memory.maxBytes, resolved.memory.ttlMs, resolved.now),
    refreshing: new Set(),
  };
  const inflight = new Map<string, Promise<unknown>>();
  const registry: Registry = new Map();
  const { prefix } = resolved;

  const hashOf = (key: unknown, options: KeyOptions | undefined, what: string): Promise<string> => {
    if (typeof key !== "string" || key.length === 0) throw new ConfigError(`${what}: key must be a non-empty string`);
    const namespace = options?.namespace === undefined
      ? resolved.namespace
      : checkName(options.namespace, `${what}: namespace`);
    return keyHash(prefix, namespace, { kind: "key", key });
  };
  const storeCall = <T>(operation: string, hash: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    guarded(ctx.guard, {
      backend: "store",
      adapter: resolved.store.name,
      operation,
      keyHash: hash,
      timeoutMs: resolved.storeTimeoutMs,
      call,
    });

  const cache: Cache = {
    wrap: (fn, wrapOptions) => wrapFunction(ctx, inflight, registry, fn, wrapOptions),

    async get<T>(key: string, keyOptions?: KeyOptions): Promise<T | undefined> {
      const hash = await hashOf(key, keyOptions, "get");
      const started = performance.now();
      const found = await lookup(ctx, { hash });
      const elapsed = performance.now() - started;
      if (found.kind !== "hit") {
        stats.miss(elapsed);
        return undefined;
      }
      stats.hit(found.source, elapsed);
      return found.value as T;
    },

    async set(key, value, setOptions) {
      const ttlMs = setOptions?.ttl === undefined ? resolved.ttlMs : toMs(setOptions.ttl, "set: ttl");
      const hash = await hashOf(key, setOptions, "set");
      try {
        await writeEntry(ctx, { hash, value, ttlMs });
        stats.writesOk++;
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "E_CODEC" || code === "E_TOO_LARGE") throw error;
        stats.writesFailed++;
        return false;
      }
    },

    async has(key, keyOptions) {
      const hash = await hashOf(key, keyOptions, "has");
      try {
        const [exists] = await storeCall(
          "exists",
          hash,
          (signal) => resolved.store.run([{ type: "exists", key: recordKey(prefix, hash) }], { signal }),
        );
        return exists === true;
      } catch {
        return false;
      }
    },

    async delete(key, keyOptions) {
      const hash = await hashOf(key, keyOptions, "delete");
      ctx.hints.forget(hash);
      ctx.tier?.delete(hash);
      const blobs = resolved.blobs;
      // The blob goes too, in parallel; a failure there leaves an orphan for cleanup, not a wrong value.
      const blobDelete = blobs
        ? guarded(ctx.guard, {
          backend: "blob",
          adapter: blobs.name,
          operation: "delete",
          keyHash: hash,
          timeoutMs: resolved.blobTimeoutMs,
          call: (signal) => blobs.delete(blobKey(prefix, hash), { signal }),
        }).catch(() => {})
        : undefined;
      try {
        const [removed] = await storeCall(
          "del",
          hash,
          (signal) => resolved.store.run([{ type: "del", key: recordKey(prefix, hash) }], { signal }),
        );
        return removed === 1;
      } catch {
        return false;
      } finally {
        await blobDelete;
      }
    },

    stats: () => stats.snapshot(ctx.background.size),
    flush: () => ctx.background.flush(),
  };
  // For the response cache (larder/http, larder/hono), which runs on the same machinery.
  attachContext(cache, ctx);
  return cache;
}
