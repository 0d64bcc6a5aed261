/**
 * The blob GET of a read, bounded by its record. It may leave before the record arrives (when the
 * entry is expected to be a blob, so that a blob hit costs two concurrent round trips, not two in
 * a row); either way the blob store is told the payload's size as soon as the record says it, and
 * holds no more than that (`BlobGetOptions.expectedBytes`): a 120 MiB object under a record of
 * 40 KB costs 40 KB, not 120 MiB.
 *
 * A body over the size is an entry that does not verify, like a checksum mismatch: an
 * `IntegrityError` for the read, counted once as such, not a failure of the blob store (which
 * answered). A GET whose record turned out not to need it (absent, inline, invalid) is abandoned:
 * aborted at once, and counted nowhere.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { type CacheError, isCacheError } from "../errors.ts";

/** A blob GET in flight. */
export interface BlobFetch {
  /** The object's bytes (null: no such object), holding at most `expectedBytes` of it. */
  bytes(expectedBytes: number): Promise<Uint8Array | null>;
  /** Cancels the GET unless {@link bytes} was called: its result is not needed. */
  abandon(): void;
}

/** An object that is not the one the record describes (the store answered; the entry is wrong). */
class Mismatch {
  constructor(readonly error: CacheError) {}
}

/** Starts the GET of `key` (the blob of the entry `hash`); its size comes later, through {@link BlobFetch.bytes}. */
export function startBlobFetch(ctx: CacheContext, hash: string, key: string): BlobFetch {
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
      // Aborted before the size settles, so the store never reads on without a limit.
      abandoned.abort(new Error("blob GET abandoned: the record did not point to it"));
      settle(undefined);
    },
  };
}
