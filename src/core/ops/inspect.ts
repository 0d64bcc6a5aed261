/**
 * `cache.inspect()`: what is stored for one entry, for operators. It reads the record and the
 * lease (one store pipeline), checks the payload against the record's size and checksum (inline,
 * or by downloading the blob), and looks for an object at the entry's blob key even when no
 * record points to it. It never decodes the value. Unlike `get`, it does not fail open: a
 * backend failure rejects.
 *
 * @module
 */
import { fromBase64, sha256Hex } from "../util/bytes.ts";
import type { CacheContext } from "../context.ts";
import { operatorCall } from "../backend/backend_call.ts";
import { parseRecord } from "../record/entry.ts";
import type { Stamp } from "../record/generations.ts";
import { DEFAULTS } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { blobKey, leaseKey, recordKey } from "../record/key_layout.ts";

/** What `cache.inspect()` found for an entry. */
export interface EntryInspection {
  /** The entry's key hash. */
  readonly hash: string;
  /** The Redis key of its record. */
  readonly recordKey: string;
  /** The object key its payload has when it is stored as a blob. */
  readonly blobKey: string;
  /** The record, or null when there is none. */
  readonly record: RecordInspection | null;
  /** Why the record or its payload is not usable (a reader would treat the entry as a miss). */
  readonly problem?: string;
  /** Whether an instance holds the entry's lease (it is computing the value). */
  readonly leased: boolean;
  /** The object at `blobKey`; absent when the cache has no blob store. */
  readonly blob?: BlobInspection;
}

/** An entry's record, field by field. */
export interface RecordInspection {
  /** The key as people write it (`user:42`), when the record keeps one: a key template's, or `set`'s. */
  readonly readableKey?: string;
  /** Record layout version. */
  readonly version: number;
  /** Value codec (`cbor`, `json`, `bytes`). */
  readonly codec: string;
  /** Compression (`zstd`, `gzip`, `none`). */
  readonly compression: string;
  /** Where the payload is. */
  readonly placement: "inline" | "blob";
  /** Created at, ms since the epoch. */
  readonly createdAt: number;
  /** Expires at, ms since the epoch (the record may be kept longer for stale serving). */
  readonly expiresAt: number;
  /** `expiresAt` minus now: negative once expired. */
  readonly ttlLeftMs: number;
  /** Size of the encoded value before compression, in bytes. */
  readonly encodedBytes: number;
  /** Size of the stored payload, in bytes. */
  readonly storedBytes: number;
  /** SHA-256 hex of the stored payload. */
  readonly checksum: string;
  /** The id of the key the payload is encrypted with (`encryption.keys`); absent when it is stored in the clear. */
  readonly encryptionKey?: string;
  /** The blob's object key, for blob entries. */
  readonly blobKey?: string;
  /** Whether the stored payload has the recorded size and checksum (undefined: not found). */
  readonly payloadVerified?: boolean;
  /**
   * How the entry stands against invalidations: `valid`, `stale` (served while one refresh runs)
   * or `invalid` (readers miss; the record stays until it expires or is rewritten).
   */
  readonly standing: "valid" | "stale" | "invalid";
  /** The generations it was computed under (the prefix, its namespace, its tags), each as it stands now. */
  readonly generations: readonly GenerationInspection[];
  /** Record fields this version does not know (e.g. written by a newer one). */
  readonly otherFields: Readonly<Record<string, unknown>>;
}

/** One generation of an entry and how it stands now. */
export interface GenerationInspection {
  /** The generation key (a prefix's, a namespace's or a tag's: record/key_layout.ts). */
  readonly key: string;
  /** `current`, `stale` (its stale token was replaced) or `invalidated` (its expire token was, or it was cleared). */
  readonly state: "current" | "stale" | "invalidated";
}

/** The object at an entry's blob key. */
export interface BlobInspection {
  /** Its key. */
  readonly key: string;
  /** Whether it exists. */
  readonly exists: boolean;
  /** Its size in bytes, when it exists and could be sized. */
  readonly size?: number;
  /** Whether the record points to it; false means it is an orphan for `cleanup()`. */
  readonly referenced: boolean;
}

const KNOWN_FIELDS = new Set(["v", "k", "c", "z", "t", "e", "n", "s", "h", "p", "b", "g", "r", "y"]);

/** The hash of `{ hash }`, validated: 64 lower-case hex characters, as `inspect`'s output and logs show it. */
export function checkHash(target: { readonly hash: string }, what: string): string {
  const hash = typeof target === "object" && target !== null ? target.hash : undefined;
  if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new ConfigError(`${what}: expected a key string or { hash } with 64 lower-case hex characters`);
  }
  return hash;
}

