/**
 * The resilience facade around every backend call: a timeout enforced through `AbortSignal`
 * (and by racing, so an adapter that ignores the signal cannot hold the caller), errors
 * normalised into the `CacheError` hierarchy and counted, and each kind of failure logged once
 * until the backend answers again.
 *
 * @module
 */
import { BlobError, type CacheError, isCacheError, StoreError, TimeoutError } from "../errors.ts";
import type { CircuitBreaker } from "./breaker.ts";
import type { StatsRecorder } from "../stats/stats.ts";
import type { Logger } from "../types.ts";

/** Which backend a call goes to. */
export type Backend = "store" | "blob";

/** Shared by every guarded call of one cache. */
export interface GuardContext {
  /** Counters to update. */
  readonly stats: StatsRecorder;
  /** Where failures are logged. */
  readonly logger: Logger;
  /** Failure kinds already logged, as `backend:code`; cleared when the backend answers again. */
  readonly logged: Set<string>;
  /** One breaker per backend, or none when disabled. */
  readonly breakers: Readonly<Record<Backend, CircuitBreaker | undefined>>;
}

/** One backend call to guard. */
export interface GuardedCall<T> {
  /** Backend kind. */
  readonly backend: Backend;
  /** Adapter name for messages, e.g. `upstash`. */
  readonly adapter: string;
  /** Operation for messages, e.g. `get`. */
  readonly operation: string;
  /** Entry key hash for messages (shortened), when the call concerns one entry. */
  readonly keyHash?: string;
  /** Time limit of the call. */
  readonly timeoutMs: number;
  /** The adapter call; must stop when `signal` aborts. */
  readonly call: (signal: AbortSignal) => Promise<T>;
  /**
   * Fires when the caller no longer wants the result (a speculative blob GET whose record did not
   * point to it): the call is aborted, and a failure after that is not the backend's, so it is
   * neither counted nor held against the breaker.
   */
  readonly abandon?: AbortSignal;
}

// Errors this facade has counted: a caller that accounts for a failed read or write skips them,
// so one failure is one count (a blob over a size limit is a blob error, not also a codec one).
const counted = new WeakSet<object>();

/** Whether `error` came out of a guarded call and was counted there. */
export function countedByGuard(error: unknown): boolean {
  return typeof error === "object" && error !== null && counted.has(error);
}

/** Runs a backend call under a timeout; failures are counted, logged once and rethrown as `CacheError`s. */
export async function guarded<T>(ctx: GuardContext, spec: GuardedCall<T>): Promise<T> {
  const where = `${spec.adapter} ${spec.operation}${spec.keyHash ? ` (key ${spec.keyHash.slice(0, 12)})` : ""}`;
  const breaker = ctx.breakers[spec.backend];
  if (breaker && !breaker.allow()) {
    // Refused without a round trip; counted by the breaker, not as a backend error.
    const message = `${where} skipped: circuit open after repeated ${spec.backend} failures`;
    throw spec.backend === "store" ? new StoreError(message) : new BlobError(message);
  }
  const controller = new AbortController();
  const abandon = spec.abandon;
  const onAbandon = (): void => controller.abort(abandon!.reason);
  if (abandon?.aborted) onAbandon();
  else abandon?.addEventListener("abort", onAbandon, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(spec.backend, `${where} timed out after ${spec.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, spec.timeoutMs);
  });
  try {
    const result = await Promise.race([spec.call(controller.signal), timeout]);
    breaker?.success();
    recovered(ctx, spec.backend, spec.adapter);
    return result;
  } catch (cause) {
    if (abandon?.aborted) throw cause;
    const error = normalise(spec.backend, where, cause);
    // Only unavailability trips the breaker; a value over a size limit says nothing of health.
    if (error.code === "E_STORE" || error.code === "E_BLOB" || error.code === "E_TIMEOUT") breaker?.failure();
    else breaker?.success();
    ctx.stats.error(spec.backend, error.code);
    counted.add(error);
    logOnce(ctx, spec.backend, error);
    throw error;
  } finally {
    clearTimeout(timer);
    abandon?.removeEventListener("abort", onAbandon);
  }
}

function normalise(backend: Backend, where: string, cause: unknown): CacheError {
  if (isCacheError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const message = `${where} failed: ${detail}`;
  return backend === "store" ? new StoreError(message, { cause }) : new BlobError(message, { cause });
}

function logOnce(ctx: GuardContext, backend: Backend, error: CacheError): void {
  const kind = `${backend}:${error.code}`;
  if (ctx.logged.has(kind)) return;
  ctx.logged.add(kind);
  ctx.logger.warn(`larder: ${backend} unavailable, serving without cache: ${error.message}`, {
    code: error.code,
    backend,
  });
}

function recovered(ctx: GuardContext, backend: Backend, adapter: string): void {
  if (ctx.logged.size === 0) return;
  let cleared = false;
  for (const kind of ctx.logged) {
    if (kind.startsWith(`${backend}:`)) {
      ctx.logged.delete(kind);
      cleared = true;
    }
  }
  if (cleared) ctx.logger.info(`larder: ${backend} (${adapter}) answering again`, { backend });
}
