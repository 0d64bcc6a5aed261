/**
 * Background work (encoding, compression, uploads) that must outlive the call that started it.
 * Each task is registered with the runtime's `waitUntil` when one is given, and always kept in a
 * bounded pending set that `flush()` awaits. When the set is full a new task is refused (the
 * caller counts and logs it) rather than growing memory without bound.
 *
 * @module
 */
import type { WaitUntil } from "../types.ts";

/** Runs tasks after the current call has returned its value. */
export class BackgroundQueue {
  readonly #pending: Set<Promise<void>>;
  readonly #maxPending: number;
  readonly #waitUntil: WaitUntil | undefined;

  constructor(maxPending: number, waitUntil: WaitUntil | undefined, pending: Set<Promise<void>> = new Set()) {
    this.#maxPending = maxPending;
    this.#waitUntil = waitUntil;
    this.#pending = pending;
  }

  /**
   * A view of this queue (same pending set, same bound, same `flush()`) whose tasks are also
   * registered with `waitUntil`: a request's own `ctx.waitUntil`, for the work that request starts.
   */
  alongside(waitUntil: WaitUntil): BackgroundQueue {
    const own = this.#waitUntil;
    const both: WaitUntil = own
      ? (task) => {
        own(task);
        waitUntil(task);
      }
      : waitUntil;
    return new BackgroundQueue(this.#maxPending, both, this.#pending);
  }

  /** Tasks in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Schedules `task`. It starts on a later macrotask, so the caller's continuation runs first
   * and a miss returns its value without waiting for encoding. `task` must not reject (it owns
   * its error handling); a rejection is swallowed so it can never surface as unhandled.
   * Returns false, without scheduling, when the pending set is full.
   */
  schedule(task: () => Promise<void>): boolean {
    if (this.#pending.size >= this.#maxPending) return false;
    const promise = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(task)
      .catch(() => {})
      .finally(() => this.#pending.delete(promise));
    this.#pending.add(promise);
    // Registered synchronously: Workers only honour waitUntil during the request.
    this.#waitUntil?.(promise);
    return true;
  }

  /**
   * Keeps `work`, already started (a poll a caller may be waiting for), alive like a scheduled
   * task: in the pending set and registered with `waitUntil`. False, untracked, when the set is full.
   */
  track(work: Promise<void>): boolean {
    if (this.#pending.size >= this.#maxPending) return false;
    const promise = work.catch(() => {}).finally(() => this.#pending.delete(promise));
    this.#pending.add(promise);
    this.#waitUntil?.(promise);
    return true;
  }

  /** Resolves once every task scheduled so far, and any they scheduled, has settled. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
