/**
 * Counters and latency histograms of one cache instance. Everything here has a fixed size.
 *
 * @module
 */
import type { CacheErrorCode } from "../errors.ts";
import type { BreakerStats, CircuitBreaker } from "../backend/breaker.ts";
import { Histogram, type LatencySummary } from "./histogram.ts";

/** Where a hit was served from. */
export type HitSource = "memory" | "inline" | "blob";

/** Which part of the cache an error came from. */
export type ErrorSource = "store" | "blob" | "codec" | "integrity" | "key" | "schema";

/** A snapshot of a cache's counters, from {@link Cache.stats}. */
export interface CacheStats {
  /** Hits by where the payload came from. */
  readonly hits: { readonly total: number; readonly memory: number; readonly inline: number; readonly blob: number };
  /** Lookups that found no usable entry (including entries that failed verification). */
  readonly misses: number;
  /** `hits.total / (hits.total + misses)`, 0 when there were no lookups. */
  readonly hitRate: number;
  /** Failures the cache absorbed, by source and by error code. */
  readonly errors: {
    readonly total: number;
    readonly store: number;
    readonly blob: number;
    readonly codec: number;
    readonly integrity: number;
    readonly key: number;
    /** Values that did not pass their function's `schema` (cached ones: misses; fresh ones: rejected). */
    readonly schema: number;
    readonly byCode: Readonly<Partial<Record<CacheErrorCode, number>>>;
  };
  /** Background writes. */
  readonly writes: {
    /** Entries persisted. */
    readonly ok: number;
    /** Writes that failed (logged). */
    readonly failed: number;
    /** Values not stored: unencodable, too large, or the pending set was full. */
    readonly skipped: number;
    /** Values not stored because an invalidation came, or could not be ruled out (the lookup failed), while they were computed. */
    readonly discarded: number;
    /** Writes in flight now. */
    readonly pending: number;
  };
  /** How many calls to wrapped functions shared another call's in-flight work. */
  readonly coalesced: number;
  /** Blobs deleted because their entries were evicted by a namespace's `limits`. */
  readonly evictedBlobs: number;
  /** Expired entries served while a refresh ran (stale-while-revalidate); also counted in `hits`. */
  readonly stale: number;
  /** Expired entries served because the function failed (stale-if-error). */
  readonly staleIfError: number;
  /** Background refreshes whose function failed (the stale entry stayed). */
  readonly refreshesFailed: number;
  /** Lookups abandoned at `timeout.total` (the call went on as a miss). */
  readonly budgetExceeded: number;
  /** Calls answered at `wrap`'s `timeout` (a stale entry or a `TimeoutError`) while the function went on. */
  readonly functionTimeouts: number;
  /** Recomputations after an invalidating write (`recache`): done, failed (logged), skipped (not covered by the invalidation, or the queue was full). */
  readonly recaches: { readonly ok: number; readonly failed: number; readonly skipped: number };
  /**
   * Cross-instance leases: taken to compute, waits that ended with another instance's entry,
   * waits given up (computed anyway), and waits that ended with the lease free and no entry,
   * taken over (its owner died, or lost its write: e.g. a process that exited with it pending).
   */
  readonly leases: {
    readonly acquired: number;
    readonly waited: number;
    readonly givenUp: number;
    readonly takenOver: number;
  };
  /** The bus that keeps the in-process tiers of every instance consistent (`memory.bus`). */
  readonly bus: BusStats;
  /** Circuit breakers per backend; `undefined` when disabled. */
  readonly breakers: { readonly store: BreakerStats | undefined; readonly blob: BreakerStats | undefined };
  /** Lookup latency in ms (store and blob reads, verification and decoding). */
  readonly latency: { readonly hit: LatencySummary; readonly miss: LatencySummary };
}

/** The bus's counters in {@link CacheStats}. */
export interface BusStats {
  /**
   * How this instance's tier hears of other instances' changes: `push` (subscribed: Redis over
   * TCP, the in-process store), `poll` (the store's log, read at most every `memory.bus.interval`:
   * Upstash), or `off` (no tier, `memory.bus: false`, or a store without a bus: the TTL bounds it).
   */
  readonly mode: "push" | "poll" | "off";
  /** Changes this instance published (invalidations, deletes, `set`s), whatever the mode. */
  readonly sent: number;
  /** Other instances' changes received. */
  readonly received: number;
  /** Tier entries dropped because of them. */
  readonly dropped: number;
  /** Reads of the log (`poll` mode). */
  readonly polls: number;
  /** Subscriptions lost (`push`) and polls failed (`poll`): meanwhile the tier relies on its TTL. */
  readonly failures: number;
  /** Subscriptions in place again after one was lost (`push`). */
  readonly reconnects: number;
  /** Times the tier was emptied because messages may have been missed (a reconnect, a gap in the log). */
  readonly resets: number;
}

