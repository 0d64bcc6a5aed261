/**
 * Get-or-compute for one key, across instances: the policy behind `wrap` and the response cache.
 *
 * - fresh entry → served;
 * - expired but within `staleWhileRevalidate`, or marked stale by an invalidation → served at
 *   once, and one refresh runs in the background (refresh.ts);
 * - miss → the lease comes with the lookup; its owner computes, renews it until the write is done, and
 *   releases once the entry is written; other instances wait for the entry (bounded, then they
 *   compute themselves) and take the lease over if the owner dies;
 * - the function throws and an entry expired less than `staleIfError` ago exists → that is served;
 * - a job can forbid both stale servings for an entry (`mayServeStale`, e.g. an HTTP response
 *   with `must-revalidate`): such an entry, once stale, is a miss.
 *
 * Values come out of verified entries through the job's decoder ({@link find}): `wrap` and `get`
 * decode them ({@link valueDecoder}, with the in-process tier in front), the response cache keeps
 * the stored bytes. An entry that does not decode is a miss, counted as an error.
 *
 * Every write is stamped with the generations the lookup saw before the function ran, so a value
 * computed across an invalidation is never stored as fresh; when the lookup could not read them
 * (the store failed), the value is not stored at all.
 *
 * A job may bound how long its callers wait (`timeoutMs`, flow/time_limit.ts): past it they are
 * answered as if the function had failed (a stale entry within `staleIfError`, else a
 * `TimeoutError`), while the computation goes on, keeps its lease and is stored. A recache
 * (`recompute`) never serves a stale entry: it computes through the lease and stores.
 *
 * @module
 */
import type { CacheContext, EntryRef } from "../context.ts";
import { BYTES_CODEC, decodePayload, decodeValue } from "../record/entry.ts";
import type { HitSource } from "../stats/stats.ts";
import { type ComputeJob, type Decoder, writeFor } from "./job.ts";
import {
  backoff,
  type Held,
  hold,
  type Lease,
  logLongWait,
  LONG_WAIT_MS,
  newLease,
  release,
  sleep,
  tryAcquire,
} from "./lease.ts";
import { countEntryError, type Generations, lookup, type LookupOptions } from "./lookup.ts";
import { persistInBackground } from "./persist.ts";
import { refreshInBackground } from "./refresh.ts";
import { callerTimeout, TimeLimit } from "./time_limit.ts";
import type { TierEntry } from "./memory_tier.ts";
import { CodecError, TimeoutError } from "../errors.ts";
import type { CallFields } from "../stats/events.ts";

/** What {@link find} found: a lookup's outcome with the entry decoded into the job's value. */
export type Found<T> =
  /** A fresh value. */
  | { readonly kind: "hit"; readonly value: T; readonly source: HitSource; readonly gens: Generations }
  /** A stale value (see `Lookup`). */
  | {
    readonly kind: "stale";
    readonly value: T;
    readonly source: HitSource;
    readonly expiredAt: number;
    readonly marked: boolean;
    readonly gens: Generations;
  }
  /** Nothing usable. `lease` says whether this caller now holds the lease, another does, or neither. */
  | { readonly kind: "miss"; readonly lease: "acquired" | "held" | "none"; readonly gens: Generations };

/** Options of {@link find}: the lookup's, and the decoder of the values. */
export interface FindOptions<T> extends LookupOptions {
  /** How values come out of stored entries. */
  readonly decoder: Decoder<T>;
}

/**
 * The value of an entry: from the decoder's local copy, else looked up and decoded. Never
 * rejects: an entry that does not decode is a miss, counted as an error.
 */
