/**
 * What is stored for an entry: its record and its payload.
 *
 * The record is one small JSON object per entry in the metadata store. It says how the payload
 * was encoded, how large it is, its checksum, its own key hash, the generations it was computed
 * under (first, so store scripts find them without parsing the rest: record/generations.ts), and
 * holds either the payload itself (base64, when small) or the key of the blob that does. Parsing
 * trusts nothing: a record with a missing or mistyped field is an `IntegrityError`.
 *
 * The payload is the value encoded (CBOR/JSON, or raw bytes as they are), compressed when it
 * pays, and checksummed. Encoding stops as soon as a value passes `maxValueBytes` (the codec is
 * given the limit), so an oversized value costs about the limit, not its whole encoding. Reading
 * verifies size and checksum before anything is decompressed, and caps every allocation by the
 * configured maximum, never by sizes read from storage alone.
 *
 * Two optional steps ride on this path, each in its own module: a value one of the cache's
 * `codecs` accepts (an Arrow table) is encoded by it, under its name; and with `encryption`, the
 * compressed bytes are sealed before the checksum (record/encryption.ts), the record naming the
 * key (`y`), and opened between verification and decompression (flow/lookup.ts).
 *
 * @module
 */
import { sha256Hex } from "../util/bytes.ts";
import { CodecError, IntegrityError, isCacheError, TooLargeError } from "../errors.ts";
import type { Stamp } from "./generations.ts";
import type { Compressor, ValueCodec, ValueExtension } from "../types.ts";

/** Version of the record layout; records of other versions are treated as misses. */
export const RECORD_VERSION = 2;

/** One entry's record as the writer gives it to the store, which stamps its generations in front. */
export interface EntryFields {
  /** Record layout version. */
  readonly v: typeof RECORD_VERSION;
  /** Key hash of the entry this record belongs to. */
  readonly k: string;
  /** Value codec: `cbor`, `json`, `bytes`, or the name of one of the cache's `codecs` (e.g. `arrow`). */
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
  /**
   * The key as people write it (a filled key template such as `user:42`, or `set`'s key), for
   * `inspect`, the CLI and logs; the hash `k` stays the identity. Absent in records written
   * before it existed, and for calls identified by their arguments.
   */
  readonly r?: string;
  /**
   * The id of the key the payload is encrypted with (record/encryption.ts). Absent: the payload is
   * stored in the clear (records written without encryption, and before it existed).
   */
  readonly y?: string;
}

/** Longest readable key a record keeps, in characters (longer ones are cut). */
export const MAX_READABLE_KEY = 256;

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
/** An encryption key's id, as `encryption.keys` names it and the record stores it. */
export const KEY_ID: RegExp = /^[A-Za-z0-9_.-]{1,32}$/;

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
    (r.m === undefined || typeof r.m === "string") &&
    (r.r === undefined || typeof r.r === "string") &&
    (r.y === undefined || (typeof r.y === "string" && KEY_ID.test(r.y)));
  if (!valid) throw new IntegrityError("record has missing or malformed fields");
  return r as unknown as EntryRecord;
}

function isStamp(value: unknown): boolean {
  return Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === "string" && part !== "");
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** The codec name of `Uint8Array` values, stored as they are whatever the configured codec. */
export const BYTES_CODEC = "bytes";

/** An encoded value, ready to be placed inline or in a blob. */
export interface Payload {
  /** Codec used, or {@link BYTES_CODEC}. */
  readonly codec: string;
  /** Compressor used (`none` when compression did not pay). */
  readonly compression: string;
  /** The encoded value before compression. */
  readonly raw: Uint8Array;
  /** The bytes to store. */
  readonly bytes: Uint8Array;
  /** SHA-256 hex of `bytes`. */
  readonly checksum: string;
  /** The id of the key `bytes` are encrypted with; absent when they are not. */
  readonly keyId?: string;
}

/** What a sealed payload is bound to (its authenticated data): the entry, and how its value is encoded. */
export interface SealContext {
  /** The entry's key hash. */
  readonly hash: string;
  /** The codec the record names. */
  readonly codec: string;
  /** The compression the record names. */
  readonly compression: string;
  /** The encoded value's size, as the record states it (`n`). */
  readonly size: number;
  /** The record's metadata, if any (`m`). */
  readonly meta?: string | undefined;
}

