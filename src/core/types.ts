/**
 * Role interfaces. The core talks to three roles: a metadata store (small records, Redis),
 * a blob store (large payloads, S3) and the value codecs. Adapters implement these and nothing
 * else; timeouts, error accounting and policy live above them. Optional parts of a contract
 * (a blob GET's expected size, an encoder's byte limit) bound memory when an adapter or codec
 * supports them; one that ignores them stays correct, as the core checks the result too.
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
 * existed); `del` → `number` of keys removed; `exists` → `boolean`; `read` → {@link ReadResult};
 * `write` → {@link WriteResult}; `renewLease` → `boolean` (still the owner; expiry reset);
 * `releaseLease` → `boolean` (deleted, only when `token` still owns it); `setGeneration` → `true`;
 * `hincr` → `number` (the new value); `hgetall` → `Record<string, string>`; `scan` → {@link ScanResult};
 * `publish` → `boolean` (false when the store could not send the message: the batch's other ops
 * stand, and the bus is best effort); `readBus` → {@link ReadBusResult}. The last two only reach a store that
 * declares a {@link MetadataStore.bus}.
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
  | {
    readonly type: "del";
    readonly key: string;
    /** More keys to delete in the same command. */
    readonly more?: readonly string[];
    /** Also forget the entry in a namespace's eviction bookkeeping. */
    readonly lru?: LruRef;
  }
  | { readonly type: "exists"; readonly key: string }
  | ReadOp
  | WriteOp
  | { readonly type: "renewLease"; readonly key: string; readonly token: string; readonly ttlMs: number }
  | { readonly type: "releaseLease"; readonly key: string; readonly token: string }
  | {
    readonly type: "setGeneration";
    /** The generation key (a tag's, a namespace's or the prefix's). */
    readonly key: string;
    /** `x` replaces the expire token (entries miss), `s` the stale token (entries turn stale). */
    readonly field: "x" | "s";
    /** The new token: unique, never reused. */
    readonly token: string;
  }
  | { readonly type: "hincr"; readonly key: string; readonly field: string; readonly by: number }
  | { readonly type: "hgetall"; readonly key: string }
  | { readonly type: "scan"; readonly cursor: string; readonly match: string; readonly count: number }
  | PublishOp
  | ReadBusOp;

/**
 * Tells the other instances sharing the store about a change (see {@link MetadataStore.bus}). It
 * takes effect only after every op before it in the same batch has (the core puts it last, so a
 * message never arrives before the change it announces is visible); a store that runs a batch's
 * ops concurrently (a cluster) sends it once they have completed.
 */
export interface PublishOp {
  /** Operation name. */
  readonly type: "publish";
  /** The channel (for `"poll"` stores: the key of its log). */
  readonly channel: string;
  /** The message: printable ASCII, at most a few KiB. */
  readonly message: string;
}

/**
 * Reads a channel's log (stores whose {@link MetadataStore.bus} is `"poll"`): the messages
 * published after `after`, oldest first, and the cursor to read from next.
 */
export interface ReadBusOp {
  /** Operation name. */
  readonly type: "readBus";
  /** The channel (the key of its log). */
  readonly channel: string;
  /**
   * The `cursor` of the previous read. Absent on a first read: the messages published in the
   * last `recentMs`, by the store's own clock (whoever reads must not depend on its own clock).
   */
  readonly after?: string;
  /** On a first read: how far back to return messages, ms. */
  readonly recentMs: number;
  /** Messages returned at most (the oldest first); the next read continues from `cursor`. */
  readonly max: number;
}

/** The result of a {@link ReadBusOp}. */
export interface ReadBusResult {
  /** Where the next read starts. */
  readonly cursor: string;
  /** The messages, oldest first. */
  readonly messages: readonly string[];
  /**
   * Messages after `after` (or within `recentMs`) may be missing: the log was trimmed past them,
   * deleted (`clear()`) or evicted. The reader must assume it missed anything.
   */
  readonly gap: boolean;
}

