/**
 * `cache.health()`: where each backend stands, from what the request path has seen — no request
 * of its own, so it is cheap enough for a liveness or readiness route, and says something a
 * counter cannot: whether the store or the bucket is refusing the configuration (and what to
 * change), failing, or skipped by its breaker, with the latency of its calls.
 *
 * A cache fails open, so a backend that is down never breaks the app: a liveness route should
 * stay up whatever `ok` says; a readiness route or an alert may use it.
 *
 * @module
 */
import type { Backend } from "../backend/backend_call.ts";
import type { BreakerStats } from "../backend/breaker.ts";
import type { CacheContext } from "../context.ts";
import type { CacheErrorCode } from "../errors.ts";
import type { LatencySummary } from "../stats/histogram.ts";

/** Where a backend stands; see {@link BackendHealth.state}. */
export type BackendHealthState = "ok" | "misconfigured" | "failing" | "down" | "none";

/** One backend in {@link CacheHealth}. */
export interface BackendHealth {
  /** The adapter's name (`upstash`, `redis`, `s3`, `memory`…), or null when the cache has no such backend. */
  readonly adapter: string | null;
  /**
   * `ok`: its last call succeeded (or none was made yet); `misconfigured`: its last call was
   * refused for the configuration (a token, region, secret or bucket: `lastError.fix` says what to
   * change); `failing`: its last call failed otherwise; `down`: its breaker is open, calls are
   * skipped; `none`: the cache has no such backend.
   */
  readonly state: BackendHealthState;
  /** The circuit breaker, or null when breakers are off. */
  readonly breaker: BreakerStats | null;
  /** Its last error, if a call ever failed (kept after it recovers; `state` says whether it still fails). */
  readonly lastError: {
    /** What happened: the backend, the operation, a key-hash prefix, the server's words; never tokens. */
    readonly message: string;
    /** The `CacheError` code. */
    readonly code: CacheErrorCode;
    /** When, ms since the epoch. */
    readonly at: number;
    /** What to change, for a misconfiguration; null otherwise. */
    readonly fix: string | null;
  } | null;
  /** Errors absorbed from it (as in `stats().errors`). */
  readonly errors: number;
  /** Time of its calls, ms (every store or blob call of the request path). */
  readonly latency: LatencySummary;
}

/** What {@link health} returns. */
export interface CacheHealth {
  /** Every configured backend is `ok`. */
  readonly ok: boolean;
  /** The metadata store (Redis). */
  readonly store: BackendHealth;
  /** The blob store (S3); `state: "none"` when the cache has none. */
  readonly blob: BackendHealth;
  /** Background writes in flight. */
  readonly pendingWrites: number;
}

/** Each backend's state from the facade, the breakers and the counters; no I/O. */
export function health(ctx: CacheContext): CacheHealth {
  const stats = ctx.stats.snapshot(ctx.background.size);
  const of = (backend: Backend, adapter: string | undefined): BackendHealth => {
    const breaker = stats.breakers[backend] ?? null;
    const seen = ctx.backend.state(backend);
    const state: BackendHealthState = adapter === undefined
      ? "none"
      : breaker !== null && breaker.state !== "closed"
      ? "down"
      : seen.misconfigured
      ? "misconfigured"
      : seen.failing
      ? "failing"
      : "ok";
    const last = seen.lastError;
    return {
      adapter: adapter ?? null,
      state,
      breaker,
      lastError: last ? { message: last.message, code: last.code, at: last.at, fix: last.fix ?? null } : null,
      errors: stats.errors[backend],
      latency: ctx.stats.backendLatencies[backend].summary(),
    };
  };
  const store = of("store", ctx.options.store.name);
  const blob = of("blob", ctx.options.blobs?.name);
  return {
    ok: store.state === "ok" && (blob.state === "ok" || blob.state === "none"),
    store,
    blob,
    pendingWrites: stats.writes.pending,
  };
}
