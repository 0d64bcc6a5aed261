/**
 * The in-process tier's two modes on both payload shapes, in this process alone (no services): a
 * hit in the default mode (decodes its own copy) and in `memory.shared` (the one deep-frozen
 * value), and what sharing costs off the caller's path: decoding once more and deep-freezing
 * (util/deep_freeze.ts), and the heap the shared value holds against the tier's estimate of it.
 * Not part of `npm run bench` (its hit figures are in hits.ts):
 * `node --expose-gc --import tsx bench/shared_tier.ts [--rounds=15]`.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { createCache } from "../mod.ts";
import { cborCodec } from "../src/codec/cbor.ts";
import { deepFreeze } from "../src/core/util/deep_freeze.ts";
import { makePayload, SHAPES, SIZES } from "./_data.ts";
import { ms, summarize } from "./_measure.ts";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 15);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const cbor = cborCodec();

async function timed(run: () => unknown, n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return summarize(samples).p50;
}

/** Heap bytes `make()`'s result holds, measured around full collections. */
function heldBytes(make: () => unknown): { bytes: number; value: unknown } {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const value = make();
  gc!();
  return { bytes: process.memoryUsage().heapUsed - before, value };
}

console.log(`load average ${os.loadavg()[0]!.toFixed(2)} (1 min, 2 cores), ${rounds} rounds, p50`);
console.log(
  [
    "payload",
    "encoded",
    "hit, default",
    "hit, shared",
    "decode (bg)",
    "deep freeze (bg)",
    "heap held",
    "tier's estimate",
  ].map((h, i) => (i === 0 ? h.padEnd(16) : h.padStart(17))).join(""),
);
for (const shape of SHAPES) {
  for (const size of SIZES) {
    const value = makePayload(shape, size.bytes);
    const encoded = cbor.encode(value);
    const big = size.bytes >= 1 << 20;
    const n = big ? rounds : rounds * 20;
    const caches = [false, true].map((shared) => createCache({ memory: { maxBytes: 1 << 30, ttl: "1h", shared } }));
    const hits = [];
    for (const cache of caches) {
      const wrapped = cache.wrap(async (_i: number) => value, { name: "payload" });
      await wrapped(0);
      await cache.flush(); // the write, and (shared) the freeze it schedules
      await wrapped(0);
      hits.push(await timed(() => wrapped(0), n));
      if (cache.stats().hits.memory < n) throw new Error("hits did not come from the in-process tier");
    }
    const decode = await timed(() => cbor.decode(encoded), big ? 5 : 50);
    const freeze = await timed(() => deepFreeze(cbor.decode(encoded)), big ? 5 : 50) - decode;
    const held = heldBytes(() => cbor.decode(encoded));
    const estimate = deepFreeze(held.value)!;
    const label = shape === "rows" ? size.label : `${size.label} ${shape}`;
    const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
    console.log(
      [
        label.padEnd(16),
        mb(encoded.length),
        ms(hits[0]),
        ms(hits[1]),
        ms(decode),
        ms(Math.max(0, freeze)),
        mb(held.bytes),
        mb(estimate),
      ].map((c, i) => (i === 0 ? c : c.padStart(17))).join(""),
    );
  }
}
console.log(`load average after: ${os.loadavg()[0]!.toFixed(2)}`);
