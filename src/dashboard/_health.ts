/**
 * Each backend's health as the dashboard shows it, from `cache.health()`: its adapter, where it
 * stands (`ok`, `misconfigured` with the fix, `failing`, `down` while its breaker is open), the
 * breaker, the errors absorbed, the last error with its fix, and its calls' latency. Nothing here
 * makes a request: `health()` reports what the cache's own calls have seen. The errors by code
 * come from `cache.stats()`.
 *
 * @module
 */
import type { BackendHealth, BackendHealthState, BreakerStats, Cache, CacheStats, LatencySummary } from "./_core.ts";

/** The last error of a backend. */
export interface LastError {
  /** What happened (names the backend and operation, never tokens). */
  readonly message: string;
  /** Its `CacheError` code. */
  readonly code: string;
  /** When, ms since the epoch. */
  readonly at: number;
  /** What to change, for a misconfiguration; null otherwise. */
  readonly fix: string | null;
}

/** One backend. */
export interface BackendView {
  /** Adapter name, or null when the cache has no such backend. */
  readonly adapter: string | null;
  /** Where it stands (see `BackendHealth.state`). */
  readonly state: BackendHealthState;
  /** The circuit breaker, or null when breakers are off. */
  readonly breaker: BreakerStats | null;
  /** Errors absorbed from this backend. */
  readonly errors: number;
  /** The last error, if a call ever failed. */
  readonly lastError: LastError | null;
  /** Time of its calls, ms. */
  readonly latency: LatencySummary;
}

/** Both backends, and the errors by code. */
export interface BackendsView {
  /** The metadata store (Redis). */
  readonly store: BackendView;
  /** The blob store (S3). */
  readonly blob: BackendView;
  /** Errors absorbed, by `CacheError` code. */
  readonly errorsByCode: Readonly<Record<string, number>>;
}

function view(backend: BackendHealth): BackendView {
  const last = backend.lastError;
  return {
    adapter: backend.adapter,
    state: backend.state,
    breaker: backend.breaker,
    errors: backend.errors,
    lastError: last && { message: last.message, code: last.code, at: last.at, fix: last.fix },
    latency: backend.latency,
  };
}

/** The backends' view from `cache.health()`, and the errors by code from `stats`. */
export function backendsView(cache: Cache, stats: CacheStats): BackendsView {
  const health = cache.health();
  const errorsByCode: Record<string, number> = {};
  for (const [code, n] of Object.entries(stats.errors.byCode)) if (n !== undefined) errorsByCode[code] = n;
  return { store: view(health.store), blob: view(health.blob), errorsByCode };
}
