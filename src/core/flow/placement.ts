/**
 * Placement: a stored payload up to `maxInlineBytes` lives inside its record; a larger one lives
 * in the blob store. A reader cannot see the placement before the record arrives, so each cache
 * remembers where entries were (bounded, least recently used first out): when it expects a blob
 * it issues the blob GET together with the record GET, and a blob hit costs the slower of two
 * concurrent round trips instead of two in a row. Without a hint (an entry this process has never
 * seen, and a wrapped function whose last entry was inline) the blob GET follows the record.
 *
 * @module
 */

/** Where an entry's payload lives. */
export type Placement = "inline" | "blob";

/** Bounded memory of where entries' payloads live, by key hash. */
export class PlacementHints {
  readonly #hints = new Map<string, Placement>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The remembered placement of `hash`, if any. */
  get(hash: string): Placement | undefined {
    const hint = this.#hints.get(hash);
    if (hint !== undefined) {
      // Re-insert so that Map order is recency order.
      this.#hints.delete(hash);
      this.#hints.set(hash, hint);
    }
    return hint;
  }

  /** Remembers the placement of `hash`, forgetting the least recently used hint when full. */
  set(hash: string, placement: Placement): void {
    this.#hints.delete(hash);
    this.#hints.set(hash, placement);
    if (this.#hints.size > this.#max) this.#hints.delete(this.#hints.keys().next().value as string);
  }

  /** Forgets `hash` (after a delete). */
  forget(hash: string): void {
    this.#hints.delete(hash);
  }
}
