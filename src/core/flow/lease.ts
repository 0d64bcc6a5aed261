/**
 * Cross-instance stampede protection. A miss takes a lease in the same round trip as its read
 * (lookup.ts); the owner renews it while the function runs and releases it once the entry is
 * written. Other instances poll the record with backoff until it appears, the lease is gone (the
 * owner died: they take it over), or their bounded wait runs out (they run the function
 * themselves: a slow or dead owner never blocks anyone for longer than `wait`).
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { leaseKey } from "../record/key_layout.ts";

/** A lease this process may hold: its key, this owner's token, its entry, and its TTL. */
export interface Lease {
  /** The lease's Redis key. */
  readonly key: string;
  /** This owner's token. */
  readonly token: string;
  /** The entry's key hash (for messages). */
  readonly hash: string;
  /** How long the lease lives unless renewed. */
  readonly ttlMs: number;
}

/** A fresh owner token for the entry `hash`, or `undefined` when leases are off. */
export function newLease(ctx: CacheContext, hash: string): Lease | undefined {
  const config = ctx.options.lease;
  if (!config) return undefined;
  return { key: leaseKey(ctx.options.prefix, hash), token: crypto.randomUUID(), hash, ttlMs: config.ttlMs };
}

/** Takes the lease if nobody holds it (used to elect one refresher); false when held or on failure. */
export async function tryAcquire(ctx: CacheContext, lease: Lease): Promise<boolean> {
  try {
    const [acquired] = await ctx.backend.store("lease", [{
      type: "set",
      key: lease.key,
      value: lease.token,
      ttlMs: lease.ttlMs,
      ifAbsent: true,
    }], lease.hash);
    return acquired === true;
  } catch {
    return false;
  }
}

/**
 * Keeps `lease` alive while `work` runs, renewing it every third of its TTL. Renewal failures
 * are ignored: at worst another instance takes over and computes the same value.
 */
export async function whileHolding<T>(ctx: CacheContext, lease: Lease, work: () => Promise<T>): Promise<T> {
  const { key, token, ttlMs, hash } = lease;
  const timer = setInterval(() => {
    ctx.backend.store("renew lease", [{ type: "renewLease", key, token, ttlMs }], hash).catch(() => {});
  }, Math.max(10, Math.floor(ttlMs / 3)));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Releases `lease` if this owner still holds it. Never rejects. */
export async function release(ctx: CacheContext, lease: Lease): Promise<void> {
  await ctx.backend.store("release lease", [{ type: "releaseLease", key: lease.key, token: lease.token }], lease.hash)
    .catch(() => {});
}

/** Polling delays of a waiter: 20 ms growing by half each time, at most 500 ms. */
export function* backoff(): Generator<number, never> {
  let delay = 20;
  for (;;) {
    yield delay;
    delay = Math.min(500, Math.round(delay * 1.5));
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
