/**
 * Throughput with 64 concurrent callers on warm keys (one key each, so in-process coalescing
 * never merges their calls), per tier, against 64 concurrent bare requests for the same entries.
 *
 * @module
 */
import { entryKeys, sameRows, type TierCache } from "./_fixtures.ts";
import type { Floors } from "./_floors.ts";
import { summarize, type Summary } from "./_measure.ts";
import type { HitFixtures } from "./hits.ts";

/** Callers. */
export const CALLERS = 64;

/** One load test. */
export interface LoadResult {
  readonly opsPerSecond: number;
  readonly latency: Summary;
}

/** One case: a tier at a size, and its floor under the same load. */
export interface ConcurrencyCase {
  readonly tier: string;
  readonly size: string;
  readonly hits: LoadResult;
  readonly floor: LoadResult | undefined;
  readonly floorName: string | undefined;
}

/** Runs each case for `durationMs`. */
export async function runConcurrency(fx: HitFixtures, durationMs: number): Promise<ConcurrencyCase[]> {
  const cases: [TierCache, string][] = [[fx.memory, "1 KB"], [fx.inline, "1 KB"], [fx.inline, "100 KB"], [
    fx.s3,
    "1 MB",
  ]];
  const out: ConcurrencyCase[] = [];
  for (const [tier, size] of cases) {
    const expected = fx.datasets.find((d) => d.label === size)!.rows;
    const keys = [];
    for (let i = 1; i <= CALLERS; i++) {
      await tier.rows(size, i);
      keys.push(await entryKeys(tier.prefix, size, i));
    }
    await tier.cache.flush();
    for (let i = 1; i <= CALLERS; i++) {
      if (!sameRows(await tier.rows(size, i), expected)) throw new Error(`${tier.tier} ${size}: wrong value`);
    }
    const before = tier.cache.stats();
    const hits = await load((i) => tier.rows(size, i + 1), durationMs);
    const after = tier.cache.stats();
    if (after.misses !== before.misses || after.errors.total !== before.errors.total) {
      throw new Error(`${tier.tier} ${size}: misses or errors under load`);
    }
    const floor = floorOf(fx.floors, tier.tier, keys);
    out.push({
      tier: tier.tier,
      size,
      hits,
      floor: floor && await load(floor.run, durationMs),
      floorName: floor?.name,
    });
  }
  return out;
}

function floorOf(
  floors: Floors,
  tier: string,
  keys: { record: string; blob: string }[],
): { name: string; run: (i: number) => Promise<unknown> } | undefined {
  if (tier === "memory") return undefined;
  if (tier === "inline") return { name: "bare store GET", run: (i) => floors.storeGet(keys[i]!.record) };
  return {
    name: "bare store GET + S3 GET, together",
    run: (i) => Promise.all([floors.storeGet(keys[i]!.record), floors.s3Get(keys[i]!.blob)]),
  };
}

/** `CALLERS` loops calling `op(caller)` back to back for `durationMs` (after a short warm-up). */
async function load(op: (caller: number) => Promise<unknown>, durationMs: number): Promise<LoadResult> {
  const warmUntil = performance.now() + Math.min(500, durationMs / 4);
  await Promise.all(Array.from({ length: CALLERS }, async (_, i) => {
    while (performance.now() < warmUntil) await op(i);
  }));
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(Array.from({ length: CALLERS }, async (_, i) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  }));
  const elapsed = performance.now() - started;
  return { opsPerSecond: latencies.length / (elapsed / 1000), latency: summarize(latencies) };
}
