/**
 * Miss overhead: what a caller waits for on a miss beyond the function's own time (the lookup
 * that finds nothing and takes the lease, key hashing, bookkeeping), against a bare store GET
 * of a missing key measured in the same rounds. Also what the background write then costs the
 * process: how long until it is stored, and the longest stretch it blocks the event loop.
 *
 * @module
 */
import type { ServicesEnv } from "../scripts/services/index.ts";
import type { Row } from "./_data.ts";
import { baseOptions, type Dataset } from "./_fixtures.ts";
import type { Floors } from "./_floors.ts";
import { applyLatency, type Latency } from "./_latency.ts";
import { type Budget, summarize, type Summary } from "./_measure.ts";
import { createCache } from "../mod.ts";
import { recordKey } from "../src/core/record/key_layout.ts";

/** Per size: caller wait, the function's own time, overhead (their difference), the floor, and the write. */
export interface MissResult {
  readonly wait: Summary;
  readonly fn: Summary;
  readonly overhead: Summary;
  readonly floor: Summary;
  /** Miss returned → entry stored (flush resolved), ms. */
  readonly write: Summary;
  /** Longest event-loop stall while the background write ran, ms. */
  readonly stall: Summary;
}

/** Measures misses at every size under `latency`. */
export async function runMisses(
  env: ServicesEnv,
  floors: Floors,
  runId: string,
  datasets: readonly Dataset[],
  latency: Latency,
  budgetFor: (label: string) => Budget,
): Promise<Record<string, MissResult>> {
  const prefix = `${runId}-miss-${latency.storeMs}-${latency.s3Ms}`;
  const cache = createCache(baseOptions(env, prefix));
  const byLabel = new Map(datasets.map((d) => [d.label, d.rows]));
  let own = 0;
  const rows = async (label: string, _i: number): Promise<Row[]> => {
    const started = performance.now();
    const result = byLabel.get(label) as Row[];
    own = performance.now() - started;
    return result;
  };
  const wrapped = cache.wrap(rows, { name: "rows" });
  const missingKey = recordKey(prefix, "missing");
  const removeLatency = await applyLatency(env, latency, [prefix]);
  const results: Record<string, MissResult> = {};
  let call = 0;
  try {
    for (const { label } of datasets) {
      const budget = budgetFor(label);
      const s = { wait: [] as number[], fn: [] as number[], overhead: [] as number[], floor: [] as number[] };
      const write: number[] = [];
      const stall: number[] = [];
      const started = performance.now();
      for (let round = 0; round < budget.warmup + budget.max; round++) {
        const timed = round >= budget.warmup;
        if (timed && s.wait.length >= budget.min && performance.now() - started > budget.ms) break;
        const misses = cache.stats().misses;
        const t0 = performance.now();
        await wrapped(label, ++call);
        const wait = performance.now() - t0;
        if (cache.stats().misses !== misses + 1) throw new Error(`${label}: expected a miss`);
        const background = await flushWatched(() => cache.flush());
        const f0 = performance.now();
        await floors.storeGet(missingKey);
        const floor = performance.now() - f0;
        if (!timed) continue;
        s.wait.push(wait);
        s.fn.push(own);
        s.overhead.push(wait - own);
        s.floor.push(floor);
        write.push(background.ms);
        stall.push(background.stallMs);
      }
      const stats = cache.stats();
      if (stats.writes.failed > 0 || stats.writes.skipped > 0) {
        throw new Error(`${label}: background writes failed or were skipped: ${JSON.stringify(stats.writes)}`);
      }
      results[label] = {
        wait: summarize(s.wait),
        fn: summarize(s.fn),
        overhead: summarize(s.overhead),
        floor: summarize(s.floor),
        write: summarize(write),
        stall: summarize(stall),
      };
    }
  } finally {
    await removeLatency();
  }
  return results;
}

/** Runs `flush` while a 1 ms ticker watches the event loop; the longest gap between ticks, less 1 ms, is the stall. */
async function flushWatched(flush: () => Promise<void>): Promise<{ ms: number; stallMs: number }> {
  const started = performance.now();
  let last = started;
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await flush();
  } finally {
    clearInterval(ticker);
  }
  const end = performance.now();
  longest = Math.max(longest, end - last);
  return { ms: end - started, stallMs: Math.max(0, longest - 1) };
}
