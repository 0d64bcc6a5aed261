/**
 * One guarded batch to the metadata store: timeout, breaker and error accounting around
 * `store.run`, as every store call of the core needs.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { guarded } from "./backend_call.ts";
import type { StoreOp, StoreResult } from "../types.ts";

/** Runs `ops` in one round trip through the store's guard; `operation` and `hash` name it in errors. */
export function runStore(
  ctx: CacheContext,
  operation: string,
  ops: readonly StoreOp[],
  hash?: string,
): Promise<StoreResult[]> {
  const store = ctx.options.store;
  return guarded(ctx.guard, {
    backend: "store",
    adapter: store.name,
    operation,
    ...(hash === undefined ? {} : { keyHash: hash }),
    timeoutMs: ctx.options.storeTimeoutMs,
    call: (signal) => store.run(ops, { signal }),
  });
}
