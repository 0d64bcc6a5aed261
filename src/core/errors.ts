/**
 * The error hierarchy. Every error Larder raises is a {@link CacheError} with a stable `code`,
 * so callers branch on codes, never on message text. Messages name the backend, the operation
 * and the key hash; they never contain tokens, signed URLs or payload bytes.
 *
 * @module
 */

/** Stable machine-readable error codes. */
export type CacheErrorCode =
  | "E_CONFIG"
  | "E_KEY"
  | "E_TIMEOUT"
  | "E_STORE"
  | "E_BLOB"
  | "E_CODEC"
  | "E_TOO_LARGE"
  | "E_INTEGRITY"
  | "E_SCHEMA";

const BRAND: unique symbol = Symbol.for("larder.CacheError");

/** Base class of every error Larder raises. */
export class CacheError extends Error {
  /** Stable code to branch on. */
  readonly code: CacheErrorCode;
  /** An error with `code`; `options.cause` keeps the original error. */
  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // A registered symbol, so the brand survives duplicate copies of the package (see isCacheError).
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Invalid options, durations, keys or function identity. Raised at `createCache`/`wrap` time. */
export class ConfigError extends CacheError {
  /** An error with this class's code; `options.cause` keeps the original error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_CONFIG", message, options);
  }
}

/** Arguments or a key cannot be encoded into a cache key (functions, symbols, cycles, class instances). */
export class KeyError extends CacheError {
  /** An error with this class's code; `options.cause` keeps the original error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_KEY", message, options);
  }
}

/**
 * Options of a backend's error: the original error, and, when the backend refused the call
 * because of how it is configured, what to change.
 */
export interface BackendErrorOptions {
  /** The original error. */
  readonly cause?: unknown;
  /**
   * Set when the backend answered that the call is misconfigured (a wrong token, region, secret
   * or bucket): not an outage, and this says what to change, e.g. `check the token (UPSTASH_REDIS_REST_TOKEN)`.
   */
  readonly fix?: string | undefined;
}

/** A metadata store (Redis) operation failed. */
export class StoreError extends CacheError {
  /** When set, the store refused the call because of its configuration, and this says what to change. */
  readonly fix: string | undefined;
  /** An error with this class's code; `options.cause` keeps the original error, `options.fix` marks a misconfiguration. */
  constructor(message: string, options?: BackendErrorOptions) {
    super("E_STORE", message, options);
    this.fix = options?.fix;
  }
}

/** A blob store (S3) operation failed. */
export class BlobError extends CacheError {
  /** When set, the blob store refused the call because of its configuration, and this says what to change. */
  readonly fix: string | undefined;
  /** An error with this class's code; `options.cause` keeps the original error, `options.fix` marks a misconfiguration. */
  constructor(message: string, options?: BackendErrorOptions) {
    super("E_BLOB", message, options);
    this.fix = options?.fix;
  }
}

/**
 * The fix of a backend error that reports a misconfiguration (see {@link BackendErrorOptions.fix}),
 * or undefined for any other error, including one from another copy of the package.
 */
export function misconfigurationFix(error: unknown): string | undefined {
  if (!isCacheError(error) || (error.code !== "E_STORE" && error.code !== "E_BLOB")) return undefined;
  const fix = (error as { fix?: unknown }).fix;
  return typeof fix === "string" && fix !== "" ? fix : undefined;
}

/**
 * A backend call did not finish within its timeout, or (`backend: "function"`) a wrapped
 * function did not deliver its value within `wrap`'s `timeout` (it goes on in the background and
 * its value is still cached), or was aborted at `abortAfter`. `backend` says which.
 */
export class TimeoutError extends CacheError {
  /** `"store"`, `"blob"`, or `"function"` (the wrapped function). */
  readonly backend: "store" | "blob" | "function";
  /** A timeout of `backend`; `options.cause` keeps the abort reason. */
  constructor(backend: "store" | "blob" | "function", message: string, options?: { cause?: unknown }) {
    super("E_TIMEOUT", message, options);
    this.backend = backend;
  }
}

/** A value could not be encoded (functions, symbols, cycles…) or a payload could not be decoded. */
export class CodecError extends CacheError {
  /** An error with this class's code; `options.cause` keeps the original error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_CODEC", message, options);
  }
}

/** A value or payload exceeds a configured size limit. */
export class TooLargeError extends CacheError {
  /** An error with this class's code; `options.cause` keeps the original error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_TOO_LARGE", message, options);
  }
}

/** A stored entry failed verification (wrong key hash, checksum mismatch, malformed record). */
export class IntegrityError extends CacheError {
  /** An error with this class's code; `options.cause` keeps the original error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_INTEGRITY", message, options);
  }
}

/** One problem a Standard Schema validator found: its message, and where in the value (keys and indexes). */
export interface SchemaIssue {
  /** The validator's message. */
  readonly message: string;
  /** Where in the value, from its root: object keys and array indexes. Absent for the root. */
  readonly path?: readonly PropertyKey[];
}

/**
 * A value did not pass `wrap`'s `schema`. A cached value that fails is never seen by callers (it
 * is a miss, counted in `errors.schema`); the function's own fresh value that fails rejects the
 * call with this error, and is not stored. `issues` are the validator's.
 */
export class SchemaError extends CacheError {
  /** What the validator found. */
  readonly issues: readonly SchemaIssue[];
  /** An error with this class's code and the validator's issues. */
  constructor(message: string, issues: readonly SchemaIssue[], options?: { cause?: unknown }) {
    super("E_SCHEMA", message, options);
    this.issues = issues;
  }
}

/** True when `error` is a {@link CacheError}, even one from another copy of the package. */
export function isCacheError(error: unknown): error is CacheError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
