/**
 * `larder/metrics` against the real services: the exposition of a cache that has served hits of
 * each tier, misses and a store failure is well-formed (every line a HELP, TYPE or sample line;
 * one HELP and one TYPE per family, before its samples; no series twice), parses with a real
 * parser (`parse-prometheus-text-format`), and says what `stats()` says; label values come back
 * as given through the escaping; the global counters are `globalStats()`'s, which add up both
 * instances.
 */
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../mod.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../../src/metrics/prometheus.ts";
import { servicesCache } from "../helpers/cache.ts";
import { ChaosStore } from "../helpers/chaos.ts";
import { testStore } from "../helpers/stores.ts";

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*\\}`;
const VALUE = "(?:[-+]?(?:\\d+\\.?\\d*(?:e[-+]?\\d+)?|\\.\\d+(?:e[-+]?\\d+)?)|NaN|[-+]Inf)";
const SAMPLE = new RegExp(`^(${NAME})(${LABELS})? (${VALUE})$`, "i");
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|summary|histogram|untyped)$`);

/** Checks the format line by line (what the lenient parser lets through); returns the families' types. */
function wellFormed(text: string): Map<string, string> {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const series = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    const sample = SAMPLE.exec(line);
    expect(help ?? type ?? sample, `line ${JSON.stringify(line)}`).not.toBeNull();
    if (help) {
      expect(helps.has(help[1]!), `second HELP for ${help[1]}`).toBe(false);
      helps.add(help[1]!);
    } else if (type) {
      expect(types.has(type[1]!), `second TYPE for ${type[1]}`).toBe(false);
      types.set(type[1]!, type[2]!);
    } else if (sample) {
      const name = sample[1]!;
      const family = types.get(name) === undefined ? name.replace(/_(sum|count)$/, "") : name;
      expect(types.has(family), `sample of ${name} before its TYPE`).toBe(true);
      if (types.get(family) === "counter") expect(name.endsWith("_total")).toBe(true);
      expect(name.startsWith("larder_")).toBe(true);
      expect(series.has(name + (sample[2] ?? "")), `series ${name}${sample[2]} twice`).toBe(false);
      series.add(name + (sample[2] ?? ""));
    }
  }
  expect([...helps].sort()).toEqual([...types.keys()].sort());
  return types;
}

/** `name` → label value of `label` (or "" without labels) → number, from the parsed families. */
function values(families: readonly PrometheusFamily[], label?: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const family of families) {
    const byLabel = new Map<string, number>();
    for (const m of family.metrics) {
      if (m.value !== undefined) byLabel.set(label ? m.labels?.[label] ?? "" : "", Number(m.value));
    }
    out.set(family.name, byLabel);
  }
  return out;
}

