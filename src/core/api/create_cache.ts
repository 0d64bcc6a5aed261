/**
 * `createCache()`: the public object. Reads fail open (a broken backend is a miss), writes from
 * `wrap` happen in the background, and `flush()` waits for them.
 *
 * @module
 */
import { BackgroundQueue } from "../flow/background.ts";
import { Backends } from "../backend/backend_call.ts";
import { CircuitBreaker } from "../backend/breaker.ts";
import { cleanup, type CleanupOptions, type CleanupSummary } from "../ops/cleanup.ts";
import type { CacheContext } from "../context.ts";
import {
  deleteEntry,
  entryRef,
  getEntry,
  type GetOptions,
  getRef,
  hasEntry,
  type KeyOptions,
  setEntry,
  type SetOptions,
  setRef,
} from "./entries.ts";
import { checkTags } from "../record/generations.ts";
import { namespaceGeneration, statsKey, tagGeneration } from "../record/key_layout.ts";
import { checkHash, type EntryInspection, inspectEntry } from "../ops/inspect.ts";
import { attachContext } from "../context.ts";
import {
  clearAll,
  type ClearOptions,
  type ClearResult,
  invalidate,
  type InvalidateOptions,
  readGlobalStats,
} from "./invalidation.ts";
import { checkName } from "../record/key_material.ts";
import { type CacheOptions, resolveOptions, type RuntimeDefaults } from "./options.ts";
import { PlacementHints } from "../flow/placement.ts";
import { GlobalReporter } from "../stats/global_stats.ts";
import { type CacheStats, StatsRecorder } from "../stats/stats.ts";
import { type CacheEventListener, CacheEvents, type CacheEventType } from "../stats/events.ts";
import { MemoryTier } from "../flow/memory_tier.ts";
import { TierBus } from "../flow/bus.ts";
import { ConfigError } from "../errors.ts";
import type { MetadataStore } from "../types.ts";
import { type ComputeContext, wrapFunction, type WrapOptions, type Wrapped, type WrapState } from "./wrap.ts";
import { invalidatingFunction, type InvalidatingOptions } from "./invalidate_on_write.ts";
import type { StandardSchema } from "./schema.ts";
import { decodeValue } from "../record/entry.ts";
import { check, type CheckReport } from "./check.ts";
import { type CacheHealth, health } from "./health.ts";

