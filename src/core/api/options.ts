/**
 * `createCache` options: their public shape and their check table. Invalid options fail at
 * `createCache` time with a `ConfigError` that names the option; defaults come from
 * core/defaults.ts, and the result is the context's `ResolvedOptions`.
 *
 * @module
 */
import { memoryBlobStore } from "../../blobs/memory.ts";
import { codecsFor, compressorsFor } from "../../codec/registry.ts";
import type { ZstdWasm } from "../../codec/zstd.ts";
import { memoryStore } from "../../stores/memory.ts";
import type { NamespaceLimits, ResolvedOptions } from "../context.ts";
import { ConfigError } from "../errors.ts";
import { checkTags } from "../record/generations.ts";
import { checkName } from "../record/key_material.ts";
import type { BlobStore, Logger, MetadataStore, ValueExtension, WaitUntil } from "../types.ts";
import { encryptionCheck, type EncryptionOptions } from "../record/encryption.ts";
import { extensionsCheck, withExtensions } from "./value_codecs.ts";
import * as opt from "../util/check_options.ts";
import type { Duration } from "../util/durations.ts";
import type { CacheEvent } from "../stats/events.ts";
import { DEFAULTS } from "../defaults.ts";
import { profileName, resolveProfiles, type Ttl, ttlCheck, ttlMs } from "./ttl_profiles.ts";

/** Shortest `memory.bus.interval`: the log is read every half of it, so this is up to 100 reads a second. */
const MIN_BUS_INTERVAL_MS = 20;

/** `memory.bus.interval`: a duration of at least {@link MIN_BUS_INTERVAL_MS}. */
function busInterval(value: unknown, at: opt.OptionPath): number {
  const ms = opt.duration(value, at);
  if (ms < MIN_BUS_INTERVAL_MS) {
    throw new ConfigError(
      `${
        opt.optionName(at)
      } must be at least ${MIN_BUS_INTERVAL_MS}ms (the log is read every half interval), got ${ms}ms`,
    );
  }
  return ms;
}

