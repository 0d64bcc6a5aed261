/**
 * The key of a response: the method (always `GET`: a `HEAD` is served from the `GET` entry), the
 * URL with its query sorted (and filtered when an allow-list is given, its fragment dropped), and
 * one line per `vary` header with the request's value.
 *
 * @module
 */

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
  const allowed = options.query && new Set(options.query);
  const params = [...url.searchParams]
    .filter(([name]) => !allowed || allowed.has(name))
    // Stable: repeated parameters keep their relative order, which may carry meaning.
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams(params).toString();
  let key = `GET ${url.origin}${url.pathname}${query ? `?${query}` : ""}`;
  const headers = input instanceof Request ? input.headers : undefined;
  for (const name of options.vary ?? []) key += `\n${name.toLowerCase()}: ${headers?.get(name)?.trim() ?? ""}`;
  return key;
}
