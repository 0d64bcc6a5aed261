/**
 * The response cache on top of the core: one exchange (request → response) resolved like a
 * wrapped function call, with the same round trips, lease, stale windows and stats. The entry is
 * the response body stored as bytes (compressed by the cache's compressor), with its status and
 * headers as the record's metadata; hits are read raw, so a client that accepts the stored
 * compression gets the stored bytes as they are.
 *
 * Shared by `cacheHandler` (larder/http) and `cacheResponses` (larder/hono).
 *
 * @module
 */
import { Lru } from "../_lru.ts";
import type { Cache } from "../core/cache.ts";
import type { CacheContext } from "../core/context.ts";
import { isCacheError } from "../core/errors.ts";
import { contextOf } from "../core/internals.ts";
import { keyHash } from "../core/keys.ts";
import type { Placement } from "../core/placement.ts";
import type { StoredPayload } from "../core/raw.ts";
import { resolveEntry } from "../core/resolve.ts";
import type { WaitUntil } from "../core/types.ts";
import { splitBody } from "./_capture.ts";
import { decodeHead, encodeHead } from "./_meta.ts";
import { type ResolvedResponseOptions, resolveResponseOptions, type ResponseCacheOptions } from "./_options.ts";
import { bypassOf, decide, type Decision } from "./_policy.ts";
import { answerFromStore } from "./_serve.ts";

/** One response cache: a cache's state, its options, and the placement of its last entry. */
export interface ResponseEngine {
  readonly ctx: CacheContext;
  readonly config: ResolvedResponseOptions;
  /** Where this engine's last entry was stored (its next lookup of an unseen key assumes the same). */
  lastPlacement: Placement | undefined;
  /**
   * Keys whose last response could not be stored, for {@link PASS_MS}: their requests go straight
   * to the handler, without a lookup or a lease (else concurrent requests for a key that is never
   * stored would wait for each other's lease, one handler run at a time).
   */
  readonly passes: Lru<true>;
}

/** How long a key whose response could not be stored skips the cache in this process. */
export const PASS_MS = 10_000;

/** One request to answer. */
export interface Exchange {
  /** The incoming request. */
  readonly request: Request;
  /**
   * Runs the handler: with the request itself when it bypasses the cache, else with its `GET`
   * form. Called at most once per exchange, possibly after the answer (a background refresh).
   */
  readonly run: (request: Request) => Promise<Response>;
  /** The request's own `waitUntil`, if the platform gave one. */
  readonly waitUntil: WaitUntil | undefined;
  /** Answer with headers only (a `HEAD`, where the framework does not drop the body itself). */
  readonly headOnly: boolean;
}

/** Validates options against `cache` (a `ConfigError` naming `what`). */
export function createEngine(cache: Cache, options: ResponseCacheOptions | undefined, what: string): ResponseEngine {
  const ctx = contextOf(cache, what);
  return {
    ctx,
    config: resolveResponseOptions(ctx, options, what),
    lastPlacement: undefined,
    passes: new Lru({ maxEntries: 10_000, maxBytes: Infinity }),
  };
}

/** A response the handler just produced, and what to do with it. */
class Computed {
  /** The body to send, once {@link Computed.plan} split it. */
  client: ReadableStream<Uint8Array> | null | undefined;
  constructor(readonly response: Response, readonly decision: Decision, readonly background: boolean) {}
}

/** A 5xx from the handler: thrown so that stale-if-error applies, then answered as it is. */
class HandlerFailure extends Error {
  constructor(readonly response: Response) {
    super(`handler answered ${response.status}`);
  }
}

