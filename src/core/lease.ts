/**
 * Cross-instance stampede protection. A miss takes a lease in the same round trip as its read
 * (`getOrLease`); the owner renews it while the function runs and releases it once the entry is
 * written. Other instances poll the record with backoff until it appears, the lease is gone (the
 * owner died: they take it over), or their bounded wait runs out (they run the function
 * themselves: a slow or dead owner never blocks anyone for longer than `wait`).
 *
 * @module
 */
import { runStore } from "./store_call.ts";
import type { CacheContext } from "./context.ts";
import { leaseKey } from "./keys.ts";

/** A lease this process holds. */
export interface Lease {
  /** The lease's Redis key. */
  readonly key: string;
  /** This owner's token. */
  readonly token: string;
}

export { leaseKey } from "./keys.ts";

/** A fresh owner token. */
export function newLease(prefix: string, hash: string): Lease {
  return { key: leaseKey(prefix, hash), token: crypto.randomUUID() };
}

/** Takes the lease if nobody holds it (used to elect one refresher); false when held or on failure. */
export async function tryAcquire(ctx: CacheContext, hash: string, lease: Lease, ttlMs: number): Promise<boolean> {
  try {
    const [acquired] = await runStore(
      ctx,
      "lease",
      [{ type: "set", key: lease.key, value: lease.token, ttlMs, ifAbsent: true }],
      hash,
    );
    return acquired === true;
  } catch {
    return false;
  }
}

/**
 * Keeps `lease` alive while `work` runs, renewing it every third of its TTL. Renewal failures
 * are ignored: at worst another instance takes over and computes the same value.
 */
export async function whileHolding<T>(
  ctx: CacheContext,
  hash: string,
  lease: Lease,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const timer = setInterval(() => {
    runStore(ctx, "renew lease", [{ type: "renewLease", key: lease.key, token: lease.token, ttlMs }], hash)
      .catch(() => {});
  }, Math.max(10, Math.floor(ttlMs / 3)));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Releases `lease` if this owner still holds it. Never rejects. */
export async function release(ctx: CacheContext, hash: string, lease: Lease): Promise<void> {
  await runStore(ctx, "release lease", [{ type: "releaseLease", key: lease.key, token: lease.token }], hash)
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
