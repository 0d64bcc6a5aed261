/**
 * The response cache on top of the core: one exchange (request → response) resolved like a
 * wrapped function call, with the same round trips, lease, stale windows and stats. The entry is
 * the response body stored as bytes (compressed by the cache's compressor), with its status and
 * headers as the record's metadata; a hit is the verified entry itself (the stored bytes, not
 * decoded), so a client that accepts the stored compression gets the stored bytes as they are. The response's own rules (RFC 9111) ride on the
 * core's hooks: its TTL and age in the write plan, and `mayServeStale` for `must-revalidate`.
 * Requests that pass through invalidate when their method is unsafe (`_invalidate.ts`).
 *
 * Shared by `cacheHandler` (larder/http) and `cacheResponses` (larder/hono).
 *
 * @module
 */
import { Lru } from "../core/util/lru.ts";
import type { Cache } from "../core/api/create_cache.ts";
import type { CacheContext } from "../core/context.ts";
import { isCacheError } from "../core/errors.ts";
import { contextOf } from "../core/context.ts";
import { keyHash } from "../core/record/key_material.ts";
import type { Placement } from "../core/flow/placement.ts";
import type { StoredEntry } from "../core/flow/lookup.ts";
import { getOrCompute } from "../core/flow/get_or_compute.ts";
import type { WaitUntil } from "../core/types.ts";
import { annotate, timing } from "./_answer.ts";
import { splitBody } from "./_capture.ts";
import { invalidateFor } from "./_invalidate.ts";
import { encodeHead } from "./_meta.ts";
import { type ResolvedResponseOptions, resolveResponseOptions, type ResponseCacheOptions } from "./_options.ts";
import { bypassOf, decide, type Decision } from "./_policy.ts";
import { answerHead, answerStored, servableStale, storedEntries } from "./_stored.ts";

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
const PASS_MS = 10_000;

