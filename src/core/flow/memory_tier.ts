/**
 * The in-process tier: a first cache level inside each process or isolate, checked before the
 * store. It keeps entries' encoded bytes (not live objects, so no two callers ever share a
 * mutable result, and the byte bound is exact), each for at most its own short TTL: that TTL is
 * the bound on how long this process may serve an entry another instance has deleted or replaced.
 * It is the package's one LRU (util/lru.ts), bounded by bytes.
 *
 * @module
 */
import { Lru } from "../util/lru.ts";

/** What the tier holds for an entry: its encoded value and the codec that decodes it. */
export interface TierValue {
  /** Codec of `bytes`. */
  readonly codec: string;
  /** The encoded value (uncompressed). */
  readonly bytes: Uint8Array;
}

/** Bytes charged per entry on top of its payload (key, record, Map slot). */
const OVERHEAD_BYTES = 160;

/** A byte-bounded, least-recently-used map from key hash to encoded value. */
export class MemoryTier {
  readonly #lru: Lru<TierValue & { readonly until: number }>;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(maxBytes: number, ttlMs: number, now: () => number) {
    this.#lru = new Lru({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes });
    this.#maxBytes = maxBytes;
    this.#ttlMs = ttlMs;
    this.#now = now;
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
  get(hash: string): TierValue | undefined {
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
   * own expiry). Values larger than a quarter of the tier are not kept: one huge value must not
   * flush everything else.
   */
  set(hash: string, value: TierValue, expiresAt: number): void {
    const now = this.#now();
    this.#lru.delete(hash, now);
    const cost = value.bytes.length + OVERHEAD_BYTES;
    if (cost > this.#maxBytes / 4) return;
    const until = Math.min(expiresAt, now + this.#ttlMs);
    if (until <= now) return;
    this.#lru.set(hash, { value: { ...value, until }, bytes: cost, expiresAt: until }, now);
  }

  /** Forgets `hash`. */
  delete(hash: string): void {
    this.#lru.delete(hash, this.#now());
  }

  /** Forgets everything (after an invalidation: the tier does not know entries' tags). */
  clear(): void {
    this.#lru.clear();
  }
}
