/**
 * Invalidation and the prefix-wide operations: replacing generation tokens (O(1) whatever the
 * number of entries), clearing a prefix, and reading the counters every instance shares. Unlike
 * reads and writes these do not fail open: an invalidation the caller believes done must be done.
 *
 * @module
 */
import { cleanup } from "../ops/cleanup.ts";
import type { CacheContext } from "../context.ts";
import { StoreError } from "../errors.ts";
import * as opt from "../util/check_options.ts";
import { DEFAULTS } from "../defaults.ts";
import { newToken } from "../record/generations.ts";
import { generationTarget, prefixGeneration, statsKey, storeKeyPattern } from "../record/key_layout.ts";
import type { InvalidateEvent } from "../stats/events.ts";
import type { StoreOp } from "../types.ts";

/** Keys deleted per store request while clearing. */
const CLEAR_BATCH = DEFAULTS.clearBatch;

/** Options of the invalidation methods. */
export interface InvalidateOptions {
  /**
   * `"expire"`: entries miss from now on. `"stale"`: entries are served stale while one refresh
   * per entry runs (by `wrap`; `get` treats them as misses), like Next.js' `revalidateTag`.
   * @default "expire"
   */
  mode?: "expire" | "stale";
}

/** Options of `Cache.clear`. */
export interface ClearOptions {
  /**
   * Also delete the prefix's payload blobs now (a cleanup with no grace period: it lists the
   * whole prefix), instead of leaving them to `cleanup()` or the bucket's lifecycle rule.
   * @default false
   */
  blobs?: boolean;
}

/** What `Cache.clear` removed. */
export interface ClearResult {
  /** Keys deleted from the store (records, leases, generations, eviction bookkeeping, counters). */
  readonly keys: number;
  /** Blobs deleted (0 unless `blobs: true`). */
  readonly blobs: number;
}

const INVALIDATE_OPTIONS = {
  mode: opt.withDefault(opt.oneOf(["expire", "stale"]), "expire"),
} satisfies opt.OptionChecks<InvalidateOptions>;

const CLEAR_OPTIONS = { blobs: opt.withDefault(opt.boolean, false) } satisfies opt.OptionChecks<ClearOptions>;

/** Replaces the expire (or stale) token of each generation key, in one round trip. */
export async function invalidate(
  ctx: CacheContext,
  keys: readonly string[],
  options: InvalidateOptions | undefined,
): Promise<void> {
  const { mode } = opt.checkOptions("invalidate", options, INVALIDATE_OPTIONS);
  if (keys.length === 0) return;
  const field = mode === "expire" ? "x" : "s";
  const token = newToken();
  await ctx.backend.store("invalidate", keys.map((key): StoreOp => ({ type: "setGeneration", key, field, token })));
  // This process' tier does not know entries' generations: everything in it may be affected.
  ctx.tier?.clear();
  if (ctx.events.listening) ctx.events.emit(invalidateEvent(ctx.options.prefix, { keys, mode }));
}

/** The `invalidate` event of generation keys of `prefix` given new tokens. */
export function invalidateEvent(
  prefix: string,
  done: { readonly keys: Iterable<string>; readonly mode: "expire" | "stale" },
): InvalidateEvent {
  const tags: string[] = [];
  const namespaces: string[] = [];
  let all = false;
  for (const key of done.keys) {
    const target = generationTarget(prefix, key);
    if (target?.kind === "prefix") all = true;
    else if (target?.kind === "tag") tags.push(target.name);
    else if (target?.kind === "namespace") namespaces.push(target.name);
  }
  return { type: "invalidate", mode: done.mode, tags, namespaces, all };
}

/** `cache.clear()`: the prefix's keys, and with `blobs: true` its blobs (a cleanup with no grace period). */
export async function clearAll(ctx: CacheContext, options: ClearOptions | undefined): Promise<ClearResult> {
  const checked = opt.checkOptions("clear", options, CLEAR_OPTIONS);
  const { keys } = await clearPrefix(ctx);
  // Every record is gone: the blobs are all orphans. A cleanup with no grace period still
  // re-reads each object's record and lease right before deleting it.
  const blobs = checked.blobs ? (await cleanup(ctx, { grace: 0 })).deleted : 0;
  return { keys, blobs };
}

/** Invalidates the whole prefix, then deletes its keys from the store in batches. */
async function clearPrefix(ctx: CacheContext): Promise<{ keys: number }> {
  await invalidate(ctx, [prefixGeneration(ctx.options.prefix)], { mode: "expire" });
  const match = storeKeyPattern(ctx.options.prefix);
  let cursor = "0";
  let deleted = 0;
  do {
    const [step] = await ctx.backend.store("scan", [{ type: "scan", cursor, match, count: CLEAR_BATCH }]);
    if (typeof step !== "object" || step === null || !("cursor" in step) || !Array.isArray(step.keys)) {
      throw new StoreError(`${ctx.options.store.name} scan returned an unexpected result`);
    }
    cursor = String(step.cursor);
    const [first, ...more] = step.keys as string[];
    if (first !== undefined) {
      const [removed] = await ctx.backend.store("del", [{ type: "del", key: first, more }]);
      deleted += typeof removed === "number" ? removed : 0;
    }
  } while (cursor !== "0");
  return { keys: deleted };
}

/** The shared counters, as numbers. */
export async function readGlobalStats(ctx: CacheContext): Promise<Record<string, number>> {
  const [fields] = await ctx.backend.store("stats", [{ type: "hgetall", key: statsKey(ctx.options.prefix) }]);
  if (typeof fields !== "object" || fields === null) {
    throw new StoreError(`${ctx.options.store.name} hgetall returned an unexpected result`);
  }
  const counters: Record<string, number> = {};
  for (const [name, value] of Object.entries(fields)) {
    const count = Number(value);
    if (Number.isFinite(count)) counters[name] = count;
  }
  return counters;
}
