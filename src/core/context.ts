/**
 * The state one cache instance shares between its read path, its write path and its API, and the
 * way from a public `Cache` object to that state, for the package's own entry points built on the
 * core (the response cache in `larder/http` and `larder/hono`, the dashboard). Users never see a
 * cache's context: it is not exported from the package.
 *
 * @module
 */
import type { BackgroundQueue } from "./flow/background.ts";
import type { Backends } from "./backend/backend_call.ts";
import type { Placement, PlacementHints } from "./flow/placement.ts";
import type { StatsRecorder } from "./stats/stats.ts";
import type { CacheEvent, CacheEvents } from "./stats/events.ts";
import type { GlobalReporter } from "./stats/global_stats.ts";
import type { MemoryTier } from "./flow/memory_tier.ts";
import type { TierBus } from "./flow/bus.ts";
import { ConfigError } from "./errors.ts";
import type { PayloadConfig } from "./record/entry.ts";
import type { PayloadEncryption } from "./record/encryption.ts";
import type { BlobStore, Logger, MetadataStore, WaitUntil } from "./types.ts";

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
  /** TTL profiles by name, in ms (built-in, declared, then overridden from the environment). */
  readonly ttlProfiles: ReadonlyMap<string, number>;
  readonly payload: PayloadConfig;
  /** Client-side encryption of stored payloads; `undefined`: stored in the clear. */
  readonly encryption: PayloadEncryption | undefined;
  readonly maxInlineBytes: number;
  readonly storeTimeoutMs: number;
  readonly blobTimeoutMs: number;
  readonly totalTimeoutMs: number | undefined;
  readonly waitUntil: WaitUntil | undefined;
  readonly maxPendingWrites: number;
  readonly logger: Logger;
  readonly memory:
    | {
      readonly maxBytes: number;
      readonly ttlMs: number;
      readonly shared: boolean;
      /** The bus: its poll interval (stores that are polled), or undefined when off. */
      readonly bus: { readonly intervalMs: number } | undefined;
    }
    | undefined;
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number } | undefined;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  readonly lease: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly limits: ReadonlyMap<string, NamespaceLimits>;
  readonly globalStatsIntervalMs: number | undefined;
  readonly now: () => number;
  readonly onEvent: ((event: CacheEvent) => unknown) | undefined;
}

/** Everything the read and write paths need. */
export interface CacheContext {
  /** Validated options. */
  readonly options: ResolvedOptions;
  /** Counters and histograms. */
  readonly stats: StatsRecorder;
  /** Listeners of the events behind the counters (check `listening` before building one). */
  readonly events: CacheEvents;
  /** Every store and blob call of the request path goes through this facade. */
  readonly backend: Backends;
  /** Where entries' payloads were last seen. */
  readonly hints: PlacementHints;
  /** Background writes. */
  readonly background: BackgroundQueue;
  /** The in-process tier, when enabled. */
  readonly tier: MemoryTier | undefined;
  /** The tiers' bus, when the store has one: this instance announces its changes on it (flow/bus.ts). */
  readonly bus: TierBus | undefined;
  /** Key hashes being refreshed in the background by this process. */
  readonly refreshing: Set<string>;
  /** Publishes this instance's counters to the store. */
  readonly reporter: GlobalReporter;
}

/** An entry's location: its key hash, its namespace, its generation keys, and where its payload probably is. */
export interface EntryRef {
  /** Key hash. */
  readonly hash: string;
  /** Namespace (for its eviction limits). */
  readonly namespace: string;
  /** Generation keys a new record of this entry is stamped with (prefix, namespace, tags). */
  readonly gens: readonly string[];
  /** A placement to assume when this process has no hint for the entry. */
  readonly fallbackHint?: Placement;
  /** The key as people write it (a filled key template, `set`'s key): kept in the record for `inspect` and logs. */
  readonly readableKey?: string;
}

const contexts = new WeakMap<object, CacheContext>();

/** Records `ctx` as the state behind `cache` (called once, by `createCache`). */
export function attachContext(cache: object, ctx: CacheContext): void {
  contexts.set(cache, ctx);
}

/** The state behind `cache`; a `ConfigError` naming `what` when it is not a cache from `createCache`. */
export function contextOf(cache: unknown, what: string): CacheContext {
  const ctx = typeof cache === "object" && cache !== null ? contexts.get(cache) : undefined;
  if (ctx === undefined) {
    throw new ConfigError(
      `${what}: expected a cache created by createCache() (from this copy of larder; "larder" and "larder/workers" share one)`,
    );
  }
  return ctx;
}
