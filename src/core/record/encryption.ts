/**
 * Client-side encryption at rest: AES-256-GCM through Web Crypto over each stored payload, inline
 * or blob, so that neither Redis nor the bucket ever holds a value in the clear — whoever reads
 * them (a leaked backup, an over-broad IAM role, a shared Redis) gets ciphertext.
 *
 * Where it sits: after compression (ciphertext does not compress) and before the checksum, so the
 * record's size and SHA-256 describe the bytes as stored — reads verify them before anything is
 * decrypted, and `cleanup()`/`inspect()` work without a key. The stored payload is a random
 * 96-bit IV followed by the ciphertext and its 128-bit tag. The record names the key (`y`, its id)
 * and stays readable JSON; its other fields that decide what the value is — key hash, codec,
 * compression, encoded size, key id, metadata (a stored response's status and headers) — are the
 * additional authenticated data, so a ciphertext moved to another entry, or a record edited
 * around it, does not decrypt.
 *
 * Key rotation: `keys` holds every key that may still be read, by id; new writes use `current`.
 * A reader without an entry's key, or with another key under its id, never sees plaintext: the
 * entry is a miss counted as an error (see {@link PayloadEncryption.open}). Records without a key
 * id are plaintext and still read (entries written before encryption was turned on).
 *
 * @module
 */
import { CodecError, ConfigError, IntegrityError } from "../errors.ts";
import * as opt from "../util/check_options.ts";
import { fromBase64 } from "../util/bytes.ts";
import { type EntryRecord, KEY_ID, type SealContext, type SealedPayload } from "./entry.ts";

/** A 256-bit AES key: a Web Crypto `CryptoKey` (AES-GCM), its 32 raw bytes, or those bytes in base64. */
export type EncryptionKey = CryptoKey | Uint8Array | string;

/** `createCache`'s `encryption` option. */
export interface EncryptionOptions {
  /**
   * Every key entries may be encrypted with, by id (1–32 letters, digits, `_`, `.` or `-`; the id
   * is stored in each record). Keep a retired key listed until the entries written with it have
   * expired: without it they are misses.
   * @example { k2: env.LARDER_KEY_2, k1: env.LARDER_KEY_1 }
   */
  keys: Record<string, EncryptionKey>;
  /** The id of the key new entries are encrypted with. */
  current: string;
}

