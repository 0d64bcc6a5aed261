/**
 * Generations: how invalidation costs O(1) whatever the number of entries. Every entry belongs
 * to generation keys (the whole prefix, its namespace, each of its tags); each holds two tokens,
 * `x` (expire) and `s` (stale). A record stores the tokens it was computed under, in front of
 * its other fields, so a store script can compare them without parsing the whole record.
 * Invalidating replaces a token with a new unique one: every record holding the old one turns
 * invalid (or stale) at once, on every instance, with one Redis command.
 *
 * Tokens are unique, never counters alone: a generation key that disappears (evicted, cleared)
 * is recreated with a fresh token, so an old record can never match again.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Generation, GenerationStamp } from "../types.ts";

/** One stored stamp: the generation key and its expire and stale tokens. */
export type Stamp = readonly [key: string, x: string, s: string];

/** Most tags an entry may carry. */
const MAX_TAGS = 64;

const TAG = /^[\x21-\x7e]{1,128}$/;
const FORBIDDEN = /["\\[\]]/;

/** Validates tags: printable ASCII without quotes, backslashes or brackets, at most {@link MAX_TAGS}. Deduplicates. */
export function checkTags(tags: unknown, what: string): string[] {
  if (!Array.isArray(tags)) throw new ConfigError(`${what} must be an array of strings`);
  const unique = [...new Set(tags)];
  if (unique.length > MAX_TAGS) {
    throw new ConfigError(`${what}: at most ${MAX_TAGS} tags per entry, got ${unique.length}`);
  }
  for (const tag of unique) {
    if (typeof tag !== "string" || !TAG.test(tag) || FORBIDDEN.test(tag)) {
      throw new ConfigError(
        `${what}: a tag is 1-128 printable ASCII characters without spaces, quotes, backslashes or brackets; got ${
          JSON.stringify(tag)
        }`,
      );
    }
  }
  return unique as string[];
}

/** 64 random bits drawn once per process (on first use: Workers allow no random values at load time). */
let session: string | undefined;
let issued = 0;

/**
 * A new unique token: time-ordered for humans reading Redis, then this process' random session
 * and a count, so that no two processes and no two calls share one. A random draw per token
 * (`getRandomValues`, ~3 µs in Node: a syscall) cost more than anything else a hit computes.
 */
export function newToken(): string {
  if (session === undefined) {
    const random = crypto.getRandomValues(new Uint32Array(2));
    session = `${random[0]!.toString(36)}${random[1]!.toString(36).padStart(7, "0")}`;
  }
  return `${Date.now().toString(36)}.${session}.${(issued++).toString(36)}`;
}

/** The stored form of a record: its stamps in front, then the record's own fields. */
export function stampRecord(stamps: readonly Stamp[], record: string): string {
  return `{"g":${JSON.stringify(stamps)},${record.slice(1)}`;
}

/**
 * The stamps at the front of a stored record (empty when it has none). Keys and tokens never
 * contain brackets or quotes, so the list ends at the first `]]`.
 */
export function storedStamps(stored: string): Stamp[] {
  if (!stored.startsWith('{"g":[[')) return [];
  const end = stored.indexOf("]]");
  if (end < 0) return [];
  try {
    const parsed: unknown = JSON.parse(stored.slice(5, end + 2));
    return Array.isArray(parsed) ? parsed.filter(isStamp) : [];
  } catch {
    return [];
  }
}

function isStamp(value: unknown): value is Stamp {
  return Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === "string");
}

/** How a record stands against the current generations. */
export function standing(
  stamps: readonly Stamp[],
  current: Readonly<Record<string, Generation>>,
): "valid" | "stale" | "invalid" {
  let stale = false;
  for (const [key, x, s] of stamps) {
    const now = current[key];
    if (now === undefined || now.x !== x) return "invalid";
    if (now.s !== s) stale = true;
  }
  return stale ? "stale" : "valid";
}

/**
 * The stamps of a new record: each key with the tokens seen by the lookup that preceded the
 * computation, so that an invalidation during it makes the write a no-op. `undefined` when that
 * lookup could not read them (the store failed): stamping the current tokens instead could store
 * a value computed before an invalidation as valid after it, so such a value is not stored.
 */
export function stampsFor(
  keys: readonly string[],
  seen: Readonly<Record<string, Generation>>,
): GenerationStamp[] | undefined {
  const stamps: GenerationStamp[] = [];
  for (const key of keys) {
    const gen = seen[key];
    if (!gen) return undefined;
    stamps.push({ key, x: gen.x, s: gen.s });
  }
  return stamps;
}
