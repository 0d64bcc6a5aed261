/**
 * Entries by key: `cache.get`, `set`, `has` and `delete`. Reads fail open (a broken backend is a
 * miss); `set` waits for its write and reports a backend failure as `false`.
 *
 * @module
 */
import type { SetOptions } from "./create_cache.ts";
import type { CacheContext, EntryRef } from "../context.ts";
import { toMs } from "../util/durations.ts";
import { ConfigError } from "../errors.ts";
import { checkTags, newToken } from "../record/generations.ts";
import { blobKey, generationKeys, lruKeys, recordKey } from "../record/key_layout.ts";
import { checkName, keyHash } from "../record/key_material.ts";
import { find, valueDecoder } from "../flow/get_or_compute.ts";
import { writeEntry } from "../flow/write.ts";

/** The entry of a user's key: validated key, namespace and tags, hashed. `what` names the method in errors. */
export async function entryRef(
  ctx: CacheContext,
  key: unknown,
  options: SetOptions | undefined,
  what: string,
): Promise<EntryRef> {
  if (typeof key !== "string" || key.length === 0) throw new ConfigError(`${what}: key must be a non-empty string`);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new ConfigError(`${what}: options must be an object`);
  }
  const { prefix } = ctx.options;
  const namespace = options?.namespace === undefined
    ? ctx.options.namespace
    : checkName(options.namespace, `${what}: namespace`);
  const tags = options?.tags === undefined ? [] : checkTags(options.tags, `${what}: tags`);
  const hash = await keyHash(prefix, namespace, { kind: "key", key });
  return { hash, namespace, gens: generationKeys(prefix, namespace, tags) };
}

/** The value of a fresh entry, or `undefined` (a miss, including any cache failure). */
export async function getEntry(ctx: CacheContext, ref: EntryRef): Promise<unknown> {
  const started = performance.now();
  const found = await find(ctx, ref, { decoder: valueDecoder(ctx) });
  const elapsed = performance.now() - started;
  ctx.reporter.reportInBackground(ctx.background);
  if (found.kind !== "hit") {
    ctx.stats.miss(elapsed);
    return undefined;
  }
  ctx.stats.hit(found.source, elapsed);
  return found.value;
}

/** Writes `value` stamped with the current generations; false when a backend failed. */
export async function setEntry(
  ctx: CacheContext,
  ref: EntryRef,
  value: unknown,
  options?: SetOptions,
): Promise<boolean> {
  const ttlMs = options?.ttl === undefined ? ctx.options.ttlMs : toMs(options.ttl, "set: ttl");
  try {
    const written = await writeEntry(ctx, {
      hash: ref.hash,
      namespace: ref.namespace,
      gens: ref.gens.map((gen) => ({ key: gen })),
      value,
      ttlMs,
    });
    ctx.stats.writesOk++;
    return written;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "E_CODEC" || code === "E_TOO_LARGE") throw error;
    ctx.stats.writesFailed++;
    return false;
  }
}

/** Whether a valid record exists (invalidations honoured); false on failure. */
export async function hasEntry(ctx: CacheContext, ref: EntryRef): Promise<boolean> {
  const { prefix } = ctx.options;
  try {
    const [found] = await ctx.backend.store("exists", [{
      type: "read",
      key: recordKey(prefix, ref.hash),
      gens: ref.gens,
      token: newToken(),
    }], ref.hash);
    return typeof found === "object" && found !== null && "value" in found && found.value !== null;
  } catch {
    return false;
  }
}

/** Removes the record (and its eviction bookkeeping) and the blob; resolves to whether a record was removed. */
export async function deleteEntry(ctx: CacheContext, ref: EntryRef): Promise<boolean> {
  const { hash, namespace } = ref;
  const { blobs, prefix } = ctx.options;
  ctx.hints.forget(hash);
  ctx.tier?.delete(hash);
  // The blob goes too, in parallel; a failure there leaves an orphan for cleanup, not a wrong value.
  const blobDelete = blobs
    ? ctx.backend.blob({
      operation: "delete",
      keyHash: hash,
      call: (store, signal) => store.delete(blobKey(prefix, hash), { signal }),
    }).catch(() => {})
    : undefined;
  const lru = ctx.options.limits.has(namespace) ? { ...lruKeys(prefix, namespace), member: hash } : undefined;
  try {
    const [removed] = await ctx.backend.store(
      "del",
      [{ type: "del", key: recordKey(prefix, hash), ...lru && { lru } }],
      hash,
    );
    return removed === 1;
  } catch {
    return false;
  } finally {
    await blobDelete;
  }
}
