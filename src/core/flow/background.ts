/**
 * Background work (encoding, compression, uploads) that must outlive the call that started it.
 * Each task is registered with the runtime's `waitUntil` when one is given, and always kept in a
 * bounded pending set that `flush()` awaits. When the set is full a new task is refused (the
 * caller counts and logs it) rather than growing memory without bound.
 *
 * Some runtimes stop a request's work once its response is sent (workerd): there, work that no
 * `waitUntil` keeps alive is lost. The entry point for such a runtime says so (`unkept`), and a
 * queue without `waitUntil` then reports that its tasks do not outlive the call
 * ({@link BackgroundQueue.outlivesCall}) and calls `unkept` whenever it is given one, so the
 * cache can warn and stop taking leases that only a lost write would release.
 *
 * @module
 */
import type { WaitUntil } from "../types.ts";

/** How a {@link BackgroundQueue} runs. */
export interface BackgroundOptions {
  /** Tasks in flight at most. */
  readonly maxPending: number;
  /** Keeps each task alive past the call (Workers' `ctx.waitUntil`), when the runtime needs it. */
  readonly waitUntil: WaitUntil | undefined;
  /**
   * Set where tasks without `waitUntil` are lost when the call ends (workerd): called when such
   * a task is scheduled, or when the cache asks ({@link BackgroundQueue.outlivesCall}).
   */
  readonly unkept?: (() => void) | undefined;
}

/** Runs tasks after the current call has returned its value. */
export class BackgroundQueue {
  readonly #pending: Set<Promise<void>>;
  readonly #maxPending: number;
  readonly #waitUntil: WaitUntil | undefined;
  readonly #unkept: (() => void) | undefined;

  constructor(options: BackgroundOptions, pending: Set<Promise<void>> = new Set()) {
    this.#maxPending = options.maxPending;
    this.#waitUntil = options.waitUntil;
    this.#unkept = options.unkept;
    this.#pending = pending;
  }

  /**
   * Whether tasks scheduled here survive the call that schedules them: true unless the runtime
   * loses work no `waitUntil` keeps alive and this queue has none (then `unkept` is called too).
   */
  outlivesCall(): boolean {
    if (this.#waitUntil !== undefined || this.#unkept === undefined) return true;
    this.#unkept();
    return false;
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
    return new BackgroundQueue({ maxPending: this.#maxPending, waitUntil: both, unkept: this.#unkept }, this.#pending);
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
    if (this.#waitUntil) this.#waitUntil(promise);
    else this.#unkept?.();
    return true;
  }

  /**
   * Keeps `work`, already started (a read of the tiers' bus a caller may wait for), alive past the
   * call on runtimes that end work with the response: registered with `waitUntil` only. It is no
   * write: not in the pending set (not in `writes.pending`, not awaited by `flush()`), and a
   * runtime that loses it loses nothing (the next hit reads again).
   */
  keepAlive(work: Promise<void>): void {
    this.#waitUntil?.(work.catch(() => {}));
  }

  /** Resolves once every task scheduled so far, and any they scheduled, has settled. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
