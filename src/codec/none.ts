/**
 * The identity compressor, for payloads that do not compress or runtimes without zstd. Its
 * `decompress` still enforces the caller's size limit.
 *
 * @module
 */
import { TooLargeError } from "../core/errors.ts";
import type { Compressor } from "../core/types.ts";
import { checkMaxBytes } from "./_limits.ts";

/** A compressor (name `"none"`) that stores bytes as they are. */
export function noCompression(): Compressor {
  return {
    name: "none",
    async compress(bytes: Uint8Array): Promise<Uint8Array> {
      return bytes;
    },
    async decompress(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
      checkMaxBytes(maxBytes, "none");
      if (bytes.length > maxBytes) {
        throw new TooLargeError(`none: payload is ${bytes.length} bytes, over the limit of ${maxBytes}`);
      }
      return bytes;
    },
  };
}