export async function find<T>(ctx: CacheContext, ref: EntryRef, options: FindOptions<T>): Promise<Found<T>> {
  const { decoder } = options;
  try {
    let local = decoder.local?.(ref.hash);
    if (local instanceof Promise) local = await local;
    if (local) return { kind: "hit", value: local.value, source: "memory", gens: {} };
  } catch (error) {
    countEntryError(ctx, error);
    return { kind: "miss", lease: "none", gens: {} };
  }
  // Before the request leaves: a change heard of after this stops the tier keeping what it reads.
  const since = ctx.tier?.epoch ?? 0;
  const found = await lookup(ctx, ref, options);
  if (found.kind === "miss") return found;
  const { entry, ...rest } = found;
  try {
    // Decoded while the checksum is computed; the value leaves only once it has matched.
    const decoding = (async () => await decoder.decode(entry, found.kind === "hit", since))();
    decoding.catch(() => {});
    await entry.verified;
    return { ...rest, value: await decoding, source: entry.source };
  } catch (error) {
    if (error instanceof ForeignCodec) {
      ctx.stats.error("codec", error.code);
      ctx.backend.warnOnce(`codec:${error.written}`, `larder: ${error.message}`);
    } else countEntryError(ctx, error);
    return { kind: "miss", lease: "none", gens: found.gens };
  }
}

/**
 * An entry written with another codec than the reading cache's (a `json` cache and a `cbor` one
 * sharing a prefix): a miss, counted as a codec error and logged once per codec. Decoding it with
 * the writer's codec would hand a `json` cache's caller Maps and BigInts it cannot serialise, and
 * a `cbor` cache's caller strings where its Dates were; recomputed, the entry is rewritten with
 * the reader's codec. Caches that share a prefix must share a codec (or use different prefixes).
 */
class ForeignCodec extends CodecError {
  constructor(readonly written: string, reads: string) {
    // A built-in codec (`json` read by a `cbor` cache) is a choice to align; any other is one of
    // the writers' `codecs` (e.g. `larder/arrow`'s) that this cache was not given.
    super(
      written === "cbor" || written === "json"
        ? `an entry written with codec "${written}" is ignored by this "${reads}" cache (a miss, counted in errors.codec): ` +
          "caches that share a prefix must use one codec, or different prefixes"
        : `an entry written with codec "${written}" is ignored by this cache, which does not have it (a miss, counted ` +
          "in errors.codec): give it the writers' codec in createCache({ codecs })" +
          (written === "arrow" ? ` (arrowCodec() from "larder/arrow")` : ""),
    );
  }
}

/**
 * The decoder of values (`wrap`, `get`): decompressed (bounded by `maxValueBytes`) and decoded by
 * the codec the record names, in one pass where the compressor allows it. With the in-process
 * tier, a fresh value's encoding is kept there, once its checksum has matched, and later calls
 * are served from it without a store request (memory_tier.ts: decoded per hit, or shared).
 */
export function valueDecoder<T = unknown>(ctx: CacheContext): Decoder<T> {
  const { tier } = ctx;
  const config = ctx.options.payload;
  const keeping = { ...config, keepRaw: true };
  // The codecs this cache writes with: its own, raw bytes, and those of its `codecs` (Arrow tables).
  const own = new Set([BYTES_CODEC, config.codec.name, ...(config.extensions ?? []).map((codec) => codec.name)]);
  // The codec decodes what `T`'s producer encoded: the cast is the cache's contract, not a check.
  const valueOf = (held: TierEntry): { value: T } => ({
    value: (held.shared ? held.shared.value : decodeValue(held.codec, held.bytes, config)) as T,
  });
  return {
    local: tier && ((hash) => {
      const held = tier.get(hash);
      if (held === undefined) return undefined;
      if (held instanceof Promise) return held.then((checked) => checked && valueOf(checked));
      return valueOf(held);
    }),
    async decode({ record, bytes, verified }, fresh, since) {
      if (!own.has(record.c)) {
        throw new ForeignCodec(record.c, config.codec.name);
      }
      const keep = fresh && tier !== undefined;
      const { value, raw } = await decodePayload(record, bytes, keep ? keeping : config);
      await verified;
      if (raw) {
        const gens = record.g.map(([key]) => key);
        tier?.set(record.k, { codec: record.c, bytes: raw }, { expiresAt: record.e, gens, since });
      }
      return value as T;
    },
  };
}

