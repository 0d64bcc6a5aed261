/**
 * Raw reads: an entry's stored payload as it is (checksum verified, still compressed), with the
 * record's metadata and times. For callers that can use the compressed bytes themselves, such as
 * the response cache serving `Content-Encoding: zstd` to a client that accepts it. Same round
 * trips as a normal read (it is one, stopped before decompression).
 *
 * @module
 */
import type { EntryRecord } from "../record/entry.ts";
import { inflatePayload, type PayloadConfig, verifyPayload } from "../record/payload.ts";
import type { Placement } from "./placement.ts";
import type { Generations, Lookup } from "./lookup.ts";

/** A verified stored payload and what its record says about it. */
export interface StoredPayload {
  /** Codec of the encoded value (`bytes` for raw byte values). */
  readonly codec: string;
  /** Compression of {@link StoredPayload.bytes}: `zstd`, `gzip` or `none`. */
  readonly compression: string;
  /** The stored bytes, as stored (compressed unless `compression` is `none`). */
  readonly bytes: Uint8Array;
  /** Size of the encoded value once decompressed. */
  readonly size: number;
  /** SHA-256 hex of {@link StoredPayload.bytes}. */
  readonly checksum: string;
  /** The record's opaque metadata, if any. */
  readonly meta: string | undefined;
  /** When the entry was computed, ms since the epoch. */
  readonly createdAt: number;
  /** When it stops being fresh, ms since the epoch. */
  readonly expiresAt: number;
  /** Where the payload came from. */
  readonly source: Placement;
}

/** The lookup result of a raw read: `bytes` verified against `record`, nothing decoded. */
export async function rawLookup(
  record: EntryRecord,
  bytes: Uint8Array,
  source: Placement,
  state: { readonly fresh: boolean; readonly marked: boolean; readonly now: number; readonly gens: Generations },
): Promise<Lookup> {
  await verifyPayload(record, bytes);
  const value: StoredPayload = {
    codec: record.c,
    compression: record.z,
    bytes,
    size: record.n,
    checksum: record.h,
    meta: record.m,
    createdAt: record.t,
    expiresAt: record.e,
    source,
  };
  const { fresh, marked, now, gens } = state;
  if (fresh) return { kind: "hit", value, source, gens };
  return { kind: "stale", value, source, expiredAt: marked ? now : record.e, marked, gens };
}

/** Decompresses a stored payload into its encoded value (bounded like every read). */
export function inflateStored(stored: StoredPayload, config: PayloadConfig): Promise<Uint8Array> {
  return inflatePayload({ n: stored.size, z: stored.compression }, stored.bytes, config);
}
