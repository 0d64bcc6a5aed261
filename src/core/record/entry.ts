/**
 * The record format: one small JSON object per entry in the metadata store. It says how the
 * payload was encoded, how large it is, its checksum, its own key hash, the generations it was
 * computed under (first, so store scripts find them without parsing the rest: see
 * generations.ts), and holds either the payload itself (base64, when small) or the key of the
 * blob that does.
 *
 * Parsing trusts nothing: a record with a missing or mistyped field is an `IntegrityError`.
 *
 * @module
 */
import { IntegrityError } from "../errors.ts";
import type { Stamp } from "./generations.ts";

/** Version of the record layout; records of other versions are treated as misses. */
export const RECORD_VERSION = 2;

/** One entry's record as the writer gives it to the store, which stamps its generations in front. */
export interface EntryFields {
  /** Record layout version. */
  readonly v: typeof RECORD_VERSION;
  /** Key hash of the entry this record belongs to. */
  readonly k: string;
  /** Value codec: `cbor`, `json` or `bytes`. */
  readonly c: string;
  /** Compression: `zstd`, `gzip` or `none`. */
  readonly z: string;
  /** Created at, ms since the epoch. */
  readonly t: number;
  /** Expires at, ms since the epoch. */
  readonly e: number;
  /** Size of the encoded value before compression, in bytes. */
  readonly n: number;
  /** Size of the stored (compressed) payload, in bytes. */
  readonly s: number;
  /** SHA-256 hex of the stored payload. */
  readonly h: string;
  /** The stored payload in base64, for inline entries. */
  readonly p?: string;
  /** The blob's object key, for entries whose payload lives in the blob store. */
  readonly b?: string;
  /** Opaque metadata stored beside the payload (e.g. a cached response's status and headers). */
  readonly m?: string;
}

/** One entry's record, as stored. Short field names keep hit responses small. */
export interface EntryRecord extends EntryFields {
  /** The generations the value was computed under: `[key, expire token, stale token]`. */
  readonly g: readonly Stamp[];
}

/** Serializes a record's fields for the store's `write` operation (which adds `g`). */
export function formatRecord(record: EntryFields): string {
  return JSON.stringify(record);
}

const HASH = /^[0-9a-f]{64}$/;
const NAME = /^[a-z0-9]{1,16}$/;

/** Parses and validates a stored record. Throws `IntegrityError` when it is not a valid record. */
export function parseRecord(text: string): EntryRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new IntegrityError("record is not valid JSON", { cause });
  }
  if (typeof data !== "object" || data === null) throw new IntegrityError("record is not an object");
  const r = data as Record<string, unknown>;
  if (r.v !== RECORD_VERSION) throw new IntegrityError(`record version ${String(r.v)} is not ${RECORD_VERSION}`);
  const valid = typeof r.k === "string" && HASH.test(r.k) &&
    typeof r.h === "string" && HASH.test(r.h) &&
    typeof r.c === "string" && NAME.test(r.c) &&
    typeof r.z === "string" && NAME.test(r.z) &&
    isCount(r.t) && isCount(r.e) && isCount(r.n) && isCount(r.s) &&
    (typeof r.p === "string") !== (typeof r.b === "string") &&
    Array.isArray(r.g) && r.g.every(isStamp) &&
    (r.m === undefined || typeof r.m === "string");
  if (!valid) throw new IntegrityError("record has missing or malformed fields");
  return r as unknown as EntryRecord;
}

function isStamp(value: unknown): boolean {
  return Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === "string" && part !== "");
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
