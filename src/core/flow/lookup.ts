/**
 * Reading an entry: the hit path's one store request. A script reads the record with the current
 * generations of its prefix, namespace and tags, takes the lease on a miss, and marks the entry
 * used for eviction. When the entry is expected to be a blob, the blob GET is issued at the same
 * time (its key derives from the key hash, and the record's checksum decides whether the body is
 * the right one), and it holds no more of the body than the record's size: a 120 MiB object under
 * a record of 40 KB costs 40 KB. A GET the record turns out not to need is abandoned: aborted in
 * the next task (after the caller has its answer), and counted nowhere.
 *
 * A lookup returns the entry — the record and its stored bytes, still compressed, the record and
 * the size checked — with its checksum being computed (`verified`), and decodes nothing: `wrap`
 * and `get` decode it (get_or_compute.ts), the response cache serves the bytes as they are. The
 * checksum is left running so that decompression and decoding overlap it (WebCrypto digests on
 * another thread in Node: at 10 MB that hides its ~2 ms); `find` (get_or_compute.ts) lets nothing
 * out before it resolves, and a decoder keeps nothing before it either. Anything that does not
 * verify — a malformed record, a record for another key, a size or checksum mismatch, a body over
 * the record's size — is a miss counted as an error, never a value. A record invalidated since it
 * was written is a plain miss; one marked stale is `stale`.
 *
 * An encrypted payload (the record names a key: record/encryption.ts) is decrypted here, while
 * its checksum — over the bytes as stored — is computed, so that every reader (decoders, the
 * response cache) gets the payload as it was before sealing and none of them handles ciphertext.
 * A payload this cache has no key for is a miss counted in `errors.codec`, one that does not
 * decrypt (altered, or another key under that id) in `errors.integrity`.
 *
 * @module
 */
import { countedByBackend } from "../backend/backend_call.ts";
import type { CacheContext, EntryRef } from "../context.ts";
import { type CacheError, IntegrityError, isCacheError, TooLargeError } from "../errors.ts";
import { type EntryRecord, parseRecord, startVerifying } from "../record/entry.ts";
import { openPayload, SEAL_OVERHEAD_BYTES } from "../record/encryption.ts";
import { newToken, standing } from "../record/generations.ts";
import { blobKey, lruKeys, recordKey } from "../record/key_layout.ts";
import type { ErrorSource } from "../stats/stats.ts";
import type { Generation, ReadOp, ReadResult } from "../types.ts";
import { fromBase64 } from "../util/bytes.ts";
import type { Lease } from "./lease.ts";
import type { Placement } from "./placement.ts";

/** The current generations, by key; empty when the store could not be read. */
export type Generations = Readonly<Record<string, Generation>>;

/**
 * An entry: its record, and its payload as stored (compressed unless `record.z` is `none`),
 * decrypted when the record names a key.
 */
export interface StoredEntry {
  /** The record, parsed and checked against the entry's key hash. */
  readonly record: EntryRecord;
  /** The payload, decrypted if it was encrypted; its stored form has the size the record names, and its checksum is {@link verified}. */
  readonly bytes: Uint8Array;
  /** Where the payload came from. */
  readonly source: Placement;
  /**
   * Resolves once `bytes` match the record's checksum; rejects with an `IntegrityError` when they
   * do not. Nothing derived from `bytes` leaves the cache, or enters its tier, before it resolves.
   */
  readonly verified: Promise<void>;
}

/** What a lookup found. Every kind carries the generations a new record would be stamped with. */
export type Lookup =
  /** A fresh, verified entry. */
  | { readonly kind: "hit"; readonly entry: StoredEntry; readonly gens: Generations }
  /**
   * A verified entry past its TTL but still retained (for stale-while-revalidate / stale-if-error),
   * or one marked stale by an invalidation (`marked`: served while one refresh runs).
   */
  | {
    readonly kind: "stale";
    readonly entry: StoredEntry;
    readonly expiredAt: number;
    readonly marked: boolean;
    readonly gens: Generations;
  }
  /** Nothing usable. `lease` says whether this caller now holds the lease, another does, or neither. */
  | { readonly kind: "miss"; readonly lease: "acquired" | "held" | "none"; readonly gens: Generations };