/** Options of {@link createCache}. Every field is optional. */
export interface CacheOptions {
  /** Where records live. @default an in-process `memoryStore()` */
  store?: MetadataStore;
  /**
   * Where payloads over `maxInlineBytes` live. Defaults to an in-process `memoryBlobStore()` when
   * `store` is also omitted; with a `store` and no `blobs`, large values are not cached.
   */
  blobs?: BlobStore;
  /** Isolates environments and tenants: the first segment of every Redis key and object key. @default "larder" */
  prefix?: string;
  /** Default namespace of entries. @default "default" */
  namespace?: string;
  /**
   * Default time to live: a duration, or a TTL profile's name (see `ttlProfiles`).
   * @default "default" (the `default` profile: 1 h unless redefined)
   */
  ttl?: Ttl;
  /**
   * Named TTLs, usable wherever a TTL is given (`ttl: "short"`). Built in: `short` (1 min),
   * `default` (1 h) and `long` (1 day); these may be redefined here. Names are 1–32 lower-case
   * letters, digits or `_`, starting with a letter.
   * @example { short: "30s", reports: "15m" }
   * @default { short: "1m", default: "1h", long: "1d" }
   */
  ttlProfiles?: Record<string, Duration>;
  /**
   * Durations that retune existing profiles and win over `ttlProfiles`: `cacheOptionsFromEnv()`
   * (`larder/env`) fills it from the `LARDER_TTL_<NAME>` variables, so operators change a TTL
   * without a deploy. A name no profile has is a `ConfigError` (a mistyped variable).
   * @default {}
   */
  ttlOverrides?: Record<string, Duration>;
  /** Value encoding: `"cbor"` keeps Date, Map, Set, BigInt, typed arrays and undefined. @default "cbor" */
  codec?: "cbor" | "json";
  /**
   * Codecs for particular kinds of values, offered each value before `codec`: the first that
   * accepts a value encodes it, under its own name, so that every reader with the same codec
   * decodes it (a reader without it: a miss, counted in `errors.codec`, logged with the fix).
   * @example [arrowCodec()] // from "larder/arrow": Arrow tables as Arrow IPC
   * @default []
   */
  codecs?: readonly ValueExtension[];
  /**
   * CBOR: write arrays of at least 8 same-shape objects (query rows) with each shape's keys once
   * (cbor-x's record tags): 40 % smaller encodings, faster to decode. Larder 0.1 cannot read such
   * entries (it counts a codec error and recomputes): set `false` while instances of 0.1 read the
   * same store, and remove it once they are gone. Reading is unaffected. @default true
   */
  rowShapes?: boolean;
  /** Payload compression. @default "zstd" */
  compression?: "zstd" | "gzip" | "none";
  /**
   * Client-side encryption at rest: every payload (inline and blob) sealed with AES-256-GCM
   * through Web Crypto before it leaves the process, the key's id stored in the record. New
   * entries use `current`; entries written with any key in `keys` still read. An entry whose key
   * is missing, or that does not decrypt, is a miss counted as an error, never plaintext.
   * @example { keys: { k2: env.LARDER_KEY_2, k1: env.LARDER_KEY_1 }, current: "k2" }
   * @default off (payloads stored in the clear)
   */
  encryption?: EncryptionOptions;
  /**
   * zstd settings: `level` (1–19) and the compiled `wasm` module (or a function resolving to it).
   * @default { level: 3, wasm: Larder's own zstd.wasm (embedded in `larder`; imported as a module by `larder/workers`) }
   */
  zstd?: { level?: number; wasm?: WebAssembly.Module | (() => Promise<WebAssembly.Module>) };
  /** Stored payloads up to this size live inside the record; larger ones go to `blobs`. @default 32768 */
  maxInlineBytes?: number;
  /** Encoded values over this size are not cached (logged, the result is still returned). @default 67108864 (64 MiB) */
  maxValueBytes?: number;
  /**
   * Time limits: of each store call, of each blob call, and (`total`, optional) of the cache's
   * whole lookup per call (record, blob, verification, decoding), after which the call goes on
   * as a miss and runs the function.
   * @default { store: "1s", blob: "5s" }
   */
  timeout?: { store?: Duration; blob?: Duration; total?: Duration };
  /** Keeps background writes alive on runtimes that end work with the response (Workers' `ctx.waitUntil`). */
  waitUntil?: WaitUntil;
  /** Background writes in flight at most; further writes are skipped and counted. @default 256 */
  maxPendingWrites?: number;
  /** Where warnings go. @default warnings and errors to `console` */
  logger?: Logger;
  /**
   * The in-process tier, checked before the store: `true` for the defaults, or its size and TTL.
   * Off unless set. By default it keeps encoded values and each hit decodes its own copy;
   * `shared: true` keeps one decoded, deep-frozen value per entry and hands it to every hit (no
   * decode: a hit costs microseconds at any size), read-only — see the README's "In-process tier".
   *
   * `bus`: how it hears that another instance invalidated, deleted or replaced an entry, when the
   * store can tell (see {@link MetadataStore.bus}): within milliseconds on Redis over TCP (pub/sub),
   * within `interval` on Upstash (one read per interval and process while the tier is used). `false`,
   * or a store without a bus: `ttl` alone bounds how long such an entry may still be served.
   * @default false (when `true`: { maxBytes: 33554432, ttl: "5s", shared: false, bus: { interval: "200ms" } })
   */
  memory?: boolean | {
    maxBytes?: number;
    ttl?: Duration;
    shared?: boolean;
    bus?: boolean | { interval?: Duration };
  };
  /**
   * Per-backend circuit breaker: after `threshold` consecutive failures a backend is skipped
   * (no round trip) for `cooldown`, then one probe call decides. `false` disables it.
   * @default { threshold: 5, cooldown: "10s" }
   */
  breaker?: boolean | { threshold?: number; cooldown?: Duration };
  /**
   * Serve an entry up to this long past its TTL while one background refresh replaces it.
   * The record is kept in Redis for TTL + this window. @default none
   */
  staleWhileRevalidate?: Duration;
  /** Serve an entry up to this long past its TTL when the function throws. @default none */
  staleIfError?: Duration;
  /**
   * Cross-instance stampede protection: on a miss the first instance takes a lease (in the same
   * round trip as the lookup) and computes; the others wait for its entry for at most `wait`,
   * then compute themselves. The lease expires `ttl` after its owner stops renewing it (dies).
   * `false` disables it (then a miss is a plain GET).
   * @default { ttl: "15s", wait: "30s" }
   */
  lease?: boolean | { ttl?: Duration; wait?: Duration };
  /**
   * Bounds per namespace: past `maxEntries` entries or `maxBytes` of stored (compressed) payload,
   * the namespace's least recently used entries are deleted, record and blob. Enforced on writes
   * in the same store command, without scanning; a hit marks its entry used in its one round trip.
   * @example { reports: { maxEntries: 10_000, maxBytes: 512 * 1024 * 1024 } }
   * @default no limits
   */
  limits?: Record<string, { maxEntries?: number; maxBytes?: number }>;
  /**
   * Counters shared by every instance, kept in the store (read them with `cache.globalStats()` or
   * `larder stats`): each instance adds its own once per `interval`, riding along with a write
   * or as one background request after a lookup or at `flush()`. `false` turns this off.
   * @default { interval: "30s" }
   */
  globalStats?: boolean | { interval?: Duration };
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number;
  /**
   * Told of every event (hits, misses, stale serves, writes, invalidations, breaker changes,
   * errors…), synchronously, from the first call on: the same as `cache.on("*", listener)`.
   * A listener that throws is logged once and never breaks a call. See `CacheEvent`.
   */
  onEvent?: (event: CacheEvent) => unknown;
}

