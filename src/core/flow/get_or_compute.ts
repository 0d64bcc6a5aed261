/**
 * Get-or-compute for one key, across instances: the policy behind `wrap`.
 *
 * - fresh entry → served;
 * - expired but within `staleWhileRevalidate`, or marked stale by an invalidation → served at
 *   once, and one refresh runs in the background (one per process, and one across instances
 *   when leases are on);
 * - miss → the lease comes with the lookup; its owner computes, renews while computing, and
 *   releases once the entry is written; other instances wait for the entry (bounded, then they
 *   compute themselves) and take the lease over if the owner dies;
 * - the function throws and an entry expired less than `staleIfError` ago exists → that is served;
 * - a job can forbid both stale servings for an entry (`mayServeStale`, e.g. an HTTP response
 *   with `must-revalidate`): such an entry, once stale, is a miss.
 *
 * Every write is stamped with the generations the lookup saw before the function ran, so a value
 * computed across an invalidation is never stored as fresh; when the lookup could not read them
 * (the store failed), the value is not stored at all.
 *
 * @module
 */
import type { CacheContext, EntryRef } from "../context.ts";
import { stampsFor } from "../record/generations.ts";
import { backoff, type Lease, newLease, release, sleep, tryAcquire, whileHolding } from "./lease.ts";
import { persistInBackground } from "./persist.ts";
import type { Placement } from "./placement.ts";
import { type Generations, type Lookup, lookup } from "./lookup.ts";
import { reportInBackground } from "../stats/global_stats.ts";
import type { WriteRequest } from "./write.ts";

/** How one wrapped function's entries live. */
export interface EntryPolicy {
  /** Fresh for this long. */
  readonly ttlMs: number;
  /** Served stale, while one refresh runs, for this long past expiry (0: never). */
  readonly staleWhileRevalidateMs: number;
  /** Served stale when the function fails, for this long past expiry (0: never). */
  readonly staleIfErrorMs: number;
  /** Label for log lines, `namespace/name`. */
  readonly label: string;
}

/** A function call to resolve: its entry and how to compute it. */
export interface Resolution<T> {
  /** The entry. */
  readonly ref: EntryRef;
  /** Its policy. */
  readonly policy: EntryPolicy;
  /** Runs the function. */
  readonly compute: () => Promise<T>;
  /** Learns where the entry ended up (for the next call's blob-GET speculation). */
  readonly onPlacement: (placement: Placement) => void;
  /**
   * What to store for a computed value, when it is not the value itself with the policy's TTL
   * (e.g. a response: its body, still arriving, with its own TTL and its status and headers as
   * metadata). `undefined`: store nothing (a lease held is released at once).
   */
  readonly persistAs?: (value: T) => PersistPlan | undefined;
  /**
   * Whether a stale entry found (expired, or marked stale by an invalidation) may be served stale
   * or kept as the stale-if-error fallback; `false` makes it a plain miss (e.g. a response whose
   * `must-revalidate` forbids serving it stale). Called for each stale entry found. @default always
   */
  readonly mayServeStale?: (value: T) => boolean;
}

/**
 * What {@link Resolution.persistAs} asks to store; `retainMs` (how long the record outlives its
 * TTL for stale serving) defaults to the policy's stale windows: 0 keeps nothing past the TTL.
 */
export type PersistPlan = Pick<WriteRequest, "value" | "ttlMs" | "meta" | "retainMs">;