/** Encrypts new payloads and decrypts stored ones (built by {@link encryptionCheck}). */
export interface PayloadEncryption {
  /** The id of the key new payloads are encrypted with. */
  readonly current: string;
  /** The ids of every key payloads may be decrypted with (the current one included), never the keys. */
  readonly keyIds: readonly string[];
  /** Encrypts `bytes` with the current key, bound to `context`. */
  seal(bytes: Uint8Array, context: SealContext): Promise<SealedPayload>;
  /**
   * The stored payload of `record`, decrypted (still compressed). Throws `CodecError` when the
   * record names a key this cache does not have, `IntegrityError` when it does not decrypt.
   */
  open(record: EntryRecord, bytes: Uint8Array): Promise<Uint8Array>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** How much larger a sealed payload is than the bytes sealed: the IV and the tag. */
export const SEAL_OVERHEAD_BYTES: number = IV_BYTES + TAG_BYTES;
/** Names the scheme in the authenticated data, so a later scheme can never be confused with this one. */
const SCHEME = "larder/aes-256-gcm/1";

/**
 * Checks the `encryption` option and starts importing its raw keys. A key is refused with a
 * `ConfigError` naming its id (never its bytes) unless it is 32 bytes, or an AES-GCM `CryptoKey`
 * of 256 bits that may decrypt (and encrypt, for the current one).
 */
export function encryptionCheck(value: unknown, at: opt.OptionPath): PayloadEncryption {
  const where = opt.optionName(at);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${where} must be { keys: { [keyId]: key }, current: keyId }, got ${opt.describe(value)}`);
  }
  const o = opt.group({
    keys: (keys: unknown, keysAt: opt.OptionPath) => {
      if (typeof keys !== "object" || keys === null || Array.isArray(keys) || Object.keys(keys).length === 0) {
        throw new ConfigError(`${opt.optionName(keysAt)} must be an object of { [keyId]: key } with at least one key`);
      }
      return keys as Record<string, unknown>;
    },
    current: opt.requiredString,
  })(value, at);
  if (!Object.hasOwn(o.keys, o.current)) {
    throw new ConfigError(
      `${where}.current is "${o.current}", which is not one of the ids in ${at.path}.keys (${
        Object.keys(o.keys).join(", ")
      })`,
    );
  }
  const keys = new Map<string, Promise<CryptoKey>>();
  for (const [id, key] of Object.entries(o.keys)) {
    if (!KEY_ID.test(id)) {
      throw new ConfigError(
        `${where}.keys: key ids are 1-32 letters, digits, "_", "." or "-"; got ${JSON.stringify(id)}`,
      );
    }
    const imported = importKey(key, { where: `${where}.keys.${id}`, encrypts: id === o.current });
    // Awaited where used; an import that fails makes those reads and writes fail (counted), not the process.
    imported.catch(() => {});
    keys.set(id, imported);
  }
  return new AesGcm(o.current, keys);
}

/** A key given as a `CryptoKey` is checked; raw bytes are imported (non-extractable). */
function importKey(key: unknown, spec: { readonly where: string; readonly encrypts: boolean }): Promise<CryptoKey> {
  const { where } = spec;
  if (isCryptoKey(key)) {
    const algorithm = key.algorithm as { name?: string; length?: number };
    if (algorithm.name !== "AES-GCM" || algorithm.length !== 256 || key.type !== "secret") {
      throw new ConfigError(`${where} must be an AES-GCM key of 256 bits`);
    }
    const needs = spec.encrypts ? ["encrypt", "decrypt"] : ["decrypt"];
    const missing = needs.filter((usage) => !key.usages.includes(usage as KeyUsage));
    if (missing.length > 0) throw new ConfigError(`${where} must allow ${missing.join(" and ")} (its usages)`);
    return Promise.resolve(key);
  }
  let raw: Uint8Array;
  if (key instanceof Uint8Array) raw = key;
  else if (typeof key === "string") raw = base64Key(key, where);
  else throw new ConfigError(`${where} must be a CryptoKey, 32 bytes (Uint8Array) or 32 bytes in base64`);
  if (raw.length !== KEY_BYTES) {
    throw new ConfigError(`${where} must be 32 bytes (AES-256), got ${raw.length}`);
  }
  // importKey copies the bytes before it returns: a caller that later overwrites its array changes nothing.
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

function isCryptoKey(key: unknown): key is CryptoKey {
  // Duck-typed: a key from another realm (a framework's own Web Crypto) is as good.
  return typeof key === "object" && key !== null && !(key instanceof Uint8Array) &&
    typeof (key as CryptoKey).type === "string" && typeof (key as CryptoKey).algorithm === "object" &&
    Array.isArray((key as CryptoKey).usages);
}

/** Standard or URL-safe base64, padded or not. The message never quotes the text (it is a secret). */
function base64Key(text: string, where: string): Uint8Array {
  const standard = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  try {
    return fromBase64(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
  } catch {
    throw new ConfigError(`${where} is a string but not base64 (expected 32 bytes in base64)`);
  }
}

/** The authenticated data of a payload: the record fields that decide what it decodes to. */
function associatedData(context: SealContext & { readonly keyId: string }): Uint8Array<ArrayBuffer> {
  const { hash, codec, compression, size, keyId, meta } = context;
  return new TextEncoder().encode(JSON.stringify([SCHEME, hash, codec, compression, size, keyId, meta ?? null]));
}

class AesGcm implements PayloadEncryption {
  readonly current: string;
  readonly keyIds: readonly string[];
  readonly #keys: ReadonlyMap<string, Promise<CryptoKey>>;

  constructor(current: string, keys: ReadonlyMap<string, Promise<CryptoKey>>) {
    this.current = current;
    this.keyIds = Object.freeze([...keys.keys()]);
    this.#keys = keys;
  }

  async seal(bytes: Uint8Array, context: SealContext): Promise<SealedPayload> {
    const keyId = this.current;
    const key = await this.#keys.get(keyId)!;
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const additionalData = associatedData({ ...context, keyId });
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, bytes as Uint8Array<ArrayBuffer>),
    );
    const stored = new Uint8Array(IV_BYTES + sealed.length);
    stored.set(iv);
    stored.set(sealed, IV_BYTES);
    return { bytes: stored, keyId };
  }

  async open(record: EntryRecord, bytes: Uint8Array): Promise<Uint8Array> {
    const keyId = record.y!;
    const key = this.#keys.get(keyId);
    if (key === undefined) {
      throw new CodecError(
        `entry ${record.k.slice(0, 12)} is encrypted with key "${keyId}", which is not in encryption.keys ` +
          `(keys: ${[...this.#keys.keys()].join(", ")}): list the keys of older writes until their entries expire`,
      );
    }
    if (bytes.length < IV_BYTES + TAG_BYTES) {
      throw new IntegrityError(`entry ${record.k.slice(0, 12)}: encrypted payload is ${bytes.length} bytes, too short`);
    }
    const additionalData = associatedData({
      hash: record.k,
      codec: record.c,
      compression: record.z,
      size: record.n,
      keyId,
      meta: record.m,
    });
    try {
      const opened = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES) as Uint8Array<ArrayBuffer>, additionalData },
        await key,
        bytes.subarray(IV_BYTES) as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(opened);
    } catch (cause) {
      throw new IntegrityError(
        `entry ${record.k.slice(0, 12)} does not decrypt with key "${keyId}": another key under that id, ` +
          "or the payload or its record was altered",
        { cause },
      );
    }
  }
}

/**
 * The stored payload of a record without a key id as it is; an encrypted one decrypted by
 * `encryption`, or a `CodecError` naming the fix when this cache has no keys.
 */
export async function openPayload(
  record: EntryRecord,
  bytes: Uint8Array,
  encryption: PayloadEncryption | undefined,
): Promise<Uint8Array> {
  if (record.y === undefined) return bytes;
  if (encryption === undefined) {
    throw new CodecError(
      `entry ${record.k.slice(0, 12)} is encrypted (key "${record.y}") and this cache has no encryption option: ` +
        "give it the writers' createCache({ encryption: { keys, current } })",
    );
  }
  return await encryption.open(record, bytes);
}