/** What a runtime's entry point supplies to {@link resolveOptions}. */
export interface RuntimeDefaults {
  /** The zstd module used when `options.zstd.wasm` is not given. */
  readonly zstdWasm: ZstdWasm;
  /**
   * Set by entry points for runtimes that stop a request's work once its response is sent
   * (workerd), where background work no `waitUntil` keeps alive is lost: the warning to log when
   * that happens, with the fix. Called each time; it returns undefined once it has been said (so
   * an isolate says it once). The core never asks which runtime it is on: the entry point knows.
   */
  readonly unkeptWarning?: () => string | undefined;
}

/** The default logger: warnings and errors to `console`. */
const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(message, fields ?? ""),
  error: (message, fields) => console.error(message, fields ?? ""),
};

/** A prefix or namespace: it becomes part of Redis keys and object keys. */
export function nameCheck(value: unknown, at: opt.OptionPath): string {
  return checkName(value, opt.optionName(at));
}

/** An entry's tags: printable ASCII without quotes, backslashes or brackets; deduplicated. */
export function tagsCheck(value: unknown, at: opt.OptionPath): string[] {
  return checkTags(value, opt.optionName(at));
}

/** Checked by the zstd compressor itself, which names the problem. */
function byCompressor<T>(): opt.Check<T | undefined> {
  return (value) => value as T | undefined;
}

/** A namespace's bounds: at least one of them. */
const namespaceBounds: opt.Check<NamespaceLimits> = (value, at) => {
  const bounds = opt.group({
    maxEntries: opt.optional(opt.positiveInteger),
    maxBytes: opt.optional(opt.positiveInteger),
  })(value, at);
  if (bounds.maxEntries === undefined && bounds.maxBytes === undefined) {
    throw new ConfigError(`${opt.optionName(at)} needs maxEntries, maxBytes or both`);
  }
  return { maxEntries: bounds.maxEntries ?? 0, maxBytes: bounds.maxBytes ?? 0 };
};

const D = DEFAULTS.cache;

const CACHE_OPTIONS = {
  store: opt.optional(
    opt.satisfying<MetadataStore>(
      (v) => typeof (v as MetadataStore | null)?.run === "function",
      "a MetadataStore (e.g. upstashStore(...))",
    ),
  ),
  blobs: opt.optional(
    opt.satisfying<BlobStore>(
      (v) => typeof (v as BlobStore | null)?.get === "function",
      "a BlobStore (e.g. s3BlobStore(...))",
    ),
  ),
  prefix: opt.withDefault(nameCheck, D.prefix),
  namespace: opt.withDefault(nameCheck, D.namespace),
  ttl: opt.withDefault(ttlCheck, D.ttl),
  ttlProfiles: opt.recordOf({
    shape: "an object of { [profile]: duration }",
    keyName: "profile name",
    key: profileName,
    value: opt.duration,
  }),
  ttlOverrides: opt.recordOf({
    shape: "an object of { [profile]: duration }",
    keyName: "profile name",
    key: profileName,
    value: opt.duration,
  }),
  codec: opt.withDefault(opt.oneOf(["cbor", "json"]), D.codec),
  codecs: opt.withDefault(extensionsCheck, D.codecs),
  rowShapes: opt.withDefault(opt.boolean, D.rowShapes),
  compression: opt.withDefault(opt.oneOf(["zstd", "gzip", "none"]), D.compression),
  encryption: opt.optional(encryptionCheck),
  zstd: opt.optional(opt.group({ level: byCompressor<number>(), wasm: byCompressor<ZstdWasm>() })),
  maxInlineBytes: opt.withDefault(opt.positiveInteger, D.maxInlineBytes),
  maxValueBytes: opt.withDefault(opt.positiveInteger, D.maxValueBytes),
  timeout: opt.group({
    store: opt.withDefault(opt.duration, D.timeout.store),
    blob: opt.withDefault(opt.duration, D.timeout.blob),
    total: opt.optional(opt.duration),
  }),
  waitUntil: opt.optional(opt.fn<WaitUntil>()),
  maxPendingWrites: opt.withDefault(opt.positiveInteger, D.maxPendingWrites),
  logger: opt.optional(
    opt.satisfying<Logger>(
      (v) =>
        ["debug", "info", "warn", "error"].every((m) =>
          typeof (v as Record<string, unknown> | null)?.[m] === "function"
        ),
      "an object with debug, info, warn and error methods",
    ),
  ),
  memory: opt.switchable({
    maxBytes: opt.withDefault(opt.positiveInteger, D.memory.maxBytes),
    ttl: opt.withDefault(opt.duration, D.memory.ttl),
    shared: opt.withDefault(opt.boolean, D.memory.shared),
    bus: opt.switchable({ interval: opt.withDefault(busInterval, D.memory.bus.interval) }, D.memory.bus.on),
  }, D.memory.on),
  breaker: opt.switchable({
    threshold: opt.withDefault(opt.positiveInteger, D.breaker.threshold),
    cooldown: opt.withDefault(opt.duration, D.breaker.cooldown),
  }, D.breaker.on),
  staleWhileRevalidate: opt.optional(opt.duration),
  staleIfError: opt.optional(opt.duration),
  lease: opt.switchable({
    ttl: opt.withDefault(opt.duration, D.lease.ttl),
    wait: opt.withDefault(opt.duration, D.lease.wait),
  }, D.lease.on),
  limits: opt.recordOf({
    shape: "an object of { [namespace]: { maxEntries?, maxBytes? } }",
    keyName: "namespace",
    key: nameCheck,
    value: namespaceBounds,
  }),
  globalStats: opt.switchable({ interval: opt.withDefault(opt.duration, D.globalStats.interval) }, D.globalStats.on),
  now: opt.optional(opt.fn<() => number>()),
  onEvent: opt.optional(opt.fn<(event: CacheEvent) => unknown>("a function, (event) => void")),
} satisfies opt.OptionChecks<CacheOptions>;

