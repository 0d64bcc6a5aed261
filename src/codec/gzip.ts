/**
 * gzip through the web-standard `CompressionStream`/`DecompressionStream` (Node 18+, Deno, Bun,
 * workerd): no WASM, a lower ratio and speed than zstd.
 *
 * gzip does not declare its decompressed size, so `decompress` counts output as it streams and
 * stops with a `TooLargeError` as soon as it would pass `maxBytes`. Input is fed in small slices
 * so that a "gzip bomb" cannot expand far past the limit before the count sees it (deflate
 * expands at most about 1032:1, so one slice yields at most about 8 MiB).
 *
 * @module
 */
import { concatBytes, readAll } from "../core/util/bytes.ts";
import { CodecError, isCacheError, TooLargeError } from "../core/errors.ts";
import type { Compressor } from "../core/types.ts";
import { checkMaxBytes } from "./_limits.ts";

const SLICE_BYTES = 8192;

/** The gzip compressor (name `"gzip"`). */
export function gzipCompressor(): Compressor {
  return {
    name: "gzip",
    async compress(bytes: Uint8Array): Promise<Uint8Array> {
      try {
        return await pump(new CompressionStream("gzip"), bytes, Infinity);
      } catch (error) {
        throw new CodecError("gzip: compression failed", { cause: error });
      }
    },
    async decompress(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
      checkMaxBytes(maxBytes, "gzip");
      try {
        return await pump(new DecompressionStream("gzip"), bytes, maxBytes);
      } catch (error) {
        if (isCacheError(error)) throw error;
        throw new CodecError("gzip: malformed payload", { cause: error });
      }
    },
  };
}

/** Feeds `input` through `stream` in slices and collects the output, failing once it passes `maxBytes`. */
async function pump(
  stream: ReadableWritablePair<Uint8Array, BufferSource>,
  input: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const feeding = (async () => {
    // Awaiting each write lets the stream's backpressure hold back input while output is unread.
    for (let offset = 0; offset < input.length; offset += SLICE_BYTES) {
      await writer.write(input.subarray(offset, offset + SLICE_BYTES) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  // Failures show on the readable side too; this one only must not go unhandled.
  feeding.catch(() => {});

  try {
    const { chunks, total } = await readAll(stream.readable.getReader(), (total) => {
      if (total > maxBytes) {
        throw new TooLargeError(`gzip: payload decompresses to more than the limit of ${maxBytes} bytes`);
      }
    });
    await feeding;
    return concatBytes(chunks, total);
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}