/** Serves the entry, or computes it, following the policy described in the module doc. */
export async function resolveEntry<T>(ctx: CacheContext, job: Resolution<T>): Promise<T> {
  const { ref, policy } = job;
  const { hash } = ref;
  const retainMs = Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs);
  const leaseConfig = ctx.options.lease;
  const lease = leaseConfig ? newLease(ctx.options.prefix, hash) : undefined;
  const leaseSpec = lease && leaseConfig ? { lease, ttlMs: leaseConfig.ttlMs } : undefined;

  const started = performance.now();
  // A lookup that outlives `timeout.total` still brings the generations the write needs.
  let late: Promise<Lookup> | undefined;
  let found = await withinBudget(ctx, hash, lease, lookup(ctx, ref, { lease: leaseSpec, retainMs }), (work) => {
    late = work;
  });
  const elapsed = performance.now() - started;
  reportInBackground(ctx);
  if (found.kind === "hit") {
    ctx.stats.hit(found.source, elapsed);
    if (found.source !== "memory") job.onPlacement(found.source);
    return found.value as T;
  }
  // A stale entry the job may not serve stale is neither served nor kept as a fallback.
  const allowed = (stale: StaleLookup): boolean => job.mayServeStale?.(stale.value as T) ?? true;
  const servableNow = (stale: StaleLookup): boolean =>
    allowed(stale) && servable(ctx, stale, policy.staleWhileRevalidateMs);
  const staleAllowed = found.kind === "stale" && allowed(found);
  if (found.kind === "stale" && staleAllowed && servable(ctx, found, policy.staleWhileRevalidateMs)) {
    ctx.stats.hit(found.source, elapsed);
    ctx.stats.stale++;
    refreshInBackground(ctx, job, found.gens);
    return found.value as T;
  }
  ctx.stats.miss(elapsed);
  const fallback = found.kind === "stale" && staleAllowed ? found : undefined;

  let owned: Lease | undefined;
  if (found.kind === "miss" && found.lease === "acquired") {
    owned = lease;
  } else if (found.kind === "stale" && lease && leaseConfig) {
    // The record exists (expired), so the lookup took no lease: one more round trip, only here.
    owned = await tryAcquire(ctx, hash, lease, leaseConfig.ttlMs) ? lease : undefined;
  } else if (found.kind === "miss" && found.lease === "held" && leaseSpec && leaseConfig) {
    found = await waitForOwner(
      ctx,
      ref,
      leaseSpec,
      retainMs,
      leaseConfig.waitMs,
      servableNow,
      found.gens,
    );
    if (found.kind === "hit" || found.kind === "stale") {
      ctx.stats.leasesWaited++;
      return found.value as T;
    }
    if (found.lease === "acquired") owned = lease;
    else ctx.stats.leaseWaitsGivenUp++;
  }
  if (owned) ctx.stats.leasesAcquired++;

  let value: T;
  try {
    value = owned && leaseConfig
      ? await whileHolding(ctx, hash, owned, leaseConfig.ttlMs, job.compute)
      : await job.compute();
  } catch (error) {
    // Through the background queue, so flush() and waitUntil cover it; if the queue is full the
    // lease simply expires.
    if (owned) ctx.background.schedule(() => release(ctx, hash, owned));
    if (fallback && ctx.options.now() < fallback.expiredAt + policy.staleIfErrorMs) {
      ctx.stats.staleIfError++;
      ctx.backend.logger.warn(`larder: ${policy.label}: function failed, serving the expired entry`, { error });
      return fallback.value as T;
    }
    throw error;
  }
  const seen = late ? late.then((lookedUp) => lookedUp.gens) : found.gens;
  persistInBackground(ctx, writeFor(ctx, job, value, seen), policy.label, {
    onStored: job.onPlacement,
    // Released only once the entry is written, so waiters find it rather than a free lease.
    after: owned ? () => release(ctx, hash, owned) : undefined,
  });
  return value;
}

type StaleLookup = Lookup & { kind: "stale" };

/** Whether a stale lookup is recent enough to be served while a refresh runs. */
function servable(ctx: CacheContext, found: StaleLookup, staleWhileRevalidateMs: number): boolean {
  return found.marked || ctx.options.now() < found.expiredAt + staleWhileRevalidateMs;
}

/**
 * The write of a computed value: the job's own plan (or the value with the policy's TTL), stamped
 * with the generations seen before computing it. `undefined` when the job stores nothing.
 */
function writeFor<T>(
  ctx: CacheContext,
  job: Resolution<T>,
  value: T,
  seen: Generations | Promise<Generations>,
): WriteRequest | undefined | Promise<WriteRequest | undefined> {
  const { ref, policy } = job;
  // The plan now (a response's body is being read meanwhile); the stamps once they are known.
  const plan = job.persistAs ? job.persistAs(value) : { value, ttlMs: policy.ttlMs };
  if (!plan) return undefined;
  const computedAt = ctx.options.now();
  const stamped = (known: Generations): WriteRequest | undefined => {
    const gens = stampsFor(ref.gens, known);
    if (!gens) {
      ctx.stats.writesDiscarded++;
      return undefined;
    }
    return {
      ...plan,
      hash: ref.hash,
      namespace: ref.namespace,
      gens,
      retainMs: plan.retainMs ?? Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs),
      computedAt,
    };
  };
  return seen instanceof Promise ? seen.then(stamped) : stamped(seen);
}

