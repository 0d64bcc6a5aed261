/**
 * The hit path. One store request (a script) reads the record with the current generations of
 * its prefix, namespace and tags, takes the lease on a miss, and marks the entry used for
 * eviction; when the entry is expected to be a blob, the blob GET is issued at the same time (its
 * key derives from the key hash, and the record's checksum decides whether the body is the right
 * one), and it holds no more of the body than the record's size (blob_fetch.ts). Anything that does not verify — a malformed record, a record for another key, a size or
 * checksum mismatch, an undecodable payload — is a miss counted as an error, never a value. A
 * record invalidated since it was written is a plain miss; one marked stale is `stale`.
 *
 * @module
 */
import { fromBase64 } from "../util/bytes.ts";
import type { CacheContext, EntryRef } from "../context.ts";
import { parseRecord } from "../record/entry.ts";
import { IntegrityError, isCacheError, TooLargeError } from "../errors.ts";
import { startBlobFetch } from "./blob_fetch.ts";
import { newToken, standing } from "../record/generations.ts";
import { countedByBackend } from "../backend/backend_call.ts";
import { blobKey, lruKeys, recordKey } from "../record/key_layout.ts";
import type { Lease } from "./lease.ts";
import { decodeValue, unpackPayload } from "../record/payload.ts";
import type { Placement } from "./placement.ts";
import { rawLookup } from "./raw.ts";
import type { ErrorSource, HitSource } from "../stats/stats.ts";
import type { Generation, ReadOp, ReadResult } from "../types.ts";

/** The current generations, by key; empty when the store could not be read. */
export type Generations = Readonly<Record<string, Generation>>;

/** What a lookup found. Every kind carries the generations a new record would be stamped with. */
export type Lookup =
  /** A fresh, verified entry. */
  | { readonly kind: "hit"; readonly value: unknown; readonly source: HitSource; readonly gens: Generations }
  /**
   * A verified entry past its TTL but still retained (for stale-while-revalidate / stale-if-error),
   * or one marked stale by an invalidation (`marked`: served while one refresh runs).
   */
  | {
    readonly kind: "stale";
    readonly value: unknown;
    readonly source: HitSource;
    readonly expiredAt: number;
    readonly marked: boolean;
    readonly gens: Generations;
  }
  /** Nothing usable. `lease` says whether this caller now holds the lease, another does, or neither. */
  | { readonly kind: "miss"; readonly lease: "acquired" | "held" | "none"; readonly gens: Generations };

/** Options of {@link lookup}. */
export interface LookupOptions {
  /** Take this lease in the same round trip when there is no record. */
  readonly lease?: { readonly lease: Lease; readonly ttlMs: number };
  /** How long past its expiry a record is still returned as `stale`. @default 0 */
  readonly retainMs?: number;
}

const MISS: Lookup = { kind: "miss", lease: "none", gens: {} };

/** Reads, verifies and decodes an entry. Never rejects: failures are counted and become misses. */
export async function lookup(ctx: CacheContext, ref: EntryRef, options: LookupOptions = {}): Promise<Lookup> {
  // The generations, once the store has answered: an entry that then fails verification is a
  // miss whose recomputed value can still be written (and so replace the bad entry).
  const answered: { gens: Generations } = { gens: {} };
  try {
    return await read(ctx, ref, options, answered);
  } catch (error) {
    countReadError(ctx, error);
    return { ...MISS, gens: answered.gens };
  }
}