/** Options of {@link lookup}. */
export interface LookupOptions {
  /** Take this lease in the same round trip when there is no record. */
  readonly lease?: Lease | undefined;
  /** How long past its expiry a record is still returned as `stale`. @default 0 */
  readonly retainMs?: number;
}

/** Reads and verifies an entry. Never rejects: failures are counted and become misses. */
export async function lookup(ctx: CacheContext, ref: EntryRef, options: LookupOptions = {}): Promise<Lookup> {
  const { hash } = ref;
  const { options: config } = ctx;
  const key = blobKey(config.prefix, hash);
  const expectBlob = config.blobs !== undefined && (ctx.hints.get(hash) ?? ref.fallbackHint) === "blob";
  const request = ctx.backend.store("get", [readOp(ctx, ref, options)], hash);
  const speculative = expectBlob ? startBlobFetch(ctx, hash, key) : undefined;
  // The generations, once the store has answered: an entry that then fails verification is a
  // miss whose recomputed value can still be written (and so replace the bad entry).
  let gens: Generations = {};
  try {
    const [reply] = await request;
    if (!isReadResult(reply)) throw new IntegrityError(`store returned a ${typeof reply} for a read`);
    gens = reply.gens;
    return await verified(ctx, ref, { reply, retainMs: options.retainMs ?? 0, speculative });
  } catch (error) {
    countEntryError(ctx, error);
    return { kind: "miss", lease: "none", gens };
  } finally {
    // The record did not point to the blob (or the read failed): cancel the GET.
    speculative?.abandon();
  }
}

/**
 * Counts an entry that could not be used: a failed read, unless the backend facade counted it
 * already (a backend failure, a blob over its size limit), a stored value that did not decode, or
 * one that did not pass its function's schema.
 */
