/**
 * The one bounded map of the package, shared by the in-process adapters (memory store and blobs),
 * the in-process tier, the placement hints and the response cache's passes: least recently used
 * entries are evicted past `maxEntries` or `maxBytes`, and entries past their expiry behave as absent. Expired entries are
 * dropped when touched and swept now and then on writes, never by a timer (a timer would keep a
 * process alive and cost work when nothing happens).
 *
 * @module
 */

/** One stored value with its accounting. */
export interface Slot<V> {
  readonly value: V;
  /** What the entry counts against `maxBytes`. */
  readonly bytes: number;
  /** Expiry in ms since the epoch; `Infinity` for none. */
  readonly expiresAt: number;
}

/** Limits of an {@link Lru}. */
export interface LruLimits {
  /** Entries kept at most. */
  readonly maxEntries: number;
  /** Sum of entries' `bytes` kept at most. */
  readonly maxBytes: number;
}

/** Limits of an {@link Lru}, and who is told of removals. */
export interface LruOptions<V> extends LruLimits {
  /**
   * Told of each entry that leaves the map one by one: deleted, replaced, evicted or dropped on
   * expiry (not by {@link Lru.clear}). It must not modify the map.
   */
  readonly onRemove?: (key: string, value: V) => void;
}

/** A least-recently-used map with expiry; `Map` iteration order is recency order (oldest first). */
export class Lru<V> {
  readonly #slots: Map<string, Slot<V>> = new Map();
  readonly #limits: LruLimits;
  readonly #onRemove: ((key: string, value: V) => void) | undefined;
  #bytes = 0;
  // Starts high so that the first overflow sweeps.
  #writesSinceSweep = Number.MAX_SAFE_INTEGER;

  constructor(options: LruOptions<V>) {
    this.#limits = options;
    this.#onRemove = options.onRemove;
  }

  /** Number of entries held, expired ones included until they are dropped. */
  get size(): number {
    return this.#slots.size;
  }

  /** Sum of the held entries' `bytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The live value under `key`, marking it most recently used; expired entries are dropped. */
  get(key: string, now: number): V | undefined {
    const slot = this.#live(key, now);
    if (slot === undefined) return undefined;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** The live value under `key` without changing its recency (a listing, not a use). */
  peek(key: string, now: number): V | undefined {
    return this.#live(key, now)?.value;
  }

  /** True when `key` holds a live value; does not change recency (like Redis `EXISTS`, a probe). */
  has(key: string, now: number): boolean {
    return this.#live(key, now) !== undefined;
  }

  /**
   * Stores `slot` as the most recently used entry, then evicts until within limits. The caller
   * checks beforehand that `slot.bytes` alone fits `maxBytes`.
   */
  set(key: string, slot: Slot<V>, now: number): void {
    this.#remove(key);
    this.#slots.set(key, slot);
    this.#bytes += slot.bytes;
    if (this.#over()) this.#evict(now);
  }

  /** Removes `key`; true when a live value was removed. */
  delete(key: string, now: number): boolean {
    const live = this.#live(key, now) !== undefined;
    this.#remove(key);
    return live;
  }

  /** Removes every entry (without telling `onRemove`). */
  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }

  /** The keys of live entries, oldest first (a snapshot: safe to modify the map meanwhile). */
  keys(now: number): string[] {
    const keys: string[] = [];
    for (const [key, slot] of this.#slots) if (now <= slot.expiresAt) keys.push(key);
    return keys;
  }

  #live(key: string, now: number): Slot<V> | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    // Redis keeps a key alive until the clock passes its expiry (`now > when`).
    if (now > slot.expiresAt) {
      this.#remove(key);
      return undefined;
    }
    return slot;
  }

  #remove(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
    this.#onRemove?.(key, slot.value);
  }

  #over(): boolean {
    return this.#slots.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes;
  }

  #evict(now: number): void {
    // Expired entries go before live ones. A full sweep is O(n), so it runs at most once per
    // quarter of `maxEntries` writes that overflow: amortised O(1) per write.
    if (++this.#writesSinceSweep >= Math.max(1, Math.floor(this.#limits.maxEntries / 4))) {
      this.#writesSinceSweep = 0;
      for (const [key, slot] of this.#slots) if (now > slot.expiresAt) this.#remove(key);
    }
    for (const key of this.#slots.keys()) {
      if (!this.#over()) return;
      this.#remove(key);
    }
  }
}
