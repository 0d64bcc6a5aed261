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
import { INITIAL, sha256, sha256Blocks } from "../src/core/util/sha256.ts";
import { ms } from "./_measure.ts";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 15);

/**
 * An incremental SHA-256 (FIPS 180-4): `update` with chunks as they arrive, then `digest`. Blocks
 * are read from the chunks themselves (only a block split across two chunks is copied) by the
 * core's own compression function.
 */
class IncrementalSha256 {
  readonly #h = Int32Array.from(INITIAL);
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
    sha256Blocks(this.#h, b.subarray(from), to - from);
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
