/**
 * The in-process tier: a first cache level inside each process or isolate, checked before the
 * store, each entry kept for at most its own short TTL. It is the package's one LRU
 * (util/lru.ts), bounded by bytes, keyed by key hash. Two modes:
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
 * **What another instance changes.** Each entry keeps the generation keys it was stamped with
 * (its prefix's, namespace's and tags'), indexed, so that {@link MemoryTier.drop} removes exactly
 * the entries an invalidation, a delete or an overwrite concerns, whichever mode holds them. The
 * bus (flow/bus.ts) calls it for other instances' changes, the API for this process' own. Without
 * a bus the entry's TTL is the bound on how long it may be served after such a change.
 *
 * A drop must also stop a value read *before* the change from being kept *after* it: a lookup
 * whose reply is still on its way when the drop happens would otherwise fill the tier with what
 * the drop just removed. So every drop gets a number (`epoch`), the last {@link RECENT} drops are
 * remembered, and {@link MemoryTier.set} takes the epoch its value was read or written at
 * (`since`): a value that a later drop concerns — or that may be concerned, when that drop is no
 * longer remembered — is not kept.
 *
 * When the bus is polled (flow/bus.ts), the tier may serve only while its last poll is recent:
 * past `checkAt` a hit starts the next poll (`check`), and past `validUntil` it waits for it.
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

/** How an entry is kept: until when, under which generation keys, and as of which drop. */
export interface TierKeep {
  /** The entry's own expiry (the tier keeps it until the earlier of this and its TTL). */
  readonly expiresAt: number;
  /** The generation keys the entry is stamped with (an invalidation of one of them drops it). */
  readonly gens: readonly string[];
  /**
   * {@link MemoryTier.epoch} when the value was read from the store or written to it (before the
   * request left): a drop after it that concerns the entry means the value is not kept.
   * @default the current epoch (no drop is checked)
   */
  readonly since?: number;
}

/** What to drop: entries by key hash, entries stamped with a generation key, or everything. */
export type TierDrop = { readonly hashes?: readonly string[]; readonly gens?: readonly string[] } | "all";

/** Bytes charged per entry on top of its payload (key, record, Map slot). */
const OVERHEAD_BYTES = 160;
/** Bytes charged per generation key of an entry (its slot in the index). */
const INDEX_BYTES = 48;
/** Drops remembered for {@link MemoryTier.set}'s check. */
const RECENT = 64;

type Held = TierEntry & { readonly until: number; readonly gens: readonly string[] };

/** A byte-bounded, least-recently-used map from key hash to an entry's value. */
export class MemoryTier {
  readonly #lru: Lru<Held>;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #sharing: TierSharing | undefined;
  /** Key hashes by the generation keys their entries carry. */
  readonly #byGen = new Map<string, Set<string>>();
  /** The last drops, oldest first, each with its epoch. */
  readonly #recent: { readonly epoch: number; readonly drop: TierDrop }[] = [];
  #epoch = 0;
  // Polling (flow/bus.ts): from `#checkAt` on a hit starts a check, from `#validUntil` it waits for it.
  #checkAt = Infinity;
  #validUntil = Infinity;
  #check: (() => Promise<void>) | undefined;

