/**
 * `larder/otel`: OpenTelemetry spans and metrics for a cache, built on its events
 * (`cache.on`) and nothing else, so traces, metrics and `stats()` count the same facts. Only
 * this subpath imports `@opentelemetry/api` (an optional peer dependency): `larder` itself never
 * loads it.
 *
 * - A span per call: `larder.wrap <namespace/name>` for a wrapped function (and the response
 *   cache, `<namespace>/http`), `larder.get <namespace>` for `cache.get`, `larder.set
 *   <namespace>` for `cache.set`, a child of the caller's active span. It starts when the lookup
 *   started and ends with the hit, or, after a miss, when the function returned (or when another
 *   instance's entry arrived); a function that throws sets its status to error unless an expired
 *   entry was served instead (stale-if-error). Events are delivered after the fact, so the span
 *   is not active while the function runs: the function's own spans are its siblings.
 * - A span per background write, `larder.write <label>`, and per background refresh,
 *   `larder.refresh <label>`: roots of their own traces (they outlive the call), linked to the
 *   span of the call that computed the value (or that served the stale entry a refresh replaces).
 * - Counters `larder.hits`, `larder.misses`, `larder.writes`, `larder.errors`, and the histogram
 *   `larder.lookup.duration` (ms).
 *
 * @example
 * ```ts ignore
 * import { createCache } from "larder";
 * import { instrument } from "larder/otel";
 *
 * const cache = createCache();
 * const stop = instrument(cache); // the global tracer and meter providers
 * ```
 *
 * @module
 */
import {
  type Attributes,
  context,
  type Link,
  type Meter,
  metrics,
  type Span,
  type SpanContext,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { Cache } from "../core/api/create_cache.ts";
import type { CallFields, ComputeEvent, HitEvent, WriteEvent } from "../core/stats/events.ts";

/**
 * Where spans go: any OpenTelemetry `Tracer` (`@opentelemetry/api` 1.x). Declared here by the
 * one method used rather than imported, so that this module documents its own surface (as
 * larder/hono does with Hono's `Context`).
 */
export interface OtelTracer {
  /** `Tracer.startSpan`. */
  startSpan(name: string, options?: object, context?: object): object;
}

/** Where metrics go: any OpenTelemetry `Meter` (declared like {@link OtelTracer}). */
export interface OtelMeter {
  /** `Meter.createCounter`. */
  createCounter(name: string, options?: object): object;
  /** `Meter.createHistogram`. */
  createHistogram(name: string, options?: object): object;
}

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. @default trace.getTracer("larder") */
  tracer?: OtelTracer;
  /** Where metrics go. @default metrics.getMeter("larder") */
  meter?: OtelMeter;
  /** Attributes added to every span and metric point (e.g. `{ "app.cache": "reports" }`). @default {} */
  attributes?: Readonly<Record<string, string | number | boolean>>;
}

/** A call's span while it runs: after a miss, until the function returns. */
interface Open {
  readonly span: Span;
  readonly fields: CallFields;
}

/** Calls' spans kept open at most (a call whose end never came is ended when pushed out). */
const MAX_OPEN = 10_000;
/** Span contexts kept for the links of the writes and refreshes that follow their calls. */
const MAX_LINKS = 10_000;

/**
 * Reports `cache`'s calls, writes and refreshes as spans and its events as metrics; returns the
 * function that stops it. See the module doc.
 */
