/**
 * The registry of value codecs and compressors, by the names recorded in each entry, so that an
 * entry decodes whatever codec and compression it was written with. `createCache` builds its
 * tables here ({@link codecs}, {@link compressorsFor}); {@link codecByName} and
 * {@link compressorByName} look one up, for tools and tests.
 *
 * Only {@link compressorByName} falls back to the zstd.wasm embedded in Larder: `createCache`
 * passes its runtime's module to {@link compressorsFor}, so a Worker bundle, which never calls
 * `compressorByName`, leaves the embedded bytes out.
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
import { zstdCompressor, type ZstdOptions, type ZstdWasm } from "./zstd.ts";

/** Every value codec, by name. */
export const codecs: Readonly<Record<string, ValueCodec>> = Object.freeze({
  cbor: cborCodec(),
  json: jsonCodec(),
});

/** Options of {@link codecsFor}. */
export interface CodecsOptions {
  /** The CBOR codec writes row shapes (`cborCodec`'s option of that name). @default true */
  readonly rowShapes?: boolean;
}

/** Every value codec, by name, with CBOR's writing options; {@link codecs} for the defaults. */
export function codecsFor(options: CodecsOptions): Readonly<Record<string, ValueCodec>> {
  if (options.rowShapes ?? true) return codecs;
  return Object.freeze({ ...codecs, cbor: cborCodec({ rowShapes: false }) });
}

/** The name of a compression recorded in entries. */
export type CompressionName = "zstd" | "gzip" | "none";

/** Names {@link compressorByName} knows. */
const COMPRESSION_NAMES: readonly CompressionName[] = Object.freeze(["zstd", "gzip", "none"]);

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

const MAKERS: Readonly<Record<CompressionName, (zstd: ZstdOptions) => Compressor>> = {
  zstd: zstdCompressor,
  gzip: () => gzipCompressor(),
  none: () => noCompression(),
};

/** A new compressor of each name, zstd with `zstd`'s settings. Throws a `ConfigError` for invalid ones. */
export function compressorsFor(zstd: ZstdOptions): Readonly<Record<CompressionName, Compressor>> {
  return { zstd: MAKERS.zstd(zstd), gzip: MAKERS.gzip(zstd), none: MAKERS.none(zstd) };
}

/** A new compressor for the compression recorded as `name`; throws a `CodecError` for an unknown name. */
export function compressorByName(name: string, options?: CompressorOptions): Compressor {
  if (!(COMPRESSION_NAMES as readonly string[]).includes(name)) {
    throw new CodecError(`unknown compression ${JSON.stringify(name)}`);
  }
  return MAKERS[name as CompressionName]({ ...options?.zstd, wasm: options?.zstd?.wasm ?? embeddedZstdWasm });
}
