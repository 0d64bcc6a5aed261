/**
 * The exposition of given counters (a cache whose `stats()` returns chosen figures, so every
 * quantile differs): each quantile under its own label, seconds from milliseconds, `NaN` for a
 * summary with no samples, no breaker series when breakers are off. The real caches' figures are
 * checked against the services in test/integration/prometheus.test.ts.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { type Cache, type CacheStats, createCache } from "../../mod.ts";
import { prometheusText } from "../../src/metrics/prometheus.ts";

const ZERO = { count: 0, p50: 0, p95: 0, p99: 0, max: 0, sum: 0 };

/** A real cache whose `stats()` reports `latency` and no breakers. */
function reporting(latency: CacheStats["latency"]): Cache {
  const cache = createCache({ breaker: false });
  const stats = cache.stats();
  return { ...cache, stats: () => ({ ...stats, latency }) };
}

describe("prometheusText", () => {
  it("maps each quantile, in seconds, and NaN while a summary is empty", () => {
    const cache = reporting({ hit: { count: 40, p50: 1.5, p95: 7, p99: 12.25, max: 30, sum: 123.5 }, miss: ZERO });
    const text = prometheusText(cache);
    expect(text).toContain('larder_hit_lookup_seconds{quantile="0.5"} 0.0015\n');
    expect(text).toContain('larder_hit_lookup_seconds{quantile="0.95"} 0.007\n');
    expect(text).toContain('larder_hit_lookup_seconds{quantile="0.99"} 0.01225\n');
    expect(text).toContain("larder_hit_lookup_seconds_sum 0.1235\n");
    expect(text).toContain("larder_hit_lookup_seconds_count 40\n");
    expect(text).toContain('larder_lookup_max_seconds{outcome="hit"} 0.03\n');
    expect(text).toContain('larder_miss_lookup_seconds{quantile="0.99"} NaN\n');
    expect(text).toContain("larder_miss_lookup_seconds_count 0\n");
    expect(text).not.toContain("larder_breaker");
    const hit = parsePrometheusTextFormat(text).find((f) => f.name === "larder_hit_lookup_seconds")!;
    expect(hit.metrics[0]!.quantiles).toEqual({ "0.5": "0.0015", "0.95": "0.007", "0.99": "0.01225" });
  });
});