  constructor(options: MemoryTierOptions) {
    this.#lru = new Lru({
      maxEntries: Number.MAX_SAFE_INTEGER,
      maxBytes: options.maxBytes,
      onRemove: (hash, held) => this.#unindex(hash, held),
    });
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

  /** How many drops there have been: what {@link TierKeep.since} is compared with. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * The live entry for `hash`, refreshed as most recently used; expired entries are dropped. When
   * the tier is polled and its last poll is too old, a promise of it once the next poll is done.
   */
  get(hash: string): TierEntry | undefined | Promise<TierEntry | undefined> {
    const now = this.#now();
    if (now >= this.#checkAt) {
      const checking = this.#check?.();
      if (checking && now >= this.#validUntil && this.#lru.peek(hash, now) !== undefined) {
        return this.#afterCheck(hash, checking);
      }
    }
    return this.#held(hash, now);
  }

  /**
   * Keeps `value` for `hash` until the earlier of the tier's TTL and `keep.expiresAt`, unless a
   * drop since `keep.since` concerns it; in shared mode, schedules its freezing. The tier owns
   * `value.bytes` from now on. Values larger than a quarter of the tier are not kept: one huge
   * value must not flush everything else.
   */
  set(hash: string, value: TierValue, keep: TierKeep): void {
    const now = this.#now();
    this.#lru.delete(hash, now);
    if (keep.since !== undefined && keep.since < this.#epoch && this.#droppedSince(keep.since, hash, keep.gens)) return;
    const until = Math.min(keep.expiresAt, now + this.#ttlMs);
    const held = { codec: value.codec, bytes: value.bytes, until, gens: keep.gens };
    if (!this.#keep(hash, held, value.bytes.length)) return;
    this.#sharing?.schedule(async () => this.#share(hash, held));
  }

  /** Forgets `hash` (without counting a drop: for this process' own replacement of it). */
  delete(hash: string): void {
    this.#lru.delete(hash, this.#now());
  }

  /**
   * Drops what a change concerns (entries by hash, entries carrying a generation key, or all),
   * and remembers the drop so that no value read before it is kept after it. Returns how many
   * entries were dropped.
   */
  drop(change: TierDrop): number {
    this.#epoch++;
    this.#recent.push({ epoch: this.#epoch, drop: change });
    if (this.#recent.length > RECENT) this.#recent.shift();
    const now = this.#now();
    if (change === "all") {
      const size = this.#lru.size;
      this.#lru.clear();
      this.#byGen.clear();
      return size;
    }
    let dropped = 0;
    for (const hash of change.hashes ?? []) if (this.#lru.delete(hash, now)) dropped++;
    for (const gen of change.gens ?? []) {
      const hashes = this.#byGen.get(gen);
      if (hashes === undefined) continue;
      for (const hash of [...hashes]) if (this.#lru.delete(hash, now)) dropped++;
    }
    return dropped;
  }

  /** Forgets everything (a drop of all). */
  clear(): void {
    this.drop("all");
  }

  /**
   * Polling: `check` starts a poll (or returns the one under way) and resolves once it is done,
   * whatever its outcome. From `checkAt` on a hit starts it; from `validUntil` on a hit of an
   * entry held waits for it. Both `Infinity`: the tier serves without asking.
   */
  watch(check: () => Promise<void>): void {
    this.#check = check;
  }

  /** Sets the polling window (see {@link watch}). */
  window(checkAt: number, validUntil: number): void {
    this.#checkAt = checkAt;
    this.#validUntil = validUntil;
  }

  /**
   * The entry for `hash` once `checking` is done. That poll may have left before this hit began (it
   * was under way); when it leaves the tier still not current, the next one, which cannot have, is
   * waited for too. (A failed poll leaves the tier current for its TTL: served.)
   */
  async #afterCheck(hash: string, checking: Promise<void>): Promise<TierEntry | undefined> {
    await checking;
    if (this.#now() >= this.#validUntil) await this.#check!();
    return this.#held(hash, this.#now());
  }

  /** The live entry for `hash`, refreshed as most recently used. */
  #held(hash: string, now: number): TierEntry | undefined {
    const held = this.#lru.get(hash, now);
    if (held === undefined) return undefined;
    // A copy stops being served at its `until` (the LRU keeps a key alive through its expiry instant).
    if (held.until <= now) {
      this.#lru.delete(hash, now);
      return undefined;
    }
    return held;
  }

  /** Whether a drop after epoch `since` concerns `hash` or one of `gens` (or may: no longer remembered). */
  #droppedSince(since: number, hash: string, gens: readonly string[]): boolean {
    const oldest = this.#recent[0];
    if (oldest === undefined || oldest.epoch > since + 1) return true;
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const { epoch, drop } = this.#recent[i]!;
      if (epoch <= since) break;
      if (drop === "all" || drop.hashes?.includes(hash) || drop.gens?.some((gen) => gens.includes(gen))) return true;
    }
    return false;
  }

  /** Stores `held` at `size` bytes unless it is over a quarter of the tier or already expired. */
  #keep(hash: string, held: Held, size: number): boolean {
    const now = this.#now();
    const cost = size + OVERHEAD_BYTES + INDEX_BYTES * held.gens.length;
    if (cost > this.#maxBytes / 4 || held.until <= now) return false;
    this.#lru.set(hash, { value: held, bytes: cost, expiresAt: held.until }, now);
    for (const gen of held.gens) {
      let hashes = this.#byGen.get(gen);
      if (hashes === undefined) this.#byGen.set(gen, hashes = new Set());
      hashes.add(hash);
    }
    return true;
  }

  /** Takes a removed entry out of the index. */
  #unindex(hash: string, held: Held): void {
    for (const gen of held.gens) {
      const hashes = this.#byGen.get(gen);
      if (hashes === undefined) continue;
      hashes.delete(hash);
      if (hashes.size === 0) this.#byGen.delete(gen);
    }
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
    if (size !== undefined) this.#keep(hash, { shared: { value }, until: held.until, gens: held.gens }, size);
  }
}