/** Serves the entry, or computes it, following the policy described in the module doc. */
export async function getOrCompute<T>(ctx: CacheContext, job: ComputeJob<T>): Promise<T> {
  const { ref, policy, decoder } = job;
  const { hash } = ref;
  const retainMs = Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs);
  const leaseConfig = ctx.options.lease;
  const lease = newLease(ctx, hash);
  const findOptions: FindOptions<T> = { decoder, lease, retainMs };
  const { events } = ctx;
  // Events are built only while someone listens: with nobody, the hit path pays one branch.
  const call = events.listening
    ? events.begin({ op: "wrap", keyHash: hash, namespace: ref.namespace, label: policy.label })
    : undefined;

  const started = performance.now();
  // A lookup that outlives `timeout.total` still brings the generations the write needs.
  let late: Promise<Found<T>> | undefined;
  let found = await withinBudget(ctx, find(ctx, ref, findOptions), {
    lease,
    onLate: (work) => {
      late = work;
    },
  });
  const elapsed = performance.now() - started;
  ctx.reporter.reportInBackground(ctx.background);
  if (found.kind === "hit") {
    ctx.stats.hit(found.source, elapsed);
    if (call) events.emit({ type: "hit", ...call, tier: found.source, ms: elapsed, stale: false });
    if (found.source !== "memory") job.onPlacement(found.source);
    return found.value;
  }
  // A stale entry the job may not serve stale is neither served nor kept as a fallback.
  const allowed = (stale: Stale<T>): boolean => !job.recompute && (job.mayServeStale?.(stale.value) ?? true);
  const servableNow = (stale: Stale<T>): boolean =>
    allowed(stale) && servable(ctx, stale, policy.staleWhileRevalidateMs);
  const staleAllowed = found.kind === "stale" && allowed(found);
  if (found.kind === "stale" && staleAllowed && servable(ctx, found, policy.staleWhileRevalidateMs)) {
    ctx.stats.hit(found.source, elapsed);
    if (call) events.emit({ type: "hit", ...call, tier: found.source, ms: elapsed, stale: true });
    ctx.stats.stale++;
    if (call) {
      events.emit({ type: "stale", ...call, reason: found.marked ? "marked" : "revalidate", tier: found.source });
    }
    refreshInBackground(ctx, job, found.gens);
    return found.value;
  }
  ctx.stats.miss(elapsed);
  if (call) events.emit({ type: "miss", ...call, ms: elapsed });
  const fallback = found.kind === "stale" && staleAllowed ? found : undefined;

  // The callers' time limit counts from the miss: waiting for another instance's computation included.
  const limit = job.timeoutMs === undefined ? undefined : new TimeLimit(job.timeoutMs);
  let owned: Lease | undefined;
  if (found.kind === "miss" && found.lease === "acquired") {
    owned = lease;
  } else if (found.kind === "stale" && lease) {
    // The record exists (expired), so the lookup took no lease: one more round trip, only here.
    owned = await tryAcquire(ctx, lease) ? lease : undefined;
    // A recache waits for whoever holds the lease, like a miss, rather than computing twice.
    if (!owned && job.recompute) found = { kind: "miss", lease: "held", gens: found.gens };
  }
  if (found.kind === "miss" && found.lease === "held" && leaseConfig) {
    const waitStarted = performance.now();
    found = await waitForOwner(ctx, ref, {
      find: findOptions,
      waitMs: Math.min(leaseConfig.waitMs, limit?.remaining() ?? Infinity),
      servableStale: servableNow,
      seen: found.gens,
      label: policy.label,
    });
    const ms = performance.now() - waitStarted;
    if (found.kind === "hit" || found.kind === "stale") {
      ctx.stats.leasesWaited++;
      if (call) events.emit({ type: "leaseWait", ...call, outcome: "served", ms });
      return found.value;
    }
    if (found.lease === "acquired") {
      owned = lease;
      ctx.stats.leasesTakenOver++;
    } else if (!limit?.expired()) ctx.stats.leaseWaitsGivenUp++;
    if (call) events.emit({ type: "leaseWait", ...call, outcome: owned ? "acquired" : "gaveUp", ms });
    if (!owned && limit?.expired()) {
      ctx.stats.functionTimeouts++;
      return answerLate(ctx, { job, fallback, call, error: callerTimeout(policy.label, limit.ms) });
    }
  }
  if (owned) ctx.stats.leasesAcquired++;

  const seen = late ? late.then((lookedUp) => lookedUp.gens) : found.gens;
  // Renewed through the computation and the background write, released once the entry is written.
  const held = owned && hold(ctx, owned);
  const computeStarted = performance.now();
  // An async wrapper, so a compute that throws synchronously is a rejection like any failure.
  const computing = (async () => await job.compute())();
  // Stored whether or not the caller still waits for it (a timeout does not stop the computation).
  const stored = computing.then((value) => {
    if (call) {
      events.emit({ type: "compute", ...call, ms: performance.now() - computeStarted, ok: true, fallback: false });
    }
    persist(ctx, job, { value, seen, held, call });
    return value;
  }, (error: unknown) => {
    // Through the background queue, so flush() and waitUntil cover it; if the queue is full the
    // lease simply expires (no longer renewed).
    if (held) {
      held.stop();
      ctx.background.schedule(() => held.release());
    }
    throw error;
  });
  try {
    if (!limit) return await stored;
    const raced = await limit.race(stored);
    if (!raced.late) return raced.value;
  } catch (error) {
    return answerLate(ctx, { job, fallback, call, error, computeMs: performance.now() - computeStarted });
  }
  // The caller stops waiting; the computation goes on, registered like a background write.
  const settled = (): Promise<void> => stored.then(() => {}, () => {});
  if (!ctx.background.schedule(settled)) void settled();
  ctx.stats.functionTimeouts++;
  return answerLate(ctx, { job, fallback, call, error: callerTimeout(policy.label, limit.ms) });
}

