/**
 * A fixed-size latency histogram: log-spaced buckets from 1 µs to about 100 s, each 2^(1/8)
 * (~9 %) wider than the last. Memory is constant whatever the number of samples; percentiles are
 * exact to within one bucket.
 *
 * @module
 */

const BUCKETS_PER_DOUBLING = 8;
const MIN_MS = 0.001;
const BUCKETS = 8 * 27; // 2^27 µs ≈ 134 s
const LOG_BASE = Math.log(2) / BUCKETS_PER_DOUBLING;

/** Percentiles of a histogram, in milliseconds. */
export interface LatencySummary {
  /** Number of samples. */
  readonly count: number;
  /** Median. */
  readonly p50: number;
  /** 95th percentile. */
  readonly p95: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Largest sample. */
  readonly max: number;
  /** All samples added up (with `count`, the mean; Prometheus' `_sum`). */
  readonly sum: number;
}

/** Records durations in milliseconds into fixed buckets. */
export class Histogram {
  #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #max = 0;
  #sum = 0;

  /** Adds one sample. Negative and non-finite samples are ignored. */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_BASE));
    this.#counts[index]! += 1;
    this.#count += 1;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** The value at quantile `q` (0–1): the upper bound of the bucket that holds it. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, MIN_MS * Math.exp(i * LOG_BASE));
    }
    return this.#max;
  }

  /** Count, p50, p95, p99, max and sum. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: round(this.quantile(0.5)),
      p95: round(this.quantile(0.95)),
      p99: round(this.quantile(0.99)),
      max: round(this.#max),
      sum: round(this.#sum),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
