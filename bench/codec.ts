/**
 * Codec throughput on the same rows: CBOR+zstd (Larder's default, through src/codec) against
 * JSON+gzip (src/codec's json and gzip: web-standard CompressionStream), with node:zlib's gzip +
 * JSON as a second reference (what a Node service would do by hand). Rates are in MB of the
 * value's JSON text per second, so every column measures the same work.
 *
 * Three rows are there to inform choices, not what Larder does by default: JSON+zstd (the `json`
 * codec with zstd, which Larder offers), CBOR+zstd through cbor-x 1.6 (the codec Larder used
 * before its own, same bytes; a devDependency only; its write is cbor-x's encode alone, without the
 * validation walk the cbor codec does first) and CBOR+zstd with cbor-x's record extension on (not
 * offered: records are a cbor-x extension, not plain CBOR).
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { Decoder, Encoder } from "cbor-x/index-no-eval";
import { cborCodec } from "../src/codec/cbor.ts";
import { gzipCompressor } from "../src/codec/gzip.ts";
import { jsonCodec } from "../src/codec/json.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import type { Dataset } from "./_fixtures.ts";
import { toJsonRows } from "./_data.ts";
import { type Budget, measure, type Summary } from "./_measure.ts";
import { CBOR_X_OPTIONS as CBOR_OPTIONS } from "../test/helpers/cbor_x.ts";

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
  "json+zstd",
  "cbor+zstd through cbor-x (earlier codec)",
  "cbor+zstd, cbor-x records on (not shipped)",
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
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
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
    const jsonZstd = await zstd.compress(jsonRaw);
    const cborxEncoder = new Encoder({ ...CBOR_OPTIONS });
    const cborxDecoder = new Decoder({ ...CBOR_OPTIONS });
    const recordsEncoder = new Encoder({ ...CBOR_OPTIONS, useRecords: true });
    const recordsDecoder = new Decoder({ ...CBOR_OPTIONS, useRecords: true });
    const recordsRaw = recordsEncoder.encode(rows);
    const recordsZ = await zstd.compress(recordsRaw);
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
      { name: "json+zstd write", run: () => zstd.compress(json.encode(strings)) },
      { name: "json+zstd read", run: async () => json.decode(await zstd.decompress(jsonZstd, jsonRaw.length)) },
      {
        name: "cbor+zstd through cbor-x (earlier codec) write",
        run: () => zstd.compress(new Uint8Array(cborxEncoder.encode(rows))),
      },
      {
        name: "cbor+zstd through cbor-x (earlier codec) read",
        run: async () => cborxDecoder.decode(await zstd.decompress(cborZ, cborRaw.length)),
      },
      {
        name: "cbor+zstd, cbor-x records on (not shipped) write",
        run: () => zstd.compress(new Uint8Array(recordsEncoder.encode(rows))),
      },
      {
        name: "cbor+zstd, cbor-x records on (not shipped) read",
        run: async () => recordsDecoder.decode(await zstd.decompress(recordsZ, recordsRaw.length)),
      },
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
      "json+zstd": figures("json+zstd", jsonZstd.length, jsonRaw.length),
      "cbor+zstd through cbor-x (earlier codec)": figures(
        "cbor+zstd through cbor-x (earlier codec)",
        cborZ.length,
        cborRaw.length,
      ),
      "cbor+zstd, cbor-x records on (not shipped)": figures(
        "cbor+zstd, cbor-x records on (not shipped)",
        recordsZ.length,
        recordsRaw.length,
      ),
    };
  }
  return results as CodecResults;
}
