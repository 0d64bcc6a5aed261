/**
 * Entries by key: `cache.get`, `set`, `has` and `delete`. Reads fail open (a broken backend is a
 * miss); `set` waits for its write and reports a backend failure as `false`. `get` checks the
 * value against a `schema` when given one, as `wrap` does (api/schema.ts).
 *
 * @module
 */
import type { CacheContext, EntryRef } from "../context.ts";
import * as opt from "../util/check_options.ts";
import { ConfigError, isCacheError } from "../errors.ts";
import type { CallFields } from "../stats/events.ts";
import { newToken } from "../record/generations.ts";
import { blobKey, generationKeys, lruKeys, recordKey } from "../record/key_layout.ts";
import { keyHash } from "../record/key_material.ts";
import { nameCheck, tagsCheck } from "./options.ts";
import { schemaCheck, SchemaGuard, type StandardSchema } from "./schema.ts";
import { type Ttl, ttlCheck, ttlMs } from "./ttl_profiles.ts";
import { find, valueDecoder } from "../flow/get_or_compute.ts";
import { writeEntry } from "../flow/write.ts";
import type { Decoder } from "../flow/job.ts";
import type { StoreOp } from "../types.ts";

/** Options of `Cache.get`, `has`, `delete` and `inspect`. */
export interface KeyOptions {
  /** Namespace of the entry. @default the cache's `namespace` */
  namespace?: string;
}

/** Options of `Cache.get`. */
export interface GetOptions extends KeyOptions {
  /**
   * A Standard Schema validator (zod, valibot, arktype) the stored value must pass. One that does
   * not (written in another shape, by an earlier deploy) is a miss: `undefined`, counted in
   * `errors.schema` and logged once per namespace; it stays stored until it is overwritten or
   * expires. What a hit returns is the validator's output (transforms applied). @default none
   */
  schema?: StandardSchema;
}

/** Options of `Cache.set`. */
export interface SetOptions extends KeyOptions {
  /** Time to live: a duration or a TTL profile's name. @default the cache's `ttl` */
  ttl?: Ttl;
  /** Tags of the entry, for `Cache.invalidateTag`. @default [] */
  tags?: readonly string[];
}

const KEY_OPTIONS = { namespace: opt.optional(nameCheck) } satisfies opt.OptionChecks<KeyOptions>;

const GET_OPTIONS = {
  namespace: opt.optional(nameCheck),
  schema: opt.optional(schemaCheck),
} satisfies opt.OptionChecks<GetOptions>;

const SET_OPTIONS = {
  namespace: opt.optional(nameCheck),
  ttl: opt.optional(ttlCheck),
  tags: opt.withDefault(tagsCheck, []),
} satisfies opt.OptionChecks<SetOptions>;

/** A by-key call: the method (for messages), the user's key and options. */
export interface KeyCall {
  /** `get`, `has`, `delete` or `inspect`. */
  readonly method: string;
  /** The user's key. */
  readonly key: unknown;
  /** The call's options. */
  readonly options: unknown;
}

/** The entry of a user's key: validated key and namespace, hashed. */
export async function entryRef(ctx: CacheContext, call: KeyCall): Promise<EntryRef> {
  const key = checkKey(call);
  const o = opt.checkOptions(call.method, call.options, KEY_OPTIONS);
  return await refOf(ctx, { key, namespace: o.namespace, tags: [] });
}

/**
 * The entry of `cache.get`'s key, and the decoder of its value: the cache's own, or with `schema`
 * one that checks it (undefined: the cache's).
 */
export async function getRef(
  ctx: CacheContext,
  call: Omit<KeyCall, "method">,
): Promise<{ ref: EntryRef; decoder: Decoder<unknown> | undefined }> {
  const key = checkKey({ ...call, method: "get" });
  const o = opt.checkOptions("get", call.options, GET_OPTIONS);
  const ref = await refOf(ctx, { key, namespace: o.namespace, tags: [] });
  const guard = o.schema && new SchemaGuard(ctx, o.schema, {
    label: `get in namespace "${ref.namespace}"`,
    afterMiss: "get returns undefined; the entry stays until it is set again or expires",
  });
  return { ref, decoder: guard ? guard.decoder(valueDecoder(ctx)) : undefined };
}

