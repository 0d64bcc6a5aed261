/**
 * A sorted set with Redis's ordering (by score, then by member), for the in-process store: the
 * eviction bookkeeping must pick the same members as the Upstash adapter's scripts do, ties and
 * clocks that go backwards included, so plain insertion order is not enough.
 *
 * Members are kept in one sorted array beside a map of scores: lookups are O(log n), an insert or
 * a removal moves part of the array (a memmove, fast at the sizes a namespace's limits allow).
 *
 * @module
 */

/** Members ordered by score, ties by member (code-unit order, as Redis compares bytes). */
export class SortedSet {
  readonly #scores = new Map<string, number>();
  readonly #order: string[] = [];

  /** Number of members. */
  get size(): number {
    return this.#order.length;
  }

  /** Whether `member` is in the set. */
  has(member: string): boolean {
    return this.#scores.has(member);
  }

  /** Adds `member` with `score`, or moves it to `score` (like `ZADD`). */
  add(member: string, score: number): void {
    this.remove(member);
    this.#scores.set(member, score);
    this.#order.splice(this.#position(member, score), 0, member);
  }

  /** Removes `member`; true when it was there (like `ZREM`). */
  remove(member: string): boolean {
    const score = this.#scores.get(member);
    if (score === undefined) return false;
    this.#order.splice(this.#position(member, score), 1);
    this.#scores.delete(member);
    return true;
  }

  /** The first `count` members, lowest score first (like `ZRANGE key 0 count-1`). */
  first(count: number): string[] {
    return this.#order.slice(0, count);
  }

  /** Up to `limit` members scored strictly below `max`, lowest first (`ZRANGEBYSCORE -inf (max LIMIT 0 limit`). */
  below(max: number, limit: number): string[] {
    const found: string[] = [];
    for (const member of this.#order) {
      if (found.length >= limit || this.#scores.get(member)! >= max) break;
      found.push(member);
    }
    return found;
  }

  /** Where `member` with `score` is, or goes: the first position not ordered before it. */
  #position(member: string, score: number): number {
    let low = 0;
    let high = this.#order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.#order[middle]!;
      const otherScore = this.#scores.get(other)!;
      if (otherScore < score || (otherScore === score && other < member)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