/**
 * A generation: the tokens an invalidation replaces. A record keeps the tokens of each of its
 * generation keys as they were when its value was computed; a different `x` now means the
 * entry is invalid, a different `s` that it is stale.
 */
export interface Generation {
  /** Expire token. */
  readonly x: string;
  /** Stale token. */
  readonly s: string;
}

/**
 * An entry in a namespace's eviction bookkeeping: a sorted set by last use, a hash of sizes and a
 * sorted set by expiry (so expired entries stop counting against the limits). All three keys share
 * one Redis Cluster hash tag (`lruKeys` in record/key_layout.ts), so one script updates them.
 */
export interface LruRef {
  /** Sorted set: member → last use, ms since the epoch. */
  readonly key: string;
  /** Hash: member → payload bytes, and the field `#` → their total. */
  readonly sizes: string;
  /** Sorted set: member → when its record expires (TTL and retention), ms since the epoch, the writer's clock. */
  readonly expiries: string;
  /** The entry's key hash. */
  readonly member: string;
}

/**
 * Reads a record and the generations that decide whether it is still valid, in one atomic step.
 *
 * Generation keys that do not exist are created with `token` for both fields, so a record never
 * holds an empty token and a generation that disappears (evicted, cleared) can never make an
 * invalidated record valid again. When one of the record's stored `x` tokens differs from the
 * current one, the record is reported as absent (`invalidated: true`). When there is no valid
 * record and `lease` is given, the lease is taken if free (`SET NX PX`). When the record is
 * valid and `touch` is given, its last use is updated (only while it is still tracked).
 */
export interface ReadOp {
  /** Operation name. */
  readonly type: "read";
  /** The record's key. */
  readonly key: string;
  /** Generation keys to report even when there is no record (the ones a new record would carry). */
  readonly gens: readonly string[];
  /** Token for generation keys that do not exist yet. */
  readonly token: string;
  /** The lease to take when there is no valid record. */
  readonly lease?: { readonly key: string; readonly token: string; readonly ttlMs: number };
  /** The eviction entry to mark as used now. */
  readonly touch?: LruRef & { readonly score: number };
}

/** The result of a {@link ReadOp}. */
export interface ReadResult {
  /** The record, or null when absent or invalidated. */
  readonly value: string | null;
  /** Whether a record existed but one of its generations' expire token had changed. */
  readonly invalidated: boolean;
  /** The lease: taken by this call, held by another owner, or not asked for (or not needed). */
  readonly lease: "acquired" | "held" | "none";
  /** The current generation of every key in `gens` and in the record. */
  readonly gens: Readonly<Record<string, Generation>>;
}

/** A generation a record is written under: with tokens (checked), or without (the current ones). */
export interface GenerationStamp {
  /** The generation key. */
  readonly key: string;
  /** The expire token seen before computing the value. */
  readonly x?: string;
  /** The stale token seen before computing the value. */
  readonly s?: string;
}

/**
 * Writes a record with its TTL, stamped with the generations it was computed under, and keeps a
 * namespace's eviction limits, in one atomic step.
 *
 * The stored value is `{"g":[[key,x,s],…],` followed by `record` without its opening brace. A
 * generation given with tokens is checked: when its current `x` differs, nothing is written
 * (the value was computed before an invalidation). A generation given without tokens gets the
 * current ones (created from `token` when missing). With `lru`, the entry is tracked with its
 * size and expiry (`score + ttlMs`); first, up to 100 members whose expiry is before `score` are
 * forgotten (their records expire on their own: not deleted, not reported), then least recently
 * used entries other than this one are deleted until both limits hold (or this one is alone).
 * Expiry is the writer's clock (`score`), never the server's, so every instance agrees.
 */