/** The entry of `cache.set`'s key (validated key, namespace and tags, hashed) and its TTL. */
export async function setRef(
  ctx: CacheContext,
  call: Omit<KeyCall, "method">,
): Promise<{ ref: EntryRef; ttlMs: number }> {
  const key = checkKey({ ...call, method: "set" });
  const o = opt.checkOptions({ where: "set", warn: (m) => ctx.backend.warnOnce(m, m) }, call.options, SET_OPTIONS);
  const ttl = o.ttl === undefined ? ctx.options.ttlMs : ttlMs(ctx.options.ttlProfiles, o.ttl, "set: ttl");
  return { ref: await refOf(ctx, { key, namespace: o.namespace, tags: o.tags }), ttlMs: ttl };
}

function checkKey(call: KeyCall): string {
  if (typeof call.key !== "string" || call.key.length === 0) {
    throw new ConfigError(`${call.method}: key must be a non-empty string`);
  }
  return call.key;
}

async function refOf(
  ctx: CacheContext,
  entry: { readonly key: string; readonly namespace: string | undefined; readonly tags: readonly string[] },
): Promise<EntryRef> {
  const { prefix } = ctx.options;
  const namespace = entry.namespace ?? ctx.options.namespace;
  const hash = await keyHash(prefix, namespace, { kind: "key", key: entry.key });
  return { hash, namespace, gens: generationKeys(prefix, namespace, entry.tags), readableKey: entry.key };
}

/**
 * The value of a fresh entry, or `undefined` (a miss, including any cache failure). `decoder`: a
 * wrapped function's own (`peek`, which checks its schema). @default the cache's value decoder
 */
export async function getEntry(ctx: CacheContext, ref: EntryRef, decoder?: Decoder<unknown>): Promise<unknown> {
  const { events } = ctx;
  const call = events.listening ? events.begin(callOf("get", ref)) : undefined;
  const started = performance.now();
  const found = await find(ctx, ref, { decoder: decoder ?? valueDecoder(ctx) });
  const elapsed = performance.now() - started;
  ctx.reporter.reportInBackground(ctx.background);
  if (found.kind !== "hit") {
    ctx.stats.miss(elapsed);
    if (call) events.emit({ type: "miss", ...call, ms: elapsed });
    return undefined;
  }
  ctx.stats.hit(found.source, elapsed);
  if (call) events.emit({ type: "hit", ...call, tier: found.source, ms: elapsed, stale: false });
  return found.value;
}

/** Writes `value` stamped with the current generations; false when a backend failed. */
export async function setEntry(
  ctx: CacheContext,
  ref: EntryRef,
  write: { readonly value: unknown; readonly ttlMs: number },
): Promise<boolean> {
  const { value, ttlMs } = write;
  const { events } = ctx;
  const call = events.listening ? events.begin(callOf("set", ref)) : undefined;
  const started = performance.now();
  try {
    const stored = await writeEntry(ctx, {
      hash: ref.hash,
      namespace: ref.namespace,
      ...(ref.readableKey === undefined ? {} : { readableKey: ref.readableKey }),
      gens: ref.gens.map((gen) => ({ key: gen })),
      value,
      ttlMs,
      announce: true,
    });
    // Stamped with the current generations (no tokens to check): the store never refuses it.
    ctx.stats.writesOk++;
    if (call && stored) {
      events.emit({ type: "write", ...call, outcome: "ok", ...stored, ms: performance.now() - started });
    }
    return stored !== false;
  } catch (error) {
    const code = isCacheError(error) ? error.code : undefined;
    if (code === "E_CODEC" || code === "E_TOO_LARGE") throw error;
    ctx.stats.writesFailed++;
    if (call) events.emit({ type: "write", ...call, outcome: "failed", ...code && { code } });
    return false;
  }
}

/** The event fields of a `get` or `set` of `ref` (its label: the namespace). */
function callOf(op: "get" | "set", ref: EntryRef): Omit<CallFields, "call"> {
  return { op, keyHash: ref.hash, namespace: ref.namespace, label: ref.namespace };
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
  // Last in the batch: the other instances hear of the delete once the record is gone.
  const announce = ctx.bus?.announce({ hashes: [hash] });
  const del: StoreOp = { type: "del", key: recordKey(prefix, hash), ...lru && { lru } };
  try {
    const [removed, published] = await ctx.backend.store("del", announce ? [del, announce] : [del], hash);
    if (announce) ctx.bus!.sent(published);
    return removed === 1;
  } catch {
    return false;
  } finally {
    // Again once the store has answered: a lookup of this process that read the record before the
    // delete must not keep it in the tier after.
    ctx.tier?.drop({ hashes: [hash] });
    await blobDelete;
  }
}
