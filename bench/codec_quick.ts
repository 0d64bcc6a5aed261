/**
 * Quick codec benchmark: CBOR+zstd against JSON+gzip on a ~10 MB rows value (query results:
 * `{ id, name, amount, date }`), and the cost of the validation walk.
 * Run: `npx tsx bench/codec_quick.ts` (Node). Throughput is in MB of the value's JSON size per second.
 *
 * @module
 */
import { Decoder, Encoder } from "cbor-x/index-no-eval";
import { validateValue } from "../src/codec/_validate.ts";
import { encodeCbor } from "../src/codec/_cbor_encode.ts";
import { CBOR_POLICY, cborCodec } from "../src/codec/cbor.ts";
import { gzipCompressor } from "../src/codec/gzip.ts";
import { jsonCodec } from "../src/codec/json.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { CBOR_X_OPTIONS } from "../test/helpers/cbor_x.ts";

const TARGET_BYTES = 10 * 1024 * 1024;
const ROUNDS = 7;

function rows(withDates: boolean): { rows: Record<string, unknown>[] } {
  const out: Record<string, unknown>[] = [];
  let size = 0;
  let seed = 42;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const names = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne"];
  for (let id = 1; size < TARGET_BYTES; id++) {
    const date = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 366 * 86400) * 1000);
    const row = {
      id,
      name: `${names[id % names.length]} ${Math.floor(random() * 100000)}`,
      amount: Math.round(random() * 1e7) / 100,
      date: withDates ? date : date.toISOString(),
    };
    size += JSON.stringify(row).length + 1;
    out.push(row);
  }
  return { rows: out };
}

function time(fn: () => unknown): number {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const withDates = rows(true);
const withStrings = rows(false);
const jsonBytes = new TextEncoder().encode(JSON.stringify(withStrings)).length;
const mb = jsonBytes / 1e6;
const rate = (ms: number, ownBytes?: number): string =>
  `${(mb / (ms / 1000)).toFixed(0)} MB/s (${ms.toFixed(1)} ms)` +
  (ownBytes === undefined ? "" : `, ${(ownBytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s of its own input/output`);

const cbor = cborCodec();
const json = jsonCodec();
const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
const gzip = gzipCompressor();
const cborx = new Encoder({ ...CBOR_X_OPTIONS });
const cborxDecoder = new Decoder({ ...CBOR_X_OPTIONS });

await zstd.compress(new Uint8Array(1)); // load the WASM outside the timings

const cborBytes = cbor.encode(withDates);
const jsonEncoded = json.encode(withStrings);
const zstdBytes = await zstd.compress(cborBytes);
const gzipBytes = await gzip.compress(jsonEncoded);

console.log(`value: ${withDates.rows.length} rows, ${(jsonBytes / 1e6).toFixed(2)} MB as JSON`);
console.log(
  `cbor ${(cborBytes.length / 1e6).toFixed(2)} MB -> zstd-3 ${(zstdBytes.length / 1e6).toFixed(2)} MB (${
    (cborBytes.length / zstdBytes.length).toFixed(1)
  }x)`,
);
console.log(
  `json ${(jsonEncoded.length / 1e6).toFixed(2)} MB -> gzip ${(gzipBytes.length / 1e6).toFixed(2)} MB (${
    (jsonEncoded.length / gzipBytes.length).toFixed(1)
  }x)`,
);
console.log("");
console.log(`cbor encode alone (no walk):        ${rate(time(() => encodeCbor(withDates)))}`);
console.log(`cbor-x encode, no walk, no copy:    ${rate(time(() => cborx.encode(withDates)))}`);
console.log(`validation walk alone (cbor policy): ${rate(time(() => validateValue(withDates, CBOR_POLICY)))}`);
console.log(`cbor encode (walk + encode + copy): ${rate(time(() => cbor.encode(withDates)))}`);
console.log(`json encode (walk + stringify):     ${rate(time(() => json.encode(withStrings)))}`);
console.log(
  `JSON.stringify + TextEncoder alone: ${rate(time(() => new TextEncoder().encode(JSON.stringify(withStrings))))}`,
);
console.log(
  `zstd-3 compress:                    ${rate(await timeAsync(() => zstd.compress(cborBytes)), cborBytes.length)}`,
);
console.log(
  `gzip compress:                      ${rate(await timeAsync(() => gzip.compress(jsonEncoded)), jsonEncoded.length)}`,
);
console.log(
  `zstd decompress:                    ${
    rate(await timeAsync(() => zstd.decompress(zstdBytes, cborBytes.length)), cborBytes.length)
  }`,
);
console.log(
  `gzip decompress:                    ${
    rate(await timeAsync(() => gzip.decompress(gzipBytes, jsonEncoded.length)), jsonEncoded.length)
  }`,
);
console.log(`cbor decode:                        ${rate(time(() => cbor.decode(cborBytes)))}`);
console.log(`cbor-x decode (same bytes):         ${rate(time(() => cborxDecoder.decode(cborBytes)))}`);
console.log(`json decode:                        ${rate(time(() => json.decode(jsonEncoded)))}`);
console.log("");
const cborWrite = await timeAsync(() => zstd.compress(cbor.encode(withDates)));
const jsonWrite = await timeAsync(() => gzip.compress(json.encode(withStrings)));
const cborRead = await timeAsync(async () => cbor.decode(await zstd.decompress(zstdBytes, cborBytes.length)));
const jsonRead = await timeAsync(async () => json.decode(await gzip.decompress(gzipBytes, jsonEncoded.length)));
console.log(`CBOR+zstd  encode+compress: ${rate(cborWrite)}   decompress+decode: ${rate(cborRead)}`);
console.log(`JSON+gzip  encode+compress: ${rate(jsonWrite)}   decompress+decode: ${rate(jsonRead)}`);