/** Validates `options` and fills in defaults (the runtime's own from `runtime`). */
export function resolveOptions(options: CacheOptions | undefined, runtime: RuntimeDefaults): ResolvedOptions {
  // Doubtful values (a TTL of 60 ms) are logged once the logger is known.
  const doubts: string[] = [];
  const o = opt.checkOptions({ where: "createCache", warn: (message) => doubts.push(message) }, options, CACHE_OPTIONS);
  const logger = o.logger ?? consoleLogger;
  for (const message of doubts) logger.warn(message);
  const zstd = { ...o.zstd, wasm: o.zstd?.wasm ?? runtime.zstdWasm };
  const compressors = compressorsFor(zstd);
  const ttlProfiles = resolveProfiles(o.ttlProfiles, o.ttlOverrides);
  const codecs = codecsFor({ rowShapes: o.rowShapes });
  return {
    store: o.store ?? memoryStore(),
    blobs: o.blobs ?? (o.store === undefined ? memoryBlobStore() : undefined),
    prefix: o.prefix,
    namespace: o.namespace,
    ttlMs: ttlMs(ttlProfiles, o.ttl, "createCache: ttl"),
    ttlProfiles,
    payload: {
      codec: codecs[o.codec]!,
      compressor: compressors[o.compression],
      codecs: withExtensions(codecs, o.codecs),
      extensions: o.codecs,
      compressors,
      minCompressBytes: DEFAULTS.minCompressBytes,
      maxValueBytes: o.maxValueBytes,
    },
    encryption: o.encryption,
    maxInlineBytes: o.maxInlineBytes,
    storeTimeoutMs: o.timeout.store,
    blobTimeoutMs: o.timeout.blob,
    totalTimeoutMs: o.timeout.total,
    waitUntil: o.waitUntil,
    maxPendingWrites: o.maxPendingWrites,
    logger,
    memory: o.memory && {
      maxBytes: o.memory.maxBytes,
      ttlMs: o.memory.ttl,
      shared: o.memory.shared,
      bus: o.memory.bus && { intervalMs: o.memory.bus.interval },
    },
    breaker: o.breaker && { threshold: o.breaker.threshold, cooldownMs: o.breaker.cooldown },
    staleWhileRevalidateMs: o.staleWhileRevalidate ?? 0,
    staleIfErrorMs: o.staleIfError ?? 0,
    lease: o.lease && { ttlMs: o.lease.ttl, waitMs: o.lease.wait },
    limits: o.limits,
    globalStatsIntervalMs: o.globalStats?.interval,
    now: o.now ?? Date.now,
    onEvent: o.onEvent,
  };
}
