/**
 * The hit path. One store request for the record; when the entry is expected to be a blob, the
 * blob GET is issued at the same time (its key derives from the key hash, and the record's
 * checksum decides whether the body is the right one). Anything that does not verify — a
 * malformed record, a record for another key, a size or checksum mismatch, an undecodable
 * payload — is a miss counted as an error, never a value.
 *
 * @module
 */
import { fromBase64 } from "./bytes.ts";
import type { CacheContext, EntryRef } from "./context.ts";
import { parseRecord } from "./entry.ts";
import { IntegrityError, isCacheError } from "./errors.ts";
import { guarded } from "./guard.ts";
import { blobKey, recordKey } from "./keys.ts";
import { decodeValue, unpackPayload } from "./payload.ts";
import type { Placement } from "./placement.ts";
import type { ErrorSource, HitSource } from "./stats.ts";

/** A verified entry. */
export interface Found {
  /** The decoded value. */
  readonly value: unknown;
  /** Where the payload came from. */
  readonly source: HitSource;
}

/** Reads, verifies and decodes an entry. Resolves to `undefined` on a miss; never rejects. */
export async function readEntry(ctx: CacheContext, ref: EntryRef): Promise<Found | undefined> {
  const started = performance.now();
  const found = await lookup(ctx, ref).catch((error: unknown) => {
    countReadError(ctx, error);
    return undefined;
  });
  const elapsed = performance.now() - started;
  if (found) ctx.stats.hit(found.source, elapsed);
  else ctx.stats.miss(elapsed);
  return found;
}

async function lookup(ctx: CacheContext, ref: EntryRef): Promise<Found | undefined> {
  const { options } = ctx;
  const { hash } = ref;
  const local = ctx.tier?.get(hash);
  if (local) return { value: decodeValue(local.codec, local.bytes, options.payload), source: "memory" };
  const blobs = options.blobs;
  const key = blobKey(options.prefix, hash);
  const expectBlob = blobs !== undefined && (ctx.hints.get(hash) ?? ref.fallbackHint) === "blob";
  const recordRequest = guarded(ctx.guard, {
    backend: "store",
    adapter: options.store.name,
    operation: "get",
    keyHash: hash,
    timeoutMs: options.storeTimeoutMs,
    call: (signal) => options.store.run([{ type: "get", key: recordKey(options.prefix, hash) }], { signal }),
  });
  let blobRequest = expectBlob ? fetchBlob(ctx, hash, key) : undefined;
  // If the record turns out inline or absent, nobody awaits the speculative GET.
  blobRequest?.catch(() => {});

  const [text] = await recordRequest;
  if (text === null || text === undefined) return undefined;
  if (typeof text !== "string") throw new IntegrityError(`store returned a ${typeof text} for a record`);
  const record = parseRecord(text);
  if (record.k !== hash) {
    throw new IntegrityError(`record belongs to key ${record.k.slice(0, 12)}, not ${hash.slice(0, 12)}`);
  }
  if (record.e <= options.now()) return undefined;

  let bytes: Uint8Array | null;
  let source: Placement;
  if (record.p !== undefined) {
    source = "inline";
    bytes = decodeInline(record.p);
  } else {
    source = "blob";
    if (record.b !== key) throw new IntegrityError(`record points to an unexpected blob key`);
    if (!blobs) throw new IntegrityError("record points to a blob but no blob store is configured");
    blobRequest ??= fetchBlob(ctx, hash, key);
    bytes = await blobRequest;
    if (bytes === null) throw new IntegrityError("record points to a blob that does not exist");
  }
  ctx.hints.set(hash, source);
  const raw = await unpackPayload(record, bytes, options.payload);
  const value = decodeValue(record.c, raw, options.payload);
  ctx.tier?.set(hash, record.c, raw, record.e);
  return { value, source };
}

function fetchBlob(ctx: CacheContext, hash: string, key: string): Promise<Uint8Array | null> {
  const blobs = ctx.options.blobs!;
  return guarded(ctx.guard, {
    backend: "blob",
    adapter: blobs.name,
    operation: "get",
    keyHash: hash,
    timeoutMs: ctx.options.blobTimeoutMs,
    call: (signal) => blobs.get(key, { signal }),
  });
}

function decodeInline(base64: string): Uint8Array {
  try {
    return fromBase64(base64);
  } catch (cause) {
    throw new IntegrityError("inline payload is not valid base64", { cause });
  }
}

/** Counts a failed read. Backend failures were already counted by the guard. */
function countReadError(ctx: CacheContext, error: unknown): void {
  if (!isCacheError(error)) {
    ctx.stats.error("codec", "E_CODEC");
    return;
  }
  const source: ErrorSource | undefined = error.code === "E_INTEGRITY"
    ? "integrity"
    : error.code === "E_CODEC" || error.code === "E_TOO_LARGE"
    ? "codec"
    : undefined;
  if (source) {
    ctx.stats.error(source, error.code);
    ctx.guard.logger.warn(`larder: entry ignored: ${error.message}`, { code: error.code });
  }
}