export function instrument(cache: Cache, options: InstrumentOptions = {}): () => void {
  // The declared interfaces are what any Tracer and Meter offer, and only what is documented.
  const tracer = (options.tracer ?? trace.getTracer("larder")) as Tracer;
  const meter = (options.meter ?? metrics.getMeter("larder")) as Meter;
  const common: Attributes = options.attributes ?? {};
  const hits = meter.createCounter("larder.hits", { description: "Lookups served from the cache" });
  const misses = meter.createCounter("larder.misses", { description: "Lookups that found no usable entry" });
  const writes = meter.createCounter("larder.writes", { description: "Background and set() writes, by outcome" });
  const errors = meter.createCounter("larder.errors", { description: "Failures the cache absorbed" });
  const lookups = meter.createHistogram("larder.lookup.duration", {
    description: "Lookup time: store and blob reads, verification, decoding",
    unit: "ms",
  });
  const open = new Bounded<number, Open>(MAX_OPEN, ({ span }) => span.end());
  // The span a write (by call number) or a refresh (by key hash) links to.
  const linkTo = new Bounded<number | string, SpanContext>(MAX_LINKS);

  /** A call's span, started `ms` ago: a child of the caller's active span, or a root with links. */
  const start = (fields: CallFields, at: { readonly ms: number; readonly links?: Link[] }): Span =>
    tracer.startSpan(`larder.${fields.op} ${fields.label}`, {
      startTime: epochMs() - at.ms,
      attributes: { ...common, ...callAttributes(fields) },
      ...at.links && { root: true, links: at.links },
    }, context.active());
  const finish = (span: Span, fields: CallFields): void => {
    linkTo.set(fields.call, span.spanContext());
    span.end(epochMs());
  };

  const onHit = (event: HitEvent): void => {
    const span = start(event, { ms: event.ms });
    span.setAttributes({ "larder.hit": true, "larder.tier": event.tier, "larder.lookup_ms": event.ms });
    if (event.stale) {
      span.setAttribute("larder.stale", true);
      linkTo.set(event.keyHash, span.spanContext());
    }
    span.end(epochMs());
  };
  const onCompute = (event: ComputeEvent): void => {
    const held = open.take(event.call);
    let span = held?.span;
    if (!span) {
      // A refresh runs after the call that served the stale entry: a root, linked to that call's span.
      const stale = event.op === "refresh" ? linkTo.take(event.keyHash) : undefined;
      span = start(event, { ms: event.ms, ...event.op === "refresh" && { links: stale ? [{ context: stale }] : [] } });
    }
    span.setAttribute("larder.compute_ms", event.ms);
    if (!event.ok) {
      if (event.error instanceof Error) span.recordException(event.error);
      if (event.fallback) span.setAttribute("larder.stale", "error");
      else span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(event.error) });
    }
    finish(span, event);
  };
  const onWrite = (event: WriteEvent): void => {
    const attributes: Attributes = { ...common, ...callAttributes(event), "larder.outcome": event.outcome };
    let ms = 0;
    if (event.outcome === "ok") {
      Object.assign(attributes, { "larder.bytes": event.bytes, "larder.placement": event.placement });
      ms = event.ms;
    } else if (event.outcome !== "discarded" && event.code) {
      attributes["larder.code"] = event.code;
    }
    if (event.outcome === "discarded" || event.outcome === "skipped") attributes["larder.reason"] = event.reason;
    writes.add(1, { ...common, "larder.outcome": event.outcome, "larder.namespace": event.namespace });
    // set() is awaited by its caller: a child of the caller's span. Others run after the call.
    const background = event.op !== "set";
    const linked = background ? linkTo.take(event.call) : undefined;
    const links: Link[] = linked ? [{ context: linked }] : [];
    const span = tracer.startSpan(`larder.${background ? "write" : "set"} ${event.label}`, {
      startTime: epochMs() - ms,
      attributes,
      links,
      root: background,
    });
    if (event.outcome === "failed") span.setStatus({ code: SpanStatusCode.ERROR, message: event.code ?? "failed" });
    span.end(epochMs());
  };

  return cache.on("*", (event) => {
    switch (event.type) {
      case "hit":
        hits.add(1, { ...common, "larder.tier": event.tier, "larder.namespace": event.namespace });
        lookups.record(event.ms, { ...common, "larder.outcome": "hit", "larder.tier": event.tier });
        onHit(event);
        return;
      case "miss": {
        misses.add(1, { ...common, "larder.namespace": event.namespace });
        lookups.record(event.ms, { ...common, "larder.outcome": "miss" });
        const span = start(event, { ms: event.ms });
        span.setAttributes({ "larder.hit": false, "larder.lookup_ms": event.ms });
        // A wrap's miss goes on (the function, or a wait for another instance); a get's ends here.
        if (event.op === "wrap") open.set(event.call, { span, fields: event });
        else finish(span, event);
        return;
      }
      case "leaseWait": {
        const held = open.get(event.call);
        held?.span.setAttributes({ "larder.lease_wait": event.outcome, "larder.lease_wait_ms": event.ms });
        if (held && event.outcome === "served") finish(open.take(event.call)!.span, held.fields);
        return;
      }
      case "compute":
        onCompute(event);
        return;
      case "write":
        onWrite(event);
        return;
      case "error":
        errors.add(1, {
          ...common,
          "larder.source": event.source,
          "larder.code": event.code,
          // A backend that refused the configuration (token, region, secret, bucket): not an outage.
          ...(event.fix === undefined ? {} : { "larder.misconfigured": true }),
        });
        return;
      default:
        // stale: told by the hit (stale: true) or the compute (fallback) before it; invalidate, breaker: not spans.
        return;
    }
  });
}

/** What every span of a call says about it. */
function callAttributes(fields: CallFields): Attributes {
  return {
    "larder.op": fields.op,
    "larder.namespace": fields.namespace,
    "larder.key_hash": fields.keyHash.slice(0, 12),
  };
}

/** A map that keeps its `max` newest entries; `onEvict` is told of each one pushed out. */
class Bounded<K, V> {
  readonly #entries = new Map<K, V>();
  constructor(readonly max: number, readonly onEvict?: (value: V) => void) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size <= this.max) return;
    const [oldest, evicted] = this.#entries.entries().next().value as [K, V];
    this.#entries.delete(oldest);
    this.onEvict?.(evicted);
  }

  /** The value of `key`, removed. */
  take(key: K): V | undefined {
    const value = this.#entries.get(key);
    this.#entries.delete(key);
    return value;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Now, in ms since the epoch, with sub-millisecond precision. */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
