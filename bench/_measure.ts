/**
 * Timing: interleaved sampling of several series (so that drift — GC, other processes, thermal —
 * lands on every series alike), warm-up rounds, a time budget, and percentile summaries.
 *
 * @module
 */

/** One thing to time. `run` is timed; `prepare` (optional) runs untimed before each sample. */
export interface Series {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  readonly prepare?: () => Promise<void> | void;
}

/** How long and how often to sample. */
export interface Budget {
  /** Untimed rounds first. */
  readonly warmup: number;
  /** At least this many samples per series. */
  readonly min: number;
  /** At most this many samples per series. */
  readonly max: number;
  /** Stop after this long once `min` is reached, ms. */
  readonly ms: number;
}

/** Percentiles of a sample, in ms. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/** Samples every series in rounds (rotating the order each round); returns samples by name, in ms. */
export async function sample(series: readonly Series[], budget: Budget): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(series.map((s) => [s.name, []]));
  for (let round = 0; round < budget.warmup; round++) {
    for (const s of series) {
      await s.prepare?.();
      await s.run();
    }
  }
  const started = performance.now();
  for (let round = 0; round < budget.max; round++) {
    if (round >= budget.min && performance.now() - started > budget.ms) break;
    for (let i = 0; i < series.length; i++) {
      const s = series[(round + i) % series.length] as Series;
      await s.prepare?.();
      const t0 = performance.now();
      await s.run();
      samples.get(s.name)!.push(performance.now() - t0);
    }
  }
  return samples;
}

/** Percentile summary of `values` (ms). Nearest-rank percentiles. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    mean,
  };
}

/** Samples and summarizes. */
export async function measure(series: readonly Series[], budget: Budget): Promise<Record<string, Summary>> {
  const samples = await sample(series, budget);
  return Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
}

/** Milliseconds for tables: µs under 1 ms, 2–3 significant digits otherwise. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (value < 0.1) return `${(value * 1000).toFixed(1)} µs`;
  if (value < 1) return `${(value * 1000).toFixed(0)} µs`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(0)} ms`;
}

/** A ratio for tables. */
export function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : `${value.toFixed(2)}×`;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
