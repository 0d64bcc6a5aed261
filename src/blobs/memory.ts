/**
 * In-process blobs, bounded by total bytes with least-recently-used eviction. Bytes are copied
 * on `put` and on `get`, so no caller can change what another one reads. It is what
 * `createCache()` uses when given neither store nor blobs.
 *
 * @example
 * ```ts
 * import { memoryBlobStore } from "larder/blobs/memory";
 *
 * const blobs = memoryBlobStore({ maxBytes: 16 * 1024 * 1024 });
 * await blobs.put("reports/2024", new TextEncoder().encode("a large payload"));
 * console.log(new TextDecoder().decode((await blobs.get("reports/2024"))!)); // "a large payload"
 * await blobs.delete("reports/2024");
 * console.log(await blobs.get("reports/2024")); // null
 * ```
 *
 * @module
 */
import { BlobError, TooLargeError } from "../core/errors.ts";
import type { BlobStore, CallOptions } from "../core/types.ts";
import { Lru } from "../_lru.ts";
import { checkOptionsObject, positiveInteger } from "../_validate.ts";

/** Options of {@link memoryBlobStore}. */
export interface MemoryBlobStoreOptions {
  /**
   * Bytes kept at most, counted as each object's length plus 2 bytes per UTF-16 code unit of its
   * key; past it the least recently used objects are evicted. @default 67108864 (64 MiB)
   */
  maxBytes?: number;
}

const WHERE = "memoryBlobStore";

/** Creates an in-process {@link BlobStore} (name `"memory"`) bounded by `maxBytes`. */
export function memoryBlobStore(options?: MemoryBlobStoreOptions): BlobStore {
  checkOptionsObject(WHERE, options);
  const maxBytes = positiveInteger(WHERE, "maxBytes", options?.maxBytes, 64 * 1024 * 1024);
  // Objects never expire and the byte bound already limits their number.
  const objects = new Lru<Uint8Array>({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes });

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
      objects.set(key, body.slice(), bytes, Infinity, 0);
    },
    async get(key: string, callOptions?: CallOptions): Promise<Uint8Array | null> {
      callOptions?.signal?.throwIfAborted();
      checkKey("get", key);
      return objects.get(key, 0)?.slice() ?? null;
    },
    async delete(key: string, callOptions?: CallOptions): Promise<void> {
      callOptions?.signal?.throwIfAborted();
      checkKey("delete", key);
      objects.delete(key, 0);
    },
  };
}

function checkKey(operation: string, key: unknown): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new BlobError(`memory ${operation}: key must be a non-empty string`);
  }
}