/** What {@link answerLate} answers for. */
interface LateAnswer<T> {
  readonly job: ComputeJob<T>;
  readonly fallback: Stale<T> | undefined;
  readonly error: unknown;
  /** The call's event fields, while someone listens. */
  readonly call: CallFields | undefined;
  /** How long the function ran before it failed (absent for a caller's timeout: it still runs). */
  readonly computeMs?: number;
}

/**
 * The answer to a caller whose function failed or ran past the timeout: the stale entry when one
 * expired less than `staleIfError` ago, else the error.
 */
function answerLate<T>(ctx: CacheContext, late: LateAnswer<T>): T {
  const { job, fallback, error, call } = late;
  const { policy, ref } = job;
  const served = fallback && ctx.options.now() < fallback.expiredAt + policy.staleIfErrorMs ? fallback : undefined;
  if (call && late.computeMs !== undefined) {
    ctx.events.emit({ type: "compute", ...call, ms: late.computeMs, ok: false, error, fallback: served !== undefined });
  }
  if (served) {
    ctx.stats.staleIfError++;
    if (call) ctx.events.emit({ type: "stale", ...call, reason: "error", tier: served.source });
    const what = error instanceof TimeoutError && error.backend === "function"
      ? "function timed out"
      : "function failed";
    ctx.backend.logger.warn(`larder: ${policy.label}: ${what}, serving the expired entry`, {
      error,
      ...(ref.readableKey === undefined ? {} : { key: ref.readableKey }),
    });
    return served.value;
  }
  throw error;
}

