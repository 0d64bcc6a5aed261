/**
 * Peak memory of a 50 MB value's round trip (miss with its background write to S3, then a hit),
 * run in a child process of its own (`node --expose-gc`) so that nothing else of the benchmark
 * is on its heap. Sends its figures to the parent over IPC; without a parent, prints them.
 *
 * Baseline: after the value exists (the caller's own data) and a full GC. Peaks are sampled every
 * 2 ms, and the kernel's high-water mark (`maxRSS`) is reported too.
 *
 * @module
 */
import process from "node:process";
import { createCache } from "../mod.ts";
import type { ServicesEnv } from "../scripts/services/index.ts";
import { makeRows, type Row } from "./_data.ts";
import { baseOptions, sameRows } from "./_fixtures.ts";

/** Memory, in MB. */
export interface MemoryPoint {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** What the child reports. */
export interface PeakMemory {
  readonly valueJsonMB: number;
  readonly rows: number;
  readonly baseline: MemoryPoint;
  readonly miss: { readonly peak: MemoryPoint; readonly ms: number; readonly writeMs: number };
  readonly hit: { readonly peak: MemoryPoint; readonly ms: number };
  /** After the round trip, the result dropped and a full GC: what stays (zstd's WASM heap never shrinks). */
  readonly retained: MemoryPoint;
  /** Kernel high-water mark of RSS: before the round trip (value generation included) and after. */
  readonly maxRssMB: { readonly before: number; readonly after: number };
}

const MB = 1024 * 1024;
const VALUE_BYTES = 50 * MB;

function point(): MemoryPoint {
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heapUsed: m.heapUsed / MB, external: (m.external + m.arrayBuffers) / MB };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Runs `work` while sampling memory; resolves to its peak and duration. */
async function watched<T>(work: () => Promise<T>): Promise<{ peak: MemoryPoint; ms: number; value: T }> {
  let peak = point();
  const take = (): void => {
    const p = point();
    peak = {
      rss: Math.max(peak.rss, p.rss),
      heapUsed: Math.max(peak.heapUsed, p.heapUsed),
      external: Math.max(peak.external, p.external),
    };
  };
  const timer = setInterval(take, 2);
  const started = performance.now();
  try {
    const value = await work();
    take();
    return { peak, ms: performance.now() - started, value };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<PeakMemory> {
  const env = JSON.parse(process.env.LARDER_BENCH_ENV ?? "null") as ServicesEnv | null;
  if (env === null) throw new Error("peak-memory: LARDER_BENCH_ENV is not set (run through npm run bench)");
  const rows = makeRows(VALUE_BYTES, 7);
  const cache = createCache(baseOptions(env, `${process.env.LARDER_BENCH_PREFIX ?? "bench"}-peak`));
  let computed = 0;
  const big = cache.wrap(async (_n: number): Promise<Row[]> => {
    computed++;
    return rows;
  }, { name: "big" });
  gc();
  gc();
  const baseline = point();
  const maxBefore = process.resourceUsage().maxRSS / 1024;
  let writeStarted = 0;
  // The work runs inside functions that return a boolean, never the value: a value held by this
  // frame would be counted as retained.
  const miss = await watched(async () => {
    const ok = sameRows(await big(1), rows);
    writeStarted = performance.now();
    await cache.flush();
    return ok;
  });
  const writeMs = performance.now() - writeStarted;
  if (computed !== 1 || cache.stats().writes.ok !== 1) {
    throw new Error(`peak-memory: the write did not happen: ${JSON.stringify(cache.stats().writes)}`);
  }
  gc();
  const hit = await watched(async () => sameRows(await big(1), rows));
  if (computed !== 1 || !miss.value || !hit.value) throw new Error("peak-memory: the hit did not return the value");
  gc();
  gc();
  const retained = point();
  return {
    valueJsonMB: VALUE_BYTES / MB,
    rows: rows.length,
    baseline,
    miss: { peak: miss.peak, ms: miss.ms, writeMs },
    hit: { peak: hit.peak, ms: hit.ms },
    retained,
    maxRssMB: { before: maxBefore, after: process.resourceUsage().maxRSS / 1024 },
  };
}

const result = await main();
if (process.send) process.send(result, () => process.exit(0));
else {
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
