/**
 * Background refresh (stale-while-revalidate): a stale entry is served at once, and one refresh
 * replaces it — one per entry per process, and one across instances when leases are on (the
 * refresher takes the entry's lease, renews it while computing, and releases it once the new
 * entry is written). A refresh whose function fails leaves the stale entry in place; it is
 * counted and logged, never thrown at anyone.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { type ComputeJob, writeFor } from "./job.ts";
import { type Held, hold, newLease, tryAcquire } from "./lease.ts";
import type { Generations } from "./lookup.ts";
import { persistInBackground } from "./persist.ts";

/** Schedules the refresh of `job`'s entry, stamped with the generations `seen` by the lookup that found it stale. */
export function refreshInBackground<T>(ctx: CacheContext, job: ComputeJob<T>, seen: Generations): void {
  const { hash } = job.ref;
  if (ctx.refreshing.has(hash)) return;
  ctx.refreshing.add(hash);
  const scheduled = ctx.background.schedule(async () => {
    const { events } = ctx;
    const { namespace } = job.ref;
    const call = events.listening
      ? events.begin({ op: "refresh", keyHash: hash, namespace, label: job.policy.label })
      : undefined;
    const lease = newLease(ctx, hash);
    let held: Held | undefined;
    // Once the write is scheduled, it releases the lease and the in-process mark itself.
    let handedOff = false;
    const done = async (): Promise<void> => {
      await held?.release();
      ctx.refreshing.delete(hash);
    };
    let started = 0;
    try {
      if (lease) {
        if (!await tryAcquire(ctx, lease)) return; // another instance is refreshing it
        // Renewed through the computation and the write.
        held = hold(ctx, lease);
      }
      started = performance.now();
      const value = await job.compute();
      if (call) events.emit({ type: "compute", ...call, ms: performance.now() - started, ok: true, fallback: false });
      handedOff = true;
      persistInBackground(ctx, writeFor(ctx, job, { value, seen, call }), {
        label: job.policy.label,
        call,
        onStored: job.onPlacement,
        after: done,
      });
    } catch (error) {
      ctx.stats.refreshesFailed++;
      const ms = performance.now() - started;
      if (call) events.emit({ type: "compute", ...call, ms, ok: false, error, fallback: false });
      ctx.backend.logger.warn(`larder: ${job.policy.label}: background refresh failed; the stale entry stays`, {
        error,
        ...(job.ref.readableKey === undefined ? {} : { key: job.ref.readableKey }),
      });
    } finally {
      if (!handedOff) await done();
    }
  });
  if (!scheduled) ctx.refreshing.delete(hash);
}
