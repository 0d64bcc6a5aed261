/**
 * `larder/otel` against the real services, with the OpenTelemetry SDK's in-memory exporters: a
 * known sequence of calls made inside an application span yields the expected spans (names,
 * parents, links, attributes, status) and metric points equal to `stats()`.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHash } from "../../src/core/record/key_material.ts";
import { blobKey } from "../../src/core/record/key_layout.ts";
import { instrument } from "../../src/otel/instrument.ts";
import { servicesCache } from "../helpers/cache.ts";
import { recordingLogger } from "../helpers/chaos.ts";
import { getObject, requireServices, uniquePrefix } from "../helpers/services.ts";
import { createCache } from "../../mod.ts";
import { upstashStore } from "../../src/stores/upstash.ts";

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer("test");
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meter = new MeterProvider({ readers: [reader] }).getMeter("test");
  const metricsNow = async (): Promise<Map<string, MetricData>> => {
    exporter.reset();
    await reader.forceFlush();
    const scopes = exporter.getMetrics().at(-1)?.scopeMetrics ?? [];
    return new Map(scopes.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
  };
  return { spans, tracer, meter, metricsNow };
}

/** The sum of a counter's points whose attributes include `where`. */
function total(metric: MetricData | undefined, where: Record<string, unknown> = {}): number {
  if (!metric || metric.dataPointType !== DataPointType.SUM) return 0;
  return metric.dataPoints
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.value as number), 0);
}

