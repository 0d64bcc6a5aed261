/**
 * In-process blobs, bounded by total bytes with least-recently-used eviction. Bytes are copied
 * on `put` and on `get`, so no caller can change what another one reads; a `get` with an expected
 * size copies nothing larger than that size. It is what
 * `createCache()` uses when given neither store nor blobs.
 *
 * @example
 * ```ts
 * import { memoryBlobStore } from "larder/blobs/memory";
 *
 * const blobs = memoryBlobStore({ maxBytes: 16 * 1024 * 1024 });
 * await blobs.put("reports/2024", new TextEncoder().encode("a large payload"));
 * console.log(new TextDecoder().decode((await blobs.get("reports/2024"))!)); // "a large payload"
 * console.log((await blobs.list("reports/")).objects.map((o) => o.key)); // ["reports/2024"]
 * await blobs.delete("reports/2024");
 * console.log(await blobs.get("reports/2024")); // null
 * ```
 *
 * @module
 */
import { BlobError, TooLargeError } from "../core/errors.ts";
import type {
  BlobDeleteResult,
  BlobGetOptions,
  BlobListOptions,
  BlobListPage,
  BlobObject,
  BlobStore,
  CallOptions,
} from "../core/types.ts";
import { Lru } from "../core/util/lru.ts";
import { Expectation } from "./_expected.ts";
import { compareCodePoints } from "./_listing.ts";
import * as opt from "../core/util/check_options.ts";

/** Options of {@link memoryBlobStore}. */
export interface MemoryBlobStoreOptions {
  /**
   * Bytes kept at most, counted as each object's length plus 2 bytes per UTF-16 code unit of its
   * key; past it the least recently used objects are evicted. @default 67108864 (64 MiB)
   */
  maxBytes?: number;
  /** Clock in ms since the epoch that stamps each object's `lastModified`. @default Date.now */
  now?: () => number;
}

/** One stored object. */
interface Stored {
  readonly bytes: Uint8Array;
  readonly lastModified: number;
}

/** Objects per `list` page and keys per `deleteMany` at most, as in S3. */
const MAX_BATCH = 1000;

const OPTIONS = {
  maxBytes: opt.withDefault(opt.positiveInteger, 64 * 1024 * 1024),
  now: opt.optional(opt.fn<() => number>()),
} satisfies opt.OptionChecks<MemoryBlobStoreOptions>;

/** Creates an in-process {@link BlobStore} (name `"memory"`) bounded by `maxBytes`. */
export function memoryBlobStore(options?: MemoryBlobStoreOptions): BlobStore {
  const checked = opt.checkOptions("memoryBlobStore", options, OPTIONS);
  const { maxBytes } = checked;
  // Objects never expire and the byte bound already limits their number.
  const now = checked.now ?? Date.now;
  const objects = new Lru<Stored>({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes });

  return {
    name: "memory",
    async put(key: string, body: Uint8Array, callOptions?: CallOptions): Promise<void> {
      callOptions?.signal?.throwIfAborted();
      checkKey("put", key);
      if (!(body instanceof Uint8Array)) throw new BlobError(`memory put: body must be a Uint8Array`);
      const bytes = body.byteLength + 2 * key.length;
      if (bytes > maxBytes) {
        throw new TooLargeError(`memory put: object of ${body.byteLength} bytes exceeds maxBytes ${maxBytes}`);
      }
      objects.set(key, { value: { bytes: body.slice(), lastModified: now() }, bytes, expiresAt: Infinity }, 0);
    },
    async get(key: string, callOptions?: BlobGetOptions): Promise<Uint8Array | null> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      checkKey("get", key);
      const expected = new Expectation(callOptions?.expectedBytes, Number.POSITIVE_INFINITY);
      const stored = objects.get(key, 0);
      if (stored === undefined) return null;
      const size = stored.bytes.byteLength;
      // Waiting costs nothing here (no I/O in flight): check every object against the size.
      await expected.known(signal);
      if (size > expected.limit) throw expected.refusal("memory get", size);
      return stored.bytes.slice();
    },
    async delete(key: string, callOptions?: CallOptions): Promise<void> {
      callOptions?.signal?.throwIfAborted();
      checkKey("delete", key);
      objects.delete(key, 0);
    },
    async list(prefix: string, listOptions?: BlobListOptions): Promise<BlobListPage> {
      listOptions?.signal?.throwIfAborted();
      if (typeof prefix !== "string") throw new BlobError("memory list: prefix must be a string");
      const limit = listOptions?.limit ?? MAX_BATCH;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BATCH) {
        throw new BlobError(`memory list: limit must be an integer from 1 to ${MAX_BATCH}`);
      }
      const after = listOptions?.cursor;
      if (after !== undefined && (typeof after !== "string" || after === "")) {
        throw new BlobError("memory list: cursor must be a non-empty string from a previous page");
      }
      // Sorted the way S3 lists (UTF-8 byte order, which is code point order).
      const keys = objects.keys(0)
        .filter((key) => key.startsWith(prefix) && (after === undefined || compareCodePoints(key, after) > 0))
        .sort(compareCodePoints);
      const page = keys.slice(0, limit).map((key): BlobObject => {
        const stored = objects.peek(key, 0)!;
        return { key, size: stored.bytes.byteLength, lastModified: stored.lastModified };
      });
      const last = page.at(-1);
      return keys.length > limit && last ? { objects: page, cursor: last.key } : { objects: page };
    },
    async deleteMany(keys: readonly string[], callOptions?: CallOptions): Promise<BlobDeleteResult> {
      callOptions?.signal?.throwIfAborted();
      if (!Array.isArray(keys)) throw new BlobError("memory deleteMany: keys must be an array");
      if (keys.length > MAX_BATCH) {
        throw new BlobError(`memory deleteMany: at most ${MAX_BATCH} keys per call, got ${keys.length}`);
      }
      keys.forEach((key) => checkKey("deleteMany", key));
      for (const key of keys) objects.delete(key, 0);
      return { failed: [] };
    },
  };
}

function checkKey(operation: string, key: unknown): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new BlobError(`memory ${operation}: key must be a non-empty string`);
  }
}
