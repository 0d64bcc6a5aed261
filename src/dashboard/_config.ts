/**
 * The configuration in force, as the dashboard shows it: an explicit allow-list of a cache's
 * resolved options. Nothing is copied wholesale — the store and blob store objects hold tokens
 * and secret keys — so a field added to the options later stays hidden until it is listed here.
 *
 * @module
 */
import type { ResolvedOptions } from "./_core.ts";

/** The configuration fields the dashboard shows (durations in ms, sizes in bytes). */
export interface ConfigView {
  /** Key prefix of records and blobs. */
  readonly prefix: string;
  /** Default namespace. */
  readonly namespace: string;
  /** Name of the metadata store adapter (e.g. `upstash`). */
  readonly store: string;
  /** Name of the blob store adapter, or null without one (large values are not cached). */
  readonly blobs: string | null;
  /** Default TTL. */
  readonly ttlMs: number;
  /** Value codec. */
  readonly codec: string;
  /** Payload compression. */
  readonly compression: string;
  /** Stored payloads up to this size live inside the record; larger ones go to the blob store. */
  readonly maxInlineBytes: number;
  /**
   * Client-side encryption: the id of the key new payloads are sealed with and the ids of every
   * key they may be read with (never a key), or null when off.
   */
  readonly encryption: { readonly current: string; readonly keyIds: readonly string[] } | null;
  /** Encoded values over this size are not cached. */
  readonly maxValueBytes: number;
  /** Time limits of store and blob calls and of a whole lookup (null: none). */
  readonly timeouts: { readonly storeMs: number; readonly blobMs: number; readonly totalMs: number | null };
  /** Background writes in flight at most. */
  readonly maxPendingWrites: number;
  /** Whether background writes are handed to a `waitUntil`. */
  readonly waitUntil: boolean;
  /** The in-process tier, or null when off. */
  readonly memory: { readonly maxBytes: number; readonly ttlMs: number } | null;
  /** The circuit breakers' settings, or null when off. */
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number } | null;
  /** Cross-instance leases, or null when off. */
  readonly lease: { readonly ttlMs: number; readonly waitMs: number } | null;
  /** Stale-while-revalidate window (0: off). */
  readonly staleWhileRevalidateMs: number;
  /** Stale-if-error window (0: off). */
  readonly staleIfErrorMs: number;
  /** Bounds per namespace (0: no bound). */
  readonly limits: Readonly<Record<string, { readonly maxEntries: number; readonly maxBytes: number }>>;
  /** How often this instance publishes its counters, or null when off. */
  readonly globalStatsIntervalMs: number | null;
}

/** The allow-listed configuration of resolved options `o`. */
export function configView(o: ResolvedOptions): ConfigView {
  const limits: Record<string, { maxEntries: number; maxBytes: number }> = {};
  for (const [namespace, bounds] of o.limits) {
    limits[namespace] = { maxEntries: bounds.maxEntries, maxBytes: bounds.maxBytes };
  }
  return {
    prefix: o.prefix,
    namespace: o.namespace,
    store: o.store.name,
    blobs: o.blobs?.name ?? null,
    ttlMs: o.ttlMs,
    codec: o.payload.codec.name,
    compression: o.payload.compressor.name,
    maxInlineBytes: o.maxInlineBytes,
    maxValueBytes: o.payload.maxValueBytes,
    encryption: o.encryption ? { current: o.encryption.current, keyIds: [...o.encryption.keyIds] } : null,
    timeouts: { storeMs: o.storeTimeoutMs, blobMs: o.blobTimeoutMs, totalMs: o.totalTimeoutMs ?? null },
    maxPendingWrites: o.maxPendingWrites,
    waitUntil: o.waitUntil !== undefined,
    memory: o.memory ? { maxBytes: o.memory.maxBytes, ttlMs: o.memory.ttlMs } : null,
    breaker: o.breaker ? { threshold: o.breaker.threshold, cooldownMs: o.breaker.cooldownMs } : null,
    lease: o.lease ? { ttlMs: o.lease.ttlMs, waitMs: o.lease.waitMs } : null,
    staleWhileRevalidateMs: o.staleWhileRevalidateMs,
    staleIfErrorMs: o.staleIfErrorMs,
    limits,
    globalStatsIntervalMs: o.globalStatsIntervalMs ?? null,
  };
}
