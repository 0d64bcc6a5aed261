/**
 * The write path: encode, compress, checksum, upload the blob when the payload is large, then
 * write the record with its TTL in the same command. The blob always lands before the record
 * that points to it, so a reader never sees a record whose payload is not there yet.
 *
 * @module
 */
import { toBase64 } from "./bytes.ts";
import type { CacheContext } from "./context.ts";
import { type EntryRecord, formatRecord, RECORD_VERSION } from "./entry.ts";
import { TooLargeError } from "./errors.ts";
import { guarded } from "./guard.ts";
import { blobKey, recordKey } from "./keys.ts";
import { encodePayload } from "./payload.ts";

/** What to write. */
export interface WriteRequest {
  /** Entry key hash. */
  readonly hash: string;
  /** The value. */
  readonly value: unknown;
  /** Time to live. */
  readonly ttlMs: number;
  /** How long the record is kept past its expiry, to be served stale. @default 0 */
  readonly retainMs?: number;
  /** When the value was computed: its TTL counts from here, not from the end of encoding. @default now */
  readonly computedAt?: number;
  /** Opaque metadata kept in the record beside the payload (read back by raw reads only). */
  readonly meta?: string;
}

/**
 * Writes an entry. Rejects with a `CacheError`: `E_CODEC`/`E_TOO_LARGE` when the value cannot be
 * stored, a backend error when a backend failed (already counted and logged by the guard).
 */
export async function writeEntry(ctx: CacheContext, request: WriteRequest): Promise<void> {
  const { options } = ctx;
  const { hash } = request;
  const payload = await encodePayload(request.value, options.payload);
  const createdAt = request.computedAt ?? options.now();
  const base = {
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
  } as const;
  // Kept in this process' tier even if a backend write fails below: the value is right either way.
  // (Not entries with metadata: only raw reads use them, and those skip the tier.)
  if (request.meta === undefined) ctx.tier?.set(hash, payload.codec, payload.raw, base.e);
  let record: EntryRecord;
  if (payload.bytes.length <= options.maxInlineBytes) {
    record = { ...base, p: toBase64(payload.bytes) };
  } else {
    const blobs = options.blobs;
    if (!blobs) {
      throw new TooLargeError(
        `stored payload is ${payload.bytes.length} bytes, over maxInlineBytes (${options.maxInlineBytes}), and no blob store is configured`,
      );
    }
    const key = blobKey(options.prefix, hash);
    await guarded(ctx.guard, {
      backend: "blob",
      adapter: blobs.name,
      operation: "put",
      keyHash: hash,
      timeoutMs: options.blobTimeoutMs,
      call: (signal) => blobs.put(key, payload.bytes, { signal }),
    });
    record = { ...base, b: key };
  }
  await guarded(ctx.guard, {
    backend: "store",
    adapter: options.store.name,
    operation: "set",
    keyHash: hash,
    timeoutMs: options.storeTimeoutMs,
    call: (signal) =>
      options.store.run([{
        type: "set",
        key: recordKey(options.prefix, hash),
        value: formatRecord(record),
        ttlMs: request.ttlMs + (request.retainMs ?? 0),
      }], {
        signal,
      }),
  });
  ctx.hints.set(hash, record.p === undefined ? "blob" : "inline");
}
