/**
 * Codec throughput on the same values, for each payload shape (query rows, order records):
 * CBOR+zstd (Larder's default, through src/codec: with row shapes, and with them off as earlier
 * versions wrote) against JSON+gzip (src/codec's json and gzip: web-standard CompressionStream),
 * with node:zlib's gzip + JSON as a second reference (what a Node service would do by hand). Rates
 * are in MB of the value's JSON text per second, so every column measures the same work.
 *
 * Three rows are there to inform choices, not what Larder does by default: JSON+zstd (the `json`
 * codec with zstd, which Larder offers), CBOR+zstd through cbor-x 1.6 (the codec Larder used
 * before its own, same bytes as row shapes off; a devDependency only; its write is cbor-x's encode
 * alone, without the validation walk the cbor codec does first) and CBOR+zstd through cbor-x with
 * its record extension on (the format row shapes write, there the top-level object too; cbor-x's
 * decoder builds objects with generated code, which Workers forbid, hence the no-eval entry here).
 *
 * For CBOR+zstd and the node:zlib reference, `readVerified` is what a hit does with the stored
 * bytes, through the core's own functions (record/entry.ts): the SHA-256 of the payload started
 * (WebCrypto past 4 KiB, on another thread), decompress and decode in one pass meanwhile (decoded
 * where zstd wrote it), and the checksum compared before the value is let out. The reference does
 * the same work without a checksum (JSON has none), so the ratio of the two is the target
 * "decompress + verify + decode ≤ 1.0 × gunzip + JSON.parse".
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { Decoder, Encoder } from "cbor-x/index-no-eval";
import { cborCodec } from "../src/codec/cbor.ts";
import { decodePayload, type PayloadConfig, startVerifying } from "../src/core/record/entry.ts";
import { gzipCompressor } from "../src/codec/gzip.ts";
import { jsonCodec } from "../src/codec/json.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { type Shape, withIsoDates } from "./_data.ts";
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
  /** Checksum (SHA-256 of the stored bytes, compared), decompress, decode: a hit's CPU once the bytes are in. */
  readonly readVerified?: Summary;
}

/** One payload to measure: its shape, size label, JSON size and the value (with `Date`s). */
export interface CodecDataset {
  readonly shape: Shape;
  readonly label: string;
  readonly jsonBytes: number;
  readonly value: unknown;
}

/** Formats compared. */
export const FORMATS = [
  "cbor+zstd",
  "cbor+zstd, row shapes off",
  "cbor+zstd (ISO date strings)",
  "json+gzip",
  "json+gzip (node:zlib)",
  "json+zstd",
  "cbor+zstd through cbor-x (earlier codec)",
  "cbor+zstd through cbor-x, records on",
] as const;

/** Per shape, per size, per format. */
export type CodecResults = Record<string, Record<string, Record<(typeof FORMATS)[number], CodecFigures>>>;

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 of `bytes` through WebCrypto, hex: what the core's sha256Hex does for payloads over 4 KiB. */
async function checksum(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

/** Measures every format at every size of every shape. */
export async function runCodecs(
  datasets: readonly CodecDataset[],
  budgetFor: (label: string) => Budget,
): Promise<CodecResults> {
  const cbor = cborCodec();
  const plain = cborCodec({ rowShapes: false });
  const json = jsonCodec();
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
  const gzip = gzipCompressor();
  const payload: PayloadConfig = {
    codec: cbor,
    compressor: zstd,
    codecs: { cbor },
    compressors: { zstd },
    minCompressBytes: 256,
    maxValueBytes: 1 << 30,
  };
  const results: CodecResults = {};
  for (const { shape, label, value: rows } of datasets) {
    const strings = withIsoDates(rows);
    const cborRaw = cbor.encode(rows);
    const cborZ = await zstd.compress(cborRaw);
    const plainRaw = plain.encode(rows);
    const plainZ = await zstd.compress(plainRaw);
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
    const cborSum = await checksum(cborZ);
    const timings = await measure([
      { name: "cbor+zstd write", run: () => zstd.compress(cbor.encode(rows)) },
      { name: "cbor+zstd read", run: async () => cbor.decode(await zstd.decompress(cborZ, cborRaw.length)) },
      {
        name: "cbor+zstd read verified",
        run: async () => {
          const record = { s: cborZ.length, h: cborSum, n: cborRaw.length, z: "zstd", c: "cbor" };
          const verified = startVerifying(record, cborZ);
          const { value } = await decodePayload(record, cborZ, payload);
          await verified;
          return value;
        },
      },
      { name: "cbor+zstd, row shapes off write", run: () => zstd.compress(plain.encode(rows)) },
      {
        name: "cbor+zstd, row shapes off read",
        run: async () => cbor.decode(await zstd.decompress(plainZ, plainRaw.length)),
      },
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
        run: async () => cborxDecoder.decode(await zstd.decompress(plainZ, plainRaw.length)),
      },
      {
        name: "cbor+zstd through cbor-x, records on write",
        run: () => zstd.compress(new Uint8Array(recordsEncoder.encode(rows))),
      },
      {
        name: "cbor+zstd through cbor-x, records on read",
        run: async () => recordsDecoder.decode(await zstd.decompress(recordsZ, recordsRaw.length)),
      },
    ], budgetFor(label));
    const figures = (format: string, stored: number, encoded: number): CodecFigures => ({
      storedBytes: stored,
      encodedBytes: encoded,
      write: timings[`${format} write`]!,
      read: timings[`${format} read`]!,
    });
    const byLabel = results[shape] ??= {};
    byLabel[label] = {
      "cbor+zstd": {
        ...figures("cbor+zstd", cborZ.length, cborRaw.length),
        readVerified: timings["cbor+zstd read verified"]!,
      },
      "cbor+zstd, row shapes off": figures("cbor+zstd, row shapes off", plainZ.length, plainRaw.length),
      "cbor+zstd (ISO date strings)": figures("cbor+zstd (ISO date strings)", cborStrZ.length, cborStrRaw.length),
      "json+gzip": figures("json+gzip", jsonZ.length, jsonRaw.length),
      // JSON carries no checksum: the reference's verified read is its read.
      "json+gzip (node:zlib)": {
        ...figures("json+gzip (node:zlib)", nodeZ.length, jsonRaw.length),
        readVerified: timings["json+gzip (node:zlib) read"]!,
      },
      "json+zstd": figures("json+zstd", jsonZstd.length, jsonRaw.length),
      "cbor+zstd through cbor-x (earlier codec)": figures(
        "cbor+zstd through cbor-x (earlier codec)",
        plainZ.length,
        plainRaw.length,
      ),
      "cbor+zstd through cbor-x, records on": figures(
        "cbor+zstd through cbor-x, records on",
        recordsZ.length,
        recordsRaw.length,
      ),
    };
  }
  return results;
}
