/**
 * What every answer of the response cache carries besides the response itself: its
 * `Cache-Status` entry (RFC 9211; parameters whose values are sf-tokens or integers, so that the
 * field parses as a Structured Fields List), its `Server-Timing` entry, and the route's `Vary`
 * (RFC 9110 §12.5.5) merged with the response's own, on misses and bypasses as on hits, so that
 * a cache in front never stores one variant for all.
 *
 * @module
 */

/** How to annotate a response that did not come from the store. */
export interface Annotation {
  /** The body to send (null for none). */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Send headers only (HEAD): the body, if any, is cancelled. */
  readonly headOnly: boolean;
  /** The parameters of this cache's Cache-Status member, e.g. `fwd=uri-miss; stored`. */
  readonly cacheStatus: string;
  /** The Server-Timing entry. */
  readonly serverTiming: string;
  /** Request headers the answer varies on, added to `Vary`. */
  readonly vary: readonly string[];
}

/** `response` with this cache's `Cache-Status`, `Server-Timing` and `Vary`, and `body` (none for HEAD). */
export function annotate(response: Response, annotation: Annotation): Response {
  const { body, headOnly } = annotation;
  if (headOnly && body) void body.cancel().catch(() => {});
  const headers = new Headers(response.headers);
  headers.append("cache-status", `Larder; ${annotation.cacheStatus}`);
  headers.append("server-timing", annotation.serverTiming);
  addVary(headers, annotation.vary);
  return new Response(headOnly ? null : body, { status: response.status, statusText: response.statusText, headers });
}

/** Merges `names` into the `Vary` of `headers` (one line, lower-case names, no duplicates). */
export function addVary(headers: Headers, names: readonly string[]): void {
  if (names.length === 0) return;
  const vary = new Set((headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase()).filter(Boolean));
  for (const name of names) vary.add(name.toLowerCase());
  headers.set("vary", [...vary].join(", "));
}

/** A `Server-Timing` entry: the cache's time spent before answering, and what the answer was. */
export function timing(desc: string, ms: number | undefined): string {
  return `larder;dur=${(ms ?? 0).toFixed(1)};desc="${desc}"`;
}