async function read(
  ctx: CacheContext,
  ref: EntryRef,
  options: LookupOptions,
  answered: { gens: Generations },
): Promise<Lookup> {
  const { options: config } = ctx;
  const { hash } = ref;
  const local = ref.raw ? undefined : ctx.tier?.get(hash);
  if (local) {
    return { kind: "hit", value: decodeValue(local.codec, local.bytes, config.payload), source: "memory", gens: {} };
  }

  const blobs = config.blobs;
  const key = blobKey(config.prefix, hash);
  const expectBlob = blobs !== undefined && (ctx.hints.get(hash) ?? ref.fallbackHint) === "blob";
  const limited = config.limits.has(ref.namespace);
  const op: ReadOp = {
    type: "read",
    key: recordKey(config.prefix, hash),
    gens: ref.gens,
    token: newToken(),
    ...options.lease &&
      { lease: { key: options.lease.lease.key, token: options.lease.lease.token, ttlMs: options.lease.ttlMs } },
    ...limited && { touch: { ...lruKeys(config.prefix, ref.namespace), member: hash, score: config.now() } },
  };
  const recordRequest = ctx.backend.store("get", [op], hash);
  const speculative = expectBlob ? startBlobFetch(ctx, hash, key) : undefined;
  try {
    const [reply] = await recordRequest;
    if (!isReadResult(reply)) throw new IntegrityError(`store returned a ${typeof reply} for a read`);
    const { gens } = reply;
    answered.gens = gens;
    if (reply.value === null) return { kind: "miss", lease: reply.lease, gens };
    const record = parseRecord(reply.value);
    if (record.k !== hash) {
      throw new IntegrityError(`record belongs to key ${record.k.slice(0, 12)}, not ${hash.slice(0, 12)}`);
    }
    const standsAs = standing(record.g, gens);
    if (standsAs === "invalid") return { kind: "miss", lease: reply.lease, gens };
    const now = config.now();
    const fresh = record.e > now && standsAs === "valid";
    if (record.e + (options.retainMs ?? 0) <= now) return { ...MISS, gens };

    let bytes: Uint8Array | null;
    let source: Placement;
    if (record.p !== undefined) {
      source = "inline";
      bytes = decodeInline(record.p);
    } else {
      source = "blob";
      if (record.b !== key) throw new IntegrityError(`record points to an unexpected blob key`);
      if (!blobs) throw new IntegrityError("record points to a blob but no blob store is configured");
      // A payload larger than any value this cache decodes is refused before its GET holds it.
      if (record.s > config.payload.maxValueBytes) {
        throw new TooLargeError(
          `stored payload is ${record.s} bytes, over maxValueBytes (${config.payload.maxValueBytes})`,
        );
      }
      bytes = await (speculative ?? startBlobFetch(ctx, hash, key)).bytes(record.s);
      if (bytes === null) throw new IntegrityError("record points to a blob that does not exist");
    }
    ctx.hints.set(hash, source);
    // Marked stale by an invalidation while still within its TTL: served while one refresh runs.
    // Past its TTL, a marked entry follows the usual stale windows.
    const marked = standsAs === "stale" && record.e > now;
    if (ref.raw) return await rawLookup(record, bytes, source, { fresh, marked, now, gens });
    const raw = await unpackPayload(record, bytes, config.payload);
    const value = decodeValue(record.c, raw, config.payload);
    if (!fresh) {
      return { kind: "stale", value, source, expiredAt: marked ? now : record.e, marked, gens };
    }
    ctx.tier?.set(hash, record.c, raw, record.e);
    return { kind: "hit", value, source, gens };
  } finally {
    // The record did not point to the blob (or the read failed): cancel the GET.
    speculative?.abandon();
  }
}

function isReadResult(value: unknown): value is ReadResult {
  return typeof value === "object" && value !== null && "gens" in value && "value" in value;
}

function decodeInline(base64: string): Uint8Array {
  try {
    return fromBase64(base64);
  } catch (cause) {
    throw new IntegrityError("inline payload is not valid base64", { cause });
  }
}

/** Counts a failed read, unless the backend facade counted it already (a backend failure, a blob over its size limit). */
function countReadError(ctx: CacheContext, error: unknown): void {
  if (countedByBackend(error)) return;
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
    ctx.backend.logger.warn(`larder: entry ignored: ${error.message}`, { code: error.code });
  }
}
