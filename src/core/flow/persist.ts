/**
 * Background persistence of a computed value, with the accounting of its outcome. A failure is
 * counted and logged; it never reaches the caller, who already has the value.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import type { CallFields } from "../stats/events.ts";
import { isCacheError } from "../errors.ts";
import { countedByBackend } from "../backend/backend_call.ts";
import type { Placement } from "./placement.ts";
import { writeEntry, type WriteRequest } from "./write.ts";

/** What to do around a background write, and its label in log lines. */
export interface PersistHooks {
  /** Names the function in log lines (`namespace/name`). */
  readonly label: string;
  /** Learns the placement once the entry is stored. */
  readonly onStored?: ((placement: Placement) => void) | undefined;
  /** Runs after the write, whatever its outcome (also when it could not be scheduled). */
  readonly after?: (() => Promise<void>) | undefined;
  /** The computing call's event fields, while someone listens: its `write` event carries them. */
  readonly call?: CallFields | undefined;
}

/**
 * Schedules a background write. `hooks.label` names the function in log lines. The request may be a
 * promise (it waits for a lookup that outlived `timeout.total`), and so may its value (a response
 * body still arriving): both are awaited in the background, and a rejected value is accounted
 * like a failed encoding. With no request there is nothing to store and only `hooks.after` runs
 * (in the background).
 */
export function persistInBackground(
  ctx: CacheContext,
  pending: WriteRequest | undefined | Promise<WriteRequest | undefined>,
  hooks: PersistHooks,
): void {
  const { label, call } = hooks;
  if (pending === undefined) {
    const after = hooks.after;
    if (after && !ctx.background.schedule(after)) void after();
    return;
  }
  const scheduled = ctx.background.schedule(async () => {
    try {
      const request = await pending;
      if (request === undefined) return;
      const value = await request.value;
      const started = performance.now();
      const stored = await writeEntry(ctx, { ...request, value });
      if (stored) {
        ctx.stats.writesOk++;
        if (call) {
          ctx.events.emit({ type: "write", ...call, outcome: "ok", ...stored, ms: performance.now() - started });
        }
        hooks.onStored?.(stored.placement);
      } else {
        ctx.stats.writesDiscarded++;
        if (call) ctx.events.emit({ type: "write", ...call, outcome: "discarded", reason: "invalidated" });
      }
    } catch (error) {
      accountWriteFailure(ctx, error, hooks);
    } finally {
      await hooks.after?.();
    }
  });
  if (!scheduled) {
    ctx.stats.writesSkipped++;
    if (call) ctx.events.emit({ type: "write", ...call, outcome: "skipped", reason: "pendingFull" });
    ctx.backend.warnOnce(
      `pending-full`,
      `larder: ${label}: result not cached, ${ctx.options.maxPendingWrites} writes already pending`,
    );
    void hooks.after?.();
  }
}

/**
 * Counts and logs a failed write: skipped for bad values (a value a backend refused as too large
 * included), failed for backend errors. An error the backend facade counted is not counted again.
 */
function accountWriteFailure(ctx: CacheContext, error: unknown, hooks: PersistHooks): void {
  const { label, call } = hooks;
  const code = isCacheError(error) ? error.code : undefined;
  if (code === "E_CODEC" || code === "E_TOO_LARGE" || code === "E_KEY") {
    ctx.stats.writesSkipped++;
    if (call) ctx.events.emit({ type: "write", ...call, outcome: "skipped", reason: "value", code });
    if (!countedByBackend(error)) ctx.stats.error("codec", code);
    ctx.backend.warnOnce(`value:${label}:${code}`, `larder: ${label}: result not cached: ${(error as Error).message}`);
    return;
  }
  ctx.stats.writesFailed++;
  if (call) ctx.events.emit({ type: "write", ...call, outcome: "failed", ...code && { code } });
  if (!isCacheError(error)) {
    ctx.backend.logger.error(`larder: ${label}: background write failed`, { error });
  }
  // Backend errors were logged by the backend facade, once per failure kind.
}
