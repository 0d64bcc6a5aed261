/**
 * Each backend's health as the dashboard shows it: adapter, circuit breaker and error count from
 * `cache.stats()`, and the last error (with its fix) when the cache can tell it. Today's `Cache`
 * cannot; a cache that has a `health()` method is asked, and its answer read defensively: for
 * `store` and `blob`, a `lastError` with `message` and optionally `code`, `at` (ms or ISO text)
 * and `fix`. This file is the seam: adapt {@link lastErrorsOf} when `health()` lands.
 *
 * @module
 */
import type { BreakerStats, Cache, CacheStats, ResolvedOptions } from "./_core.ts";

/** The last error of a backend. */
export interface LastError {
  /** What happened (names the backend and operation, never tokens). */
  readonly message: string;
  /** Its `CacheError` code, when known. */
  readonly code: string | null;
  /** When, ms since the epoch, when known. */
  readonly at: number | null;
  /** What to do about it, when known. */
  readonly fix: string | null;
}

/** One backend. */
export interface BackendView {
  /** Adapter name, or null when the cache has no such backend. */
  readonly adapter: string | null;
  /** The circuit breaker, or null when breakers are off. */
  readonly breaker: BreakerStats | null;
  /** Errors absorbed from this backend. */
  readonly errors: number;
  /** The last error, when the cache reports it (see `lastErrors`). */
  readonly lastError: LastError | null;
}

/** Both backends, and the errors by code. */
export interface BackendsView {
  /** The metadata store (Redis). */
  readonly store: BackendView;
  /** The blob store (S3). */
  readonly blob: BackendView;
  /** Errors absorbed, by `CacheError` code. */
  readonly errorsByCode: Readonly<Record<string, number>>;
  /** `"reported"` when the cache reports last errors (`health()`), else `"not tracked"`. */
  readonly lastErrors: "reported" | "not tracked";
}

const MAX_TEXT = 500;

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value.slice(0, MAX_TEXT) : null;
}

function readLastError(value: unknown): LastError | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const message = text(v.message);
  if (message === null) return null;
  const at = typeof v.at === "number" ? v.at : typeof v.at === "string" ? Date.parse(v.at) : NaN;
  return { message, code: text(v.code), at: Number.isFinite(at) ? at : null, fix: text(v.fix) };
}

/** The last error per backend from `cache.health()`, when the cache has it; null otherwise. */
async function lastErrorsOf(cache: Cache): Promise<Record<"store" | "blob", LastError | null> | null> {
  const health = (cache as { health?: unknown }).health;
  if (typeof health !== "function") return null;
  try {
    const report = await health.call(cache) as Record<string, unknown> | null | undefined;
    const of = (backend: string): LastError | null =>
      readLastError((report?.[backend] as Record<string, unknown> | undefined)?.lastError);
    return { store: of("store"), blob: of("blob") };
  } catch {
    return null;
  }
}

/** The backends' view from `stats`, the options in force, and the last errors when known. */
export async function backendsView(cache: Cache, stats: CacheStats, options: ResolvedOptions): Promise<BackendsView> {
  const last = await lastErrorsOf(cache);
  const errorsByCode: Record<string, number> = {};
  for (const [code, n] of Object.entries(stats.errors.byCode)) if (n !== undefined) errorsByCode[code] = n;
  return {
    store: {
      adapter: options.store.name,
      breaker: stats.breakers.store ?? null,
      errors: stats.errors.store,
      lastError: last?.store ?? null,
    },
    blob: {
      adapter: options.blobs?.name ?? null,
      breaker: stats.breakers.blob ?? null,
      errors: stats.errors.blob,
      lastError: last?.blob ?? null,
    },
    errorsByCode,
    lastErrors: last === null ? "not tracked" : "reported",
  };
}
