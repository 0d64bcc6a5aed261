/**
 * The evidence behind the benchmark's analysis (not part of `npm run bench`):
 * `npx tsx bench/whatif.ts`. Each experiment changes one thing from the outside — nothing in
 * src/ — and measures it interleaved with the unchanged path, on the same services:
 *
 * 1. 1 KB inline hit and in-process hit, as shipped, against the same hit with SHA-256
 *    computed synchronously (node:crypto behind `crypto.subtle.digest`: what a small sync
 *    SHA-256 in the core would give).
 * 2. 1 MB S3 hit through `wrap` against the same steps written by hand (both GETs together,
 *    checksum, zstd, CBOR): what Larder adds beyond the work itself.
 * 3. CPU per request (process.cpuUsage) of a bare GET and of a 1 KB inline hit.
 *
 * @module
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { sha256Hex } from "../src/core/util/bytes.ts";
import { cborCodec } from "../src/codec/cbor.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { makeRows } from "./_data.ts";
import { entryKeys, tierCache } from "./_fixtures.ts";
import { floors } from "./_floors.ts";
import { measure, ms, type Summary } from "./_measure.ts";
import { startBenchServices } from "./_services.ts";

// A switchable synchronous SHA-256 behind WebCrypto's digest, so both variants run interleaved.
let syncSha = false;
const subtle = globalThis.crypto.subtle as unknown as {
  digest: (algorithm: string, data: Uint8Array) => Promise<ArrayBuffer>;
};
const webDigest = subtle.digest.bind(subtle);
subtle.digest = (algorithm, data) => {
  if (!syncSha) return webDigest(algorithm, data);
  const hash = createHash("sha256").update(data).digest();
  return Promise.resolve(hash.buffer.slice(hash.byteOffset, hash.byteOffset + 32) as ArrayBuffer);
};

function line(name: string, s: Summary): string {
  return `  ${name.padEnd(44)} p50 ${ms(s.p50).padStart(9)}   p95 ${ms(s.p95).padStart(9)}   n ${s.n}`;
}

const services = await startBenchServices();
try {
  const env = services.env;
  const bare = floors(env);
  const run = `whatif-${Date.now().toString(36)}`;
  const small = [{ label: "1 KB", size: "1 KB", shape: "rows" as const, jsonBytes: 1024, rows: makeRows(1024) }];
  const inline = tierCache(env, `${run}-in`, "inline", small);
  const memory = tierCache(env, `${run}-mem`, "memory", small);
  for (const t of [inline, memory]) {
    await t.rows("1 KB", 0);
    await t.cache.flush();
  }
  const record = (await entryKeys(`${run}-in`, "1 KB")).record;

  console.log("1. 1 KB inline hit (loopback), interleaved:");
  const sha = (on: boolean) => () => void (syncSha = on);
  const small1 = await measure([
    { name: "bare store GET", run: () => bare.storeGet(record), prepare: sha(false) },
    { name: "hit, as shipped", run: () => inline.rows("1 KB", 0), prepare: sha(false) },
    { name: "hit, sync SHA-256", run: () => inline.rows("1 KB", 0), prepare: sha(true) },
  ], { warmup: 200, min: 1500, max: 1500, ms: 1e9 });
  for (const [name, s] of Object.entries(small1)) console.log(line(name, s));

  console.log("   in-process tier, 1 KB:");
  const mem = await measure([
    { name: "in-process hit, as shipped", run: () => memory.rows("1 KB", 0), prepare: sha(false) },
    { name: "in-process hit, sync SHA-256", run: () => memory.rows("1 KB", 0), prepare: sha(true) },
  ], { warmup: 2000, min: 20_000, max: 20_000, ms: 1e9 });
  for (const [name, s] of Object.entries(mem)) console.log(line(name, s));
  syncSha = false;

  console.log("2. 1 MB S3 hit: wrap against the same steps by hand, interleaved:");
  const mb = [{ label: "1 MB", size: "1 MB", shape: "rows" as const, jsonBytes: 1 << 20, rows: makeRows(1 << 20) }];
  const s3 = tierCache(env, `${run}-s3`, "s3", mb);
  await s3.rows("1 MB", 0);
  await s3.cache.flush();
  const keys = await entryKeys(`${run}-s3`, "1 MB");
  const cbor = cborCodec();
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
  const payload = await bare.s3Get(keys.blob);
  const rawBytes = (JSON.parse((await bare.storeGet(keys.record))!) as { n: number }).n;
  const byHand = async (): Promise<unknown> => {
    const [, body] = await Promise.all([bare.storeGet(keys.record), bare.s3Get(keys.blob)]);
    await sha256Hex(body);
    return cbor.decode(await zstd.decompress(body, rawBytes));
  };
  const big = await measure([
    { name: "hit through wrap", run: () => s3.rows("1 MB", 0) },
    { name: "the same steps by hand", run: byHand },
    { name: "both GETs together", run: () => Promise.all([bare.storeGet(keys.record), bare.s3Get(keys.blob)]) },
    { name: "S3 GET alone", run: () => bare.s3Get(keys.blob) },
    { name: "decode alone (zstd + CBOR)", run: async () => cbor.decode(await zstd.decompress(payload, rawBytes)) },
  ], { warmup: 5, min: 80, max: 80, ms: 1e9 });
  for (const [name, s] of Object.entries(big)) console.log(line(name, s));

  console.log("3. CPU per request in this process (3000 back to back):");
  for (
    const [name, op] of [
      ["bare store GET", () => bare.storeGet(record)],
      ["1 KB inline hit, as shipped", () => inline.rows("1 KB", 0)],
    ] as const
  ) {
    for (let i = 0; i < 300; i++) await op();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < 3000; i++) await op();
    const used = process.cpuUsage(cpu);
    const wall = (performance.now() - started) / 3000;
    console.log(
      `  ${name.padEnd(44)} wall ${ms(wall).padStart(9)}   CPU ${ms((used.user + used.system) / 3000 / 1000)}`,
    );
  }
} finally {
  await services.stop();
}