/**
 * Bounds the lookup by `timeout.total`: past it the call goes on as a miss. The lookup itself runs
 * on (each backend call has its own timeout); if it then turns out to have taken the lease, the
 * lease is released in the background rather than left to expire.
 */
function withinBudget(
  ctx: CacheContext,
  hash: string,
  lease: Lease | undefined,
  work: Promise<Lookup>,
  onLate: (work: Promise<Lookup>) => void,
): Promise<Lookup> {
  const budgetMs = ctx.options.totalTimeoutMs;
  if (budgetMs === undefined) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overBudget = new Promise<Lookup>((resolve) => {
    timer = setTimeout(() => {
      ctx.stats.budgetExceeded++;
      onLate(work);
      void work.then((late) => {
        if (late.kind === "miss" && late.lease === "acquired" && lease) {
          ctx.background.schedule(() => release(ctx, hash, lease));
        }
      });
      resolve({ kind: "miss", lease: "none", gens: {} });
    }, budgetMs);
  });
  return Promise.race([work, overBudget]).finally(() => clearTimeout(timer));
}

/**
 * Polls until the owner's entry appears (or a stale one that `servableStale` accepts: a waiter is
 * not a function failure, so stale-if-error does not apply), the lease is free (taken
 * over: `miss` with `acquired`), the store fails (`none`), or `waitMs` runs out (`none`).
 */
async function waitForOwner(
  ctx: CacheContext,
  ref: EntryRef,
  leaseSpec: { lease: Lease; ttlMs: number },
  retainMs: number,
  waitMs: number,
  servableStale: (found: StaleLookup) => boolean,
  seen: Generations,
): Promise<Lookup> {
  const deadline = performance.now() + waitMs;
  // The generations of the latest lookup that read them: the ones a computation after the wait
  // stamps its write with.
  let gens = seen;
  for (const delay of backoff()) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    await sleep(Math.min(delay, remaining));
    const found = await lookup(ctx, ref, { lease: leaseSpec, retainMs });
    if (Object.keys(found.gens).length > 0) gens = found.gens;
    if (found.kind === "hit") return found;
    if (found.kind === "stale") {
      if (servableStale(found)) return found;
      continue; // too old to serve; the owner is writing a fresh one
    }
    if (found.lease !== "held") return { ...found, gens };
  }
  return { kind: "miss", lease: "none", gens };
}

/** One background refresh per entry per process, and one across instances when leases are on. */
function refreshInBackground<T>(ctx: CacheContext, job: Resolution<T>, seen: Generations): void {
  const { hash } = job.ref;
  if (ctx.refreshing.has(hash)) return;
  ctx.refreshing.add(hash);
  const leaseConfig = ctx.options.lease;
  const scheduled = ctx.background.schedule(async () => {
    const lease = leaseConfig ? newLease(ctx.options.prefix, hash) : undefined;
    let owned = false;
    // Once the write is scheduled, it releases the lease and the in-process mark itself.
    let handedOff = false;
    const done = async (): Promise<void> => {
      if (owned && lease) await release(ctx, hash, lease);
      ctx.refreshing.delete(hash);
    };
    try {
      if (lease && leaseConfig) {
        owned = await tryAcquire(ctx, hash, lease, leaseConfig.ttlMs);
        if (!owned) return; // another instance is refreshing it
      }
      const value = lease && leaseConfig
        ? await whileHolding(ctx, hash, lease, leaseConfig.ttlMs, job.compute)
        : await job.compute();
      handedOff = true;
      persistInBackground(ctx, writeFor(ctx, job, value, seen), job.policy.label, {
        onStored: job.onPlacement,
        after: done,
      });
    } catch (error) {
      ctx.stats.refreshesFailed++;
      ctx.backend.logger.warn(`larder: ${job.policy.label}: background refresh failed; the stale entry stays`, {
        error,
      });
    } finally {
      if (!handedOff) await done();
    }
  });
  if (!scheduled) ctx.refreshing.delete(hash);
}
