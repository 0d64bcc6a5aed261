/**
 * What the page shows, as data: the JSON endpoint returns it as it is, the page renders it, and
 * the page's script redraws itself from it. Operators get everything; the public counters scope
 * gets counters only — no configuration, errors, adapter names or action token.
 *
 * @module
 */
import { type ConfigView, configView } from "./_config.ts";
import type { Cache, CacheStats, ResolvedOptions } from "./_core.ts";
import type { CsrfGuard } from "./_csrf.ts";
import { type BackendsView, backendsView } from "./_health.ts";
import { type GlobalCounters, globalLookups, type GlobalReading, rates, type Ring, type Sample } from "./_history.ts";
import type { DashboardSettings } from "./_options.ts";

/** This instance's counters as the public scope sees them (a subset of `cache.stats()`). */
export type CounterFigures = Pick<CacheStats, "hits" | "misses" | "hitRate" | "writes" | "latency">;

/** The counters added up over every instance sharing the prefix (`cache.globalStats()`). */
export interface GlobalFigures {
  /** Whether the shared counters could be read (else every figure is 0). */
  readonly available: boolean;
  /** Hits by tier, and their total. */
  readonly hits: { readonly total: number; readonly memory: number; readonly inline: number; readonly blob: number };
  /** Misses. */
  readonly misses: number;
  /** Hits over lookups, 0 without lookups. */
  readonly hitRate: number;
  /** Background writes. */
  readonly writes: {
    readonly ok: number;
    readonly failed: number;
    readonly skipped: number;
    readonly discarded: number;
  };
  /** Every shared counter by name (operators only). */
  readonly counters?: Readonly<Record<string, number>>;
  /** Why they could not be read (operators only). */
  readonly error?: string | null;
}

/** Lookups since the oldest sample kept (the charts' time span). */
export interface RecentFigures {
  /** From the oldest sample to now, in ms. */
  readonly spanMs: number;
  /** This instance. */
  readonly instance: { readonly lookups: number; readonly hitRate: number | null };
  /** Every instance (null figures when the shared counters could not be read). */
  readonly global: { readonly lookups: number | null; readonly hitRate: number | null };
}

/** What the dashboard shows; the JSON endpoint's body. */
export interface DashboardModel {
  /** What the requester may see: everything, or the public counters. */
  readonly scope: "operator" | "counters";
  /** When it was made, ms since the epoch. */
  readonly at: number;
  /** The page's refresh period in ms. */
  readonly refreshMs: number;
  /** This instance: `cache.stats()` as it is for operators, the counters for the public scope. */
  readonly instance: CacheStats | CounterFigures;
  /** Every instance sharing the prefix. */
  readonly global: GlobalFigures;
  /** Hit rates since the oldest sample. */
  readonly recent: RecentFigures;
  /** Hit rate between consecutive samples (null: no lookup in between), with each interval's end. */
  readonly series: {
    readonly at: readonly number[];
    readonly instance: readonly (number | null)[];
    readonly global: readonly (number | null)[];
  };
  /** Each backend's state, breaker, errors, last error and latency (`cache.health()`; operators only). */
  readonly backends?: BackendsView;
  /** The configuration in force, allow-listed (operators only). */
  readonly config?: ConfigView;
  /** Token to send as `x-larder-csrf` (or form field `csrf`) with actions (operators only). */
  readonly csrf?: string;
}

/** Everything one dashboard keeps between requests. */
export interface DashboardState {
  readonly cache: Cache;
  readonly options: ResolvedOptions;
  readonly settings: DashboardSettings;
  readonly history: Ring<Sample>;
  readonly global: GlobalCounters;
  readonly csrf: CsrfGuard;
}

function globalFigures(reading: GlobalReading, operator: boolean): GlobalFigures {
  const c = reading.counters ?? {};
  const { hits, misses } = globalLookups(c);
  const figures: GlobalFigures = {
    available: reading.counters !== null,
    hits: { total: hits, memory: c["hits.memory"] ?? 0, inline: c["hits.inline"] ?? 0, blob: c["hits.blob"] ?? 0 },
    misses,
    hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
    writes: {
      ok: c["writes.ok"] ?? 0,
      failed: c["writes.failed"] ?? 0,
      skipped: c["writes.skipped"] ?? 0,
      discarded: c["writes.discarded"] ?? 0,
    },
  };
  return operator ? { ...figures, counters: { ...c }, error: reading.error ?? null } : figures;
}

function counterFigures(stats: CacheStats): CounterFigures {
  return {
    hits: stats.hits,
    misses: stats.misses,
    hitRate: stats.hitRate,
    writes: stats.writes,
    latency: stats.latency,
  };
}

/** Samples the counters when due, and builds the model for `scope`. */
export async function buildModel(
  state: DashboardState,
  scope: "operator" | "counters",
  csrf?: string,
): Promise<DashboardModel> {
  const reading = await state.global.read(state.options.now());
  const now = state.options.now();
  const stats = state.cache.stats();
  const shared = reading.counters ? globalLookups(reading.counters) : null;
  const last = state.history.last();
  // Polls come one refresh period apart at best; a little slack keeps one sample per poll.
  if (last === undefined || now - last.at >= state.settings.refreshMs * 0.9) {
    state.history.push({
      at: now,
      hits: stats.hits.total,
      misses: stats.misses,
      globalHits: shared?.hits ?? null,
      globalMisses: shared?.misses ?? null,
    });
  }
  const samples = state.history.toArray();
  const first = samples[0]!;
  const lookups = stats.hits.total - first.hits + stats.misses - first.misses;
  const globalDelta = shared && first.globalHits !== null && first.globalMisses !== null
    ? {
      hits: shared.hits - first.globalHits,
      lookups: shared.hits - first.globalHits + shared.misses - first.globalMisses,
    }
    : null;
  const operator = scope === "operator";
  return {
    scope,
    at: now,
    refreshMs: state.settings.refreshMs,
    instance: operator ? stats : counterFigures(stats),
    global: globalFigures(reading, operator),
    recent: {
      spanMs: now - first.at,
      instance: { lookups, hitRate: lookups > 0 ? (stats.hits.total - first.hits) / lookups : null },
      global: {
        lookups: globalDelta?.lookups ?? null,
        hitRate: globalDelta && globalDelta.lookups > 0 ? globalDelta.hits / globalDelta.lookups : null,
      },
    },
    series: {
      at: samples.slice(1).map((s) => s.at),
      instance: rates(samples, "instance"),
      global: rates(samples, "global"),
    },
    ...(operator
      ? {
        backends: backendsView(state.cache, stats),
        config: configView(state.options),
        ...(csrf === undefined ? {} : { csrf }),
      }
      : {}),
  };
}