/** A payload once sealed: the bytes to store, and the id of the key that sealed them. */
export interface SealedPayload {
  /** The bytes to store. */
  readonly bytes: Uint8Array;
  /** The key's id, stored in the record. */
  readonly keyId: string;
}

/** Encrypts compressed bytes before they are checksummed and stored (see record/encryption.ts). */
export type Seal = (bytes: Uint8Array, context: Omit<SealContext, "hash" | "meta">) => Promise<SealedPayload>;

/** How payloads are written and which decoders are known. */
export interface PayloadConfig {
  /** Codec for new values. */
  readonly codec: ValueCodec;
  /** Compressor for new values. */
  readonly compressor: Compressor;
  /** Every codec a stored record may name (the `codecs` given to `createCache` included). */
  readonly codecs: Readonly<Record<string, ValueCodec>>;
  /** Codecs for particular kinds of values (`createCache`'s `codecs`), offered each value before {@link codec}. @default [] */
  readonly extensions?: readonly ValueExtension[];
  /** Every compressor a stored record may name. */
  readonly compressors: Readonly<Record<string, Compressor>>;
  /** Encoded values under this size are stored uncompressed. */
  readonly minCompressBytes: number;
  /** Largest encoded value that is stored, and the cap on any decode. */
  readonly maxValueBytes: number;
}

/** Encoded values from this size on give the event loop a turn between encoding and compressing. */
const YIELD_BYTES = 1024 * 1024;

/** Resolves in a later task (a macrotask: timers and I/O callbacks run first). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Encodes, compresses, seals (when `seal` is given: encryption) and checksums `value`. Throws
 * `CodecError` or `TooLargeError`.
 */
export async function encodePayload(value: unknown, config: PayloadConfig, seal?: Seal): Promise<Payload> {
  const isBytes = value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype;
  const codec = isBytes ? undefined : codecFor(value, config);
  const raw = codec ? encodeValue(value, codec, config.maxValueBytes) : value as Uint8Array;
  // Also for codecs that do not take the limit (they encode the whole value first).
  if (raw.length > config.maxValueBytes) {
    throw new TooLargeError(`encoded value is ${raw.length} bytes, over maxValueBytes (${config.maxValueBytes})`);
  }
  let bytes = raw;
  let compression = "none";
  if (config.compressor.name !== "none" && raw.length >= config.minCompressBytes) {
    // Encoding and compressing a large value each hold the thread for tens of milliseconds:
    // between the two, let the process' other work (its requests) run.
    if (raw.length >= YIELD_BYTES) await nextTask();
    const compressed = await config.compressor.compress(raw);
    if (compressed.length < raw.length) {
      bytes = compressed;
      compression = config.compressor.name;
    }
  }
  const codecName = codec ? codec.name : BYTES_CODEC;
  const sealed = seal && await seal(bytes, { codec: codecName, compression, size: raw.length });
  const stored = sealed ? sealed.bytes : bytes;
  return {
    codec: codecName,
    compression,
    raw,
    bytes: stored,
    checksum: await sha256Hex(stored),
    ...(sealed ? { keyId: sealed.keyId } : {}),
  };
}

/** The codec of a value: the first of the cache's `codecs` that accepts it, else the cache's codec. */
function codecFor(value: unknown, config: PayloadConfig): ValueCodec {
  for (const extension of config.extensions ?? []) if (extension.accepts(value)) return extension;
  return config.codec;
}

/** `value` encoded by `codec`, which stops once it passes `maxBytes` (when it supports the limit). */
function encodeValue(value: unknown, codec: ValueCodec, maxBytes: number): Uint8Array {
  try {
    return codec.encode(value, { maxBytes });
  } catch (error) {
    if (!isCacheError(error) || error.code !== "E_TOO_LARGE") throw error;
    throw new TooLargeError(`encoded value is over maxValueBytes (${maxBytes}): ${error.message}`, {
      cause: error,
    });
  }
}

/** Throws `IntegrityError` unless `bytes` have the size and checksum that `record` names. */
export async function verifyPayload(record: Pick<EntryRecord, "s" | "h">, bytes: Uint8Array): Promise<void> {
  await startVerifying(record, bytes);
}

