/**
 * A circuit breaker per backend. After `threshold` consecutive failures it opens: calls are
 * refused at once, so a dead Redis or S3 costs nothing per call. After `cooldownMs` it half-opens
 * and lets one probe through; the probe's success closes it, its failure opens it again.
 *
 * @module
 */

/** Where a breaker stands. */
export type BreakerState = "closed" | "open" | "half-open";

/** A breaker's counters, as reported by `stats()`. */
export interface BreakerStats {
  /** Current state. */
  readonly state: BreakerState;
  /** Times it has opened. */
  readonly opened: number;
  /** Calls refused while open. */
  readonly rejected: number;
}

/** Tracks one backend's health. */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = "closed";
  #probing = false;
  #opened = 0;
  #rejected = 0;
  /** Told when the breaker opens, and when a probe's success closes it (the cache's `breaker` events). */
  onChange: ((state: "open" | "closed") => void) | undefined;

  constructor(threshold: number, cooldownMs: number, now: () => number) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  /** Whether a call may go out now. While half-open only one probe is in flight at a time. */
  allow(): boolean {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#cooldownMs) {
      this.#state = "half-open";
    }
    if (this.#state === "closed") return true;
    if (this.#state === "half-open" && !this.#probing) {
      this.#probing = true;
      return true;
    }
    this.#rejected++;
    return false;
  }

  /** Records a call that succeeded. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    const was = this.#state;
    this.#state = "closed";
    if (was !== "closed") this.onChange?.("closed");
  }

  /** Records a call that failed; opens the breaker at the threshold, or when a probe fails. */
  failure(): void {
    this.#failures++;
    const probeFailed = this.#state === "half-open";
    this.#probing = false;
    if (probeFailed || (this.#state === "closed" && this.#failures >= this.#threshold)) {
      this.#state = "open";
      this.#openedAt = this.#now();
      this.#opened++;
      this.onChange?.("open");
    }
  }

  /** Counters for `stats()`. */
  snapshot(): BreakerStats {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#cooldownMs) this.#state = "half-open";
    return { state: this.#state, opened: this.#opened, rejected: this.#rejected };
  }
}