/** One request to answer. */
export interface Exchange {
  /** The incoming request. */
  readonly request: Request;
  /**
   * Runs the handler: with the request itself when it bypasses the cache, else with its `GET`
   * form (see {@link Exchange.forwardsGet}). Called at most once per exchange, possibly after the
   * answer (a background refresh).
   */
  readonly run: (request: Request) => Promise<Response>;
  /** The request's own `waitUntil`, if the platform gave one. */
  readonly waitUntil: WaitUntil | undefined;
  /** Answer with headers only (a `HEAD`, where the framework does not drop the body itself). */
  readonly headOnly: boolean;
  /**
   * Whether `run` given a `GET` request runs the handler as `GET` (`cacheHandler`). When it
   * cannot (a Hono middleware calls `next()`, and the handler sees the `HEAD`), a `HEAD` miss is
   * never stored.
   */
  readonly forwardsGet: boolean;
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

/** One exchange being answered: its engine, the exchange, its key hash, and the time since it arrived. */
export interface Answering {
  readonly engine: ResponseEngine;
  readonly exchange: Exchange;
  readonly hash: string;
  /** Milliseconds since the exchange arrived. */
  readonly elapsed: () => number;
}

/** A response the handler just produced, and what to do with it. */
class Computed {
  /** The body to send, once `persistAs` split it. */
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
  const elapsed = stopwatch();
  const bypass = bypassOf(request, config);
  if (bypass) {
    const response = await exchange.run(request);
    if (bypass.detail === "upgrade") return response;
    await invalidateFor(engine, request, response);
    return annotate(response, {
      body: response.body,
      headOnly: exchange.headOnly,
      cacheStatus: `fwd=${bypass.fwd}${bypass.detail ? `; detail=${bypass.detail}` : ""}`,
      serverTiming: timing("bypass", elapsed()),
      // An Authorization bypass is still a GET or HEAD of a route that varies.
      vary: bypass.fwd === "method" ? [] : config.vary,
    });
  }
  const hash = await keyHash(ctx.options.prefix, config.namespace, { kind: "key", key: await config.key(request) });
  if (engine.passes.has(hash, ctx.options.now())) {
    const response = await exchange.run(forwardOf(exchange));
    return annotate(response, {
      body: response.body,
      headOnly: exchange.headOnly,
      cacheStatus: "fwd=bypass; detail=recently-uncacheable",
      serverTiming: timing("bypass", elapsed()),
      vary: config.vary,
    });
  }
  // A HEAD whose handler cannot run as GET would store a body-less response as the GET entry.
  const answering: Answering = { engine, exchange, hash, elapsed };
  if (request.method === "HEAD" && !exchange.forwardsGet) return await answerHead(answering);
  return await resolveExchange(answering);
}

/** The GET (or HEAD run as GET) path: get-or-compute through the core, with the response's own policy. */
async function resolveExchange(answering: Answering): Promise<Response> {
  const { engine, exchange, hash, elapsed } = answering;
  const { ctx, config } = engine;
  const forward = forwardOf(exchange);
  // The request's own waitUntil covers the writes it starts (on top of the cache's, if any).
  const scoped = exchange.waitUntil ? { ...ctx, background: ctx.background.alongside(exchange.waitUntil) } : ctx;
  const maxBytes = ctx.options.payload.maxValueBytes;
  let lookupMs: number | undefined;
  let answered = false;
  let failure: Response | undefined;
  let threw = false;
  // The last stale entry the lookup found: a miss after it forwards a stale response (`fwd=stale`),
  // and serving it is a stale answer even while its TTL runs (marked stale by an invalidation).
  let stale: StoredEntry | undefined;
  let found: StoredEntry | Computed;
  try {
    found = await getOrCompute<StoredEntry | Computed>(scoped, {
      ref: {
        hash,
        namespace: config.namespace,
        gens: config.gens(forward),
        fallbackHint: engine.lastPlacement,
      },
      policy: config.policy,
      // The response cache serves the stored bytes as they are (or decompresses them itself).
      decoder: storedEntries,
      compute: async () => {
        lookupMs ??= elapsed();
        // After the answer, this is a stale-while-revalidate refresh: nobody reads the body but the cache.
        const background = answered;
        let response: Response;
        try {
          response = await exchange.run(forward);
        } catch (error) {
          threw ||= !background;
          throw error;
        }
        const receivedAt = ctx.options.now();
        if (response.status >= 500 && !config.statuses.has(response.status)) {
          if (background) void response.body?.cancel().catch(() => {});
          failure = response;
          throw new HandlerFailure(response);
        }
        return new Computed(response, decide(response, config, { maxBytes, at: receivedAt }), background);
      },
      onPlacement: (placement) => {
        engine.lastPlacement = placement;
      },
      mayServeStale: (value) => {
        if (value instanceof Computed) return true;
        stale = value;
        return servableStale(value);
      },
      persistAs: (value) => {
        if (!(value instanceof Computed)) return undefined;
        const now = ctx.options.now();
        const pass = (): void => engine.passes.set(hash, { value: true, bytes: 0, expiresAt: now + PASS_MS }, now);
        const decision = value.decision;
        if (!decision.store) {
          pass();
          return undefined;
        }
        const split = splitBody(value.response.body, maxBytes, !value.background && !exchange.headOnly);
        split.stored.catch((error) => isCacheError(error) && error.code === "E_TOO_LARGE" && pass());
        value.client = split.client;
        return {
          value: split.stored,
          ttlMs: decision.ttlMs,
          meta: encodeHead(value.response, decision.ageMs),
          // Never served stale: nothing to keep past the TTL.
          ...(decision.revalidate ? { retainMs: 0 } : {}),
        };
      },
    });
  } catch (error) {
    if (!(error instanceof HandlerFailure)) throw error;
    return annotate(error.response, {
      body: error.response.body,
      headOnly: exchange.headOnly,
      cacheStatus: `fwd=${stale ? "stale" : "uri-miss"}; detail=status`,
      serverTiming: timing("miss", lookupMs),
      vary: config.vary,
    });
  } finally {
    answered = true;
  }

  if (found instanceof Computed) {
    const { response, decision } = found;
    const fwd = `fwd=${stale ? "stale" : "uri-miss"}`;
    // `stored` only when the write is going ahead with a body known to fit (RFC 9211 §2.5).
    const cacheStatus = decision.store ? (decision.fits ? `${fwd}; stored` : fwd) : `${fwd}; detail=${decision.reason}`;
    return annotate(response, {
      body: found.client === undefined ? response.body : found.client,
      headOnly: exchange.headOnly,
      cacheStatus,
      serverTiming: timing("miss", lookupMs),
      vary: config.vary,
    });
  }
  const how = { failure, threw, stale: found === stale };
  return await answerStored(answering, found, { ...how, ms: elapsed() });
}

/** The request the handler runs for a cached exchange: its GET form when the exchange allows it. */
function forwardOf(exchange: Exchange): Request {
  const { request } = exchange;
  return request.method === "GET" || !exchange.forwardsGet ? request : new Request(request, { method: "GET" });
}

function stopwatch(): () => number {
  const started = performance.now();
  return () => performance.now() - started;
}
