/**
 * Cross-instance stampede protection. A miss takes a lease in the same round trip as its read
 * (lookup.ts); the owner renews it while the function runs and until its entry is written, then
 * releases it. Other instances poll the record with backoff until it appears, the lease is gone
 * (the owner died: they take it over), or their bounded wait runs out (they run the function
 * themselves: a slow or dead owner never blocks anyone for longer than `wait`).
 *
 * What an orphaned lease costs: an owner that dies, or a process that exits with its write still
 * pending (`process.exit()` right after a miss), or a Worker whose write workerd froze, leaves its
 * lease to expire, and the next caller of that key waits until it does. That is bounded by the
 * lease's TTL, so the TTL is short (5 s by default, not the 15 s it was) and renewed every 30 % of
 * it (1.5 s), through the write as well as the computation: a live owner's lease never lapses
 * between renewals even if one fails, a dead one's lapses at most `ttl` after its last renewal.
 * Measured (test/integration/exit.test.ts: a script that exits after a miss, then the same script
 * again): the second run's first call waited ~14.3 s with the 15 s TTL, ~4.4 s with 5 s.
 *
 * The other way, releasing the lease as soon as the value is handed to the background write,
 * was measured too: waiters that poll between the release and the record's write find neither
 * and compute again (see the stampede suite's note), and a release sent after the response on a
 * frozen Worker, or after `process.exit()`, never leaves anyway. Where the runtime is known to drop
 * work without `waitUntil` (workerd), no lease is taken at all ({@link newLease}): only a write
 * that never happens would have released it.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { leaseKey } from "../record/key_layout.ts";
import { Lru } from "../util/lru.ts";

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

/**
 * A fresh owner token for the entry `hash`, or `undefined` when leases are off, or when the
 * call's background work does not outlive it (workerd without `waitUntil`: the write that would
 * release the lease is lost, and the lease would stall the key's next caller for its whole TTL).
 */
export function newLease(ctx: CacheContext, hash: string): Lease | undefined {
  const config = ctx.options.lease;
  if (!config || !ctx.background.outlivesCall()) return undefined;
  return { key: leaseKey(ctx.options.prefix, hash), token: crypto.randomUUID(), hash, ttlMs: config.ttlMs };
}

/** A held lease is renewed every this fraction of its TTL. */
export const RENEW_FRACTION = 0.3;

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

/** A lease this process holds: renewed until it is released or dropped. */
export interface Held {
  /** Stops renewing and deletes the lease if this owner still holds it. Never rejects. */
  release(): Promise<void>;
  /** Stops renewing only (the lease then expires by itself). */
  stop(): void;
}

/**
 * Keeps `lease` (taken) alive until {@link Held.release}: renewed every 30 % of its TTL, through
 * the computation and the background write. Renewal failures are ignored: at worst another
 * instance takes over and computes the same value.
 */
export function hold(ctx: CacheContext, lease: Lease): Held {
  const { key, token, ttlMs, hash } = lease;
  const timer = setInterval(() => {
    ctx.backend.store("renew lease", [{ type: "renewLease", key, token, ttlMs }], hash).catch(() => {});
  }, Math.max(10, Math.floor(ttlMs * RENEW_FRACTION)));
  let released = false;
  const stop = (): void => clearInterval(timer);
  return {
    stop,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      stop();
      await release(ctx, lease);
    },
  };
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

/** A lease wait longer than this is logged (once per key). */
export const LONG_WAIT_MS = 1_000;
/** Keys whose long wait was logged, remembered per cache (least recently logged forgotten first). */
const MAX_LONG_WAITS = 1_000;
const longWaits = new WeakMap<CacheContext, Lru<true>>();

/**
 * Logs, once per key (the last {@link MAX_LONG_WAITS} keys of a cache), that a call of `label`
 * has waited over {@link LONG_WAIT_MS} for another instance's lease on `hash`: a wait that long is
 * a slow computation elsewhere, or an orphaned lease (an owner that died, or exited with its
 * write pending), and either deserves a line.
 */
export function logLongWait(ctx: CacheContext, wait: { readonly hash: string; readonly label: string }): void {
  let logged = longWaits.get(ctx);
  if (logged === undefined) {
    logged = new Lru<true>({ maxEntries: MAX_LONG_WAITS, maxBytes: Number.MAX_SAFE_INTEGER });
    longWaits.set(ctx, logged);
  }
  const now = ctx.options.now();
  if (logged.get(wait.hash, now) === true) return;
  logged.set(wait.hash, { value: true, bytes: 0, expiresAt: Infinity }, now);
  const ttlMs = ctx.options.lease?.ttlMs ?? 0;
  ctx.backend.logger.warn(
    `larder: ${wait.label}: waited over ${LONG_WAIT_MS / 1000} s for key ${
      wait.hash.slice(0, 12)
    }, leased by another instance (still computing it, or gone: a process that exited with its write pending leaves a lease that expires within lease.ttl, ${
      ttlMs / 1000
    } s)`,
    { key: wait.hash.slice(0, 12) },
  );
}
