/**
 * `createCache` options: their public shape, their defaults, and their validation. Invalid
 * options fail at `createCache` time with a `ConfigError` that names the option.
 *
 * @module
 */
import { memoryBlobStore } from "../../blobs/memory.ts";
import { cborCodec } from "../../codec/cbor.ts";
import { gzipCompressor } from "../../codec/gzip.ts";
import { jsonCodec } from "../../codec/json.ts";
import { noCompression } from "../../codec/none.ts";
import { zstdCompressor, type ZstdWasm } from "../../codec/zstd.ts";
import { memoryStore } from "../../stores/memory.ts";
import {
  consoleLogger,
  pick,
  positiveInt,
  resolveBreaker,
  resolveGlobalStats,
  resolveLease,
  resolveLimits,
  resolveMemory,
} from "./_option_groups.ts";
import { type Duration, toMs } from "../util/durations.ts";
import { ConfigError } from "../errors.ts";
import { checkName } from "../record/key_material.ts";
import type { PayloadConfig } from "../record/entry.ts";
import type { BlobStore, Compressor, Logger, MetadataStore, ValueCodec, WaitUntil } from "../types.ts";

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
  /** Default time to live. @default "1h" */
  ttl?: Duration;
  /** Value encoding: `"cbor"` keeps Date, Map, Set, BigInt, typed arrays and undefined. @default "cbor" */
  codec?: "cbor" | "json";
  /** Payload compression. @default "zstd" */
  compression?: "zstd" | "gzip" | "none";
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
   * Its `ttl` bounds how long this process may serve an entry that another instance has deleted
   * or replaced. Off unless set.
   * @default false (when `true`: { maxBytes: 33554432, ttl: "5s" })
   */
  memory?: boolean | { maxBytes?: number; ttl?: Duration };
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
}

/** A namespace's bounds; 0 means no bound. */
export interface NamespaceLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly store: MetadataStore;
  readonly blobs: BlobStore | undefined;
  readonly prefix: string;
  readonly namespace: string;
  readonly ttlMs: number;
  readonly payload: PayloadConfig;
  readonly maxInlineBytes: number;
  readonly storeTimeoutMs: number;
  readonly blobTimeoutMs: number;
  readonly totalTimeoutMs: number | undefined;
  readonly waitUntil: WaitUntil | undefined;
  readonly maxPendingWrites: number;
  readonly logger: Logger;
  readonly memory: { readonly maxBytes: number; readonly ttlMs: number } | undefined;
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number } | undefined;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  readonly lease: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly limits: ReadonlyMap<string, NamespaceLimits>;
  readonly globalStatsIntervalMs: number | undefined;
  readonly now: () => number;
}

const KNOWN = new Set([
  "store",
  "blobs",
  "prefix",
  "namespace",
  "ttl",
  "codec",
  "compression",
  "zstd",
  "maxInlineBytes",
  "maxValueBytes",
  "timeout",
  "waitUntil",
  "maxPendingWrites",
  "logger",
  "memory",
  "breaker",
  "staleWhileRevalidate",
  "staleIfError",
  "lease",
  "limits",
  "globalStats",
  "now",
]);

/** What a runtime's entry point supplies to {@link resolveOptions}. */
export interface RuntimeDefaults {
  /** The zstd module used when `options.zstd.wasm` is not given. */
  readonly zstdWasm: ZstdWasm;
}

/** Validates `options` and fills in defaults (the runtime's own from `runtime`). */
export function resolveOptions(options: CacheOptions | undefined, runtime: RuntimeDefaults): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null) throw new ConfigError("createCache: options must be an object");
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigError(`createCache: unknown option "${key}"`);
  }
  const o = options;
  if (o.store !== undefined && typeof o.store?.run !== "function") {
    throw new ConfigError("createCache: store must be a MetadataStore (e.g. upstashStore(...))");
  }
  if (o.blobs !== undefined && typeof o.blobs?.get !== "function") {
    throw new ConfigError("createCache: blobs must be a BlobStore (e.g. s3BlobStore(...))");
  }
  for (const fn of ["waitUntil", "now"] as const) {
    if (o[fn] !== undefined && typeof o[fn] !== "function") {
      throw new ConfigError(`createCache: ${fn} must be a function`);
    }
  }
  if (
    o.logger !== undefined &&
    !["debug", "info", "warn", "error"].every((m) => typeof (o.logger as never)[m] === "function")
  ) {
    throw new ConfigError("createCache: logger must have debug, info, warn and error methods");
  }
  const timeout = o.timeout ?? {};
  if (typeof timeout !== "object") throw new ConfigError("createCache: timeout must be { store?, blob?, total? }");
  for (const key of Object.keys(timeout)) {
    if (key !== "store" && key !== "blob" && key !== "total") {
      throw new ConfigError(`createCache: unknown option "timeout.${key}"`);
    }
  }
  const codecs = { cbor: cborCodec(), json: jsonCodec() };
  const compressors: Record<string, Compressor> = {
    zstd: zstdCompressor({ ...o.zstd, wasm: o.zstd?.wasm ?? runtime.zstdWasm }),
    gzip: gzipCompressor(),
    none: noCompression(),
  };
  return {
    store: o.store ?? memoryStore(),
    blobs: o.blobs ?? (o.store === undefined ? memoryBlobStore() : undefined),
    prefix: checkName(o.prefix ?? "larder", "createCache: prefix"),
    namespace: checkName(o.namespace ?? "default", "createCache: namespace"),
    ttlMs: toMs(o.ttl ?? "1h", "createCache: ttl"),
    payload: {
      codec: pick(codecs, o.codec ?? "cbor", "codec") as ValueCodec,
      compressor: pick(compressors, o.compression ?? "zstd", "compression"),
      codecs,
      compressors,
      minCompressBytes: 256,
      maxValueBytes: positiveInt(o.maxValueBytes ?? 64 * 1024 * 1024, "maxValueBytes"),
    },
    maxInlineBytes: positiveInt(o.maxInlineBytes ?? 32 * 1024, "maxInlineBytes"),
    storeTimeoutMs: toMs(timeout.store ?? "1s", "createCache: timeout.store"),
    blobTimeoutMs: toMs(timeout.blob ?? "5s", "createCache: timeout.blob"),
    totalTimeoutMs: timeout.total === undefined ? undefined : toMs(timeout.total, "createCache: timeout.total"),
    waitUntil: o.waitUntil,
    maxPendingWrites: positiveInt(o.maxPendingWrites ?? 256, "maxPendingWrites"),
    logger: o.logger ?? consoleLogger,
    memory: resolveMemory(o.memory),
    breaker: resolveBreaker(o.breaker),
    staleWhileRevalidateMs: o.staleWhileRevalidate === undefined
      ? 0
      : toMs(o.staleWhileRevalidate, "createCache: staleWhileRevalidate"),
    staleIfErrorMs: o.staleIfError === undefined ? 0 : toMs(o.staleIfError, "createCache: staleIfError"),
    lease: resolveLease(o.lease),
    limits: resolveLimits(o.limits),
    globalStatsIntervalMs: resolveGlobalStats(o.globalStats),
    now: o.now ?? Date.now,
  };
}
