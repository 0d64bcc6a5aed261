/**
 * Waiting for a promise that a signal may abandon. Two places need it: a caller of a wrapped
 * function whose own signal fires stops waiting while the computation other callers share goes on
 * (api/wrap.ts), and the TCP Redis adapter stops waiting for a reply it can no longer use, since
 * a command already written to the connection cannot be taken back (stores/redis.ts). Neither
 * cancels the work: only this caller's wait ends.
 *
 * @module
 */

/**
 * `work`'s outcome, unless `signal` aborts first: then a rejection with the signal's reason, while
 * `work` goes on for whoever else awaits it (its late outcome is dropped here). Without a signal,
 * `work` itself.
 */
export function abandonable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