const noise = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe("larder/otel", () => {
  it("spans for calls and background writes, and metrics equal to stats()", async () => {
    const { cache, prefix } = servicesCache("otel", { maxInlineBytes: 1024, globalStats: false });
    const { spans, tracer, meter, metricsNow } = telemetry();
    const stop = instrument(cache, { tracer, meter, attributes: { "app.cache": "reports" } });
    const report = cache.wrap(async (year: number) => ({ year, rows: [1, 2, 3] }), {
      name: "report",
      namespace: "reports",
    });
    const big = cache.wrap(async (_n: number) => noise(4000), { name: "big" });
    const broken = cache.wrap(async (_n: number) => {
      throw new Error("db down");
    }, { name: "broken" });

    const request = tracer.startSpan("GET /reports");
    await context.with(trace.setSpan(context.active(), request), async () => {
      await report(2024); // miss, stored in the background
      await cache.flush();
      await big(1); // miss, stored in S3
      await cache.flush();
      await report(2024); // inline hit
      await big(1); // blob hit
      await expect(broken(1)).rejects.toThrow("db down");
      expect(await cache.get("absent")).toBeUndefined();
    });
    request.end();

    const finished = spans.getFinishedSpans();
    const names = finished.map((s) => s.name);
    expect(names).toEqual([
      "larder.wrap reports/report",
      "larder.write reports/report",
      "larder.wrap default/big",
      "larder.write default/big",
      "larder.wrap reports/report",
      "larder.wrap default/big",
      "larder.wrap default/broken",
      "larder.get default",
      "GET /reports",
    ]);
    const [missReport, writeReport, missBig, writeBig, hitReport, hitBig, failed, get] = finished;
    const requestId = request.spanContext().spanId;
    // Calls are children of the caller's span; background writes are roots linked to their call.
    for (const span of [missReport, missBig, hitReport, hitBig, failed, get]) {
      expect(span!.parentSpanContext?.spanId).toBe(requestId);
      expect(span!.spanContext().traceId).toBe(request.spanContext().traceId);
    }
    for (const [write, call] of [[writeReport!, missReport!], [writeBig!, missBig!]] as const) {
      expect(write.parentSpanContext).toBeUndefined();
      expect(write.links.map((l) => l.context.spanId)).toEqual([call.spanContext().spanId]);
      expect(write.attributes).toMatchObject({ "larder.outcome": "ok", "app.cache": "reports" });
    }
    expect(writeReport!.attributes).toMatchObject({ "larder.placement": "inline" });
    expect(writeBig!.attributes).toMatchObject({ "larder.placement": "blob" });
    const bigHash = await keyHash(prefix, "default", { kind: "call", fn: "big", args: [1] });
    expect(writeBig!.attributes["larder.bytes"]).toBe((await getObject(blobKey(prefix, bigHash)))!.length);

    const reportHash = await keyHash(prefix, "reports", { kind: "call", fn: "report", args: [2024] });
    expect(missReport!.attributes).toMatchObject({
      "larder.op": "wrap",
      "larder.hit": false,
      "larder.namespace": "reports",
      "larder.key_hash": reportHash.slice(0, 12),
      "app.cache": "reports",
    });
    expect(missReport!.attributes["larder.compute_ms"]).toBeTypeOf("number");
    expect(hitReport!.attributes).toMatchObject({ "larder.hit": true, "larder.tier": "inline" });
    expect(hitBig!.attributes).toMatchObject({ "larder.hit": true, "larder.tier": "blob" });
    expect(failed!.status).toMatchObject({ code: 2, message: "db down" }); // SpanStatusCode.ERROR
    expect(failed!.events.map((e) => e.name)).toEqual(["exception"]);
    expect(hitReport!.status.code).toBe(0);
    expect(get!.attributes).toMatchObject({ "larder.op": "get", "larder.hit": false });
    // A span lasts from the lookup's start to its end (the function included after a miss).
    const ms = (s: typeof finished[number]) => s.duration[0] * 1e3 + s.duration[1] / 1e6;
    expect(ms(missReport!)).toBeGreaterThanOrEqual(missReport!.attributes["larder.lookup_ms"] as number);

    const stats = cache.stats();
    const m = await metricsNow();
    expect(total(m.get("larder.hits"))).toBe(stats.hits.total);
    expect(total(m.get("larder.hits"), { "larder.tier": "inline" })).toBe(stats.hits.inline);
    expect(total(m.get("larder.hits"), { "larder.tier": "blob" })).toBe(stats.hits.blob);
    expect(total(m.get("larder.misses"))).toBe(stats.misses);
    expect(total(m.get("larder.writes"), { "larder.outcome": "ok" })).toBe(stats.writes.ok);
    expect(total(m.get("larder.errors"))).toBe(stats.errors.total);
    const lookups = m.get("larder.lookup.duration")!;
    expect(lookups.dataPointType).toBe(DataPointType.HISTOGRAM);
    const counts = lookups.dataPoints.map((
      p,
    ) => [p.attributes["larder.outcome"], (p.value as { count: number }).count]);
    const countOf = (outcome: string) => counts.filter(([o]) => o === outcome).reduce((n, [, c]) => n + Number(c), 0);
    expect(countOf("hit")).toBe(stats.latency.hit.count);
    expect(countOf("miss")).toBe(stats.latency.miss.count);
    expect([stats.hits.total, stats.misses, stats.writes.ok]).toEqual([2, 4, 2]);

    // Stopped: no more spans.
    stop();
    await report(2024);
    expect(spans.getFinishedSpans()).toHaveLength(finished.length);
  });

  it("a refresh is a root span linked to the call that served the stale entry; its write links to it", async () => {
    let clock = Date.now();
    const { cache } = servicesCache("otel-swr", { now: () => clock, ttl: "1m", staleWhileRevalidate: "1h" });
    const { spans, tracer, meter } = telemetry();
    instrument(cache, { tracer, meter });
    let version = 0;
    const report = cache.wrap(async () => ++version, { name: "report" });
    await report();
    await cache.flush();
    clock += 120_000;
    expect(await report()).toBe(1);
    await cache.flush();
    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual([
      "larder.wrap default/report",
      "larder.write default/report",
      "larder.wrap default/report",
      "larder.refresh default/report",
      "larder.write default/report",
    ]);
    const [, , staleHit, refresh, write] = finished;
    expect(staleHit!.attributes).toMatchObject({ "larder.hit": true, "larder.stale": true });
    expect(refresh!.parentSpanContext).toBeUndefined();
    expect(refresh!.links.map((l) => l.context.spanId)).toEqual([staleHit!.spanContext().spanId]);
    expect(write!.links.map((l) => l.context.spanId)).toEqual([refresh!.spanContext().spanId]);
    expect(version).toBe(2);
  });

  it("an error of a misconfigured backend (a wrong token) is counted with larder.misconfigured", async () => {
    const services = requireServices();
    const cache = createCache({
      store: upstashStore({ url: services.upstash.url, token: "not-the-token-4242" }),
      prefix: uniquePrefix("otel-misconfigured"),
      logger: recordingLogger(),
      globalStats: false,
    });
    const { tracer, meter, metricsNow } = telemetry();
    const stop = instrument(cache, { tracer, meter });
    expect(await cache.wrap(async () => 1, { name: "report" })()).toBe(1);
    await cache.flush();
    const m = await metricsNow();
    expect(cache.stats().errors.store).toBe(1);
    expect(total(m.get("larder.errors"), { "larder.misconfigured": true, "larder.source": "store" })).toBe(1);
    expect(total(m.get("larder.errors"))).toBe(cache.stats().errors.total);
    stop();
  });
});
