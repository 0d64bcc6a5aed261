/**
 * What one get-or-compute call is: the entry, how its values live (TTL, stale windows), how to
 * compute a value, how to turn a stored entry into a value (the job's {@link Decoder}: `wrap`
 * decodes, the response cache keeps the stored bytes), and, optionally, what to store for a
 * computed value. Shared by get_or_compute.ts and refresh.ts, with the write a computed value
 * leads to ({@link writeFor}).
 *
 * @module
 */
import type { CacheContext, EntryRef } from "../context.ts";
import type { CallFields } from "../stats/events.ts";
import { stampsFor } from "../record/generations.ts";
import type { Generations, StoredEntry } from "./lookup.ts";
import type { Placement } from "./placement.ts";
import type { WriteRequest } from "./write.ts";

/** How one wrapped function's entries live. */
export interface EntryPolicy {
  /** Fresh for this long. */
  readonly ttlMs: number;
  /** Served stale, while one refresh runs, for this long past expiry (0: never). */
  readonly staleWhileRevalidateMs: number;
  /** Served stale when the function fails, for this long past expiry (0: never). */
  readonly staleIfErrorMs: number;
  /** Label for log lines, `namespace/name`. */
  readonly label: string;
}

/** How a job's values come out of stored entries. */
export interface Decoder<T> {
  /**
   * A value this process holds already (its in-process tier), served with no store request;
   * `undefined` when it holds none; a promise of either only when it must be: the tier must first
   * check that it is current (a polled bus, flow/bus.ts), or an async `schema` validator.
   */
  readonly local?: (
    hash: string,
  ) => { readonly value: T } | undefined | Promise<{ readonly value: T } | undefined>;
  /**
   * The value of a verified entry (`fresh`: within its TTL and not marked stale; `since`: the
   * tier's epoch when the lookup left, for what it keeps). A rejection makes the entry a miss,
   * counted as an error.
   */
  readonly decode: (entry: StoredEntry, fresh: boolean, since: number) => T | Promise<T>;
}

/** A function call to serve from the cache: its entry and how to compute it. */
export interface ComputeJob<T> {
  /** The entry. */
  readonly ref: EntryRef;
  /** Its policy. */
  readonly policy: EntryPolicy;
  /** How its values come out of stored entries. */
  readonly decoder: Decoder<T>;
  /** Runs the function. */
  readonly compute: () => Promise<T>;
  /** Learns where the entry ended up (for the next call's blob-GET speculation). */
  readonly onPlacement: (placement: Placement) => void;
  /**
   * What to store for a computed value, when it is not the value itself with the policy's TTL
   * (e.g. a response: its body, still arriving, with its own TTL and its status and headers as
   * metadata). `undefined`: store nothing (a lease held is released at once).
   */
  readonly persistAs?: (value: T) => PersistPlan | undefined;
  /**
   * Whether a stale entry found (expired, or marked stale by an invalidation) may be served stale
   * or kept as the stale-if-error fallback; `false` makes it a plain miss (e.g. a response whose
   * `must-revalidate` forbids serving it stale). Called for each stale entry found. @default always
   */
  readonly mayServeStale?: (value: T) => boolean;
  /**
   * How long callers wait for a computed value once the lookup missed (waiting for another
   * instance's computation included); past it they get a stale entry when one may be served, else
   * a `TimeoutError`, and the computation goes on and is stored (flow/time_limit.ts). @default no limit
   */
  readonly timeoutMs?: number;
  /**
   * Recompute even when a stale entry is found (`recache` after an invalidation): it is neither
   * served nor kept as a fallback, and the computation goes through the lease like a miss's.
   * @default false
   */
  readonly recompute?: boolean;
  /** Learns, when a computed value's write is scheduled, when it will have settled (whatever its outcome). */
  readonly persisting?: (settled: Promise<void>) => void;
}

/**
 * What {@link ComputeJob.persistAs} asks to store; `retainMs` (how long the record outlives its
 * TTL for stale serving) defaults to the policy's stale windows: 0 keeps nothing past the TTL.
 */
export type PersistPlan = Pick<WriteRequest, "value" | "ttlMs" | "meta" | "retainMs">;

/**
 * The write of a computed value: the job's own plan (or the value with the policy's TTL), stamped
 * with the generations seen before computing it (`seen`, a promise when the lookup outlived
 * `timeout.total`). `undefined` when the job stores nothing, or when the generations could not
 * be read (the value might predate an invalidation: counted as discarded).
 */
export function writeFor<T>(
  ctx: CacheContext,
  job: ComputeJob<T>,
  computed: {
    readonly value: T;
    readonly seen: Generations | Promise<Generations>;
    /** The call's event fields, while someone listens. */
    readonly call?: CallFields | undefined;
  },
): WriteRequest | undefined | Promise<WriteRequest | undefined> {
  const { ref, policy } = job;
  // The plan now (a response's body is being read meanwhile); the stamps once they are known.
  const plan = job.persistAs ? job.persistAs(computed.value) : { value: computed.value, ttlMs: policy.ttlMs };
  if (!plan) return undefined;
  const computedAt = ctx.options.now();
  const stamped = (known: Generations): WriteRequest | undefined => {
    const gens = stampsFor(ref.gens, known);
    if (!gens) {
      ctx.stats.writesDiscarded++;
      if (computed.call) {
        ctx.events.emit({ type: "write", ...computed.call, outcome: "discarded", reason: "unverified" });
      }
      return undefined;
    }
    return {
      ...plan,
      ...(ref.readableKey === undefined ? {} : { readableKey: ref.readableKey }),
      hash: ref.hash,
      namespace: ref.namespace,
      gens,
      retainMs: plan.retainMs ?? Math.max(policy.staleWhileRevalidateMs, policy.staleIfErrorMs),
      computedAt,
    };
  };
  const seen = computed.seen;
  return seen instanceof Promise ? seen.then(stamped) : stamped(seen);
}