const noise = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe("larder/metrics", () => {
  it("is well-formed, parses, and says what stats() says", async () => {
    const store = new ChaosStore(testStore());
    const { cache, prefix } = servicesCache("prom", {
      store,
      maxInlineBytes: 1024,
      memory: { ttl: "1h" },
      globalStats: { interval: 1 },
    });
    const small = cache.wrap(async (n: number) => ({ n }), { name: "small" });
    const big = cache.wrap(async (_n: number) => noise(4000), { name: "big" });
    await small(1);
    await big(1);
    await cache.flush();
    await small(1); // the in-process tier
    expect(await cache.get("absent")).toBeUndefined();
    const other = servicesCache("prom", { prefix, maxInlineBytes: 1024, globalStats: { interval: 1 } }).cache;
    await other.set("k", "v");
    expect(await cache.get("k")).toBe("v"); // inline (this instance's tier has not seen it)
    const bigThere = other.wrap(async (_n: number) => noise(4000), { name: "big" });
    await bigThere(1); // a blob hit, on the other instance
    store.fault = "throw";
    await small(2); // a store failure, absorbed
    store.fault = "none";
    await cache.flush();
    await other.flush();

    const stats = cache.stats();
    expect(stats.hits).toMatchObject({ memory: 1, inline: 1 });
    const text = prometheusText(cache);
    const types = wellFormed(text);
    expect(types.get("larder_hits_total")).toBe("counter");
    expect(types.get("larder_hit_lookup_seconds")).toBe("summary");
    const families = parsePrometheusTextFormat(text);
    const byName = new Map(families.map((f) => [f.name, f]));
    expect([...byName.keys()].sort()).toEqual([...types.keys()].sort());

    const tier = values(families, "tier").get("larder_hits_total")!;
    expect(Object.fromEntries(tier)).toEqual({
      memory: stats.hits.memory,
      inline: stats.hits.inline,
      blob: stats.hits.blob,
    });
    expect(values(families).get("larder_misses_total")!.get("")).toBe(stats.misses);
    const errors = values(families, "source").get("larder_errors_total")!;
    expect(Object.fromEntries(errors)).toEqual({
      store: stats.errors.store,
      blob: stats.errors.blob,
      codec: stats.errors.codec,
      integrity: stats.errors.integrity,
      key: stats.errors.key,
      schema: stats.errors.schema,
    });
    expect(stats.errors.store).toBe(1);
    expect(Object.fromEntries(values(families, "code").get("larder_errors_by_code_total")!)).toEqual(
      stats.errors.byCode,
    );
    const writes = values(families, "outcome").get("larder_writes_total")!;
    expect(Object.fromEntries(writes)).toEqual({
      ok: stats.writes.ok,
      failed: stats.writes.failed,
      skipped: stats.writes.skipped,
      discarded: stats.writes.discarded,
    });
    expect(stats.writes.discarded).toBe(1); // small(2): its lookup failed
    const leases = values(families, "outcome").get("larder_leases_total")!;
    expect(Object.fromEntries(leases)).toEqual({
      acquired: stats.leases.acquired,
      waited: stats.leases.waited,
      given_up: stats.leases.givenUp,
      taken_over: stats.leases.takenOver,
    });
    expect(values(families).get("larder_function_timeouts_total")!.get("")).toBe(stats.functionTimeouts);
    const recaches = values(families, "outcome").get("larder_recaches_total")!;
    expect(Object.fromEntries(recaches)).toEqual(stats.recaches);
    const stale = values(families, "reason").get("larder_stale_served_total")!;
    expect(Object.fromEntries(stale)).toEqual({ revalidate: stats.stale, error: stats.staleIfError });
    expect(values(families).get("larder_writes_pending")!.get("")).toBe(stats.writes.pending);
    const breaker = byName.get("larder_breaker_state")!.metrics;
    const open = breaker.filter((m) => m.value === "1").map((m) => `${m.labels!.backend}=${m.labels!.state}`);
    expect(open.sort()).toEqual([`blob=${stats.breakers.blob!.state}`, `store=${stats.breakers.store!.state}`]);

    for (const outcome of ["hit", "miss"] as const) {
      const [summary] = byName.get(`larder_${outcome}_lookup_seconds`)!.metrics;
      const latency = stats.latency[outcome];
      expect(Number(summary!.count)).toBe(latency.count);
      expect(Number(summary!.sum)).toBeCloseTo(latency.sum / 1000, 9);
      expect(Object.fromEntries(Object.entries(summary!.quantiles!).map(([q, v]) => [q, Number(v)]))).toEqual({
        "0.5": latency.p50 / 1000,
        "0.95": latency.p95 / 1000,
        "0.99": latency.p99 / 1000,
      });
      const max = values(families, "outcome").get("larder_lookup_max_seconds")!.get(outcome);
      expect(max).toBe(latency.max / 1000);
    }
    expect(stats.latency.hit.count).toBe(stats.hits.total);

    // Every instance's counters, as globalStats() adds them up.
    const global = await prometheusText(cache, { global: true });
    wellFormed(global);
    expect(global.startsWith(text)).toBe(true);
    const shared = await cache.globalStats();
    const parsed = parsePrometheusTextFormat(global);
    const globalTier = values(parsed, "tier").get("larder_global_hits_total")!;
    expect(Object.fromEntries(globalTier)).toEqual({
      memory: shared["hits.memory"],
      inline: shared["hits.inline"],
      blob: shared["hits.blob"],
    });
    expect(globalTier.get("blob")).toBe(other.stats().hits.blob);
    expect(globalTier.get("blob")).toBe(1);
    expect(values(parsed).get("larder_global_misses_total")!.get("")).toBe(stats.misses + other.stats().misses);
    expect(PROMETHEUS_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  it("escapes label values, and refuses labels it cannot add", async () => {
    const { cache } = servicesCache("prom-labels");
    const value = 'web "1" \\ C:\\dir\nnext';
    const text = prometheusText(cache, { labels: { instance: value, app: "reports" } });
    wellFormed(text);
    expect(text).toContain('instance="web \\"1\\" \\\\ C:\\\\dir\\nnext"');
    for (const family of parsePrometheusTextFormat(text)) {
      if (family.type === "SUMMARY") continue; // the parser folds a labelled summary's samples together
      for (const m of family.metrics) expect(m.labels).toMatchObject({ instance: value, app: "reports" });
    }
    const refused: Record<string, string>[] = [{ "bad-name": "x" }, { __reserved: "x" }, { tier: "x" }, {
      ok: 1 as unknown as string,
    }];
    for (const labels of refused) {
      expect(() => prometheusText(cache, { labels })).toThrow(ConfigError);
    }
  });
});