export function countEntryError(ctx: CacheContext, error: unknown): void {
  if (countedByBackend(error)) return;
  if (!isCacheError(error)) {
    ctx.stats.error("codec", "E_CODEC");
    return;
  }
  if (error.code === "E_SCHEMA") {
    // Logged once per function by the schema check (api/schema.ts), not once per entry.
    ctx.stats.error("schema", error.code);
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

/** The store operation of a lookup: the record, its generations, the lease on a miss, and the touch of a hit. */
function readOp(ctx: CacheContext, ref: EntryRef, options: LookupOptions): ReadOp {
  const { prefix, limits, now } = ctx.options;
  const lease = options.lease;
  return {
    type: "read",
    key: recordKey(prefix, ref.hash),
    gens: ref.gens,
    token: newToken(),
    ...lease && { lease: { key: lease.key, token: lease.token, ttlMs: lease.ttlMs } },
    ...limits.has(ref.namespace) && { touch: { ...lruKeys(prefix, ref.namespace), member: ref.hash, score: now() } },
  };
}

/** The store's answer, checked: the entry it names with its payload, or a miss. Throws when it does not verify. */
async function verified(
  ctx: CacheContext,
  ref: EntryRef,
  read: { readonly reply: ReadResult; readonly retainMs: number; readonly speculative: BlobFetch | undefined },
): Promise<Lookup> {
  const { hash } = ref;
  const { reply } = read;
  const { gens } = reply;
  if (reply.value === null) return { kind: "miss", lease: reply.lease, gens };
  const record = parseRecord(reply.value);
  if (record.k !== hash) {
    throw new IntegrityError(`record belongs to key ${record.k.slice(0, 12)}, not ${hash.slice(0, 12)}`);
  }
  const standsAs = standing(record.g, gens);
  if (standsAs === "invalid") return { kind: "miss", lease: reply.lease, gens };
  const now = ctx.options.now();
  if (record.e + read.retainMs <= now) return { kind: "miss", lease: "none", gens };
  const entry = await payloadOf(ctx, record, read.speculative);
  ctx.hints.set(hash, entry.source);
  if (record.e > now && standsAs === "valid") return { kind: "hit", entry, gens };
  // Marked stale by an invalidation while still within its TTL: served while one refresh runs.
  // Past its TTL, a marked entry follows the usual stale windows.
  const marked = standsAs === "stale" && record.e > now;
  return { kind: "stale", entry, expiredAt: marked ? now : record.e, marked, gens };
}

/** The stored payload the record names: inline, or the blob (from the GET already in flight, if any). */
async function payloadOf(
  ctx: CacheContext,
  record: EntryRecord,
  speculative: BlobFetch | undefined,
): Promise<StoredEntry> {
  if (record.p !== undefined) return await opened(ctx, checked(record, decodeInline(record.p), "inline"));
  const { prefix, blobs, payload } = ctx.options;
  const key = blobKey(prefix, record.k);
  if (record.b !== key) throw new IntegrityError(`record points to an unexpected blob key`);
  if (!blobs) throw new IntegrityError("record points to a blob but no blob store is configured");
  // A payload larger than any value this cache decodes is refused before its GET holds it (an
  // encrypted one may be larger than its value by the IV and tag).
  if (record.s > payload.maxValueBytes + (record.y === undefined ? 0 : SEAL_OVERHEAD_BYTES)) {
    throw new TooLargeError(`stored payload is ${record.s} bytes, over maxValueBytes (${payload.maxValueBytes})`);
  }
  const bytes = await (speculative ?? startBlobFetch(ctx, record.k, key)).bytes(record.s);
  if (bytes === null) throw new IntegrityError("record points to a blob that does not exist");
  return await opened(ctx, checked(record, bytes, "blob"));
}

/** The entry with its size checked and its checksum under way (see {@link StoredEntry.verified}). */
function checked(record: EntryRecord, bytes: Uint8Array, source: Placement): StoredEntry {
  const verified = startVerifying(record, bytes);
  // Handled here so that a mismatch is never an unhandled rejection; awaiting it still throws.
  verified.catch(() => {});
  return { record, bytes, source, verified };
}

/**
 * The entry with its payload decrypted when the record names a key; its checksum, over the bytes
 * as stored, goes on meanwhile. Throws `CodecError` (no such key here) or `IntegrityError`.
 */
async function opened(ctx: CacheContext, entry: StoredEntry): Promise<StoredEntry> {
  if (entry.record.y === undefined) return entry;
  return { ...entry, bytes: await openPayload(entry.record, entry.bytes, ctx.options.encryption) };
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

/** A blob GET in flight, bounded by the record it belongs to. */
interface BlobFetch {
  /** The object's bytes (null: no such object), holding at most `expectedBytes` of it. */
  bytes(expectedBytes: number): Promise<Uint8Array | null>;
  /** Cancels the GET unless {@link bytes} was called: its result is not needed. */
  abandon(): void;
}

/** An object that is not the one the record describes (the store answered; the entry is wrong). */
class Mismatch {
  constructor(readonly error: CacheError) {}
}

/**
 * Starts the GET of `key` (the blob of the entry `hash`). It may leave before the record arrives;
 * either way the blob store is told the payload's size as soon as the record says it
 * (`BlobGetOptions.expectedBytes`, through {@link BlobFetch.bytes}) and holds no more than that.
 * A body over the size is an entry that does not verify, like a checksum mismatch: an
 * `IntegrityError` of the read, counted once as such, not a failure of the blob store (which answered).
 */
function startBlobFetch(ctx: CacheContext, hash: string, key: string): BlobFetch {
  let settle: (bytes: number | undefined) => void = () => {};
  const expectedBytes = new Promise<number | undefined>((resolve) => (settle = resolve));
  const abandoned = new AbortController();
  let claimed = false;
  const request = ctx.backend.blob({
    operation: "get",
    keyHash: hash,
    abandon: abandoned.signal,
    call: async (blobs, signal) => {
      try {
        return await blobs.get(key, { signal, expectedBytes });
      } catch (error) {
        if (isCacheError(error) && error.code === "E_INTEGRITY") return new Mismatch(error);
        throw error;
      }
    },
  });
  // Nobody awaits an abandoned GET.
  request.catch(() => {});
  return {
    async bytes(size: number): Promise<Uint8Array | null> {
      claimed = true;
      settle(size);
      const result = await request;
      if (result instanceof Mismatch) throw result.error;
      return result;
    },
    abandon(): void {
      if (claimed) return;
      claimed = true;
      // In a later task, not on the caller's path: aborting a request in flight costs ~0.2 ms
      // (the HTTP client tears its connection down), and a GET that has already been answered
      // meanwhile (a 404, from a nearby server) keeps its connection for the next one. Aborted
      // before the size settles, so the store never reads on without a limit.
      setTimeout(() => {
        abandoned.abort(new Error("blob GET abandoned: the record did not point to it"));
        settle(undefined);
      }, 0);
    },
  };
}
