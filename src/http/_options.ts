/**
 * Options of the response cache (`cacheHandler` in `larder/http`, `cacheResponses` in
 * `larder/hono`): their public shape, their defaults and their validation.
 *
 * @module
 */
import type { CacheContext } from "../core/context.ts";
import { type Duration, toMs } from "../core/util/durations.ts";
import { ConfigError } from "../core/errors.ts";
import { checkTags } from "../core/record/generations.ts";
import { generationKeys } from "../core/record/key_layout.ts";
import { checkName } from "../core/record/key_material.ts";
import type { EntryPolicy } from "../core/flow/job.ts";
import { responseKey, urlGeneration } from "./_key.ts";

/** Options of `cacheHandler` and `cacheResponses`. Every field is optional. */
export interface ResponseCacheOptions {
  /**
   * How long a response stays fresh when its `Cache-Control` has neither `s-maxage` nor
   * `max-age` (those win when present, `s-maxage` first). @default the cache's `ttl`
   */
  ttl?: Duration;
  /** Namespace of the stored responses (the `namespace` to give `cache.delete`). @default the cache's `namespace` */
  namespace?: string;
  /**
   * Request headers whose values are part of the key, e.g. `["accept-language"]`. A response
   * whose own `Vary` names a header not listed here (other than `Accept-Encoding`) is not stored.
   * @default []
   */
  vary?: readonly string[];
  /** Only these query parameters are part of the key; the others are ignored. @default every parameter, sorted */
  query?: readonly string[];
  /** Computes the key of a request instead (it is hashed with the prefix and namespace). @default responseKey(request, { query, vary }) */
  key?: (request: Request) => string | Promise<string>;
  /** Statuses that are stored. @default [200] */
  statuses?: readonly number[];
  /** Also cache requests that carry `Authorization` (by default they pass through untouched). @default false */
  cacheAuthorized?: boolean;
  /** Serve a response up to this long past its TTL while one background run of the handler refreshes it. @default the cache's */
  staleWhileRevalidate?: Duration;
  /** Serve a response up to this long past its TTL when the handler fails (throws or answers 5xx). @default the cache's */
  staleIfError?: Duration;
  /**
   * Tags of the stored responses, or a function of the request that returns them, for
   * `cache.invalidateTag`. @example (request) => ["pages", `page:${new URL(request.url).pathname}`]
   * @default []
   */
  tags?: readonly string[] | ((request: Request) => readonly string[]);
}

/** Options after validation. */
export interface ResolvedResponseOptions {
  readonly namespace: string;
  readonly policy: EntryPolicy;
  readonly vary: readonly string[];
  readonly key: (request: Request) => string | Promise<string>;
  readonly statuses: ReadonlySet<number>;
  readonly cacheAuthorized: boolean;
  /** The query filter of URLs (undefined: every parameter). */
  readonly query: readonly string[] | undefined;
  /** The generation keys of a request's entry (prefix, namespace, tags, its URL's). */
  readonly gens: (request: Request) => readonly string[];
}

const KNOWN = new Set([
  "ttl",
  "namespace",
  "vary",
  "query",
  "key",
  "statuses",
  "cacheAuthorized",
  "staleWhileRevalidate",
  "staleIfError",
  "tags",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates `options` (a `ConfigError` naming `what` and the option) and fills in defaults from the cache's. */
export function resolveResponseOptions(
  ctx: CacheContext,
  options: ResponseCacheOptions | undefined,
  what: string,
): ResolvedResponseOptions {
  const o = options ?? {};
  if (typeof o !== "object" || o === null) throw new ConfigError(`${what}: options must be an object`);
  for (const name of Object.keys(o)) {
    if (!KNOWN.has(name)) throw new ConfigError(`${what}: unknown option "${name}"`);
  }
  const namespace = o.namespace === undefined ? ctx.options.namespace : checkName(o.namespace, `${what}: namespace`);
  const vary = names(o.vary, `${what}: vary`, (v) => HEADER_NAME.test(v), "header names").map((v) => v.toLowerCase());
  const query = o.query === undefined ? undefined : names(o.query, `${what}: query`, (v) => v.length > 0, "names");
  if (o.key !== undefined && typeof o.key !== "function") {
    throw new ConfigError(`${what}: key must be a function of the request`);
  }
  const statuses = o.statuses ?? [200];
  if (
    !Array.isArray(statuses) || statuses.length === 0 ||
    !statuses.every((s) => Number.isInteger(s) && s >= 200 && s <= 599)
  ) {
    throw new ConfigError(`${what}: statuses must be a non-empty array of HTTP statuses (200-599)`);
  }
  if (o.cacheAuthorized !== undefined && typeof o.cacheAuthorized !== "boolean") {
    throw new ConfigError(`${what}: cacheAuthorized must be a boolean`);
  }
  const tags = o.tags;
  if (tags !== undefined && typeof tags !== "function") checkTags(tags, `${what}: tags`);
  const prefix = ctx.options.prefix;
  const fixed = typeof tags === "function" ? undefined : generationKeys(prefix, namespace, tags ?? []);
  const gens = (request: Request): readonly string[] => [
    ...fixed ??
      generationKeys(prefix, namespace, checkTags((tags as (r: Request) => string[])(request), `${what}: tags`)),
    urlGeneration(prefix, new URL(request.url), query),
  ];
  const duration = (value: Duration | undefined, name: string, fallback: number): number =>
    value === undefined ? fallback : toMs(value, `${what}: ${name}`);
  return {
    namespace,
    policy: {
      ttlMs: duration(o.ttl, "ttl", ctx.options.ttlMs),
      staleWhileRevalidateMs: duration(
        o.staleWhileRevalidate,
        "staleWhileRevalidate",
        ctx.options.staleWhileRevalidateMs,
      ),
      staleIfErrorMs: duration(o.staleIfError, "staleIfError", ctx.options.staleIfErrorMs),
      label: `${namespace}/http`,
    },
    vary,
    key: o.key ?? ((request) => responseKey(request, { vary, ...(query ? { query } : {}) })),
    statuses: new Set(statuses),
    cacheAuthorized: o.cacheAuthorized === true,
    query,
    gens,
  };
}

function names(value: unknown, what: string, valid: (v: string) => boolean, kind: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && valid(v))) {
    throw new ConfigError(`${what} must be an array of ${kind}`);
  }
  return value as string[];
}
