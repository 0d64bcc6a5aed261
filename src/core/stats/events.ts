/**
 * Events: what the counters of stats.ts count, one by one, delivered synchronously to whoever
 * subscribed (`cache.on`, `createCache({ onEvent })`), so that logs, traces (`larder/otel`) and
 * metrics are built on the same facts as `stats()`. Each counter increment in the core has its
 * event emitted on the next line, so the two cannot drift apart.
 *
 * Nobody listening must cost the hit path nothing: an event object is built only after
 * {@link CacheEvents.listening} (a plain field) said someone listens. Listeners run inside the
 * cache's own calls, so one that throws (or returns a promise that rejects) is isolated: the
 * failure is logged once per listener and never reaches the call.
 *
 * @module
 */
import { type CacheErrorCode, ConfigError } from "../errors.ts";
import type { Logger } from "../types.ts";
import type { ErrorSource, HitSource } from "./stats.ts";

/** What a call of the cache was: a get-or-compute (`wrap`, the response cache), `get`, `set`, or a background refresh. */
export type CallKind = "wrap" | "get" | "set" | "refresh";

/** Fields every event of one call carries. */
export interface CallFields {
  /** Identifies one call: its lookup, computation and write events share it (0: the call started before anyone listened). */
  readonly call: number;
  /** What kind of call. */
  readonly op: CallKind;
  /** The entry's key hash (64 hex characters; not the key itself). */
  readonly keyHash: string;
  /** The entry's namespace. */
  readonly namespace: string;
  /** `namespace/name` of the wrapped function (`namespace/http` for the response cache); the namespace for `get` and `set`. */
  readonly label: string;
}

/** A lookup served an entry (counted in `stats().hits`). */
export interface HitEvent extends CallFields {
  /** The event's kind. */
  readonly type: "hit";
  /** Where the payload came from. */
  readonly tier: HitSource;
  /** Lookup time, ms (store and blob reads, verification, decoding). */
  readonly ms: number;
  /** Served stale while one refresh runs (a `stale` event follows). */
  readonly stale: boolean;
}

/** A lookup found no usable entry (counted in `stats().misses`). */
export interface MissEvent extends CallFields {
  /** The event's kind. */
  readonly type: "miss";
  /** Lookup time, ms. */
  readonly ms: number;
}

/**
 * A stale entry was served: `revalidate` (past its TTL, within `staleWhileRevalidate`) and
 * `marked` (invalidated with `mode: "stale"`) while one refresh runs, counted in `stats().stale`;
 * `error` (the function threw, within `staleIfError`), counted in `stats().staleIfError`.
 */
export interface StaleEvent extends CallFields {
  /** The event's kind. */
  readonly type: "stale";
  /** Why it could be served. */
  readonly reason: "revalidate" | "marked" | "error";
  /** Where its payload came from. */
  readonly tier: HitSource;
}

/**
 * A miss waited for another instance's lease (`stats().leases`): `served` its entry (`waited`),
 * took the lease over (`acquired`, its owner gone: `takenOver`), or `gaveUp` and computed anyway
 * (`givenUp`).
 */
export interface LeaseWaitEvent extends CallFields {
  /** The event's kind. */
  readonly type: "leaseWait";
  /** How the wait ended. */
  readonly outcome: "served" | "acquired" | "gaveUp";
  /** How long it lasted, ms. */
  readonly ms: number;
}

/** The function ran (after a miss, or in a background refresh: `op` is `refresh`). */
export interface ComputeEvent extends CallFields {
  /** The event's kind. */
  readonly type: "compute";
  /** How long it ran, ms. */
  readonly ms: number;
  /** Whether it returned a value (a refresh that did not is counted in `stats().refreshesFailed`). */
  readonly ok: boolean;
  /** What it threw, when it did not. */
  readonly error?: unknown;
  /** It threw and an expired entry was served instead (a `stale` event with reason `error` follows). */
  readonly fallback: boolean;
}

/** A write stored its entry (`stats().writes.ok`). */
export interface WriteOkEvent extends CallFields {
  /** The event's kind. */
  readonly type: "write";
  /** What became of the write. */
  readonly outcome: "ok";
  /** Stored payload size (compressed), bytes. */
  readonly bytes: number;
  /** Where the payload went. */
  readonly placement: "inline" | "blob";
  /** Encoding, upload and record write, ms. */
  readonly ms: number;
}

/**
 * A computed value was not stored because it may predate an invalidation
 * (`stats().writes.discarded`): one came while it was computed (`invalidated`), or the lookup
 * could not read the generations to rule it out (`unverified`).
 */
export interface WriteDiscardedEvent extends CallFields {
  /** The event's kind. */
  readonly type: "write";
  /** What became of the write. */
  readonly outcome: "discarded";
  /** Why. */
  readonly reason: "invalidated" | "unverified";
}

/**
 * A value was not stored (`stats().writes.skipped`): the pending set was full, or the value
 * could not be encoded or was too large (its code).
 */
export interface WriteSkippedEvent extends CallFields {
  /** The event's kind. */
  readonly type: "write";
  /** What became of the write. */
  readonly outcome: "skipped";
  /** Why. */
  readonly reason: "pendingFull" | "value";
  /** The value's error code (`E_CODEC`, `E_TOO_LARGE`, `E_KEY`), for `reason: "value"`. */
  readonly code?: CacheErrorCode;
}

/** A write failed on a backend (`stats().writes.failed`; the backend's `error` event came first). */
export interface WriteFailedEvent extends CallFields {
  /** The event's kind. */
  readonly type: "write";
  /** What became of the write. */
  readonly outcome: "failed";
  /** The error's code, when it was a `CacheError`. */
  readonly code?: CacheErrorCode;
}

