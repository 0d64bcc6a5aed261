/**
 * The one facade around every backend call (as bentocache's remote-cache facade): each call goes
 * out with a time limit, enforced through its `AbortSignal` and by racing (so an adapter that
 * ignores the signal cannot hold the caller), and a failure comes back as a `CacheError` of the
 * backend's class. Two policies share that core:
 *
 * - **The request path** ({@link Backends}: lookups, writes, leases, invalidation, counters): a
 *   circuit breaker per backend skips calls while it is open (no round trip), failures are
 *   counted in `stats()` and logged once per kind until the backend answers again, and a call
 *   its caller abandoned (a speculative blob GET the record did not point to) is counted
 *   nowhere. Whether a failure is then absorbed (reads fail open) or thrown (invalidation) is the
 *   caller's choice; either way it is counted once ({@link countedByBackend}). Each call's time
 *   is recorded per backend, and the last error kept, for `cache.health()`.
 * - **Misconfigurations** (an error whose adapter set `fix`: a token the store refuses, a region,
 *   secret or bucket S3 refuses) are not outages: they never trip the breaker (the backend
 *   answered, and each refusal is quick), and they are logged as errors with their fix, again at
 *   most once a minute per kind for as long as they last, rather than once and then silence
 *   while nothing is cached.
 * - **The operator path** ({@link operatorCall}: cleanup, inspection): the caller's abort signal
 *   is followed, and nothing trips a breaker or counts in `stats()`: an operator wants to know
 *   that a cleanup failed, and a cleanup must not open the breaker of the requests beside it.
 *
 * @module
 */
import type { CircuitBreaker } from "./breaker.ts";
import {
  BlobError,
  type CacheError,
  type CacheErrorCode,
  isCacheError,
  misconfigurationFix,
  StoreError,
  TimeoutError,
} from "../errors.ts";
import type { BlobStore, Logger, MetadataStore, StoreOp, StoreResult } from "../types.ts";

/** Which backend a call goes to. */
export type Backend = "store" | "blob";

/** Where the request path counts failures and times calls (a cache's `StatsRecorder`). */
export interface FailureCounter {
  /** Counts one failure of `backend` with its error code (and `fix`, when it is a misconfiguration). */
  error(backend: Backend, code: CacheErrorCode, fix?: string): void;
  /** Records how long one call of `backend` took, whatever its outcome (not calls skipped or abandoned). */
  backendLatency?(backend: Backend, ms: number): void;
}

/** The last error of a backend, as `cache.health()` reports it. */
export interface LastBackendError {
  /** The error's message (names the backend and operation; never tokens). */
  readonly message: string;
  /** Its `CacheError` code. */
  readonly code: CacheErrorCode;
  /** When, ms since the epoch (the cache's clock). */
  readonly at: number;
  /** What to change, when the backend refused the configuration (a misconfiguration). */
  readonly fix: string | undefined;
}

/** Where a backend stands, from the request path's calls. */
export interface BackendState {
  /** Its last error, if any call ever failed. */
  readonly lastError: LastBackendError | undefined;
  /** Whether its last call failed (a call skipped by the breaker does not count). */
  readonly failing: boolean;
  /** Whether its last call failed with a misconfiguration (`lastError.fix` says what to change). */
  readonly misconfigured: boolean;
}

/** What a cache's {@link Backends} are made of. */
export interface BackendsConfig {
  /** The metadata store. */
  readonly store: MetadataStore;
  /** The blob store, if any. */
  readonly blobs: BlobStore | undefined;
  /** Time limit of each store call. */
  readonly storeTimeoutMs: number;
  /** Time limit of each blob call. */
  readonly blobTimeoutMs: number;
  /** Where failures are counted. */
  readonly stats: FailureCounter;
  /** Where failures are logged. */
  readonly logger: Logger;
  /** One breaker per backend, or none when disabled. */
  readonly breakers: Readonly<Record<Backend, CircuitBreaker | undefined>>;
  /** The cache's clock, ms since the epoch (when errors happened, when a misconfiguration is due again). @default Date.now */
  readonly now?: () => number;
}

/** One blob call of the request path. */
export interface BlobCall<T> {
  /** Operation for messages, e.g. `get`. */
  readonly operation: string;
  /** Entry key hash for messages (shortened), when the call concerns one entry. */
  readonly keyHash?: string;
  /** The adapter call; must stop when `signal` aborts. */
  readonly call: (blobs: BlobStore, signal: AbortSignal) => Promise<T>;
  /**
   * Fires when the caller no longer wants the result: the call is aborted, and a failure after
   * that is not the backend's, so it is neither counted nor held against the breaker.
   */
  readonly abandon?: AbortSignal;
}

