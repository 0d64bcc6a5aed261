/**
 * SHA-256 of key material and stored payloads, 256 B to 10 MiB: the core's synchronous JavaScript implementation
 * (`src/core/sha256.ts`, used up to 4 KiB), WebCrypto's `digest` (what the core uses above that:
 * asynchronous, a thread-pool hop in Node), Node's native `createHash` (the floor), and an
 * incremental JavaScript hasher written here to see what verifying a body while it streams in
 * would cost (WebCrypto has no incremental digest). Not part of `npm run bench`:
 * `npx tsx bench/sha256.ts [--rounds=15]`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import os from "node:os";
import process from "node:process";
import { sha256 } from "../src/core/util/sha256.ts";
import { ms } from "./_measure.ts";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 15);

const K = Int32Array.from([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/**
 * An incremental SHA-256 (FIPS 180-4): `update` with chunks as they arrive, then `digest`. Blocks
 * are read from the chunks themselves (only a block split across two chunks is copied), with
 * 32-bit integer arithmetic throughout.
 */
class IncrementalSha256 {
  readonly #h = Int32Array.from([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  readonly #w = new Int32Array(64);
  readonly #partial = new Uint8Array(64);
  #partialLength = 0;
  #length = 0;

  update(chunk: Uint8Array): this {
    this.#length += chunk.length;
    let at = 0;
    if (this.#partialLength > 0) {
      const take = Math.min(64 - this.#partialLength, chunk.length);
      this.#partial.set(chunk.subarray(0, take), this.#partialLength);
      this.#partialLength += take;
      at = take;
      if (this.#partialLength < 64) return this;
      this.#blocks(this.#partial, 0, 64);
      this.#partialLength = 0;
    }
    const whole = at + ((chunk.length - at) & ~63);
    this.#blocks(chunk, at, whole);
    this.#partial.set(chunk.subarray(whole));
    this.#partialLength = chunk.length - whole;
    return this;
  }

  digest(): Uint8Array {
    const bits = this.#length * 8;
    const tail = new Uint8Array(this.#partialLength < 56 ? 64 : 128);
    tail.set(this.#partial.subarray(0, this.#partialLength));
    tail[this.#partialLength] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x1_0000_0000));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.#blocks(tail, 0, tail.length);
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setInt32(i * 4, this.#h[i]!);
    return out;
  }

  #blocks(b: Uint8Array, from: number, to: number): void {
    const w = this.#w;
    const h = this.#h;
    let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!;
    for (let p = from; p < to; p += 64) {
      for (let t = 0; t < 16; t++) {
        const i = p + t * 4;
        w[t] = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
      }
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15]!;
        const y = w[t - 2]!;
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
      }
      let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let t = 0; t < 64; t++) {
        const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
        const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (s0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = bb;
        bb = a;
        a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + bb) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + hh) | 0;
    }
    h[0] = h0, h[1] = h1, h[2] = h2, h[3] = h3, h[4] = h4, h[5] = h5, h[6] = h6, h[7] = h7;
  }
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const SIZES = [256, 1024, 4096, 16 * 1024, 64 * 1024, 1 << 20, 2 << 20, 5 << 20, 10 << 20];
const CHUNK = 64 * 1024;

console.log(`load average ${os.loadavg()[0]!.toFixed(2)} (1 min, 2 cores), ${rounds} rounds, p50 (MB/s)`);
console.log(
  ["size", "core JS (one shot)", "WebCrypto digest", "node:crypto", "incremental JS, 64 KiB chunks"]
    .map((s, i) => (i === 0 ? s.padEnd(8) : s.padStart(i === 4 ? 32 : 22)))
    .join(""),
);
for (const size of SIZES) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 2654435761) >>> 24);
  const expected = createHash("sha256").update(bytes).digest("hex");
  const series: [string, () => Promise<string> | string][] = [
    ["core", () => hex(sha256(bytes))],
    ["webcrypto", async () => hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))],
    ["node", () => createHash("sha256").update(bytes).digest("hex")],
    ["incremental", () => {
      const hasher = new IncrementalSha256();
      for (let at = 0; at < size; at += CHUNK) hasher.update(bytes.subarray(at, at + CHUNK));
      return hex(hasher.digest());
    }],
  ];
  const times = new Map<string, number[]>(series.map(([name]) => [name, []]));
  // Small inputs take microseconds: many more rounds, and a long warm-up so each is compiled.
  const small = size <= 16 * 1024;
  const warmup = small ? 200 : 2;
  const n = small ? rounds * 40 : rounds;
  for (let round = -warmup; round < n; round++) {
    for (let i = 0; i < series.length; i++) {
      const [name, run] = series[(round + warmup + i) % series.length]!;
      const t0 = performance.now();
      const digest = await run();
      const elapsed = performance.now() - t0;
      if (digest !== expected) throw new Error(`${name}: wrong digest at ${size} bytes`);
      if (round >= 0) times.get(name)!.push(elapsed);
    }
  }
  const cell = (name: string, width: number): string => {
    const t = median(times.get(name)!);
    return `${ms(t)} (${(size / 1e6 / (t / 1000)).toFixed(0)})`.padStart(width);
  };
  const label = size >= 1 << 20 ? `${size / (1 << 20)} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  console.log(
    label.padEnd(8) + cell("core", 22) + cell("webcrypto", 22) + cell("node", 22) + cell("incremental", 32),
  );
}
