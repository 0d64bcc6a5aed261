/**
 * Internal registry of the value codecs and compressors, by the names recorded in each entry, so
 * the core can decode an entry whatever codec and compression it was written with.
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";
import type { Compressor, ValueCodec } from "../core/types.ts";
import { cborCodec } from "./cbor.ts";
import { gzipCompressor } from "./gzip.ts";
import { jsonCodec } from "./json.ts";
import { noCompression } from "./none.ts";
import { embeddedZstdWasm } from "./_zstd_embedded.ts";
import { zstdCompressor, type ZstdWasm } from "./zstd.ts";

/** Every value codec, by name. */
export const codecs: Readonly<Record<string, ValueCodec>> = Object.freeze({
  cbor: cborCodec(),
  json: jsonCodec(),
});

/** Names {@link compressorByName} knows. */
export const COMPRESSION_NAMES: readonly string[] = Object.freeze(["zstd", "gzip", "none"]);

/** Options of {@link compressorByName}. */
export interface CompressorOptions {
  /** Settings of the zstd compressor. @default { level: 3, wasm: the zstd.wasm embedded in Larder } */
  zstd?: { level?: number; wasm?: ZstdWasm };
}

/** The value codec recorded as `name`; throws a `CodecError` for an unknown name. */
export function codecByName(name: string): ValueCodec {
  const codec = Object.hasOwn(codecs, name) ? codecs[name] : undefined;
  if (codec === undefined) throw new CodecError(`unknown value codec ${JSON.stringify(name)}`);
  return codec;
}

/** A new compressor for the compression recorded as `name`; throws a `CodecError` for an unknown name. */
export function compressorByName(name: string, options?: CompressorOptions): Compressor {
  switch (name) {
    case "zstd":
      return zstdCompressor({ ...options?.zstd, wasm: options?.zstd?.wasm ?? embeddedZstdWasm });
    case "gzip":
      return gzipCompressor();
    case "none":
      return noCompression();
    default:
      throw new CodecError(`unknown compression ${JSON.stringify(name)}`);
  }
}