/** One call of the operator path. */
export interface OperatorCall<T> {
  /** Which backend, for the error class. */
  readonly backend: Backend;
  /** What is being done, for messages, e.g. `upstash run [get × 250]`. */
  readonly what: string;
  /** Time limit. */
  readonly timeoutMs: number;
  /** The caller's signal: its abort rejects the call at once with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** The adapter call; must stop when `signal` aborts. */
  readonly call: (signal: AbortSignal) => Promise<T>;
}

/** A request-path call, as the facade runs it. */
interface GuardedCall<T> extends Omit<OperatorCall<T>, "signal"> {
  /** Adapter name, for the "answering again" log line. */
  readonly adapter: string;
  /** The caller's abandon signal (see {@link BlobCall.abandon}). */
  readonly abandon?: AbortSignal | undefined;
}

// Errors the request path has counted: a caller that accounts for a failed read or write skips
// them, so one failure is one count (a blob over a size limit is a blob error, not also a codec one).
const counted = new WeakSet<object>();

/** Whether `error` came out of a request-path call and was counted there. */
export function countedByBackend(error: unknown): boolean {
  return typeof error === "object" && error !== null && counted.has(error);
}

/** Most kinds of callers' own warnings remembered by {@link Backends.warnOnce}. */
const MAX_LOGGED = 1000;
/** A misconfiguration is logged again after this long, for as long as it lasts. */
export const MISCONFIGURED_LOG_INTERVAL_MS = 60_000;

/** The request path's facade over one cache's store and blobs; see the module doc. */
export class Backends {
  readonly #config: BackendsConfig;
  readonly #now: () => number;
  /** Kinds already logged: `backend:code` (cleared when the backend answers again) and callers' own. */
  readonly #logged = new Set<string>();
  /** Misconfigurations logged, by `backend:fix`, with when (logged again a minute later). */
  readonly #misconfigured = new Map<string, number>();
  readonly #state: Record<Backend, BackendState> = {
    store: { lastError: undefined, failing: false, misconfigured: false },
    blob: { lastError: undefined, failing: false, misconfigured: false },
  };

  constructor(config: BackendsConfig) {
    this.#config = config;
    this.#now = config.now ?? Date.now;
  }

  /** Where each backend stands: its last error, and whether its last call failed (for `cache.health()`). */
  state(backend: Backend): BackendState {
    return this.#state[backend];
  }

  /** Where this facade logs (the cache's logger). */
  get logger(): Logger {
    return this.#config.logger;
  }

  /** Runs `ops` in one store round trip; `operation` and `keyHash` name it in errors. */
  store(operation: string, ops: readonly StoreOp[], keyHash?: string): Promise<StoreResult[]> {
    const { store, storeTimeoutMs } = this.#config;
    return this.#guarded("store", {
      adapter: store.name,
      what: named(store.name, operation, keyHash),
      timeoutMs: storeTimeoutMs,
      call: (signal) => store.run(ops, { signal }),
    });
  }

  /** Runs a call to the blob store (rejects at once when the cache has none). */
  blob<T>(spec: BlobCall<T>): Promise<T> {
    const { blobs, blobTimeoutMs } = this.#config;
    if (!blobs) return Promise.reject(new BlobError(`blob ${spec.operation}: this cache has no blob store`));
    return this.#guarded("blob", {
      adapter: blobs.name,
      what: named(blobs.name, spec.operation, spec.keyHash),
      timeoutMs: blobTimeoutMs,
      call: (signal) => spec.call(blobs, signal),
      abandon: spec.abandon,
    });
  }

  /** Logs `message` once per `kind` (for failures a caller accounts itself, e.g. a value not cached). */
  warnOnce(kind: string, message: string): void {
    if (this.#logged.has(kind)) return;
    if (this.#logged.size < MAX_LOGGED) this.#logged.add(kind);
    this.#config.logger.warn(message);
  }

  async #guarded<T>(backend: Backend, spec: Omit<GuardedCall<T>, "backend">): Promise<T> {
    const breaker = this.#config.breakers[backend];
    if (breaker && !breaker.allow()) {
      // Refused without a round trip; counted by the breaker, not as a backend error.
      const message = `${spec.what} skipped: circuit open after repeated ${backend} failures`;
      throw backend === "store" ? new StoreError(message) : new BlobError(message);
    }
    const abandon = spec.abandon;
    const started = performance.now();
    try {
      const result = await within({ ...spec, backend, signal: abandon });
      this.#config.stats.backendLatency?.(backend, performance.now() - started);
      breaker?.success();
      this.#state[backend] = { ...this.#state[backend], failing: false, misconfigured: false };
      this.#recovered(backend, spec.adapter);
      return result;
    } catch (cause) {
      if (abandon?.aborted) throw cause;
      this.#config.stats.backendLatency?.(backend, performance.now() - started);
      const error = cause as CacheError;
      const fix = misconfigurationFix(error);
      // Only unavailability trips the breaker; a value over a size limit says nothing of health,
      // and a misconfigured backend answered (it refused the configuration, quickly).
      if (fix === undefined && (error.code === "E_STORE" || error.code === "E_BLOB" || error.code === "E_TIMEOUT")) {
        breaker?.failure();
      } else breaker?.success();
      this.#config.stats.error(backend, error.code, fix);
      counted.add(error);
      this.#state[backend] = {
        lastError: { message: error.message, code: error.code, at: this.#now(), fix },
        failing: true,
        misconfigured: fix !== undefined,
      };
      if (fix === undefined) this.#logOnce(backend, error);
      else this.#logMisconfigured(backend, error, fix);
      throw error;
    }
  }

  #logOnce(backend: Backend, error: CacheError): void {
    const kind = `${backend}:${error.code}`;
    if (this.#logged.has(kind)) return;
    this.#logged.add(kind);
    this.#config.logger.warn(`larder: ${backend} unavailable, serving without cache: ${error.message}`, {
      code: error.code,
      backend,
    });
  }

  /**
   * A misconfiguration, logged as an error with its fix, again every minute while it lasts (a
   * warning once, then silence while nothing is cached, is how a wrong region goes unnoticed).
   */
  #logMisconfigured(backend: Backend, error: CacheError, fix: string): void {
    const kind = `${backend}:${fix}`;
    const now = this.#now();
    const last = this.#misconfigured.get(kind);
    if (last !== undefined && now - last < MISCONFIGURED_LOG_INTERVAL_MS) return;
    if (last === undefined && this.#misconfigured.size >= MAX_LOGGED) return;
    this.#misconfigured.set(kind, now);
    this.#logged.add(`${backend}:misconfigured`);
    this.#config.logger.error(
      `larder: ${backend} misconfigured, serving without cache: ${error.message} — fix: ${fix}`,
      { code: error.code, backend, fix },
    );
  }

  #recovered(backend: Backend, adapter: string): void {
    if (this.#logged.size === 0) return;
    let cleared = false;
    for (const kind of this.#logged) {
      if (kind.startsWith(`${backend}:`)) {
        this.#logged.delete(kind);
        cleared = true;
      }
    }
    if (cleared) this.#config.logger.info(`larder: ${backend} (${adapter}) answering again`, { backend });
  }
}

