/**
 * Counters shared by every instance: each adds what it counted since its last report to one hash
 * in the store (`HINCRBY`), at most once per interval. A report rides along with a background
 * write when one is going out anyway, else goes as one background request; never on a caller's
 * path. Read back by `Cache.globalStats()`.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import type { StatsRecorder } from "./stats.ts";
import type { StoreOp } from "../types.ts";

/** The counters published, by their name in the store. */
const COUNTERS: Readonly<Record<string, (stats: StatsRecorder) => number>> = {
  "hits.memory": (s) => s.hitsMemory,
  "hits.inline": (s) => s.hitsInline,
  "hits.blob": (s) => s.hitsBlob,
  misses: (s) => s.misses,
  "errors.store": (s) => s.errors.store,
  "errors.blob": (s) => s.errors.blob,
  "errors.codec": (s) => s.errors.codec,
  "errors.integrity": (s) => s.errors.integrity,
  "writes.ok": (s) => s.writesOk,
  "writes.failed": (s) => s.writesFailed,
  "writes.skipped": (s) => s.writesSkipped,
  "writes.discarded": (s) => s.writesDiscarded,
  stale: (s) => s.stale,
  staleIfError: (s) => s.staleIfError,
  coalesced: (s) => s.coalesced,
  "leases.acquired": (s) => s.leasesAcquired,
  "leases.waited": (s) => s.leasesWaited,
  evictedBlobs: (s) => s.evictedBlobs,
};

/** The names of the published counters. */
export const GLOBAL_COUNTERS: readonly string[] = Object.keys(COUNTERS);

/** Publishes one instance's counters; see the module doc. */
export class GlobalReporter {
  readonly #stats: StatsRecorder;
  readonly #key: string;
  readonly #intervalMs: number | undefined;
  readonly #now: () => number;
  #reported: Record<string, number> = {};
  #inflight: Record<string, number> | undefined;
  #lastAt: number;

  constructor(stats: StatsRecorder, key: string, intervalMs: number | undefined, now: () => number) {
    this.#stats = stats;
    this.#key = key;
    this.#intervalMs = intervalMs;
    this.#now = now;
    this.#lastAt = now();
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
}

/**
 * Sends a report as a background task when one is due; a failure is counted by the backend facade and the
 * counts go out with the next report.
 */
export function reportInBackground(ctx: CacheContext): void {
  if (!ctx.reporter.due) return;
  const ops = ctx.reporter.take();
  if (ops.length === 0) return;
  const scheduled = ctx.background.schedule(async () => {
    try {
      await ctx.backend.store("stats", ops);
      ctx.reporter.sent();
    } catch {
      ctx.reporter.restore();
    }
  });
  if (!scheduled) ctx.reporter.restore();
}
