/**
 * The CPU of a large hit once its bytes have arrived, step by step, on both payload shapes (query
 * rows and order records), against what a Node service would do by hand with JSON: node:zlib's
 * native `gunzipSync` + `JSON.parse` of the same data (dates as ISO strings). Not part of
 * `npm run bench` (its summary, `read incl. verify`, is in codec.ts); this is the tool behind the
 * analysis: `npx tsx bench/read_steps.ts [size=10 MB|1 MB|100 KB|1 KB] [--rounds=15]`.
 *
 * Series are interleaved (order rotating each round) so that drift lands on all of them alike.
 * Each series also reports the garbage-collection time that fell inside its samples (V8's `gc`
 * performance entries, attributed by start time): a decoder that allocates less pays less here,
 * and some of a series' GC is garbage left by the one before it, so compare p50s first.
 *
 * @module
 */
import { gunzipSync, gzipSync } from "node:zlib";
import os from "node:os";
import process from "node:process";
import { PerformanceObserver } from "node:perf_hooks";
import { cborCodec } from "../src/codec/cbor.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { sha256 } from "../src/core/util/sha256.ts";
import { decodePayload, type PayloadConfig, startVerifying } from "../src/core/record/entry.ts";
import { makePayload, SHAPES, SIZES, withIsoDates } from "./_data.ts";
import { ms, ratio, summarize } from "./_measure.ts";

const sizeLabel = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "10 MB";
const size = SIZES.find((s) => s.label === sizeLabel);
if (size === undefined) throw new Error(`unknown size ${sizeLabel}; one of ${SIZES.map((s) => s.label).join(", ")}`);
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 15);

const gcEntries: { start: number; duration: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, duration: e.duration });
}).observe({ entryTypes: ["gc"] });

interface Step {
  readonly name: string;
  readonly run: () => unknown;
}

/** Interleaved rounds of `steps`; per step the p50, and the GC time inside its samples (median per sample). */
async function time(steps: readonly Step[]): Promise<Map<string, { p50: number; gc: number; gcMean: number }>> {
  const windows = new Map<string, [number, number][]>(steps.map((s) => [s.name, []]));
  const samples = new Map<string, number[]>(steps.map((s) => [s.name, []]));
  for (const s of steps) await s.run(); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[(round + i) % steps.length]!;
      const t0 = performance.now();
      await s.run();
      const t1 = performance.now();
      samples.get(s.name)!.push(t1 - t0);
      windows.get(s.name)!.push([t0, t1]);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the observer deliver the last entries
  const out = new Map<string, { p50: number; gc: number; gcMean: number }>();
  for (const s of steps) {
    const gcPerSample = windows.get(s.name)!.map(([t0, t1]) =>
      gcEntries.filter((e) => e.start >= t0 && e.start < t1).reduce((sum, e) => sum + e.duration, 0)
    );
    const gc = summarize(gcPerSample);
    out.set(s.name, { p50: summarize(samples.get(s.name)!).p50, gc: gc.p50, gcMean: gc.mean });
  }
  return out;
}

const cbor = cborCodec();
const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
const payloadConfig: PayloadConfig = {
  codec: cbor,
  compressor: zstd,
  codecs: { cbor },
  compressors: { zstd },
  minCompressBytes: 256,
  maxValueBytes: 1 << 30,
};
const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function webSha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

console.log(`${size.label} payloads, ${rounds} rounds, load average ${loadAverage()} (1 min, 2 cores)`);
for (const shape of SHAPES) {
  const value = makePayload(shape, size.bytes);
  const json = JSON.stringify(withIsoDates(value));
  const gz = gzipSync(json);
  const raw = cbor.encode(value);
  const stored = await zstd.compress(raw);
  const checksum = await webSha256Hex(stored);
  const steps: Step[] = [
    { name: "zstd decompress", run: () => zstd.decompress(stored, raw.length) },
    { name: "SHA-256 (WebCrypto)", run: () => webSha256Hex(stored) },
    { name: "SHA-256 (JS, core/sha256.ts)", run: () => hex(sha256(stored)) },
    { name: "cbor decode", run: () => cbor.decode(raw) },
    {
      name: "read: decompress + verify + decode",
      run: async () => {
        if (await webSha256Hex(stored) !== checksum) throw new Error("checksum");
        return cbor.decode(await zstd.decompress(stored, raw.length));
      },
    },
    {
      name: "read, decoded in WASM memory",
      run: async () => {
        if (await webSha256Hex(stored) !== checksum) throw new Error("checksum");
        return await zstd.decompressWith(stored, raw.length, (bytes) => cbor.decode(bytes));
      },
    },
    {
      name: "read, digest overlapping decode (core)",
      run: async () => {
        const record = { s: stored.length, h: checksum, n: raw.length, z: "zstd", c: "cbor" };
        const verified = startVerifying(record, stored);
        const { value } = await decodePayload(record, stored, payloadConfig);
        await verified;
        return value;
      },
    },
    { name: "gunzipSync (node:zlib)", run: () => gunzipSync(gz) },
    { name: "JSON.parse", run: () => JSON.parse(json) },
    { name: "reference: gunzipSync + JSON.parse", run: () => JSON.parse(gunzipSync(gz).toString("utf8")) },
  ];
  const results = await time(steps);
  console.log(
    `\n${shape}: JSON ${(json.length / 1e6).toFixed(2)} MB, gzip ${(gz.length / 1e6).toFixed(2)} MB; ` +
      `CBOR ${(raw.length / 1e6).toFixed(2)} MB, zstd ${(stored.length / 1e6).toFixed(2)} MB`,
  );
  for (const [name, r] of results) {
    console.log(
      `  ${name.padEnd(40)} p50 ${ms(r.p50).padStart(9)}   GC in sample p50 ${ms(r.gc).padStart(9)}, mean ${
        ms(r.gcMean).padStart(9)
      }`,
    );
  }
  const reference = results.get("reference: gunzipSync + JSON.parse")!.p50;
  for (
    const read of [
      "read: decompress + verify + decode",
      "read, decoded in WASM memory",
      "read, digest overlapping decode (core)",
    ]
  ) {
    console.log(`  ${read} / reference: ${ratio(results.get(read)!.p50 / reference)} (target ≤ 1.00×)`);
  }
}
console.log(`\nload average after: ${loadAverage()}`);

function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(2);
}
