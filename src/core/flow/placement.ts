/**
 * Placement: a stored payload up to `maxInlineBytes` lives inside its record; a larger one lives
 * in the blob store. A reader cannot see the placement before the record arrives, so each cache
 * remembers where entries were (bounded, least recently used first out, on util/lru.ts): when it
 * expects a blob it issues the blob GET together with the record GET, and a blob hit costs the
 * slower of two concurrent round trips instead of two in a row. Without a hint (an entry this
 * process has never seen, and a wrapped function whose last entry was inline) the blob GET
 * follows the record.
 *
 * @module
 */
import { DEFAULTS } from "../defaults.ts";
import { Lru } from "../util/lru.ts";

/** Where an entry's payload lives. */
export type Placement = "inline" | "blob";

/** Hints never expire; the LRU is given a fixed clock. */
const NEVER = { expiresAt: Infinity, now: 0 } as const;

/** Bounded memory of where entries' payloads live, by key hash. */
export class PlacementHints {
  readonly #hints: Lru<Placement>;

  constructor(max: number = DEFAULTS.placementHints) {
    this.#hints = new Lru({ maxEntries: max, maxBytes: Infinity });
  }

  /** The remembered placement of `hash`, if any (it becomes the most recently used). */
  get(hash: string): Placement | undefined {
    return this.#hints.get(hash, NEVER.now);
  }

  /** Remembers the placement of `hash`, forgetting the least recently used hint when full. */
  set(hash: string, placement: Placement): void {
    this.#hints.set(hash, { value: placement, bytes: 0, expiresAt: NEVER.expiresAt }, NEVER.now);
  }

  /** Forgets `hash` (after a delete). */
  forget(hash: string): void {
    this.#hints.delete(hash, NEVER.now);
  }
}