/** A cache created by {@link createCache}. */
export interface Cache {
  /**
   * Wraps a function that takes an `AbortSignal` (`signal: true`), its results checked by a
   * Standard Schema validator (`schema`): the wrapper resolves to the validator's output.
   */
  wrap<A extends unknown[], R, O>(
    fn: (...args: [...A, ComputeContext]) => R,
    options: WrapOptions<A> & { signal: true; schema: StandardSchema<unknown, O> },
  ): Wrapped<A, O>;
  /**
   * Wraps `fn`, its results checked by a Standard Schema validator (see `WrapOptions.schema`):
   * the wrapper resolves to the validator's output, and a cached value of another shape is a miss.
   *
   * @example
   * ```ts
   * const report = cache.wrap(loadReport, { name: "report", schema: z.object({ total: z.number() }) });
   * const { total } = await report(7);
   * ```
   */
  wrap<A extends unknown[], R, O>(
    fn: (...args: A) => R,
    options: WrapOptions<A> & { schema: StandardSchema<unknown, O> },
  ): Wrapped<A, O>;
  /**
   * Wraps a function that takes an `AbortSignal` (see the other overload): with `signal: true`
   * it is called as `fn(...args, { signal })`, and the wrapper has its other parameters.
   *
   * @example
   * ```ts
   * const report = cache.wrap(
   *   (id: number, { signal }: ComputeContext) => fetch(`https://api.example/reports/${id}`, { signal }).then((r) => r.json()),
   *   { name: "report", timeout: "5s", signal: true },
   * );
   * await report(7);
   * ```
   */
  wrap<A extends unknown[], R>(
    fn: (...args: [...A, ComputeContext]) => R,
    options: WrapOptions<A> & { signal: true },
  ): Wrapped<A, R>;
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
  /**
   * Wraps a function that writes: once `fn` has succeeded, the tags and namespaces named are
   * invalidated (one store command), then the wrapped functions in `recache` are recomputed.
   * Nothing is invalidated when `fn` throws. Rejects with a `StoreError` saying the write
   * succeeded when the invalidation failed (unless `onError: "log"`).
   *
   * @example
   * ```ts
   * const getUser = cache.wrap(loadUser, { key: "user:{id}", tags: ["user:{id}"], params: ["id"] });
   * const updateUser = cache.invalidating(saveUser, {
   *   tags: ["user:{id}"],
   *   params: ["id", "data"],
   *   recache: [[getUser, (id) => [id]]],
   * });
   * await updateUser(42, { name: "Ada" }); // writes, invalidates user:42, recomputes getUser(42)
   * ```
   */
  invalidating<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: InvalidatingOptions<A, Awaited<R>>,
  ): (...args: A) => Promise<Awaited<R>>;
  /**
   * The value stored under `key`, or `undefined` on a miss (including any cache failure). With
   * `schema`, a stored value that does not pass is a miss too (counted in `errors.schema`), and a
   * hit is the validator's output.
   */
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  /**
   * Stores `value` under `key` and waits for the write. Resolves to false when a backend failed
   * (counted and logged); rejects with `CodecError`/`TooLargeError` for a value that cannot be stored.
   */
  set(key: string, value: unknown, options?: SetOptions): Promise<boolean>;
  /** Whether a record exists for `key` (without reading its payload). False on failure. */
  has(key: string, options?: KeyOptions): Promise<boolean>;
  /** Removes the entry under `key`; resolves to whether a record was removed. */
  delete(key: string, options?: KeyOptions): Promise<boolean>;
  /**
   * Expires (or marks stale) every entry carrying `tag`, on every instance, with one store
   * command whatever the number of entries. Rejects with a `StoreError` when the store could not
   * be reached: an invalidation is never silently lost. The entries carrying `tag` leave this
   * instance's in-process tier at once, and other instances' tiers through the store's bus (within
   * milliseconds over TCP, `memory.bus.interval` on Upstash; without one, within their `memory.ttl`).
   */
  invalidateTag(tag: string, options?: InvalidateOptions): Promise<void>;
  /** {@link invalidateTag} for several tags, in one round trip. */
  invalidateTags(tags: readonly string[], options?: InvalidateOptions): Promise<void>;
  /** Expires (or marks stale) every entry of `namespace`, like {@link invalidateTag}. */
  invalidateNamespace(namespace: string, options?: InvalidateOptions): Promise<void>;
  /**
   * Invalidates everything under the prefix at once (one command), then deletes the prefix's
   * keys from the store in batches (`SCAN`). Blobs are left to `cleanup()` or the bucket's
   * lifecycle rule unless `blobs: true`. Rejects with a `StoreError` when the store fails.
   */
  clear(options?: ClearOptions): Promise<ClearResult>;
  /**
   * Counters added up over every instance sharing the prefix (see `globalStats` in the options),
   * by name (`hits.inline`, `misses`, `writes.ok`…). Each instance's counts arrive at most one
   * `globalStats.interval` late. Rejects with a `StoreError` when the store fails.
   */
  globalStats(): Promise<Record<string, number>>;
  /** A snapshot of this instance's counters. */
  stats(): CacheStats;
  /**
   * Subscribes `listener` to this instance's events of `type` (`"*"`: every event), delivered
   * synchronously as they happen; returns the function that unsubscribes it. Each event is one
   * count of `stats()`. A listener that throws is logged once and never breaks a call; with no
   * listener, no event is built. See `CacheEvent`.
   *
   * @example
   * ```ts
   * const off = cache.on("hit", (event) => console.log(event.label, event.tier, event.ms));
   * off();
   * ```
   */
  on<K extends CacheEventType | "*">(type: K, listener: CacheEventListener<K>): () => void;
  /** Resolves once every background write started so far has settled (and a due report of this instance's counters). */
  flush(): Promise<void>;
  /**
   * Deletes the blobs no record points to any more (expired or replaced entries), leaving alone
   * those written within `grace` (1 h). Rejects when a backend fails. See `CleanupOptions`.
   *
   * @example
   * ```ts
   * const { deleted, deletedBytes } = await cache.cleanup({ grace: "2h" });
   * ```
   */
  cleanup(options?: CleanupOptions): Promise<CleanupSummary>;
  /**
   * What is stored for `key` (or for a key hash, `{ hash }`): record fields, lease, blob, and
   * whether the payload matches its checksum. Never decodes the value; rejects when a backend fails.
   */
  inspect(key: string | { readonly hash: string }, options?: KeyOptions): Promise<EntryInspection>;
  /**
   * Proves the configuration end to end: the store reachable and authorised, its read script
   * running, its clock close to this one, a probe object written, read back and deleted in the
   * bucket, the compressor loaded. Each step says what it found, and what to change when it
   * failed. Never rejects; `ok` is false when a step failed. `larder check` prints it.
   *
   * @example
   * ```ts
   * const report = await cache.check();
   * if (!report.ok) console.error(report.steps.filter((s) => s.status === "fail"));
   * ```
   */
  check(): Promise<CheckReport>;
  /**
   * Where each backend stands, from the calls already made (no request of its own: cheap enough
   * for a health route): `ok`, `misconfigured` (with the fix), `failing` or `down` (breaker
   * open), its last error and the latency of its calls.
   */
  health(): CacheHealth;
}

