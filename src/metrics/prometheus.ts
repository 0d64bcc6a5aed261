/**
 * `larder/metrics`: a cache's counters in the Prometheus text exposition format (version 0.0.4),
 * for a `/metrics` route. It reads `cache.stats()` (and, with `global: true`,
 * `cache.globalStats()`: every instance's counters added up) and depends on nothing: no client
 * library, no registry, no state of its own.
 *
 * Names start with `larder_`; counters end in `_total`; what `stats()` splits by tier, source,
 * outcome or code is a label; lookup latency is a summary per outcome (`larder_hit_lookup_seconds`,
 * `larder_miss_lookup_seconds`: quantiles 0.5, 0.95, 0.99, `_sum`, `_count`), in seconds.
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 * import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "larder/metrics";
 *
 * const cache = createCache();
 * const metrics = (): Response =>
 *   new Response(prometheusText(cache, { labels: { app: "reports" } }), {
 *     headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
 *   });
 * ```
 *
 * @module
 */
import type { Cache } from "../core/api/create_cache.ts";
import { ConfigError } from "../core/errors.ts";
import type { CacheStats } from "../core/stats/stats.ts";
import type { BreakerStats } from "../core/backend/breaker.ts";
import type { LatencySummary } from "../core/stats/histogram.ts";

/** The `Content-Type` of the text format. */
export const PROMETHEUS_CONTENT_TYPE: string = "text/plain; version=0.0.4; charset=utf-8";

/** Options of {@link prometheusText}. */
export interface PrometheusOptions {
  /**
   * Also the counters every instance sharing the prefix adds to (`cache.globalStats()`, one store
   * request), as `larder_global_…`: the result is then a Promise. @default false
   */
  global?: boolean;
  /** Labels added to every series (e.g. `{ instance: "web-1" }`); values are escaped. @default {} */
  labels?: Readonly<Record<string, string>>;
}

/** One family of counters: its name (after `larder_`), its help, and its series by label value. */
interface CounterFamily {
  readonly name: string;
  readonly help: string;
  /** The label telling its series apart, if more than one. */
  readonly label?: string;
  /** Label value (or `""` with no label) → the counter's name in `globalStats()` and {@link flatCounters}. */
  readonly series: Readonly<Record<string, string>>;
}

/** Every counter, under the names `globalStats()` uses (global_stats.ts), so one table serves both. */
const COUNTERS: readonly CounterFamily[] = [
  {
    name: "hits_total",
    help: "Lookups served from the cache, by where the payload came from (stale serves included).",
    label: "tier",
    series: { memory: "hits.memory", inline: "hits.inline", blob: "hits.blob" },
  },
  { name: "misses_total", help: "Lookups that found no usable entry.", series: { "": "misses" } },
  {
    name: "errors_total",
    help: "Failures the cache absorbed, by source.",
    label: "source",
    series: {
      store: "errors.store",
      blob: "errors.blob",
      codec: "errors.codec",
      integrity: "errors.integrity",
      key: "errors.key",
      schema: "errors.schema",
    },
  },
  {
    name: "writes_total",
    help: "Writes by outcome: stored, failed on a backend, skipped (value or full queue), discarded (invalidated).",
    label: "outcome",
    series: { ok: "writes.ok", failed: "writes.failed", skipped: "writes.skipped", discarded: "writes.discarded" },
  },
  {
    name: "stale_served_total",
    help:
      "Expired or invalidated entries served: while one refresh runs (revalidate), or as the function failed (error).",
    label: "reason",
    series: { revalidate: "stale", error: "staleIfError" },
  },
  {
    name: "leases_total",
    help:
      "Cross-instance leases: taken to compute, waits served by another instance, waits given up, leases taken over from a gone owner.",
    label: "outcome",
    series: {
      acquired: "leases.acquired",
      waited: "leases.waited",
      given_up: "leases.givenUp",
      taken_over: "leases.takenOver",
    },
  },
  {
    name: "function_timeouts_total",
    help: "Calls answered at wrap's timeout while the function went on.",
    series: { "": "functionTimeouts" },
  },
  {
    name: "recaches_total",
    help: "Recomputations after an invalidating write: done, failed, skipped.",
    label: "outcome",
    series: { ok: "recaches.ok", failed: "recaches.failed", skipped: "recaches.skipped" },
  },
  { name: "coalesced_total", help: "Calls that shared another call's work in flight.", series: { "": "coalesced" } },
  {
    name: "evicted_blobs_total",
    help: "Blobs deleted because a namespace's limits evicted their entries.",
    series: { "": "evictedBlobs" },
  },
  {
    name: "refreshes_failed_total",
    help: "Background refreshes whose function failed.",
    series: { "": "refreshesFailed" },
  },
  {
    name: "budget_exceeded_total",
    help: "Lookups abandoned at timeout.total.",
    series: { "": "budgetExceeded" },
  },
];

