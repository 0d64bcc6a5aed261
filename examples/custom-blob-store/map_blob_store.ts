/**
 * The custom blob store of the README's "Storage adapters" section, word for word (the README's
 * snippet is this file from its first import; test/conformance/custom_blob.test.ts checks that
 * they match, and runs Larder's blob conformance suite on it). The `Map` stands for any backend
 * that maps keys to bytes: replace its calls with your client's.
 *
 * @module
 */
import { BlobError, type BlobStore, IntegrityError } from "larder";

/** A blob store over a Map: keys to bytes, with the listing that `cache.cleanup()` uses. */
export function mapBlobStore(map: Map<string, { body: Uint8Array; at: number }> = new Map()): BlobStore {
  const check = (key: string, signal?: AbortSignal): void => {
    signal?.throwIfAborted(); // every call honours its signal (the cache's timeouts)
    if (typeof key !== "string" || key === "") throw new BlobError("map: key must be a non-empty string");
  };
  return {
    name: "map",
    async put(key, body, options) {
      check(key, options?.signal);
      map.set(key, { body: body.slice(), at: Date.now() }); // a copy: callers may reuse their buffer
    },
    async get(key, options) {
      check(key, options?.signal);
      const found = map.get(key);
      if (found === undefined) return null; // missing: null, at once
      // The size the caller's record states (it may come later): never return more than that.
      const expected = await abortable(options?.expectedBytes, options?.signal);
      if (expected !== undefined && found.body.byteLength > expected) {
        throw new IntegrityError(`map: ${found.body.byteLength} bytes stored, ${expected} expected`);
      }
      return found.body.slice();
    },
    async delete(key, options) {
      check(key, options?.signal);
      map.delete(key); // deleting a missing key succeeds
    },
    async list(prefix, options) {
      options?.signal?.throwIfAborted();
      const { limit = 1000, cursor } = options ?? {};
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BlobError("map: limit must be 1-1000");
      const keys = [...map.keys()].filter((k) => k.startsWith(prefix) && (!cursor || byCodePoint(k, cursor) > 0));
      const page = keys.sort(byCodePoint).slice(0, limit);
      const objects = page.map((key) => ({ key, size: map.get(key)!.body.byteLength, lastModified: map.get(key)!.at }));
      return keys.length > limit ? { objects, cursor: page.at(-1)! } : { objects };
    },
    async deleteMany(keys, options) {
      options?.signal?.throwIfAborted();
      if (keys.length > 1000) throw new BlobError("map: at most 1000 keys per call");
      for (const key of keys) map.delete(key);
      return { failed: [] };
    },
  };
}

/** `promise`'s value (undefined if it fails), or the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T> | undefined, signal?: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    void Promise.resolve(promise).then(resolve, () => resolve(undefined));
  });
}

/** Key order as S3 lists it (UTF-8 bytes, that is code points; JavaScript sorts UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const [x, y] = [[...a], [...b]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
  }
  return x.length - y.length;
}