/**
 * `createCache` with a runtime's own defaults, for the per-runtime entry points: `larder`
 * (src/runtime/default_entry.ts) passes the embedded zstd.wasm and what it found of the runtime,
 * `larder/workers` the `zstd.wasm` it imports as a compiled module. Only `larder`'s references the
 * embedded zstd.wasm, so a bundle built from another entry point leaves those bytes out.
 */
export function createCacheFor(options: CacheOptions | undefined, runtime: RuntimeDefaults): Cache {
  const resolved = resolveOptions(options, runtime);
  const breaker = resolved.breaker;
  const breakers = {
    store: breaker && new CircuitBreaker(breaker.threshold, breaker.cooldownMs, resolved.now),
    blob: breaker && new CircuitBreaker(breaker.threshold, breaker.cooldownMs, resolved.now),
  };
  const events = new CacheEvents(resolved.logger);
  const stats = new StatsRecorder(breakers, (source, code, fix) => {
    if (events.listening) events.emit({ type: "error", source, code, ...(fix === undefined ? {} : { fix }) });
  });
  for (const backend of ["store", "blob"] as const) {
    const watched = breakers[backend];
    if (watched) watched.onChange = (state) => events.listening && events.emit({ type: "breaker", backend, state });
  }
  if (resolved.onEvent) events.on("*", resolved.onEvent);
  const backend = new Backends({
    store: resolved.store,
    blobs: resolved.blobs,
    storeTimeoutMs: resolved.storeTimeoutMs,
    blobTimeoutMs: resolved.blobTimeoutMs,
    stats,
    logger: resolved.logger,
    breakers,
    now: resolved.now,
  });
  const background = new BackgroundQueue({
    maxPending: resolved.maxPendingWrites,
    waitUntil: resolved.waitUntil,
    unkept: runtime.unkeptWarning && (() => {
      const warning = runtime.unkeptWarning?.();
      if (warning !== undefined) resolved.logger.warn(warning);
    }),
  });
  const store = withBus(resolved.store);
  const bus = store &&
    new TierBus({ store, prefix: resolved.prefix, backend, stats, events, background, now: resolved.now });
  const tier = resolved.memory && new MemoryTier({
    ...resolved.memory,
    now: resolved.now,
    sharing: resolved.memory.shared
      ? {
        decode: ({ codec, bytes }) => decodeValue(codec, bytes, resolved.payload),
        schedule: (task) => background.schedule(task),
      }
      : undefined,
  });
  if (tier && bus && resolved.memory?.bus) {
    bus.listen({
      tier,
      intervalMs: resolved.memory.bus.intervalMs,
      // Everything that can concern what the tier was filled with before the first read.
      recentMs: resolved.memory.ttlMs + resolved.storeTimeoutMs + 1_000,
    });
  }
  const ctx: CacheContext = {
    options: resolved,
    stats,
    events,
    backend,
    hints: new PlacementHints(),
    background,
    tier,
    bus,
    refreshing: new Set(),
    reporter: new GlobalReporter({
      stats,
      key: statsKey(resolved.prefix),
      intervalMs: resolved.globalStatsIntervalMs,
      now: resolved.now,
      backend,
    }),
  };
  const wrapping: WrapState = { ctx, inflight: new Map(), registry: new Map() };
  const { prefix } = resolved;

  const cache: Cache = {
    wrap: <A extends unknown[], R>(fn: (...args: never) => R, wrapOptions?: WrapOptions<A>): Wrapped<A, R> =>
      wrapFunction<A, R>(wrapping, fn, wrapOptions),
    invalidating: (fn, invalidatingOptions) => invalidatingFunction(wrapping, fn, invalidatingOptions),
    async get<T>(key: string, getOptions?: GetOptions): Promise<T | undefined> {
      const { ref, decoder } = await getRef(ctx, { key, options: getOptions });
      return await getEntry(ctx, ref, decoder) as T | undefined;
    },
    async set(key, value, setOptions) {
      const { ref, ttlMs } = await setRef(ctx, { key, options: setOptions });
      return await setEntry(ctx, ref, { value, ttlMs });
    },
    has: async (key, keyOptions) => hasEntry(ctx, await entryRef(ctx, { method: "has", key, options: keyOptions })),
    delete: async (key, keyOptions) =>
      deleteEntry(ctx, await entryRef(ctx, { method: "delete", key, options: keyOptions })),

    async invalidateTag(tag, invalidateOptions) {
      const keys = checkTags([tag], "invalidateTag: tag").map((t) => tagGeneration(prefix, t));
      await invalidate(ctx, keys, invalidateOptions);
    },
    async invalidateTags(tags, invalidateOptions) {
      const keys = checkTags(tags, "invalidateTags: tags").map((t) => tagGeneration(prefix, t));
      await invalidate(ctx, keys, invalidateOptions);
    },
    async invalidateNamespace(namespace, invalidateOptions) {
      const key = namespaceGeneration(prefix, checkName(namespace, "invalidateNamespace: namespace"));
      await invalidate(ctx, [key], invalidateOptions);
    },
    clear: (clearOptions) => clearAll(ctx, clearOptions),
    globalStats: () => readGlobalStats(ctx),

    stats: () => stats.snapshot(ctx.background.size),
    on: (type, listener) => events.on(type, listener),
    async flush() {
      await ctx.background.flush();
      // After the writes, so that a due report includes them.
      ctx.reporter.reportInBackground(ctx.background);
      await ctx.background.flush();
    },
    cleanup: (cleanupOptions) => cleanup(ctx, cleanupOptions),
    inspect: async (key, keyOptions) =>
      inspectEntry(
        ctx,
        typeof key === "string"
          ? (await entryRef(ctx, { method: "inspect", key, options: keyOptions })).hash
          : checkHash(key, "inspect"),
      ),
    check: () => check(ctx),
    health: () => health(ctx),
  };
  // For the response cache (larder/http, larder/hono), which runs on the same machinery.
  attachContext(cache, ctx);
  return cache;
}

/** `store` when it declares a usable bus (see `MetadataStore.bus`), else undefined. */
function withBus(store: MetadataStore): (MetadataStore & { readonly bus: "push" | "poll" }) | undefined {
  const { bus } = store;
  if (bus === undefined) return undefined;
  if (bus !== "push" && bus !== "poll") {
    throw new ConfigError(
      `createCache: store "${store.name}" declares bus ${
        JSON.stringify(bus)
      }; a store's bus is "push", "poll" or absent`,
    );
  }
  if (bus === "push" && typeof store.subscribe !== "function") {
    throw new ConfigError(`createCache: store "${store.name}" declares bus "push" but has no subscribe() method`);
  }
  return store as MetadataStore & { readonly bus: "push" | "poll" };
}

export type { GetOptions, KeyOptions, SetOptions } from "./entries.ts";
export type { ClearOptions, ClearResult, InvalidateOptions } from "./invalidation.ts";
export type { CheckReport, CheckStep, CheckStepName } from "./check.ts";
export type { BackendHealth, BackendHealthState, CacheHealth } from "./health.ts";
export type { InvalidatingOptions, RecacheCall, RecacheOptions } from "./invalidate_on_write.ts";
