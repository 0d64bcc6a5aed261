/**
 * What a shared cache may store (RFC 9111 §3): which requests pass through untouched (and which of
 * them invalidate, §4.4), and which responses are stored and for how long (§4.2: from
 * `Cache-Control` or `Expires`, less the response's age, else the configured TTL).
 *
 * @module
 */
import { explicitLifetime, forbidsStale, initialAgeMs } from "./_freshness.ts";
import type { ResolvedResponseOptions } from "./_options.ts";

/** Why a request is not looked up: RFC 9211 `fwd` value and an optional detail. */
export interface Bypass {
  readonly fwd: "method" | "bypass";
  readonly detail?: string;
}

/**
 * Whether a response is stored: for how long (its freshness lifetime less its age on arrival),
 * its age then, whether it may be served stale, and whether its size is known to fit; or the
 * reason it is not (a Cache-Status `detail` token).
 */
export type Decision = {
  readonly store: true;
  readonly ttlMs: number;
  readonly ageMs: number;
  /** Never served stale (must-revalidate, proxy-revalidate, s-maxage). */
  readonly revalidate: boolean;
  /** The body's size is known (Content-Length, or no body) and fits `maxValueBytes`. */
  readonly fits: boolean;
} | {
  readonly store: false;
  readonly reason: string;
};

/** Methods a cache need not invalidate for (RFC 9110 §9.2.1: safe); every other one invalidates. */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Whether `request`'s method is unsafe, or of unknown safety (RFC 9111 §4.4). */
export function isUnsafe(request: Request): boolean {
  return !SAFE.has(request.method);
}

/** Why `request` passes through without a lookup, or undefined when it may be served from the cache. */
export function bypassOf(request: Request, config: ResolvedResponseOptions): Bypass | undefined {
  if (request.method !== "GET" && request.method !== "HEAD") return { fwd: "method" };
  if (!config.cacheAuthorized && request.headers.has("authorization")) {
    return { fwd: "bypass", detail: "authorization" };
  }
  // WebSocket handshakes and the like: never touched (their responses cannot be rebuilt).
  if (request.headers.has("upgrade")) return { fwd: "bypass", detail: "upgrade" };
  return undefined;
}

/**
 * Whether `response`, received at `received.at` (ms since the epoch), may be stored by a shared
 * cache (RFC 9111 §3) whose values are at most `received.maxBytes`, and for how long (§4.2).
 */
export function decide(
  response: Response,
  config: ResolvedResponseOptions,
  received: { readonly maxBytes: number; readonly at: number },
): Decision {
  const { maxBytes, at: receivedAt } = received;
  const headers = response.headers;
  const no = (reason: string): Decision => ({ store: false, reason });
  if (!config.statuses.has(response.status)) return no("status");
  const directives = parseCacheControl(headers.get("cache-control"));
  for (const directive of ["no-store", "private", "no-cache"]) if (directives.has(directive)) return no(directive);
  if (headers.has("set-cookie")) return no("set-cookie");
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") return no("encoded");
  const vary = (headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase()).filter(Boolean);
  if (vary.some((name) => name === "*" || (name !== "accept-encoding" && !config.vary.includes(name)))) {
    return no("vary");
  }
  if (/^\s*text\/event-stream/i.test(headers.get("content-type") ?? "")) return no("event-stream");
  const length = headers.get("content-length");
  if (Number(length) > maxBytes) return no("too-large");
  const explicit = explicitLifetime(directives, headers, receivedAt);
  const lifetimeMs = explicit?.ms ?? config.policy.ttlMs;
  if (lifetimeMs <= 0) return no(explicit?.from === "expires" ? "expired" : "max-age-zero");
  const ageMs = initialAgeMs(headers, receivedAt);
  if (ageMs >= lifetimeMs) return no("already-stale");
  return {
    store: true,
    ttlMs: lifetimeMs - ageMs,
    ageMs,
    revalidate: forbidsStale(directives),
    fits: response.body === null || (length !== null && /^\d+$/.test(length.trim()) && Number(length) <= maxBytes),
  };
}

/** `Cache-Control` directives, names lower-cased; values unquoted, `true` for bare directives. */
export function parseCacheControl(value: string | null): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  for (const part of (value ?? "").split(",")) {
    const [name = "", ...rest] = part.split("=");
    const key = name.trim().toLowerCase();
    if (key && !directives.has(key)) {
      directives.set(key, rest.length ? rest.join("=").trim().replace(/^"|"$/g, "") : true);
    }
  }
  return directives;
}
