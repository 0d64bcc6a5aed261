/**
 * Codec throughput on the same rows: CBOR+zstd (Larder's default, through src/codec) against
 * JSON+gzip (src/codec's json and gzip: web-standard CompressionStream), with node:zlib's gzip +
 * JSON as a second reference (what a Node service would do by hand). Rates are in MB of the
 * value's JSON text per second, so every column measures the same work.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { cborCodec } from "../src/codec/cbor.ts";
import { gzipCompressor } from "../src/codec/gzip.ts";
import { jsonCodec } from "../src/codec/json.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import type { Dataset } from "./_fixtures.ts";
import { toJsonRows } from "./_data.ts";
import { type Budget, measure, type Summary } from "./_measure.ts";

/** One format's figures at one size. */
export interface CodecFigures {
  /** Bytes stored (after compression). */
  readonly storedBytes: number;
  /** Encoded bytes before compression. */
  readonly encodedBytes: number;
  readonly write: Summary;
  readonly read: Summary;
}

/** Formats compared. */
export const FORMATS = [
  "cbor+zstd",
  "cbor+zstd (ISO date strings)",
  "json+gzip",
  "json+gzip (node:zlib)",
] as const;

/** Per size, per format. */
export type CodecResults = Record<string, Record<(typeof FORMATS)[number], CodecFigures>>;

/** Measures every format at every size. */
export async function runCodecs(
  datasets: readonly Dataset[],
  budgetFor: (label: string) => Budget,
): Promise<CodecResults> {
  const cbor = cborCodec();
  const json = jsonCodec();
  const zstd = zstdCompressor();
  const gzip = gzipCompressor();
  const results: Partial<CodecResults> = {};
  for (const { label, rows } of datasets) {
    const strings = toJsonRows(rows);
    const cborRaw = cbor.encode(rows);
    const cborZ = await zstd.compress(cborRaw);
    const cborStrRaw = cbor.encode(strings);
    const cborStrZ = await zstd.compress(cborStrRaw);
    const jsonRaw = json.encode(strings);
    const jsonZ = await gzip.compress(jsonRaw);
    const nodeZ = gzipSync(JSON.stringify(strings));
    const timings = await measure([
      { name: "cbor+zstd write", run: () => zstd.compress(cbor.encode(rows)) },
      { name: "cbor+zstd read", run: async () => cbor.decode(await zstd.decompress(cborZ, cborRaw.length)) },
      { name: "cbor+zstd (ISO date strings) write", run: () => zstd.compress(cbor.encode(strings)) },
      {
        name: "cbor+zstd (ISO date strings) read",
        run: async () => cbor.decode(await zstd.decompress(cborStrZ, cborStrRaw.length)),
      },
      { name: "json+gzip write", run: () => gzip.compress(json.encode(strings)) },
      { name: "json+gzip read", run: async () => json.decode(await gzip.decompress(jsonZ, jsonRaw.length)) },
      { name: "json+gzip (node:zlib) write", run: async () => gzipSync(JSON.stringify(strings)) },
      { name: "json+gzip (node:zlib) read", run: async () => JSON.parse(gunzipSync(nodeZ).toString("utf8")) },
    ], budgetFor(label));
    const figures = (format: string, stored: number, encoded: number): CodecFigures => ({
      storedBytes: stored,
      encodedBytes: encoded,
      write: timings[`${format} write`]!,
      read: timings[`${format} read`]!,
    });
    results[label] = {
      "cbor+zstd": figures("cbor+zstd", cborZ.length, cborRaw.length),
      "cbor+zstd (ISO date strings)": figures("cbor+zstd (ISO date strings)", cborStrZ.length, cborStrRaw.length),
      "json+gzip": figures("json+gzip", jsonZ.length, jsonRaw.length),
      "json+gzip (node:zlib)": figures("json+gzip (node:zlib)", nodeZ.length, jsonRaw.length),
    };
  }
  return results as CodecResults;
}