/** Schedules the write of a computed value; the lease is released once it is written. */
function persist<T>(
  ctx: CacheContext,
  job: ComputeJob<T>,
  computed: {
    readonly value: T;
    readonly seen: Generations | Promise<Generations>;
    readonly held: Held | undefined;
    readonly call: CallFields | undefined;
  },
): void {
  const { held, call } = computed;
  let settle: (() => void) | undefined;
  job.persisting?.(new Promise<void>((resolve) => (settle = resolve)));
  persistInBackground(ctx, writeFor(ctx, job, computed), {
    label: job.policy.label,
    call,
    onStored: job.onPlacement,
    // Released only once the entry is written, so waiters find it rather than a free lease.
    after: held || settle
      ? async () => {
        await held?.release();
        settle?.();
      }
      : undefined,
  });
}

type Stale<T> = Found<T> & { kind: "stale" };

/** Whether a stale value is recent enough to be served while a refresh runs. */
function servable<T>(ctx: CacheContext, found: Stale<T>, staleWhileRevalidateMs: number): boolean {
  return found.marked || ctx.options.now() < found.expiredAt + staleWhileRevalidateMs;
}

/**
 * Bounds the lookup by `timeout.total`: past it the call goes on as a miss. The lookup itself runs
 * on (each backend call has its own timeout); if it then turns out to have taken the lease, the
 * lease is released in the background rather than left to expire.
 */
function withinBudget<T>(
  ctx: CacheContext,
  work: Promise<Found<T>>,
  late: {
    readonly lease: Lease | undefined;
    readonly onLate: (work: Promise<Found<T>>) => void;
  },
): Promise<Found<T>> {
  const budgetMs = ctx.options.totalTimeoutMs;
  if (budgetMs === undefined) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overBudget = new Promise<Found<T>>((resolve) => {
    timer = setTimeout(() => {
      ctx.stats.budgetExceeded++;
      late.onLate(work);
      void work.then((lookedUp) => {
        if (lookedUp.kind === "miss" && lookedUp.lease === "acquired" && late.lease) {
          const lease = late.lease;
          ctx.background.schedule(() => release(ctx, lease));
        }
      });
      resolve({ kind: "miss", lease: "none", gens: {} });
    }, budgetMs);
  });
  return Promise.race([work, overBudget]).finally(() => clearTimeout(timer));
}

/** How a waiter waits for the lease owner's entry. */
interface Wait<T> {
  /** The lookups' options (decoder, lease, stale window). */
  readonly find: FindOptions<T>;
  /** How long to wait at most. */
  readonly waitMs: number;
  /** Whether a stale entry found may be served (a waiter is not a function failure: no stale-if-error). */
  readonly servableStale: (found: Stale<T>) => boolean;
  /** The generations the first lookup saw. */
  readonly seen: Generations;
  /** The function's label, for the line a long wait logs. */
  readonly label: string;
}

/**
 * Polls until the owner's entry appears (or a stale one that `wait.servableStale` accepts), the
 * lease is free (taken over: `miss` with `acquired`), the store fails (`none`), or `wait.waitMs`
 * runs out (`none`).
 */
async function waitForOwner<T>(ctx: CacheContext, ref: EntryRef, wait: Wait<T>): Promise<Found<T>> {
  const started = performance.now();
  const deadline = started + wait.waitMs;
  // The generations of the latest lookup that read them: the ones a computation after the wait
  // stamps its write with.
  let gens = wait.seen;
  for (const delay of backoff()) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    await sleep(Math.min(delay, remaining));
    if (performance.now() - started > LONG_WAIT_MS) logLongWait(ctx, { hash: ref.hash, label: wait.label });
    const found = await find(ctx, ref, wait.find);
    if (Object.keys(found.gens).length > 0) gens = found.gens;
    if (found.kind === "hit") return found;
    if (found.kind === "stale") {
      if (wait.servableStale(found)) return found;
      continue; // too old to serve; the owner is writing a fresh one
    }
    if (found.lease !== "held") return { ...found, gens };
  }
  return { kind: "miss", lease: "none", gens };
}