/** Answers `exchange`: from the cache, or from the handler (storing its response in the background). */
export async function respond(engine: ResponseEngine, exchange: Exchange): Promise<Response> {
  const { ctx, config } = engine;
  const { request } = exchange;
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const bypass = bypassOf(request, config);
  if (bypass) {
    const response = await exchange.run(request);
    if (bypass.detail === "upgrade") return response;
    const status = `fwd=${bypass.fwd}${bypass.detail ? `; detail=${bypass.detail}` : ""}`;
    return annotate(response, response.body, exchange, status, timing("bypass", elapsed()));
  }
  const hash = await keyHash(ctx.options.prefix, config.namespace, { kind: "key", key: await config.key(request) });
  const forward = request.method === "GET" ? request : new Request(request, { method: "GET" });
  if (engine.passes.has(hash, ctx.options.now())) {
    const response = await exchange.run(forward);
    return annotate(
      response,
      response.body,
      exchange,
      "fwd=bypass; detail=recently-uncacheable",
      timing("bypass", elapsed()),
    );
  }
  // The request's own waitUntil covers the writes it starts (on top of the cache's, if any).
  const scoped = exchange.waitUntil ? { ...ctx, background: ctx.background.alongside(exchange.waitUntil) } : ctx;
  const maxBytes = ctx.options.payload.maxValueBytes;
  let lookupMs: number | undefined;
  let answered = false;
  let failure: Response | undefined;
  let found: StoredPayload | Computed;
  try {
    found = await resolveEntry<StoredPayload | Computed>(scoped, {
      ref: {
        hash,
        namespace: config.namespace,
        gens: config.gens(request),
        fallbackHint: engine.lastPlacement,
        raw: true,
      },
      policy: config.policy,
      compute: async () => {
        lookupMs ??= elapsed();
        // After the answer, this is a stale-while-revalidate refresh: nobody reads the body but the cache.
        const background = answered;
        const response = await exchange.run(forward);
        if (response.status >= 500 && !config.statuses.has(response.status)) {
          if (background) void response.body?.cancel().catch(() => {});
          failure = response;
          throw new HandlerFailure(response);
        }
        return new Computed(response, decide(response, config, maxBytes), background);
      },
      onPlacement: (placement) => {
        engine.lastPlacement = placement;
      },
      persistAs: (value) => {
        if (!(value instanceof Computed)) return undefined;
        const pass = (): void => engine.passes.set(hash, true, 0, ctx.options.now() + PASS_MS, ctx.options.now());
        if (!value.decision.store) {
          pass();
          return undefined;
        }
        const split = splitBody(value.response.body, maxBytes, !value.background && !exchange.headOnly);
        split.stored.catch((error) => isCacheError(error) && error.code === "E_TOO_LARGE" && pass());
        value.client = split.client;
        return { value: split.stored, ttlMs: value.decision.ttlMs, meta: encodeHead(value.response) };
      },
    });
  } catch (error) {
    if (!(error instanceof HandlerFailure)) throw error;
    return annotate(
      error.response,
      error.response.body,
      exchange,
      "fwd=uri-miss; detail=status",
      timing("miss", lookupMs),
    );
  } finally {
    answered = true;
  }

  if (found instanceof Computed) {
    const { response, decision } = found;
    const status = decision.store ? "fwd=uri-miss; stored" : `fwd=uri-miss; detail=${decision.reason}`;
    const body = found.client === undefined ? response.body : found.client;
    return annotate(response, body, exchange, status, timing("miss", lookupMs));
  }
  return await fromStore(engine, exchange, found, failure, forward, elapsed());
}

/** The answer for a stored entry (fresh, stale-while-revalidate, or stale-if-error after `failure`). */
async function fromStore(
  engine: ResponseEngine,
  exchange: Exchange,
  stored: StoredPayload,
  failure: Response | undefined,
  forward: Request,
  ms: number,
): Promise<Response> {
  const { ctx, config } = engine;
  const now = ctx.options.now();
  const ttl = Math.floor((stored.expiresAt - now) / 1000);
  const stale = stored.expiresAt <= now;
  if (failure) void failure.body?.cancel().catch(() => {});
  const cacheStatus = failure
    ? `fwd=stale; fwd-status=${failure.status}; ttl=${ttl}; detail=${stored.source}`
    : `hit; ttl=${ttl}; detail=${stored.source}${stale ? "-stale" : ""}`;
  try {
    return await answerFromStore({
      stored,
      head: decodeHead(stored.meta),
      request: exchange.request,
      payload: ctx.options.payload,
      vary: config.vary,
      headOnly: exchange.headOnly,
      now,
      cacheStatus,
      serverTiming: timing(failure ? "stale-if-error" : stale ? "stale" : "hit", ms),
    });
  } catch (error) {
    // An entry that verified but cannot be answered from (foreign metadata, undecodable body):
    // counted like any unusable entry, and the handler answers.
    const code = isCacheError(error) ? error.code : "E_CODEC";
    ctx.stats.error(code === "E_INTEGRITY" ? "integrity" : "codec", code);
    ctx.guard.logger.warn(`larder: ${config.policy.label}: stored response ignored: ${String(error)}`, { code });
    const response = await exchange.run(forward);
    return annotate(response, response.body, exchange, "fwd=miss; detail=unusable-entry", timing("miss", ms));
  }
}

/** `response` with this cache's `Cache-Status` and `Server-Timing` entries, and `body` (none for HEAD). */
function annotate(
  response: Response,
  body: ReadableStream<Uint8Array> | null,
  exchange: Exchange,
  cacheStatus: string,
  serverTiming: string,
): Response {
  const headOnly = exchange.headOnly;
  if (headOnly && body) void body.cancel().catch(() => {});
  const headers = new Headers(response.headers);
  headers.append("cache-status", `Larder; ${cacheStatus}`);
  headers.append("server-timing", serverTiming);
  return new Response(headOnly ? null : body, { status: response.status, statusText: response.statusText, headers });
}

function timing(desc: string, ms: number | undefined): string {
  return `larder;dur=${(ms ?? 0).toFixed(1)};desc="${desc}"`;
}