export interface WriteOp {
  /** Operation name. */
  readonly type: "write";
  /** The record's key. */
  readonly key: string;
  /** The record: a JSON object text, at least one field. */
  readonly record: string;
  /** Expiry. Must be a positive integer. */
  readonly ttlMs: number;
  /** The generations the value was computed under. */
  readonly gens: readonly GenerationStamp[];
  /** Token for generation keys that do not exist yet. */
  readonly token: string;
  /** Eviction bookkeeping and limits (0: no limit). */
  readonly lru?: LruRef & {
    /** Now, on the writer's clock: the entry's last use, and the instant expired members are dropped before. */
    readonly score: number;
    readonly bytes: number;
    readonly maxEntries: number;
    readonly maxBytes: number;
    /** Record key of a member: `recordPrefix + member + recordSuffix`. */
    readonly recordPrefix: string;
    /** See `recordPrefix`. @default "" */
    readonly recordSuffix?: string;
  };
}

/** The result of a {@link WriteOp}. */
export interface WriteResult {
  /** False when a generation had changed since the value was computed. */
  readonly written: boolean;
  /** Evicted members whose records pointed to a blob (the caller deletes those blobs). */
  readonly evicted: readonly string[];
}

/** The result of a `scan` operation: the next cursor (`"0"` when done) and the keys of this step. */
export interface ScanResult {
  /** Where the next step starts; `"0"` when the scan is complete. */
  readonly cursor: string;
  /** Keys found in this step (a key may appear in more than one step). */
  readonly keys: readonly string[];
}

/** The result of one {@link StoreOp}; see its documentation for which type goes with which op. */
export type StoreResult =
  | string
  | null
  | number
  | boolean
  | ReadResult
  | WriteResult
  | ScanResult
  | ReadBusResult
  | Readonly<Record<string, string>>;

/**
 * A metadata store: string keys to string values with millisecond TTLs.
 * `run` executes a batch in order and in ONE round trip (a pipeline), returning one result per op.
 * It throws when the batch as a whole failed; it must not half-report (results are all or none).
 *
 * Optionally, a store carries a **bus** between the instances sharing it, so that each process'
 * in-process tier drops what another instance invalidated, deleted or replaced (`memory.bus`):
 * see {@link MetadataStore.bus}. A store without one stays correct; tiers then rely on their TTL.
 */
export interface MetadataStore {
  /** Short name for logs and errors, e.g. `"upstash"` or `"memory"`. */
  readonly name: string;
  /** Executes `ops` in one round trip; `results[i]` belongs to `ops[i]`. */
  run(ops: readonly StoreOp[], options?: CallOptions): Promise<StoreResult[]>;
  /**
   * Optional: the server's clock, ms since the epoch (Redis `TIME`), in one round trip.
   * `cache.check()` compares it with the local clock (entries expire by their writer's clock, so
   * instances whose clocks disagree disagree on expiry); stores without it skip that check.
   */
  time?(options?: CallOptions): Promise<number>;
  /**
   * Optional: how this store carries messages between the instances sharing it. Absent: no bus.
   *
   * - `"push"` (Redis pub/sub; in-process): the `publish` op delivers the message to every
   *   listener of {@link MetadataStore.subscribe}, within milliseconds. `subscribe` is required.
   * - `"poll"` (a store that holds no connection open, e.g. over HTTP): the `publish` op appends
   *   the message to a bounded log kept under the channel's key, and readers fetch what is new with
   *   `readBus` ops, at their own pace (one request per interval, shared by every entry).
   *
   * Messages are hints, never data: a lost one costs at most the tier's TTL, and a store that
   * knows it may have lost some says so (`live(false)`, or `gap`), after which readers drop all.
   */
  readonly bus?: "push" | "poll";
  /**
   * With `bus: "push"`: delivers the messages published on `channel` to `listener` until the
   * returned function is called. Batches that `run` starts after `subscribe` returned must not take
   * effect before the subscription is in place (a store may wait for it, boundedly, before sending
   * them), so that a message published after any of them reaches the listener. The store keeps the
   * subscription up (reconnecting as needed) and reports its state with `listener.live`.
   */
  subscribe?(channel: string, listener: BusListener): () => void;
}

/** What a bus subscription tells its listener (see {@link MetadataStore.subscribe}). */
export interface BusListener {
  /** A message published on the channel (by any instance, the publisher's own included). */
  message(text: string): void;
  /**
   * The subscription's state: `false` once it is lost (messages published from then on may not
   * arrive), `true` once it is in place again. Never called twice in a row with the same value;
   * a subscription starts live.
   */
  live(live: boolean): void;
}

