/**
 * The key of a response: the method (always `GET`: a `HEAD` is served from the `GET` entry), the
 * URL with its query sorted (and filtered when an allow-list is given, its fragment dropped), and
 * one line per `vary` header with the request's value.
 *
 * And the generation key of a URL: every stored response of a URL, whatever its `vary` lines,
 * is stamped with it like a tag, so that an unsafe request invalidates all of them with one
 * command (RFC 9111 §4.4). It is one of 2^16 buckets of a hash of the normalized URL, so the
 * generation keys of a prefix stay bounded (they never expire) however many URLs are seen; two
 * URLs sharing a bucket are invalidated together, which costs a recomputation, never a wrong
 * answer.
 *
 * @module
 */
import { tagGeneration } from "../core/record/key_layout.ts";
import { sha256 } from "../core/util/sha256.ts";

/** Options of {@link responseKey}. */
export interface ResponseKeyOptions {
  /** Only these query parameters are kept. @default all of them */
  readonly query?: readonly string[];
  /** Request headers whose values are part of the key. @default [] */
  readonly vary?: readonly string[];
}

/**
 * The key under which the response to `input` is stored, e.g.
 * `GET https://example.com/report/7?a=1&b=2`. Give it to `cache.delete` (with the response
 * cache's namespace) to invalidate that response. With `vary`, pass the `Request` so that its
 * headers are part of the key.
 *
 * @example
 * ```ts ignore
 * await cache.delete(responseKey("https://example.com/report/7"));
 * ```
 */
export function responseKey(input: Request | URL | string, options: ResponseKeyOptions = {}): string {
  const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  let key = `GET ${normalizedUrl(url, options.query)}`;
  const headers = input instanceof Request ? input.headers : undefined;
  for (const name of options.vary ?? []) key += `\n${name.toLowerCase()}: ${headers?.get(name)?.trim() ?? ""}`;
  return key;
}

/** `url` as keys name it: origin and path, the query sorted (and filtered by `query` when given), no fragment. */
function normalizedUrl(url: URL, query?: readonly string[]): string {
  const allowed = query && new Set(query);
  const params = [...url.searchParams]
    .filter(([name]) => !allowed || allowed.has(name))
    // Stable: repeated parameters keep their relative order, which may carry meaning.
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const search = new URLSearchParams(params).toString();
  return `${url.origin}${url.pathname}${search ? `?${search}` : ""}`;
}

/** The generation key stamped into every stored response of `url` (with the `query` filter of its route). */
export function urlGeneration(prefix: string, url: URL, query?: readonly string[]): string {
  const digest = sha256(new TextEncoder().encode(normalizedUrl(url, query)));
  const bucket = ((digest[0]! << 8) | digest[1]!).toString(16).padStart(4, "0");
  // A tag within the tag charset, so cache.invalidateTag and inspect() see it like any other.
  return tagGeneration(prefix, `larder-url:${bucket}`);
}
