/**
 * What a shared cache may store: which requests pass through untouched, and which responses are
 * stored and for how long (from `Cache-Control`, else the configured TTL).
 *
 * @module
 */
import type { ResolvedResponseOptions } from "./_options.ts";

/** Why a request is not looked up: RFC 9211 `fwd` value and an optional detail. */
export interface Bypass {
  readonly fwd: "method" | "bypass";
  readonly detail?: string;
}

/** Whether a response is stored: its TTL, or the reason it is not (a Cache-Status `detail`). */
export type Decision = { readonly store: true; readonly ttlMs: number } | {
  readonly store: false;
  readonly reason: string;
};

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

/** Whether `response` may be stored by a shared cache, and for how long. */
export function decide(response: Response, config: ResolvedResponseOptions, maxBytes: number): Decision {
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
  if (Number(headers.get("content-length")) > maxBytes) return no("too-large");
  const ttlMs = seconds(directives.get("s-maxage")) ?? seconds(directives.get("max-age")) ?? config.policy.ttlMs;
  return ttlMs > 0 ? { store: true, ttlMs } : no("max-age=0");
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

function seconds(value: string | true | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 10 * 365 * 86_400) * 1000;
}
