/**
 * How long a response the cache receives stays fresh, as RFC 9111 §4.2 computes it for a shared
 * cache: its freshness lifetime (§4.2.1: `s-maxage`, else `max-age`, else `Expires` minus
 * `Date`), its age when it arrives (§4.2.3: a received `Age`, or the apparent age from `Date`),
 * and whether it may ever be served stale (§5.2.2.2 `must-revalidate`, §5.2.2.8
 * `proxy-revalidate`, §5.2.2.10 `s-maxage`, which implies `proxy-revalidate` for a shared cache).
 *
 * @module
 */

/** Cache-Control directives as `parseCacheControl` returns them. */
export type Directives = ReadonlyMap<string, string | true>;

/** At most ten years, like the delta-seconds a cache is allowed to cap (RFC 9111 §1.2.2). */
const MAX_SECONDS = 10 * 365 * 86_400;

/** The explicit freshness lifetime in ms and what gave it, or undefined when the response has none. */
export function explicitLifetime(
  directives: Directives,
  headers: Headers,
  receivedAt: number,
): { readonly ms: number; readonly from: "max-age" | "expires" } | undefined {
  const maxAge = deltaSeconds(directives.get("s-maxage")) ?? deltaSeconds(directives.get("max-age"));
  if (maxAge !== undefined) return { ms: maxAge * 1000, from: "max-age" };
  const expires = headers.get("expires");
  if (expires === null) return undefined;
  // An invalid Expires, "0" included, means already expired (§5.3).
  const expiresAt = Date.parse(expires);
  if (!Number.isFinite(expiresAt)) return { ms: 0, from: "expires" };
  const date = Date.parse(headers.get("date") ?? "");
  return { ms: Math.max(0, expiresAt - (Number.isFinite(date) ? date : receivedAt)), from: "expires" };
}

/**
 * The response's age when it arrived (`corrected_initial_age` of §4.2.3), in ms: the larger of
 * its `Age` and its apparent age (`receivedAt` minus `Date`).
 *
 * Two deliberate choices, both about what "received" means when the origin is a handler in the
 * same process:
 * - `response_delay` (the time between sending the request and receiving the response) is not
 *   added to `Age`: the cache cannot tell an upstream's network delay from the handler's own
 *   work, and adding a 30-second query to the age of every response it fetched would shorten
 *   or forbid caching it for no reason. The underestimate is at most the upstream round trip.
 * - The apparent age from `Date` is applied as §4.2.3 says. Clock skew only errs one way: an
 *   upstream clock ahead of ours gives 0 (the `max(0, …)`), one behind makes the response look
 *   older and kept for less time (or not at all), the conservative side the RFC chooses by
 *   taking the larger estimate. `Date` has one-second resolution, so it can overstate by < 1 s.
 *   A handler's own response rarely has a `Date` (servers add it after the cache).
 */
export function initialAgeMs(headers: Headers, receivedAt: number): number {
  // A list-valued Age: use the first member; an invalid one is ignored (§5.1).
  const age = deltaSeconds(headers.get("age")?.split(",")[0]?.trim());
  const date = Date.parse(headers.get("date") ?? "");
  const apparent = Number.isFinite(date) ? Math.max(0, receivedAt - date) : 0;
  return Math.max(apparent, (age ?? 0) * 1000);
}

/** Whether a stored response with these directives must never be served stale by a shared cache. */
export function forbidsStale(directives: Directives): boolean {
  return directives.has("must-revalidate") || directives.has("proxy-revalidate") || directives.has("s-maxage");
}

/** A delta-seconds value (RFC 9111 §1.2.2), capped; undefined when absent or invalid. */
function deltaSeconds(value: string | true | undefined | null): number | undefined {
  if (typeof value !== "string" || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), MAX_SECONDS);
}