/**
 * Options of {@link BlobStore.get}: the call's signal, and the size the caller expects, which
 * bounds what the adapter holds.
 */
export interface BlobGetOptions extends CallOptions {
  /**
   * The exact size, in bytes, the caller expects the object to have. A promise, because it may
   * not be known when the call starts: a cache hit sends the GET together with the record read,
   * and the record says the size.
   *
   * The contract, for adapters that support it: until the promise settles, hold at most
   * {@link BLOB_PENDING_BYTES} of the body (read no further; let the transport's flow control
   * wait; a body complete within that allowance may be returned as it is). Once it resolves to a
   * number N, never hold more than N bytes of the body (plus the chunk in hand): a declared length
   * over N, or a body that grows past N, cancels the request at once and the call rejects with an
   * `IntegrityError`. Resolving to `undefined` lifts the expectation (the adapter's own limits
   * still apply). When the caller no longer wants the object it aborts `signal`, as for any call.
   *
   * Adapters that ignore it stay correct (the caller verifies size and checksum), only unbounded:
   * they hold whatever the object's size is, up to their own limit.
   */
  readonly expectedBytes?: Promise<number | undefined>;
}

/** How much of a body a blob store may hold before {@link BlobGetOptions.expectedBytes} settles: 64 KiB. */
export const BLOB_PENDING_BYTES: number = 64 * 1024;

/** A blob store: object keys to bytes. */
export interface BlobStore {
  /** Short name for logs and errors, e.g. `"s3"` or `"memory"`. */
  readonly name: string;
  /** Stores `body` under `key`, replacing any previous object. Resolves once it is durable. */
  put(key: string, body: Uint8Array, options?: CallOptions): Promise<void>;
  /**
   * The object's bytes, or `null` when there is no such object. Holds at most what
   * `options.expectedBytes` allows, when given (see {@link BlobGetOptions}).
   */
  get(key: string, options?: BlobGetOptions): Promise<Uint8Array | null>;
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

/** Options of {@link ValueCodec.encode}. */
export interface EncodeOptions {
  /**
   * The largest encoding wanted, in bytes. A codec that supports it stops as soon as the encoding
   * passes this size (or a lower bound of it does) and throws a `TooLargeError`, so an oversized
   * value costs about `maxBytes` of memory, not its whole encoding. A codec that ignores it stays
   * correct: the caller checks the size of what it returns, after the fact.
   */
  readonly maxBytes?: number;
}

/** Turns values into bytes and back. */
export interface ValueCodec {
  /** Name recorded in each entry, e.g. `"cbor"` or `"json"`. */
  readonly name: string;
  /**
   * Encodes `value`; throws a `CodecError` for values it cannot represent faithfully, and a
   * `TooLargeError` when the encoding passes `options.maxBytes` (see {@link EncodeOptions}).
   */
  encode(value: unknown, options?: EncodeOptions): Uint8Array;
  /** Decodes bytes written by `encode`; throws a `CodecError` on malformed input. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * A codec for one kind of value (Arrow tables: `arrowCodec()` from `larder/arrow`), given in
 * `createCache({ codecs })`. Each value written is offered to these codecs first; the first that
 * `accepts` it encodes it, and its `name` is recorded in the entry so that readers decode with it.
 * Values none accepts go to the cache's `codec` as before. Its `decode` may not keep `bytes`
 * (the caller may reuse them): a value that views its input must copy it first.
 */
export interface ValueExtension extends ValueCodec {
  /** Whether this codec encodes `value`. Called for each value written: keep it cheap (an `instanceof`). */
  accepts(value: unknown): boolean;
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
  /**
   * Optional: like `decompress`, but hands the output to `use` where it was written (e.g. inside
   * a WASM memory) instead of copying it out, and resolves to what `use` returns. The view is
   * valid only during the call, which must be synchronous; nothing may keep it.
   */
  decompressWith?<T>(bytes: Uint8Array, maxBytes: number, use: (raw: Uint8Array) => T): Promise<T>;
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