/** Inspects the entry `hash`; see the module documentation. */
export async function inspectEntry(ctx: CacheContext, hash: string): Promise<EntryInspection> {
  const { store, blobs, prefix, now } = ctx.options;
  const timeoutMs = Math.max(ctx.options.storeTimeoutMs, DEFAULTS.inspect.storeTimeoutMs);
  const blobTimeoutMs = Math.max(ctx.options.blobTimeoutMs, DEFAULTS.inspect.blobTimeoutMs);
  const key = blobKey(prefix, hash);
  const [text, leased] = await operatorCall({
    backend: "store",
    what: `${store.name} run [get, exists]`,
    timeoutMs,
    call: (signal) =>
      store.run([{ type: "get", key: recordKey(prefix, hash) }, { type: "exists", key: leaseKey(prefix, hash) }], {
        signal,
      }),
  });
  const base = { hash, recordKey: recordKey(prefix, hash), blobKey: key, leased: leased === true };
  if (typeof text !== "string") {
    return { ...base, record: null, ...(blobs ? { blob: await sizeOf(ctx, key, false) } : {}) };
  }
  let record;
  try {
    record = parseRecord(text);
  } catch (error) {
    return {
      ...base,
      record: null,
      problem: `the record cannot be read: ${(error as Error).message}`,
      ...(blobs ? { blob: await sizeOf(ctx, key, true) } : {}),
    };
  }
  const problems: string[] = [];
  const generations = await generationsOf(ctx, record.g, timeoutMs);
  const standing = generations.some((g) => g.state === "invalidated")
    ? "invalid"
    : generations.some((g) => g.state === "stale")
    ? "stale"
    : "valid";
  if (standing === "invalid") {
    const by = generations.filter((g) => g.state === "invalidated").map((g) => g.key).join(", ");
    problems.push(`the entry was invalidated (${by}): readers miss`);
  }
  if (record.k !== hash) problems.push(`the record belongs to key hash ${record.k.slice(0, 12)}`);
  let payload: Uint8Array | null = null;
  let blob: BlobInspection | undefined;
  if (record.p !== undefined) {
    try {
      payload = fromBase64(record.p);
    } catch {
      problems.push("the inline payload is not valid base64");
    }
    if (blobs) blob = await sizeOf(ctx, key, false);
  } else if (blobs) {
    if (record.b !== key) problems.push(`the record points to an unexpected object key`);
    payload = await operatorCall({
      backend: "blob",
      what: `${blobs.name} get`,
      timeoutMs: blobTimeoutMs,
      call: (signal) => blobs.get(record.b!, { signal }),
    });
    blob = { key: record.b!, exists: payload !== null, referenced: true, ...(payload ? { size: payload.length } : {}) };
    if (payload === null) problems.push("the blob the record points to does not exist");
  } else {
    problems.push("the record points to a blob but this cache has no blob store");
  }
  let payloadVerified: boolean | undefined;
  if (payload !== null) {
    payloadVerified = payload.length === record.s && await sha256Hex(payload) === record.h;
    if (!payloadVerified) problems.push("the payload does not match the record's size and checksum");
  }
  const otherFields = Object.fromEntries(
    Object.entries(JSON.parse(text) as Record<string, unknown>).filter(([field]) => !KNOWN_FIELDS.has(field)),
  );
  return {
    ...base,
    record: {
      ...(record.r !== undefined ? { readableKey: record.r } : {}),
      version: record.v,
      codec: record.c,
      compression: record.z,
      placement: record.p !== undefined ? "inline" : "blob",
      createdAt: record.t,
      expiresAt: record.e,
      ttlLeftMs: record.e - now(),
      encodedBytes: record.n,
      storedBytes: record.s,
      checksum: record.h,
      ...(record.y !== undefined ? { encryptionKey: record.y } : {}),
      ...(record.b !== undefined ? { blobKey: record.b } : {}),
      ...(payloadVerified !== undefined ? { payloadVerified } : {}),
      standing,
      generations,
      otherFields,
    },
    ...(problems.length > 0 ? { problem: problems.join("; ") } : {}),
    ...(blob ? { blob } : {}),
  };
}

/** Whether an object exists at `key`, and its size, by listing (no download); without `list`, by a GET. */
async function sizeOf(ctx: CacheContext, key: string, referenced: boolean): Promise<BlobInspection> {
  const blobs = ctx.options.blobs!;
  const timeoutMs = Math.max(ctx.options.blobTimeoutMs, DEFAULTS.inspect.blobTimeoutMs);
  if (typeof blobs.list === "function") {
    const page = await operatorCall({
      backend: "blob",
      what: `${blobs.name} list`,
      timeoutMs,
      call: (signal) => blobs.list!(key, { signal, limit: 1 }),
    });
    const found = page.objects.find((object) => object.key === key);
    return { key, exists: found !== undefined, referenced, ...(found ? { size: found.size } : {}) };
  }
  const bytes = await operatorCall({
    backend: "blob",
    what: `${blobs.name} get`,
    timeoutMs,
    call: (signal) => blobs.get(key, { signal }),
  });
  return { key, exists: bytes !== null, referenced, ...(bytes ? { size: bytes.length } : {}) };
}

/** How each stamp of a record stands against the current generations (read-only: HGETALL, one pipeline). */
async function generationsOf(
  ctx: CacheContext,
  stamps: readonly Stamp[],
  timeoutMs: number,
): Promise<GenerationInspection[]> {
  if (stamps.length === 0) return [];
  const { store } = ctx.options;
  const current = await operatorCall({
    backend: "store",
    what: `${store.name} run [hgetall × ${stamps.length}]`,
    timeoutMs,
    call: (signal) => store.run(stamps.map(([key]) => ({ type: "hgetall", key })), { signal }),
  });
  return stamps.map(([key, x, s], i) => {
    const now = current[i] as Readonly<Record<string, string>> | null | undefined;
    // A generation key that is gone (cleared, evicted) comes back with a new token: invalid too.
    const state = now?.x !== x ? "invalidated" : now?.s !== s ? "stale" : "current";
    return { key, state };
  });
}
