/**
 * Checks a `Cache-Status` field value the way a strict recipient would: parsed as an RFC 8941
 * List by a real Structured Fields parser (`structured-headers`), each member a cache name
 * (token or string) whose parameters are the ones RFC 9211 §2 defines, with the types it
 * defines. Throws (failing the test) on anything else.
 *
 * @module
 */
import { type BareItem, type Parameters, parseList, Token } from "structured-headers";

/** One parsed member: the cache's name and its parameters. */
export interface CacheStatusMember {
  readonly cache: string;
  readonly params: Parameters;
}

/** RFC 9211 §2.2: the values of `fwd`. */
const FWD = new Set(["bypass", "method", "uri-miss", "vary-miss", "miss", "request", "stale", "partial"]);

const isToken = (v: BareItem): boolean => v instanceof Token;
const CHECKS: Record<string, (v: BareItem) => boolean> = {
  hit: (v) => v === true,
  fwd: (v) => v instanceof Token && FWD.has(v.toString()),
  "fwd-status": (v) => Number.isInteger(v),
  ttl: (v) => Number.isInteger(v),
  stored: (v) => v === true,
  collapsed: (v) => v === true,
  key: (v) => typeof v === "string",
  detail: (v) => isToken(v) || typeof v === "string",
};

/** Parses `value` (a whole `Cache-Status` field value); throws when it is not valid RFC 9211. */
export function parseCacheStatus(value: string): CacheStatusMember[] {
  let list;
  try {
    list = parseList(value);
  } catch (error) {
    throw new Error(`Cache-Status is not a valid Structured Fields List: ${JSON.stringify(value)} (${error})`);
  }
  return list.map(([item, params]) => {
    if (Array.isArray(item)) throw new Error(`Cache-Status member is an inner list: ${JSON.stringify(value)}`);
    if (!(item instanceof Token) && typeof item !== "string") {
      throw new Error(`Cache-Status member is not a cache name: ${JSON.stringify(value)}`);
    }
    for (const [name, param] of params) {
      const check = CHECKS[name];
      if (!check || !check(param)) {
        throw new Error(`Cache-Status parameter ${name} invalid in ${JSON.stringify(value)}`);
      }
    }
    if (params.has("hit") === params.has("fwd")) {
      throw new Error(`Cache-Status has neither or both of hit and fwd: ${JSON.stringify(value)}`);
    }
    return { cache: item.toString(), params };
  });
}
