/**
 * Role interfaces. The core talks to three roles: a metadata store (small records, Redis),
 * a blob store (large payloads, S3) and the value codecs. Adapters implement these and nothing
 * else; timeouts, error accounting and policy live above them.
 *
 * @module
 */

/** Per-call options every adapter accepts. Adapters must abort their I/O when `signal` fires. */
export interface CallOptions {
  /** Aborts the call (timeouts are enforced by the core through this signal). */
  readonly signal?: AbortSignal;
}

/**
 * One store operation, described as data so that a whole hit or write is one round trip.
 * Results, by `type`: `get` → `string | null`; `set` → `boolean` (false when `ifAbsent` and the key
 * existed); `del` → `number` of keys removed (0 or 1); `exists` → `boolean`;
 * `getOrLease` → the value of `key` when it exists, else `true` when the lease was acquired and
 * `false` when another owner holds it (atomically: never a lease while the value exists);
 * `renewLease` → `boolean` (still the owner; expiry reset); `releaseLease` → `boolean` (deleted,
 * only when `token` still owns it).
 */
export type StoreOp =
  | { readonly type: "get"; readonly key: string }
  | {
    readonly type: "set";
    readonly key: string;
    readonly value: string;
    /** Expiry, set in the same command that writes the value. Must be a positive integer. */
    readonly ttlMs: number;
    /** Write only when the key does not exist (Redis `NX`). */
    readonly ifAbsent?: boolean;
  }
  | { readonly type: "del"; readonly key: string }
  | { readonly type: "exists"; readonly key: string }
  | {
    readonly type: "getOrLease";
    /** The value to read. */
    readonly key: string;
    /** The lease to take (`SET leaseKey token NX PX ttlMs`) when `key` does not exist. */
    readonly leaseKey: string;
    /** The owner token written to the lease. */
    readonly token: string;
    /** Lease expiry. Must be a positive integer. */
    readonly ttlMs: number;
  }
  | { readonly type: "renewLease"; readonly key: string; readonly token: string; readonly ttlMs: number }
  | { readonly type: "releaseLease"; readonly key: string; readonly token: string };

/** The result of one {@link StoreOp}; see its documentation for which type goes with which op. */
export type StoreResult = string | null | number | boolean;

/**
 * A metadata store: string keys to string values with millisecond TTLs.
 * `run` executes a batch in order and in ONE round trip (a pipeline), returning one result per op.
 * It throws when the batch as a whole failed; it must not half-report (results are all or none).
 */
export interface MetadataStore {
  /** Short name for logs and errors, e.g. `"upstash"` or `"memory"`. */
  readonly name: string;
  /** Executes `ops` in one round trip; `results[i]` belongs to `ops[i]`. */
  run(ops: readonly StoreOp[], options?: CallOptions): Promise<StoreResult[]>;
}

/** A blob store: object keys to bytes. */
export interface BlobStore {
  /** Short name for logs and errors, e.g. `"s3"` or `"memory"`. */
  readonly name: string;
  /** Stores `body` under `key`, replacing any previous object. Resolves once it is durable. */
  put(key: string, body: Uint8Array, options?: CallOptions): Promise<void>;
  /** The object's bytes, or `null` when there is no such object. */
  get(key: string, options?: CallOptions): Promise<Uint8Array | null>;
  /** Removes the object; succeeds when it does not exist. */
  delete(key: string, options?: CallOptions): Promise<void>;
  /**
   * Optional: one page of the objects whose keys start with `prefix`, in key order, with the
   * cursor of the next page (absent on the last). `cleanup()` needs it.
   */
  list?(prefix: string, options?: BlobListOptions): Promise<BlobListPage>;
  /**
   * Optional: removes up to 1000 objects in one call (missing ones count as removed). Resolves
   * with the keys that could not be removed; rejects when the call as a whole failed.
   */
  deleteMany?(keys: readonly string[], options?: CallOptions): Promise<BlobDeleteResult>;
}

/** Options of {@link BlobStore.list}. */
export interface BlobListOptions extends CallOptions {
  /** Where to resume: the `cursor` of the previous page. */
  readonly cursor?: string;
  /** Objects per page at most (1–1000). @default 1000 */
  readonly limit?: number;
}

/** One page of {@link BlobStore.list}. */
export interface BlobListPage {
  /** The objects of this page, in key order. */
  readonly objects: readonly BlobObject[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly cursor?: string;
}

/** An object as listed by {@link BlobStore.list}. */
export interface BlobObject {
  /** Object key. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** Last written, ms since the epoch (the store's clock; S3 lists it to the second). */
  readonly lastModified: number;
}

/** The outcome of {@link BlobStore.deleteMany}. */
export interface BlobDeleteResult {
  /** The keys that are not known to be removed, each with the store's error code. */
  readonly failed: readonly { readonly key: string; readonly code: string }[];
}

/** Turns values into bytes and back. */
export interface ValueCodec {
  /** Name recorded in each entry, e.g. `"cbor"` or `"json"`. */
  readonly name: string;
  /** Encodes `value`; throws a `CodecError` for values it cannot represent faithfully. */
  encode(value: unknown): Uint8Array;
  /** Decodes bytes written by `encode`; throws a `CodecError` on malformed input. */
  decode(bytes: Uint8Array): unknown;
}

/** Compresses payloads. */
export interface Compressor {
  /** Name recorded in each entry: `"zstd"`, `"gzip"` or `"none"`. */
  readonly name: string;
  /** Compresses `bytes`. */
  compress(bytes: Uint8Array): Promise<Uint8Array>;
  /**
   * Decompresses `bytes`, refusing (with a `TooLargeError`, before allocating) any output over
   * `maxBytes`. Throws a `CodecError` on malformed input.
   */
  decompress(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array>;
}

/** Where log lines go. Each method takes a message and optional structured fields. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Something worth knowing that needs no action. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Degraded operation: the cache failed open. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that loses work (e.g. a background write that could not be persisted). */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Keeps a background task alive past the response (Workers' `ctx.waitUntil` and the like). */
export type WaitUntil = (task: Promise<unknown>) => void;