const QUANTILES = [["0.5", "p50"], ["0.95", "p95"], ["0.99", "p99"]] as const;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `stats()` (and with `global: true`, `globalStats()`) in the text exposition format; see the module doc. */
export function prometheusText(cache: Cache, options?: PrometheusOptions & { global?: false }): string;
/** With `global: true`: a Promise, as `globalStats()` is one store request (rejects when it fails). */
export function prometheusText(cache: Cache, options: PrometheusOptions & { global: true }): Promise<string>;
/** Either of the above, by `options.global`. */
export function prometheusText(cache: Cache, options?: PrometheusOptions): string | Promise<string>;
export function prometheusText(cache: Cache, options: PrometheusOptions = {}): string | Promise<string> {
  const common = commonLabels(options.labels);
  const stats = cache.stats();
  const text = [...counterLines(flatCounters(stats), { prefix: "larder_", common }), ...instanceLines(stats, common)];
  if (options.global !== true) return text.join("\n") + "\n";
  return cache.globalStats().then((counters) => {
    const global = counterLines(counters, { prefix: "larder_global_", common, others: true });
    return [...text, ...global].join("\n") + "\n";
  });
}

/** `stats()`'s counters under `globalStats()`'s names (and those only this instance has). */
function flatCounters(s: CacheStats): Record<string, number> {
  return {
    "hits.memory": s.hits.memory,
    "hits.inline": s.hits.inline,
    "hits.blob": s.hits.blob,
    misses: s.misses,
    "errors.store": s.errors.store,
    "errors.blob": s.errors.blob,
    "errors.codec": s.errors.codec,
    "errors.integrity": s.errors.integrity,
    "errors.key": s.errors.key,
    "errors.schema": s.errors.schema,
    "writes.ok": s.writes.ok,
    "writes.failed": s.writes.failed,
    "writes.skipped": s.writes.skipped,
    "writes.discarded": s.writes.discarded,
    stale: s.stale,
    staleIfError: s.staleIfError,
    "leases.acquired": s.leases.acquired,
    "leases.waited": s.leases.waited,
    "leases.givenUp": s.leases.givenUp,
    "leases.takenOver": s.leases.takenOver,
    functionTimeouts: s.functionTimeouts,
    "recaches.ok": s.recaches.ok,
    "recaches.failed": s.recaches.failed,
    "recaches.skipped": s.recaches.skipped,
    coalesced: s.coalesced,
    evictedBlobs: s.evictedBlobs,
    refreshesFailed: s.refreshesFailed,
    budgetExceeded: s.budgetExceeded,
  };
}

/**
 * The counter families of `counters` (by name): a family appears when one of its series does. With
 * `others`, names no family knows go to `<prefix>other_total{name="…"}` rather than nowhere.
 */
function counterLines(
  counters: Readonly<Record<string, number>>,
  at: { readonly prefix: string; readonly common: string; readonly others?: boolean },
): string[] {
  const lines: string[] = [];
  const known = new Set<string>();
  for (const family of COUNTERS) {
    const samples: string[] = [];
    for (const [value, name] of Object.entries(family.series)) {
      known.add(name);
      const count = counters[name];
      if (count === undefined) continue;
      samples.push(sample(at.prefix + family.name, labels(at.common, family.label && [family.label, value]), count));
    }
    if (samples.length > 0) lines.push(...header(at.prefix + family.name, "counter", family.help), ...samples);
  }
  const others = Object.entries(counters).filter(([name]) => !known.has(name));
  if (at.others && others.length > 0) {
    const name = `${at.prefix}other_total`;
    lines.push(...header(name, "counter", "Shared counters of other versions of larder, by name."));
    for (const [counter, count] of others) lines.push(sample(name, labels(at.common, ["name", counter]), count));
  }
  return lines;
}

/** What only this instance reports: errors by code, pending writes, breakers, latency. */
function instanceLines(s: CacheStats, common: string): string[] {
  const lines: string[] = [];
  const codes = Object.entries(s.errors.byCode);
  if (codes.length > 0) {
    lines.push(...header("larder_errors_by_code_total", "counter", "Failures the cache absorbed, by error code."));
    for (const [code, n] of codes) {
      lines.push(sample("larder_errors_by_code_total", labels(common, ["code", code]), n!));
    }
  }
  lines.push(
    ...header("larder_writes_pending", "gauge", "Background writes in flight."),
    sample("larder_writes_pending", labels(common), s.writes.pending),
  );
  const breakers = Object.entries(s.breakers).filter((b): b is [string, BreakerStats] => b[1] !== undefined);
  if (breakers.length > 0) {
    lines.push(...header("larder_breaker_state", "gauge", "1 for the state each backend's circuit breaker is in."));
    for (const [backend, b] of breakers) {
      for (const state of ["closed", "open", "half-open"]) {
        lines.push(
          sample("larder_breaker_state", labels(common, ["backend", backend], ["state", state]), +(b.state === state)),
        );
      }
    }
    for (
      const [name, help, of] of [
        ["larder_breaker_opened_total", "Times each backend's circuit breaker opened.", (b: BreakerStats) => b.opened],
        ["larder_breaker_rejected_total", "Calls refused while a breaker was open.", (b: BreakerStats) => b.rejected],
      ] as const
    ) {
      lines.push(...header(name, "counter", help));
      for (const [backend, b] of breakers) lines.push(sample(name, labels(common, ["backend", backend]), of(b)));
    }
  }
  lines.push(...busLines(s.bus, common));
  for (const outcome of ["hit", "miss"] as const) {
    const family = {
      name: `larder_${outcome}_lookup_seconds`,
      help: `Lookup time of ${outcome === "hit" ? "hits" : "misses"}, seconds.`,
    };
    lines.push(...summary(family, s.latency[outcome], common));
  }
  lines.push(...header("larder_lookup_max_seconds", "gauge", "Longest lookup so far, seconds, by outcome."));
  lines.push(sample("larder_lookup_max_seconds", labels(common, ["outcome", "hit"]), s.latency.hit.max / 1000));
  lines.push(sample("larder_lookup_max_seconds", labels(common, ["outcome", "miss"]), s.latency.miss.max / 1000));
  return lines;
}

