/**
 * Backend calls for operator work (cleanup, inspection): each has a time limit and follows the
 * caller's abort signal, and failures are thrown as `CacheError`s rather than absorbed. Unlike
 * the request path (guard.ts), nothing here fails open, trips a breaker or counts in `stats()`:
 * an operator wants to know that a cleanup failed.
 *
 * @module
 */
import { BlobError, type CacheError, isCacheError, StoreError, TimeoutError } from "../errors.ts";

/** One operator call to a backend. */
export interface DeadlineCall<T> {
  /** Which backend, for the error class. */
  readonly backend: "store" | "blob";
  /** What is being done, for messages, e.g. `upstash run [get × 250]`. */
  readonly what: string;
  /** Time limit. */
  readonly timeoutMs: number;
  /** The caller's signal: its abort rejects the call with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** The adapter call; must stop when `signal` aborts. */
  readonly call: (signal: AbortSignal) => Promise<T>;
}

/** Runs `spec.call` within its time limit and the caller's signal; failures become `CacheError`s. */
export async function withDeadline<T>(spec: DeadlineCall<T>): Promise<T> {
  const outer = spec.signal;
  outer?.throwIfAborted();
  const controller = new AbortController();
  let fail: (error: unknown) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (fail = reject));
  const onAbort = (): void => {
    controller.abort(outer!.reason);
    fail(outer!.reason);
  };
  outer?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    const error = new TimeoutError(spec.backend, `${spec.what} timed out after ${spec.timeoutMs} ms`);
    controller.abort(error);
    fail(error);
  }, spec.timeoutMs);
  try {
    // Raced as well as signalled, so an adapter that ignores its signal cannot hold the caller.
    return await Promise.race([spec.call(controller.signal), stopped]);
  } catch (cause) {
    if (outer?.aborted && cause === outer.reason) throw cause;
    throw normalise(spec, cause);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

function normalise(spec: DeadlineCall<unknown>, cause: unknown): CacheError {
  if (isCacheError(cause)) return cause;
  const message = `${spec.what} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
  return spec.backend === "store" ? new StoreError(message, { cause }) : new BlobError(message, { cause });
}