/** Runs an operator call within its time limit and the caller's signal; failures become `CacheError`s. */
export function operatorCall<T>(spec: OperatorCall<T>): Promise<T> {
  return within(spec);
}

/** `adapter operation (key 0123456789ab)`, for messages. */
function named(adapter: string, operation: string, keyHash: string | undefined): string {
  return `${adapter} ${operation}${keyHash ? ` (key ${keyHash.slice(0, 12)})` : ""}`;
}

/**
 * The core both paths share: `spec.call` raced against its time limit and the caller's signal.
 * A rejection is a `CacheError` of the backend's class, or the caller's abort reason as it is.
 * Settled by hand rather than with `Promise.race` (one promise per call, not three: this runs on
 * every hit).
 */
function within<T>(spec: OperatorCall<T>): Promise<T> {
  const outer = spec.signal;
  if (outer?.aborted) return Promise.reject(outer.reason);
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (!settle()) return;
      controller.abort(outer!.reason);
      reject(outer!.reason);
    };
    // Raced as well as signalled, so an adapter that ignores its signal cannot hold the caller.
    const timer = setTimeout(() => {
      if (!settle()) return;
      const error = new TimeoutError(spec.backend, `${spec.what} timed out after ${spec.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, spec.timeoutMs);
    outer?.addEventListener("abort", onAbort, { once: true });
    let call: Promise<T>;
    try {
      call = spec.call(controller.signal);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (value) => {
        if (settle()) resolve(value);
      },
      (cause: unknown) => {
        if (!settle()) return;
        reject(outer?.aborted && cause === outer.reason ? cause : normalise(spec.backend, spec.what, cause));
      },
    );
  });
}

function normalise(backend: Backend, what: string, cause: unknown): CacheError {
  if (isCacheError(cause)) return cause;
  const message = `${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
  return backend === "store" ? new StoreError(message, { cause }) : new BlobError(message, { cause });
}
