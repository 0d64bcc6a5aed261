/**
 * Counters shared by every instance: each adds what it counted since its last report to one hash
 * in the store (`HINCRBY`), at most once per interval. A report rides along with a background
 * write when one is going out anyway, else goes as one background request; never on a caller's
 * path. Read back by `Cache.globalStats()`.
 *
 * @module
 */
import type { Backends } from "../backend/backend_call.ts";
import type { StoreOp } from "../types.ts";
import type { StatsRecorder } from "./stats.ts";

/**
 * The counters published, by their name in the store: every counter of `stats()` (the names
 * `larder/metrics` gives them too), not the gauges (`writes.pending`, breakers, latency, the bus).
 */
const COUNTERS: Readonly<Record<string, (stats: StatsRecorder) => number>> = {
  "hits.memory": (s) => s.hitsMemory,
  "hits.inline": (s) => s.hitsInline,
  "hits.blob": (s) => s.hitsBlob,
  misses: (s) => s.misses,
  "errors.store": (s) => s.errors.store,
  "errors.blob": (s) => s.errors.blob,
  "errors.codec": (s) => s.errors.codec,
  "errors.integrity": (s) => s.errors.integrity,
  "errors.schema": (s) => s.errors.schema,
  "errors.key": (s) => s.errors.key,
  "writes.ok": (s) => s.writesOk,
  "writes.failed": (s) => s.writesFailed,
  "writes.skipped": (s) => s.writesSkipped,
  "writes.discarded": (s) => s.writesDiscarded,
  stale: (s) => s.stale,
  staleIfError: (s) => s.staleIfError,
  coalesced: (s) => s.coalesced,
  "leases.acquired": (s) => s.leasesAcquired,
  "leases.waited": (s) => s.leasesWaited,
  "leases.givenUp": (s) => s.leaseWaitsGivenUp,
  "leases.takenOver": (s) => s.leasesTakenOver,
  functionTimeouts: (s) => s.functionTimeouts,
  "recaches.ok": (s) => s.recachesOk,
  "recaches.failed": (s) => s.recachesFailed,
  "recaches.skipped": (s) => s.recachesSkipped,
  refreshesFailed: (s) => s.refreshesFailed,
  budgetExceeded: (s) => s.budgetExceeded,
  evictedBlobs: (s) => s.evictedBlobs,
};

/** What a {@link GlobalReporter} publishes, where, and how often. */
export interface GlobalReporterOptions {
  /** This instance's counters. */
  readonly stats: StatsRecorder;
  /** The store key of the shared counters. */
  readonly key: string;
  /** At most one report per interval; `undefined`: never. */
  readonly intervalMs: number | undefined;
  /** The clock. */
  readonly now: () => number;
  /** The backend facade a report goes through when it goes out alone. */
  readonly backend: Backends;
}

/** Where background work is scheduled (the cache's queue, or a request's view of it). */
export interface Scheduler {
  /** Schedules `task`; false when it could not be (the queue is full). */
  schedule(task: () => Promise<void>): boolean;
}

/** Publishes one instance's counters; see the module doc. */
export class GlobalReporter {
  readonly #stats: StatsRecorder;
  readonly #key: string;
  readonly #intervalMs: number | undefined;
  readonly #now: () => number;
  readonly #backend: Backends;
  #reported: Record<string, number> = {};
  #inflight: Record<string, number> | undefined;
  #lastAt: number;

  constructor(options: GlobalReporterOptions) {
    this.#stats = options.stats;
    this.#key = options.key;
    this.#intervalMs = options.intervalMs;
    this.#now = options.now;
    this.#backend = options.backend;
    this.#lastAt = options.now();
  }

  /** Whether a report is due (enabled, interval elapsed, none in flight). */
  get due(): boolean {
    return this.#intervalMs !== undefined && this.#inflight === undefined &&
      this.#now() - this.#lastAt >= this.#intervalMs;
  }

  /**
   * The operations of a report when one is due, else none. The caller sends them and then calls
   * {@link sent} or, when sending failed, {@link restore}.
   */
  take(): StoreOp[] {
    if (!this.due) return [];
    const current: Record<string, number> = {};
    const ops: StoreOp[] = [];
    for (const [name, read] of Object.entries(COUNTERS)) {
      current[name] = read(this.#stats);
      const by = current[name] - (this.#reported[name] ?? 0);
      if (by !== 0) ops.push({ type: "hincr", key: this.#key, field: name, by });
    }
    this.#lastAt = this.#now();
    if (ops.length > 0) this.#inflight = current;
    return ops;
  }

  /** The report taken last was stored. */
  sent(): void {
    if (this.#inflight) this.#reported = this.#inflight;
    this.#inflight = undefined;
  }

  /** The report taken last was lost; its counts go out with the next one. */
  restore(): void {
    this.#inflight = undefined;
  }

  /**
   * Sends a report on its own, as a task of `background`, when one is due; a failure is counted
   * by the backend facade and its counts go out with the next report.
   */
  reportInBackground(background: Scheduler): void {
    if (!this.due) return;
    const ops = this.take();
    if (ops.length === 0) return;
    const scheduled = background.schedule(async () => {
      try {
        await this.#backend.store("stats", ops);
        this.sent();
      } catch {
        this.restore();
      }
    });
    if (!scheduled) this.restore();
  }
}
