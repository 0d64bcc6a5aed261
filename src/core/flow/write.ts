/**
 * The write path: encode, compress, checksum, upload the blob when the payload is large, then
 * write the record with its TTL in the same command, stamped with the generations the value was
 * computed under (refused when one was invalidated meanwhile), keeping the namespace's eviction
 * limits. The blob always lands before the record that points to it, so a reader never sees a
 * record whose payload is not there yet; blobs of evicted entries are deleted afterwards.
 *
 * @module
 */
import { toBase64 } from "../util/bytes.ts";
import type { CacheContext } from "../context.ts";
import { type EntryFields, formatRecord, MAX_READABLE_KEY, RECORD_VERSION } from "../record/entry.ts";
import { StoreError, TooLargeError } from "../errors.ts";
import { newToken } from "../record/generations.ts";
import { blobKey, lruKeys, recordKey, recordKeyParts } from "../record/key_layout.ts";
import { encodePayload, type Seal } from "../record/entry.ts";
import type { GenerationStamp, WriteOp, WriteResult } from "../types.ts";
import type { Placement } from "./placement.ts";

/** What to write. */
export interface WriteRequest {
  /** Entry key hash. */
  readonly hash: string;
  /** The entry's namespace (for its eviction limits). */
  readonly namespace: string;
  /** The generations the value was computed under (without tokens: the current ones). */
  readonly gens: readonly GenerationStamp[];
  /** The value. */
  readonly value: unknown;
  /** Time to live. */
  readonly ttlMs: number;
  /** How long the record is kept past its expiry, to be served stale. @default 0 */
  readonly retainMs?: number;
  /** When the value was computed: its TTL counts from here, not from the end of encoding. @default now */
  readonly computedAt?: number;
  /** Opaque metadata kept in the record beside the payload (a stored response's status and headers). */
  readonly meta?: string;
  /** The key as people write it, kept in the record (`r`, at most {@link MAX_READABLE_KEY} characters) for operators. */
  readonly readableKey?: string;
  /**
   * Tell the other instances' tiers that the entry was replaced (flow/bus.ts): `set` does; a
   * computed value's write follows a miss and replaces nothing a tier may still serve.
   * @default false
   */
  readonly announce?: boolean;
}

/** What a write stored: the payload's size as stored, and where it went. */
export interface StoredWrite {
  /** Stored (compressed) payload size, bytes. */
  readonly bytes: number;
  /** Inline in the record, or a blob. */
  readonly placement: Placement;
}

/**
 * Writes an entry; resolves to what it stored, or to false when an invalidation came between
 * computing the value and writing it (nothing stored). Rejects with a `CacheError`:
 * `E_CODEC`/`E_TOO_LARGE` when the value cannot be stored, a backend error when a backend failed
 * (already counted and logged).
 */
export async function writeEntry(ctx: CacheContext, request: WriteRequest): Promise<StoredWrite | false> {
  const { options } = ctx;
  const { hash } = request;
  // Before the write leaves: a change heard of after this stops the tier keeping this value.
  const since = ctx.tier?.epoch ?? 0;
  const payload = await encodePayload(request.value, options.payload, sealFor(ctx, request));
  checkNamespaceBound(ctx, request, payload.bytes.length);
  const createdAt = request.computedAt ?? options.now();
  const fields = {
    v: RECORD_VERSION,
    k: hash,
    c: payload.codec,
    z: payload.compression,
    t: createdAt,
    e: createdAt + request.ttlMs,
    n: payload.raw.length,
    s: payload.bytes.length,
    h: payload.checksum,
    ...(request.meta === undefined ? {} : { m: request.meta }),
    ...(request.readableKey === undefined ? {} : { r: readable(request.readableKey) }),
    ...(payload.keyId === undefined ? {} : { y: payload.keyId }),
  } as const;
  const record: EntryFields = payload.bytes.length <= options.maxInlineBytes
    ? { ...fields, p: toBase64(payload.bytes) }
    : { ...fields, b: await putBlob(ctx, hash, payload.bytes) };
  const result = await writeRecord(ctx, request, record);
  if (!result.written) {
    ctx.tier?.delete(hash);
    return false;
  }
  // This process' tier keeps only what the store accepted: a value the store refused, or could
  // not be asked about, may predate an invalidation. (Not entries with metadata: only the response
  // cache reads them, and it serves stored bytes, never the tier.)
  if (request.meta === undefined) {
    const gens = request.gens.map((gen) => gen.key);
    ctx.tier?.set(hash, { codec: payload.codec, bytes: payload.raw }, { expiresAt: fields.e, gens, since });
  }
  const placement = record.p === undefined ? "blob" : "inline";
  ctx.hints.set(hash, placement);
  if (result.evicted.length > 0) await deleteBlobs(ctx, result.evicted);
  return { bytes: payload.bytes.length, placement };
}