/** The tiers' bus (`stats().bus`): its mode, messages each way, what they dropped, polls, failures, reconnects, resets. */
function busLines(bus: CacheStats["bus"], common: string): string[] {
  const lines = header("larder_bus_mode", "gauge", "1 for how the in-process tier hears of other instances' changes.");
  for (const mode of ["push", "poll", "off"]) {
    lines.push(sample("larder_bus_mode", labels(common, ["mode", mode]), +(bus.mode === mode)));
  }
  lines.push(
    ...header(
      "larder_bus_messages_total",
      "counter",
      "Changes announced on the bus by this instance (sent), and other instances' received.",
    ),
    sample("larder_bus_messages_total", labels(common, ["direction", "sent"]), bus.sent),
    sample("larder_bus_messages_total", labels(common, ["direction", "received"]), bus.received),
  );
  for (
    const [name, help, value] of [
      [
        "larder_bus_dropped_total",
        "In-process tier entries dropped because another instance changed them.",
        bus.dropped,
      ],
      ["larder_bus_polls_total", "Reads of the store's log (a polled bus).", bus.polls],
      [
        "larder_bus_failures_total",
        "Subscriptions lost and polls failed (the tier then relies on its TTL).",
        bus.failures,
      ],
      ["larder_bus_reconnects_total", "Subscriptions back after a loss.", bus.reconnects],
      ["larder_bus_resets_total", "Times the tier was emptied because messages may have been missed.", bus.resets],
    ] as const
  ) {
    lines.push(...header(name, "counter", help), sample(name, labels(common), value));
  }
  return lines;
}

/** A summary: quantiles (NaN while there are no samples), `_sum` and `_count`, in seconds. */
function summary(
  family: { readonly name: string; readonly help: string },
  latency: LatencySummary,
  common: string,
): string[] {
  const { name } = family;
  const lines = header(name, "summary", family.help);
  for (const [q, field] of QUANTILES) {
    lines.push(sample(name, labels(common, ["quantile", q]), latency.count === 0 ? NaN : latency[field] / 1000));
  }
  lines.push(sample(`${name}_sum`, labels(common), latency.sum / 1000));
  lines.push(sample(`${name}_count`, labels(common), latency.count));
  return lines;
}

function header(name: string, type: string, help: string): string[] {
  return [`# HELP ${name} ${help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`, `# TYPE ${name} ${type}`];
}

function sample(name: string, labelText: string, value: number): string {
  return `${name}${labelText} ${formatValue(value)}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** `{common,name="value",…}`, or nothing when there are no labels. */
function labels(common: string, ...pairs: readonly (readonly [string, string] | "" | undefined)[]): string {
  const own = pairs.filter((p): p is readonly [string, string] => Array.isArray(p)).map(([n, v]) => pair(n, v));
  const all = common === "" ? own : [common, ...own];
  return all.length === 0 ? "" : `{${all.join(",")}}`;
}

function pair(name: string, value: string): string {
  return `${name}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

/** The `labels` option as label text, checked: valid names, not reserved, not one Larder sets. */
function commonLabels(given: PrometheusOptions["labels"]): string {
  if (given === undefined) return "";
  if (typeof given !== "object" || given === null) throw new ConfigError("prometheusText: labels must be an object");
  const own = new Set([
    "tier",
    "source",
    "outcome",
    "reason",
    "name",
    "code",
    "backend",
    "state",
    "quantile",
    "mode",
    "direction",
  ]);
  return Object.entries(given).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith("__") || own.has(name)) {
      throw new ConfigError(
        `prometheusText: labels.${name} is not a label name it can add (letters, digits and _, not starting with __, not one of ${
          [...own].join(", ")
        })`,
      );
    }
    if (typeof value !== "string") throw new ConfigError(`prometheusText: labels.${name} must be a string`);
    return pair(name, value);
  }).join(",");
}
