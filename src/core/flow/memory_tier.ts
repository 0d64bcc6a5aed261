/**
 * The in-process tier: a first cache level inside each process or isolate, checked before the
 * store. It keeps entries' encoded bytes (not live objects, so no two callers ever share a
 * mutable result, and the byte bound is exact), each for at most its own short TTL: that TTL is
 * the bound on how long this process may serve an entry another instance has deleted or replaced.
 *
 * @module
 */

/** One entry of the tier. */
interface TierEntry {
  /** Codec of `bytes`. */
  readonly codec: string;
  /** The encoded value (uncompressed). */
  readonly bytes: Uint8Array;
  /** When this copy stops being served, ms since the epoch. */
  readonly until: number;
}

/** Bytes charged per entry on top of its payload (key, record, Map slot). */
const OVERHEAD_BYTES = 160;

/** A byte-bounded, least-recently-used map from key hash to encoded value. */
export class MemoryTier {
  readonly #entries = new Map<string, TierEntry>();
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #bytes = 0;

  constructor(maxBytes: number, ttlMs: number, now: () => number) {
    this.#maxBytes = maxBytes;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Bytes held now (payloads plus per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `hash`, refreshed as most recently used; expired entries are dropped. */
  get(hash: string): { codec: string; bytes: Uint8Array } | undefined {
    const entry = this.#entries.get(hash);
    if (entry === undefined) return undefined;
    this.#entries.delete(hash);
    if (entry.until <= this.#now()) {
      this.#bytes -= entry.bytes.length + OVERHEAD_BYTES;
      return undefined;
    }
    this.#entries.set(hash, entry);
    return entry;
  }

  /**
   * Keeps `bytes` for `hash` until the earlier of the tier's TTL and `expiresAt` (the entry's
   * own expiry). Values larger than a quarter of the tier are not kept: one huge value must not
   * flush everything else.
   */
  set(hash: string, codec: string, bytes: Uint8Array, expiresAt: number): void {
    this.delete(hash);
    const cost = bytes.length + OVERHEAD_BYTES;
    if (cost > this.#maxBytes / 4) return;
    const until = Math.min(expiresAt, this.#now() + this.#ttlMs);
    if (until <= this.#now()) return;
    this.#entries.set(hash, { codec, bytes, until });
    this.#bytes += cost;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes.length + OVERHEAD_BYTES;
    }
  }

  /** Forgets `hash`. */
  delete(hash: string): void {
    const entry = this.#entries.get(hash);
    if (entry === undefined) return;
    this.#entries.delete(hash);
    this.#bytes -= entry.bytes.length + OVERHEAD_BYTES;
  }

  /** Forgets everything (after an invalidation: the tier does not know entries' tags). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
