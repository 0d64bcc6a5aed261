/**
 * The value path's three options, in this process alone (no services: what is measured is CPU):
 *
 * - **Arrow tables** (`larder/arrow`): the 10 MB query rows of `_data.ts` as an Arrow `Table`
 *   (Int32 ids, Float64 amounts, millisecond timestamps, strings as apache-arrow's helpers build
 *   them: dictionaries) against the same rows as CBOR (Larder's default, row shapes on): encoded
 *   and stored (zstd) sizes, encode + compress, and decompress + decode through the core's own
 *   functions (`encodePayload`/`decodePayload`, record/entry.ts) — and, since a decoded table is
 *   columns not yet read, decode + one pass over a column (sum of `amount`) on both, and the
 *   table's `toArray()` (its rows as objects).
 * - **Schemas on read**: a hit from the in-process store (`createCache()`'s embedded default: a
 *   hit decompresses and decodes, no network) with no schema, with zod 4 and with valibot 1 (an
 *   array of row objects), at 1 KB and 1 MB, interleaved in the same rounds; and the same from the
 *   in-process tier (`memory`, default mode), where the validator is nearly all of a hit.
 * - **Encryption** (`encryption`): `set` (encode, compress, seal, checksum, store) and `get`
 *   (verify, open, decompress, decode) with and without a key, at 1 KB and 1 MB, interleaved.
 *
 * Not part of `npm run bench`: `npx tsx bench/values.ts [--quick]`. Ratios within one run are what
 * to read (the machine is shared).
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { Table, TimestampMillisecond, vectorFromArray } from "apache-arrow";
import * as v from "valibot";
import { z } from "zod";
import { createCache } from "../mod.ts";
import { arrowCodec } from "../src/codec/arrow.ts";
import { cborCodec } from "../src/codec/cbor.ts";
import { noCompression } from "../src/codec/none.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { decodePayload, encodePayload, type PayloadConfig } from "../src/core/record/entry.ts";
import { makeRows, type Row } from "./_data.ts";
import { type Budget, measure, type Summary } from "./_measure.ts";

const quick = process.argv.includes("--quick");
const budget = (big: boolean): Budget =>
  quick
    ? { warmup: 1, min: 3, max: 3, ms: 0 }
    : big
    ? { warmup: 3, min: 15, max: 40, ms: 6000 }
    : { warmup: 50, min: 300, max: 3000, ms: 2000 };
const ms = (s: Summary): string => (s.p50 >= 1 ? `${s.p50.toFixed(2)} ms` : `${(s.p50 * 1000).toFixed(1)} µs`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
const ratio = (a: Summary, b: Summary): string => `${(a.p50 / b.p50).toFixed(2)}×`;
const row = (cells: readonly string[], widths: readonly number[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join("");

console.log(
  `load average ${os.loadavg()[0]!.toFixed(2)} (1 min, ${os.cpus().length} cores)${quick ? ", --quick" : ""}`,
);

// ---------------------------------------------------------------------------------------------
// Arrow table vs CBOR rows, 10 MB of JSON text.

const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
const arrow = arrowCodec();
const cbor = cborCodec();
const config: PayloadConfig = {
  codec: cbor,
  compressor: zstd,
  codecs: { cbor, arrow },
  extensions: [arrow],
  compressors: { zstd, none: noCompression() },
  minCompressBytes: 256,
  maxValueBytes: 256 * 1024 * 1024,
};

/** The rows as one Arrow table, columns typed as a query engine would return them. */
function tableOf(rows: readonly Row[]): Table {
  return new Table({
    id: vectorFromArray(Int32Array.from(rows, (r) => r.id)),
    customer: vectorFromArray(rows.map((r) => r.customer)),
    region: vectorFromArray(rows.map((r) => r.region)),
    amount: vectorFromArray(Float64Array.from(rows, (r) => r.amount)),
    currency: vectorFromArray(rows.map((r) => r.currency)),
    date: vectorFromArray(rows.map((r) => r.date.getTime()), new TimestampMillisecond()),
  });
}