/** With `encryption`, the payload's seal, bound to this entry's key hash and metadata (record/encryption.ts). */
function sealFor(ctx: CacheContext, request: WriteRequest): Seal | undefined {
  const { encryption } = ctx.options;
  if (!encryption) return undefined;
  return (bytes, context) => encryption.seal(bytes, { ...context, hash: request.hash, meta: request.meta });
}

/** A readable key as the record keeps it: long ones cut, marked with an ellipsis (the hash stays the identity). */
function readable(key: string): string {
  return key.length <= MAX_READABLE_KEY ? key : `${key.slice(0, MAX_READABLE_KEY - 1)}…`;
}

/**
 * Refuses, before any upload, a payload the namespace's `maxBytes` cannot hold: stored, it would
 * evict every other entry and still be over the bound.
 */
function checkNamespaceBound(ctx: CacheContext, request: WriteRequest, storedBytes: number): void {
  const maxBytes = ctx.options.limits.get(request.namespace)?.maxBytes ?? 0;
  if (maxBytes === 0 || storedBytes <= maxBytes) return;
  const ns = request.namespace;
  throw new TooLargeError(
    `stored payload is ${storedBytes} bytes, over limits.${ns}.maxBytes (${maxBytes}): namespace "${ns}" cannot hold it (key ${
      request.hash.slice(0, 12)
    })`,
  );
}

/** Uploads a payload too large for the record; resolves to its object key. */
async function putBlob(ctx: CacheContext, hash: string, bytes: Uint8Array): Promise<string> {
  const { options } = ctx;
  const blobs = options.blobs;
  if (!blobs) {
    throw new TooLargeError(
      `stored payload is ${bytes.length} bytes, over maxInlineBytes (${options.maxInlineBytes}), and no blob store is configured`,
    );
  }
  const key = blobKey(options.prefix, hash);
  await ctx.backend.blob({
    operation: "put",
    keyHash: hash,
    call: (store, signal) => store.put(key, bytes, { signal }),
  });
  return key;
}

/** The record's write: one store command (a script), with a due report of shared counters riding along. */
async function writeRecord(ctx: CacheContext, request: WriteRequest, record: EntryFields): Promise<WriteResult> {
  const { options } = ctx;
  const limits = options.limits.get(request.namespace);
  const op: WriteOp = {
    type: "write",
    key: recordKey(options.prefix, request.hash),
    record: formatRecord(record),
    ttlMs: request.ttlMs + (request.retainMs ?? 0),
    gens: request.gens,
    token: newToken(),
    ...limits && {
      lru: {
        ...lruKeys(options.prefix, request.namespace),
        member: request.hash,
        score: options.now(),
        bytes: record.s,
        maxEntries: limits.maxEntries,
        maxBytes: limits.maxBytes,
        ...recordKeyParts(options.prefix),
      },
    },
  };
  const report = ctx.reporter.take();
  // Last in the batch: the other instances hear of the new record once it is there.
  const announce = request.announce ? ctx.bus?.announce({ hashes: [request.hash] }) : undefined;
  const ops = announce ? [op, ...report, announce] : [op, ...report];
  const results = await ctx.backend.store("set", ops, request.hash).catch((error: unknown) => {
    if (report.length > 0) ctx.reporter.restore();
    throw error;
  });
  const [result] = results;
  if (report.length > 0) ctx.reporter.sent();
  if (announce) ctx.bus!.sent(results.at(-1));
  if (!isWriteResult(result)) throw new StoreError(`${options.store.name} write returned ${typeof result}`);
  return result;
}

/** Deletes the blobs of evicted entries; a failure leaves orphans for `cleanup()`, never a wrong value. */
async function deleteBlobs(ctx: CacheContext, hashes: readonly string[]): Promise<void> {
  const blobs = ctx.options.blobs;
  if (!blobs) return;
  ctx.stats.evictedBlobs += hashes.length;
  await Promise.all(hashes.map((hash) =>
    ctx.backend.blob({
      operation: "delete",
      keyHash: hash,
      call: (store, signal) => store.delete(blobKey(ctx.options.prefix, hash), { signal }),
    }).catch(() => {})
  ));
}

function isWriteResult(value: unknown): value is WriteResult {
  return typeof value === "object" && value !== null && "written" in value && "evicted" in value;
}