/** Mutable counters behind {@link CacheStats}. */
export class StatsRecorder {
  hitsMemory = 0;
  hitsInline = 0;
  hitsBlob = 0;
  misses = 0;
  coalesced = 0;
  stale = 0;
  staleIfError = 0;
  refreshesFailed = 0;
  budgetExceeded = 0;
  functionTimeouts = 0;
  recachesOk = 0;
  recachesFailed = 0;
  recachesSkipped = 0;
  leasesAcquired = 0;
  leasesWaited = 0;
  leaseWaitsGivenUp = 0;
  leasesTakenOver = 0;
  writesOk = 0;
  writesFailed = 0;
  writesSkipped = 0;
  writesDiscarded = 0;
  evictedBlobs = 0;
  busMode: BusStats["mode"] = "off";
  busSent = 0;
  busReceived = 0;
  busDropped = 0;
  busPolls = 0;
  busFailures = 0;
  busReconnects = 0;
  busResets = 0;
  readonly errors: Record<ErrorSource, number> = {
    store: 0,
    blob: 0,
    codec: 0,
    integrity: 0,
    key: 0,
    schema: 0,
  };
  readonly errorsByCode: Partial<Record<CacheErrorCode, number>> = {};
  readonly hitLatency: Histogram = new Histogram();
  readonly missLatency: Histogram = new Histogram();
  /** Time of each store and blob call of the request path (for `cache.health()`). */
  readonly backendLatencies: { readonly store: Histogram; readonly blob: Histogram } = {
    store: new Histogram(),
    blob: new Histogram(),
  };
  readonly #breakers: { readonly store?: CircuitBreaker | undefined; readonly blob?: CircuitBreaker | undefined };
  readonly #onError: ((source: ErrorSource, code: CacheErrorCode, fix?: string) => void) | undefined;

  /** Counters reporting `breakers`' states; `onError` is told of each error counted (the cache's `error` events). */
  constructor(
    breakers: { readonly store?: CircuitBreaker | undefined; readonly blob?: CircuitBreaker | undefined } = {},
    onError?: (source: ErrorSource, code: CacheErrorCode, fix?: string) => void,
  ) {
    this.#breakers = breakers;
    this.#onError = onError;
  }

  /** Counts a hit served from `source` after `ms` of lookup. */
  hit(source: HitSource, ms: number): void {
    if (source === "memory") this.hitsMemory++;
    else if (source === "inline") this.hitsInline++;
    else this.hitsBlob++;
    this.hitLatency.record(ms);
  }

  /** Counts a miss after `ms` of lookup. */
  miss(ms: number): void {
    this.misses++;
    this.missLatency.record(ms);
  }

  /** Records the time of one store or blob call. */
  backendLatency(backend: "store" | "blob", ms: number): void {
    this.backendLatencies[backend].record(ms);
  }

  /** Counts an absorbed error. */
  error(source: ErrorSource, code: CacheErrorCode, fix?: string): void {
    this.errors[source]++;
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    this.#onError?.(source, code, fix);
  }

  /** A frozen snapshot; `pending` comes from the background queue. */
  snapshot(pending: number): CacheStats {
    const hits = this.hitsMemory + this.hitsInline + this.hitsBlob;
    const lookups = hits + this.misses;
    const e = this.errors;
    return {
      hits: { total: hits, memory: this.hitsMemory, inline: this.hitsInline, blob: this.hitsBlob },
      misses: this.misses,
      hitRate: lookups === 0 ? 0 : hits / lookups,
      errors: {
        total: e.store + e.blob + e.codec + e.integrity + e.key + e.schema,
        ...e,
        byCode: { ...this.errorsByCode },
      },
      writes: {
        ok: this.writesOk,
        failed: this.writesFailed,
        skipped: this.writesSkipped,
        discarded: this.writesDiscarded,
        pending,
      },
      coalesced: this.coalesced,
      evictedBlobs: this.evictedBlobs,
      stale: this.stale,
      staleIfError: this.staleIfError,
      refreshesFailed: this.refreshesFailed,
      budgetExceeded: this.budgetExceeded,
      functionTimeouts: this.functionTimeouts,
      recaches: { ok: this.recachesOk, failed: this.recachesFailed, skipped: this.recachesSkipped },
      leases: {
        acquired: this.leasesAcquired,
        waited: this.leasesWaited,
        givenUp: this.leaseWaitsGivenUp,
        takenOver: this.leasesTakenOver,
      },
      bus: {
        mode: this.busMode,
        sent: this.busSent,
        received: this.busReceived,
        dropped: this.busDropped,
        polls: this.busPolls,
        failures: this.busFailures,
        reconnects: this.busReconnects,
        resets: this.busResets,
      },
      breakers: { store: this.#breakers.store?.snapshot(), blob: this.#breakers.blob?.snapshot() },
      latency: { hit: this.hitLatency.summary(), miss: this.missLatency.summary() },
    };
  }
}
