/**
 * The in-process tier: a first cache level inside each process or isolate, checked before the
 * store, each entry kept for at most its own short TTL: that TTL is the bound on how long this
 * process may serve an entry another instance has deleted or replaced. It is the package's one
 * LRU (util/lru.ts), bounded by bytes, keyed by key hash. Two modes:
 *
 * - **Encoded** (the default): it keeps entries' encoded bytes, and every hit decodes them, so no
 *   two callers ever share a mutable result and the byte bound is exact. A hit costs a decode of
 *   the value (CBOR without decompression: see the README's Performance section for figures).
 * - **Shared** (`memory: { shared: true }`): the encoded bytes are kept first, then decoded once
 *   more and deep-frozen in the background (util/deep_freeze.ts; the caller of the hit or miss
 *   that stored it never waits for that), and from then on every hit returns that one frozen
 *   value: a map lookup at any size. A value that cannot be frozen (it holds a typed array) stays
 *   encoded. The bound counts a shared value by its estimated heap size, not its encoding.
 *
 * The tier never sees what is not verified: the read path keeps an entry here only once its
 * checksum has matched, and the write path only once the store has accepted the record.
 *
 * @module
 */
import { deepFreeze } from "../util/deep_freeze.ts";
import { Lru } from "../util/lru.ts";

/** An entry's encoded value and the codec that decodes it. */
export interface TierValue {
  /** Codec of `bytes`. */
  readonly codec: string;
  /** The encoded value (uncompressed). */
  readonly bytes: Uint8Array;
}

/** What the tier holds for an entry: its encoding, or (shared mode, once frozen) the one shared value. */
export type TierEntry =
  | (TierValue & { readonly shared?: undefined })
  | { readonly shared: { readonly value: unknown } };

/** How the shared mode decodes and when it freezes. */
export interface TierSharing {
  /** Decodes a kept encoding into a new value (throws when it does not decode). */
  readonly decode: (value: TierValue) => unknown;
  /** Runs `task` after the current call, off its path; false when it cannot be scheduled. */
  readonly schedule: (task: () => Promise<void>) => boolean;
}

/** Options of a {@link MemoryTier}. */
export interface MemoryTierOptions {
  /** Bytes held at most (payloads, or shared values' estimated size, plus per-entry overhead). */
  readonly maxBytes: number;
  /** How long an entry is kept at most. */
  readonly ttlMs: number;
  /** Clock, ms since the epoch. */
  readonly now: () => number;
  /** Share decoded, deep-frozen values (see the module doc); encoded mode when absent. */
  readonly sharing?: TierSharing | undefined;
}

/** Bytes charged per entry on top of its payload (key, record, Map slot). */
const OVERHEAD_BYTES = 160;

type Held = TierEntry & { readonly until: number };

/** A byte-bounded, least-recently-used map from key hash to an entry's value. */
export class MemoryTier {
  readonly #lru: Lru<Held>;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #sharing: TierSharing | undefined;

  constructor(options: MemoryTierOptions) {
    this.#lru = new Lru({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: options.maxBytes });
    this.#maxBytes = options.maxBytes;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now;
    this.#sharing = options.sharing;
  }

  /** Bytes held now (payloads plus per-entry overhead). */
  get bytes(): number {
    return this.#lru.bytes;
  }

  /** Entries held now. */
  get size(): number {
    return this.#lru.size;
  }

  /** The live entry for `hash`, refreshed as most recently used; expired entries are dropped. */
  get(hash: string): TierEntry | undefined {
    const now = this.#now();
    const held = this.#lru.get(hash, now);
    if (held === undefined) return undefined;
    // A copy stops being served at its `until` (the LRU keeps a key alive through its expiry instant).
    if (held.until <= now) {
      this.#lru.delete(hash, now);
      return undefined;
    }
    return held;
  }

  /**
   * Keeps `value` for `hash` until the earlier of the tier's TTL and `expiresAt` (the entry's
   * own expiry); in shared mode, schedules its freezing. The tier owns `value.bytes` from now on.
   * Values larger than a quarter of the tier are not kept: one huge value must not flush
   * everything else.
   */
  set(hash: string, value: TierValue, expiresAt: number): void {
    const now = this.#now();
    this.#lru.delete(hash, now);
    const until = Math.min(expiresAt, now + this.#ttlMs);
    const held = { codec: value.codec, bytes: value.bytes, until };
    if (!this.#keep(hash, held, value.bytes.length)) return;
    this.#sharing?.schedule(async () => this.#share(hash, held));
  }

  /** Forgets `hash`. */
  delete(hash: string): void {
    this.#lru.delete(hash, this.#now());
  }

  /** Forgets everything (after an invalidation: the tier does not know entries' tags). */
  clear(): void {
    this.#lru.clear();
  }

  /** Stores `held` at `size` bytes unless it is over a quarter of the tier or already expired. */
  #keep(hash: string, held: Held, size: number): boolean {
    const now = this.#now();
    const cost = size + OVERHEAD_BYTES;
    if (cost > this.#maxBytes / 4 || held.until <= now) return false;
    this.#lru.set(hash, { value: held, bytes: cost, expiresAt: held.until }, now);
    return true;
  }

  /** Replaces the encoded `held` by its decoded, deep-frozen value, if it is still the entry for `hash`. */
  #share(hash: string, held: Held & TierValue): void {
    const sharing = this.#sharing!;
    if (this.#lru.peek(hash, this.#now()) !== held) return;
    let value: unknown;
    try {
      value = sharing.decode(held);
    } catch {
      return; // stays encoded: its hits decode it, and count its failure there
    }
    const size = deepFreeze(value);
    // Decoding is synchronous: the entry cannot have changed meanwhile.
    if (size !== undefined) this.#keep(hash, { shared: { value }, until: held.until }, size);
  }
}