/** What became of a write. */
export type WriteEvent = WriteOkEvent | WriteDiscardedEvent | WriteSkippedEvent | WriteFailedEvent;

/** An invalidation was done (the store accepted it): tags, namespaces, or the whole prefix (`clear()`). */
export interface InvalidateEvent {
  /** The event's kind. */
  readonly type: "invalidate";
  /** `expire` (entries miss) or `stale` (entries are served stale while refreshed). */
  readonly mode: "expire" | "stale";
  /** Tags invalidated (a response cache URL is the tag `larder-url:…`). */
  readonly tags: readonly string[];
  /** Namespaces invalidated. */
  readonly namespaces: readonly string[];
  /** The whole prefix (`clear()`). */
  readonly all: boolean;
}

/** A backend's circuit breaker opened (`stats().breakers.<backend>.opened`) or closed again after a probe. */
export interface BreakerEvent {
  /** The event's kind. */
  readonly type: "breaker";
  /** Which backend. */
  readonly backend: "store" | "blob";
  /** Its new state. */
  readonly state: "open" | "closed";
}

/**
 * The tiers' bus (`stats().bus`): this instance published a change (`sent`), received another
 * instance's (`received`, with the entries it `dropped`), read the store's log (`poll`), lost its
 * subscription or failed a poll (`failed`), had its subscription back (`reconnected`), or emptied
 * its tier because messages may have been missed (`reset`).
 */
export interface BusEvent {
  /** The event's kind. */
  readonly type: "bus";
  /** What happened. */
  readonly action: "sent" | "received" | "poll" | "failed" | "reconnected" | "reset";
  /** Tier entries dropped (`received`, `reset`). */
  readonly dropped?: number;
  /** Why the tier was reset: a subscription back after a loss, a gap in the log, a message it could not read. */
  readonly reason?: "reconnect" | "gap" | "unreadable";
}

/** A failure the cache absorbed (`stats().errors`: by source and by code). */
export interface ErrorEvent {
  /** The event's kind. */
  readonly type: "error";
  /** Which part of the cache. */
  readonly source: ErrorSource;
  /** The error's code. */
  readonly code: CacheErrorCode;
  /**
   * Set when the backend refused the configuration (a misconfiguration: a token, region, secret
   * or bucket; `cache.health()` says `misconfigured`): what to change. Absent for outages.
   */
  readonly fix?: string;
}

/** Every event, told apart by `type`. */
export type CacheEvent =
  | HitEvent
  | MissEvent
  | StaleEvent
  | LeaseWaitEvent
  | ComputeEvent
  | WriteEvent
  | InvalidateEvent
  | BreakerEvent
  | BusEvent
  | ErrorEvent;

/** The name of an event type. */
export type CacheEventType = CacheEvent["type"];

const TYPES: ReadonlySet<string> = new Set<CacheEventType | "*">([
  "hit",
  "miss",
  "stale",
  "leaseWait",
  "compute",
  "write",
  "invalidate",
  "breaker",
  "bus",
  "error",
  "*",
]);

/** A listener of events of type `K` (`"*"`: every event). */
export type CacheEventListener<K extends CacheEventType | "*" = "*"> = (
  event: K extends CacheEventType ? Extract<CacheEvent, { readonly type: K }> : CacheEvent,
) => unknown;

type AnyListener = (event: CacheEvent) => unknown;

/** One cache's listeners; see the module doc. */
export class CacheEvents {
  /**
   * Whether anyone listens. Every emitter checks it before building an event: a plain field,
   * so that nobody listening costs one load and one branch.
   */
  listening = false;
  // Replaced, never mutated, so that a listener added or removed during an emit changes the next one only.
  #listeners: readonly { readonly type: CacheEventType | "*"; readonly listener: AnyListener }[] = [];
  #calls = 0;
  readonly #logger: Logger;
  readonly #failed = new WeakSet<AnyListener>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Subscribes `listener` to events of `type` (`"*"`: all); returns the function that unsubscribes it. */
  on<K extends CacheEventType | "*">(type: K, listener: CacheEventListener<K>): () => void {
    // A misspelt type would never fire: refused, like any bad option.
    if (!TYPES.has(type)) {
      throw new ConfigError(`on: unknown event type ${JSON.stringify(type)}; one of ${[...TYPES].join(", ")}`);
    }
    if (typeof listener !== "function") throw new ConfigError("on: the listener must be a function");
    const entry = { type, listener: listener as AnyListener };
    this.#listeners = [...this.#listeners, entry];
    this.listening = true;
    return () => {
      this.#listeners = this.#listeners.filter((e) => e !== entry);
      this.listening = this.#listeners.length > 0;
    };
  }

  /** The fields of a new call's events, numbered (asked for only while someone listens). */
  begin(fields: Omit<CallFields, "call">): CallFields {
    return { call: ++this.#calls, ...fields };
  }

  /** Delivers `event` to its listeners, in the order they subscribed; never throws. */
  emit(event: CacheEvent): void {
    for (const { type, listener } of this.#listeners) {
      if (type !== "*" && type !== event.type) continue;
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.#threw(listener, error));
      } catch (error) {
        this.#threw(listener, error);
      }
    }
  }

  #threw(listener: AnyListener, error: unknown): void {
    if (this.#failed.has(listener)) return;
    this.#failed.add(listener);
    this.#logger.error("larder: an event listener threw (logged once per listener; the cache goes on)", { error });
  }
}