/**
 * Checks `bytes` against `record`: the size at once (throws `IntegrityError`), the checksum in
 * the returned promise (rejects with `IntegrityError`). Its digest starts before this returns
 * (WebCrypto's runs on another thread in Node, past 4 KiB), so the caller can decompress and
 * decode meanwhile — and must let nothing it derives from `bytes` out before the promise resolves.
 */
export function startVerifying(record: Pick<EntryRecord, "s" | "h">, bytes: Uint8Array): Promise<void> {
  if (bytes.length !== record.s) {
    throw new IntegrityError(`payload is ${bytes.length} bytes, record says ${record.s}`);
  }
  return sha256Hex(bytes).then((checksum) => {
    if (checksum !== record.h) throw new IntegrityError("payload checksum does not match the record");
  });
}

/** Decompresses verified `bytes` into the encoded value, capped by `maxValueBytes` and by the size `record` names. */
export async function inflatePayload(
  record: Pick<EntryRecord, "n" | "z">,
  bytes: Uint8Array,
  config: PayloadConfig,
): Promise<Uint8Array> {
  const raw = await compressorOf(record, config).decompress(bytes, record.n);
  checkInflated(record, raw);
  return raw;
}

/** What {@link decodePayload} gives back: the value, and (when asked for) a copy of the encoded value. */
export interface DecodedPayload {
  /** The decoded value. */
  readonly value: unknown;
  /** The encoded value (uncompressed), a copy the caller owns; only when `keepRaw` was asked. */
  readonly raw: Uint8Array | undefined;
}

/**
 * Decompresses and decodes `bytes` in one pass over the output: with a compressor that lends its
 * output (zstd's `decompressWith`), the value is decoded where zstd wrote it, with no copy of the
 * decompressed payload (~1–2 ms and an allocation of its size at 10 MB). `keepRaw` also returns
 * a copy of the encoded value (for the in-process tier).
 */
export async function decodePayload(
  record: Pick<EntryRecord, "n" | "z" | "c">,
  bytes: Uint8Array,
  config: PayloadConfig & { readonly keepRaw?: boolean },
): Promise<DecodedPayload> {
  const compressor = compressorOf(record, config);
  const decode = (raw: Uint8Array): DecodedPayload => {
    checkInflated(record, raw);
    return { value: decodeValue(record.c, raw, config), raw: config.keepRaw ? raw.slice() : undefined };
  };
  if (compressor.decompressWith) return await compressor.decompressWith(bytes, record.n, decode);
  return decode(await compressor.decompress(bytes, record.n));
}

/** The compressor `record` names, once its stated size has been checked against `maxValueBytes`. */
function compressorOf(record: Pick<EntryRecord, "n" | "z">, config: PayloadConfig): Compressor {
  if (record.n > config.maxValueBytes) {
    throw new TooLargeError(`stored value is ${record.n} bytes, over maxValueBytes (${config.maxValueBytes})`);
  }
  // Own names only: a record naming "constructor" is not a compressor.
  const compressor = Object.hasOwn(config.compressors, record.z) ? config.compressors[record.z] : undefined;
  if (!compressor) throw new CodecError(`record names unknown compression "${record.z}"`);
  return compressor;
}

function checkInflated(record: Pick<EntryRecord, "n">, raw: Uint8Array): void {
  if (raw.length !== record.n) throw new IntegrityError(`decoded ${raw.length} bytes, record says ${record.n}`);
}

/** Decodes an encoded value with the codec named `codecName`. `Uint8Array` values come back as copies. */
export function decodeValue(codecName: string, raw: Uint8Array, config: PayloadConfig): unknown {
  if (codecName === BYTES_CODEC) return raw.slice();
  const codec = Object.hasOwn(config.codecs, codecName) ? config.codecs[codecName] : undefined;
  if (!codec) {
    throw new CodecError(
      `record names unknown codec "${codecName}": give this cache the writers' codec in createCache({ codecs })` +
        (codecName === "arrow" ? ` (arrowCodec() from "larder/arrow")` : ""),
    );
  }
  return codec.decode(raw);
}
