/**
 * Time limits around a wrapped function, apart from the backends' own (backend/backend_call.ts):
 *
 * - **the caller's** (`wrap`'s `timeout`, {@link TimeLimit}): how long callers wait for a value
 *   once their lookup missed, waiting for another instance's computation included. Past it they
 *   get a stale entry when one may be served, else a `TimeoutError`; the computation is not
 *   stopped: it goes on in the background and its value is stored (get_or_compute.ts);
 * - **the function's** (`abortAfter`, {@link runAborting}): when the `AbortSignal` handed to the
 *   function fires. The function decides what an abort means; one that ignores its signal simply
 *   finishes, and its value is stored.
 *
 * A caller's own signal (`abandonable`, util/abort.ts) only stops that caller waiting: a computation is
 * shared by every caller of its key (and feeds the cache), so no one caller may cancel it.
 *
 * @module
 */
import { TimeoutError } from "../errors.ts";

/** The deadline of a caller waiting for a computation. */
export class TimeLimit {
  readonly #deadline: number;

  /** A deadline `ms` from now. */
  constructor(readonly ms: number) {
    this.#deadline = performance.now() + ms;
  }

  /** Milliseconds left (0 once past). */
  remaining(): number {
    return Math.max(0, this.#deadline - performance.now());
  }

  /** Whether the deadline has passed. */
  expired(): boolean {
    return this.remaining() === 0;
  }

  /** `work`'s value, or `late` when the deadline comes first (`work` goes on). */
  race<T>(work: Promise<T>): Promise<{ readonly late: false; readonly value: T } | { readonly late: true }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<{ readonly late: true }>((resolve) => {
      timer = setTimeout(() => resolve({ late: true }), this.remaining());
    });
    return Promise.race([work.then((value) => ({ late: false as const, value })), late])
      .finally(() => clearTimeout(timer));
  }
}

/** The error of a caller whose `timeout` passed; `label` names the function. */
export function callerTimeout(label: string, ms: number): TimeoutError {
  return new TimeoutError(
    "function",
    `larder: ${label}: no value within the ${ms} ms timeout; the computation goes on in the background and its value is cached when it completes`,
  );
}

/**
 * Runs `work` with an `AbortSignal` that fires `afterMs` after the start (its reason a
 * `TimeoutError` of the function). The timer is cleared once `work` settles.
 */
export async function runAborting<T>(
  work: (signal: AbortSignal) => T | PromiseLike<T>,
  limit: { readonly afterMs: number; readonly label: string },
): Promise<Awaited<T>> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new TimeoutError("function", `larder: ${limit.label}: the function was aborted after ${limit.afterMs} ms`),
    );
  }, limit.afterMs);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