const rows10 = makeRows(10 * 1024 * 1024);
const table10 = tableOf(rows10);
const [cborPayload, arrowPayload] = [await encodePayload(rows10, config), await encodePayload(table10, config)];
if (cborPayload.codec !== "cbor" || arrowPayload.codec !== "arrow") throw new Error("not the codecs expected");
const recordOf = (p: typeof cborPayload) => ({ c: p.codec, z: p.compression, n: p.raw.length });
const decoded = async (p: typeof cborPayload) => (await decodePayload(recordOf(p), p.bytes, config)).value;
const sumRows = (value: unknown): number => (value as Row[]).reduce((sum, r) => sum + r.amount, 0);
const sumTable = (value: unknown): number => {
  // A column read as what it is: a Float64Array (one view per record batch).
  const amounts = (value as Table).getChild("amount")!.toArray() as Float64Array;
  let sum = 0;
  for (let i = 0; i < amounts.length; i++) sum += amounts[i]!;
  return sum;
};
if (Math.abs(sumRows(await decoded(cborPayload)) - sumTable(await decoded(arrowPayload))) > 1e-3) {
  throw new Error("the table and the rows do not hold the same amounts");
}
const codecTimes = await measure([
  { name: "cbor write", run: () => encodePayload(rows10, config) },
  { name: "arrow write", run: () => encodePayload(table10, config) },
  { name: "cbor read", run: () => decoded(cborPayload) },
  { name: "arrow read", run: () => decoded(arrowPayload) },
  { name: "cbor read+sum", run: async () => sumRows(await decoded(cborPayload)) },
  { name: "arrow read+sum", run: async () => sumTable(await decoded(arrowPayload)) },
  { name: "arrow read+toArray", run: async () => ((await decoded(arrowPayload)) as Table).toArray() },
], budget(true));
const t = (name: string): Summary => codecTimes[name]!;
console.log(`\nArrow table vs CBOR rows: ${rows10.length} rows, ${mb(JSON.stringify(rows10).length)} of JSON, p50`);
const w1 = [22, 12, 12, 14, 14, 16, 18];
console.log(row(["", "encoded", "stored", "write", "read", "read + sum", "read + toArray"], w1));
console.log(row([
  "CBOR rows",
  mb(cborPayload.raw.length),
  mb(cborPayload.bytes.length),
  ms(t("cbor write")),
  ms(t("cbor read")),
  ms(t("cbor read+sum")),
  "",
], w1));
console.log(row([
  "Arrow table (IPC)",
  mb(arrowPayload.raw.length),
  mb(arrowPayload.bytes.length),
  ms(t("arrow write")),
  ms(t("arrow read")),
  ms(t("arrow read+sum")),
  ms(t("arrow read+toArray")),
], w1));
console.log(row([
  "Arrow / CBOR",
  `${(arrowPayload.raw.length / cborPayload.raw.length).toFixed(2)}×`,
  `${(arrowPayload.bytes.length / cborPayload.bytes.length).toFixed(2)}×`,
  ratio(t("arrow write"), t("cbor write")),
  ratio(t("arrow read"), t("cbor read")),
  ratio(t("arrow read+sum"), t("cbor read+sum")),
  "",
], w1));

// ---------------------------------------------------------------------------------------------
// Schema validation on the hit path.

const JsonRowZod = z.array(z.object({
  id: z.number(),
  customer: z.string(),
  region: z.string(),
  amount: z.number(),
  currency: z.string(),
  date: z.date(),
}));
const JsonRowValibot = v.array(v.object({
  id: v.number(),
  customer: v.string(),
  region: v.string(),
  amount: v.number(),
  currency: v.string(),
  date: v.date(),
}));
const schemas = { none: undefined, zod: JsonRowZod, valibot: JsonRowValibot } as const;

console.log("\nSchema on read: hit latency, p50 (ratio to no schema)");
const w2 = [34, 16, 22, 22];
console.log(row(["", "no schema", "zod 4", "valibot 1"], w2));
for (const [label, bytes] of [["1 KB", 1024], ["1 MB", 1024 * 1024]] as const) {
  const rows = makeRows(bytes);
  for (const memory of [false, true]) {
    const series = Object.entries(schemas).map(([name, schema]) => {
      const cache = createCache({ memory: memory ? { maxBytes: 1 << 30, ttl: "1h" } : false });
      const wrapped = cache.wrap(async (_i: number) => rows, { name: "rows", ...(schema ? { schema } : {}) });
      return { name, cache, wrapped };
    });
    for (const s of series) {
      await s.wrapped(0);
      await s.cache.flush();
    }
    const times = await measure(series.map((s) => ({ name: s.name, run: () => s.wrapped(0) })), budget(bytes > 1024));
    for (const s of series) {
      const hits = s.cache.stats().hits;
      if ((memory ? hits.memory : hits.inline + hits.blob) < times[s.name]!.n) throw new Error("not all hits");
    }
    const none = times.none!;
    console.log(row([
      `${label} rows, ${memory ? "in-process tier" : "in-process store"}`,
      ms(none),
      `${ms(times.zod!)} (${ratio(times.zod!, none)})`,
      `${ms(times.valibot!)} (${ratio(times.valibot!, none)})`,
    ], w2));
  }
}

// ---------------------------------------------------------------------------------------------
// Encryption.

console.log("\nEncryption (AES-256-GCM, Web Crypto): in-process store, p50 (ratio to no encryption)");
const w3 = [16, 14, 22, 14, 22];
console.log(row(["", "set, plain", "set, encrypted", "get, plain", "get, encrypted"], w3));
const key = crypto.getRandomValues(new Uint8Array(32));
for (const [label, bytes] of [["1 KB", 1024], ["1 MB", 1024 * 1024]] as const) {
  const rows = makeRows(bytes);
  const plain = createCache();
  const sealed = createCache({ encryption: { keys: { k1: key }, current: "k1" } });
  await plain.set("rows", rows);
  await sealed.set("rows", rows);
  const times = await measure([
    { name: "set plain", run: () => plain.set("w", rows) },
    { name: "set sealed", run: () => sealed.set("w", rows) },
    { name: "get plain", run: () => plain.get("rows") },
    { name: "get sealed", run: () => sealed.get("rows") },
  ], budget(bytes > 1024));
  if (sealed.stats().hits.total < times["get sealed"]!.n) throw new Error("not all hits");
  const x = (name: string): Summary => times[name]!;
  console.log(row([
    `${label} rows`,
    ms(x("set plain")),
    `${ms(x("set sealed"))} (${ratio(x("set sealed"), x("set plain"))})`,
    ms(x("get plain")),
    `${ms(x("get sealed"))} (${ratio(x("get sealed"), x("get plain"))})`,
  ], w3));
}
console.log(`\nload average after: ${os.loadavg()[0]!.toFixed(2)}`);
