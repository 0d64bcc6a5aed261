/**
 * Answers from a stored entry, with a `Cache-Status` that says what kind of answer it is: a
 * fresh `hit`; a stale `hit` (past its TTL within stale-while-revalidate, or marked stale by an
 * invalidation: `ttl` 0 or negative, `detail=<source>-stale`); or `fwd=stale` when the handler
 * failed and stale-if-error applied (`fwd-status` when it answered 5xx rather than threw,
 * `detail=<source>-stale-if-error`). And the `HEAD` of a framework whose handler cannot be run
 * as `GET` (Hono): answered from the `GET` entry when it is fresh, else by the handler, and never
 * stored (its body-less response would become every later `GET`'s answer).
 *
 * @module
 */
import { isCacheError } from "../core/errors.ts";
import { find } from "../core/flow/get_or_compute.ts";
import type { Decoder } from "../core/flow/job.ts";
import type { StoredEntry } from "../core/flow/lookup.ts";
import { annotate, timing } from "./_answer.ts";
import type { Answering } from "./_engine.ts";
import { forbidsStale } from "./_freshness.ts";
import { decodeHead } from "./_meta.ts";
import { parseCacheControl } from "./_policy.ts";
import { answerFromStore } from "./_serve.ts";

/** Stored responses are their verified entries: the stored bytes are served as they are (no tier: they are never decoded). */
export const storedEntries: Decoder<StoredEntry> = { decode: (entry) => entry };

/** How a stored entry came to be the answer, and how long its lookup took. */
export interface StoredHow {
  /** Milliseconds of lookup. */
  readonly ms: number;
  /** The handler's 5xx, when stale-if-error applied after one. */
  readonly failure?: Response | undefined;
  /** The handler threw, and stale-if-error applied. */
  readonly threw?: boolean;
  /** The entry was found stale (expired, or marked stale by an invalidation). */
  readonly stale?: boolean;
}

/**
 * Whether a stored response may be served stale: not when its `Cache-Control` has
 * `must-revalidate`, `proxy-revalidate` or `s-maxage` (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10).
 * An entry whose head does not decode is let through: answering from it fails, is counted, and
 * the handler answers.
 */
export function servableStale(stored: StoredEntry): boolean {
  try {
    const head = decodeHead(stored.record.m);
    const cacheControl = head.headers.filter(([name]) => name === "cache-control").map(([, value]) => value);
    return !forbidsStale(parseCacheControl(cacheControl.join(", ")));
  } catch {
    return true;
  }
}

/** The answer for a stored entry (fresh, stale, or stale-if-error), after `how.ms` of lookup. */
export async function answerStored(
  answering: Pick<Answering, "engine" | "exchange">,
  stored: StoredEntry,
  how: StoredHow,
): Promise<Response> {
  const { engine, exchange } = answering;
  const { ms } = how;
  const { ctx, config } = engine;
  const now = ctx.options.now();
  const stale = how.stale === true || stored.record.e <= now;
  const remaining = Math.floor((stored.record.e - now) / 1000);
  const ttl = stale ? Math.min(remaining, 0) : remaining;
  const ifError = how.failure !== undefined || how.threw === true;
  if (how.failure) void how.failure.body?.cancel().catch(() => {});
  const cacheStatus = ifError
    ? `fwd=stale${
      how.failure ? `; fwd-status=${how.failure.status}` : ""
    }; ttl=${ttl}; detail=${stored.source}-stale-if-error`
    : `hit; ttl=${ttl}; detail=${stored.source}${stale ? "-stale" : ""}`;
  try {
    return await answerFromStore({
      stored,
      head: decodeHead(stored.record.m),
      request: exchange.request,
      payload: ctx.options.payload,
      vary: config.vary,
      headOnly: exchange.headOnly,
      now,
      cacheStatus,
      serverTiming: timing(ifError ? "stale-if-error" : stale ? "stale" : "hit", ms),
    });
  } catch (error) {
    // An entry that verified but cannot be answered from (foreign metadata, undecodable body):
    // counted like any unusable entry, and the handler answers.
    const code = isCacheError(error) ? error.code : "E_CODEC";
    ctx.stats.error(code === "E_INTEGRITY" ? "integrity" : "codec", code);
    ctx.backend.logger.warn(`larder: ${config.policy.label}: stored response ignored: ${String(error)}`, { code });
    const request = exchange.request;
    const response = await exchange.run(
      request.method === "HEAD" && exchange.forwardsGet ? new Request(request, { method: "GET" }) : request,
    );
    return annotate(response, {
      body: response.body,
      headOnly: exchange.headOnly,
      cacheStatus: "fwd=miss; detail=unusable-entry",
      serverTiming: timing("miss", ms),
      vary: config.vary,
    });
  }
}

/**
 * A `HEAD` that the handler can only answer as a `HEAD`: one lookup (no lease: nothing will be
 * stored), a fresh entry answers it, anything else goes to the handler, unstored.
 */
export async function answerHead(answering: Answering): Promise<Response> {
  const { engine, exchange, hash, elapsed } = answering;
  const { ctx, config } = engine;
  const request = exchange.request;
  const ref = { hash, namespace: config.namespace, gens: config.gens(request), fallbackHint: engine.lastPlacement };
  const found = await find(ctx, ref, { decoder: storedEntries });
  const ms = elapsed();
  ctx.reporter.reportInBackground(ctx.background);
  const call = ctx.events.listening
    ? ctx.events.begin({ op: "get", keyHash: hash, namespace: config.namespace, label: config.policy.label })
    : undefined;
  if (found.kind === "hit") {
    ctx.stats.hit(found.source, ms);
    if (call) ctx.events.emit({ type: "hit", ...call, tier: found.source, ms, stale: false });
    if (found.source !== "memory") engine.lastPlacement = found.source;
    return await answerStored(answering, found.value, { ms });
  }
  ctx.stats.miss(ms);
  if (call) ctx.events.emit({ type: "miss", ...call, ms });
  const response = await exchange.run(request);
  return annotate(response, {
    body: response.body,
    headOnly: true,
    cacheStatus: `fwd=${found.kind === "stale" ? "stale" : "uri-miss"}; detail=head`,
    serverTiming: timing("miss", ms),
    vary: config.vary,
  });
}
