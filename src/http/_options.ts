/**
 * Options of the response cache (`cacheHandler` in `larder/http`, `cacheResponses` in
 * `larder/hono`): their public shape, their defaults and their validation.
 *
 * @module
 */
import { nameCheck, tagsCheck } from "../core/api/options.ts";
import { type Ttl, ttlCheck, ttlMs } from "../core/api/ttl_profiles.ts";
import type { CacheContext } from "../core/context.ts";
import { checkTags } from "../core/record/generations.ts";
import { generationKeys } from "../core/record/key_layout.ts";
import * as opt from "../core/util/check_options.ts";
import type { Duration } from "../core/util/durations.ts";
import type { EntryPolicy } from "../core/flow/job.ts";
import { responseKey, urlGeneration } from "./_key.ts";

/** Options of `cacheHandler` and `cacheResponses`. Every field is optional. */
export interface ResponseCacheOptions {
  /**
   * How long a response stays fresh when its `Cache-Control` has neither `s-maxage` nor
   * `max-age` (those win when present, `s-maxage` first): a duration or a TTL profile's name.
   * @default the cache's `ttl`
   */
  ttl?: Ttl;
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

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An array of strings `valid` accepts; absent is empty. */
function names(valid: (v: string) => boolean, kind: string): opt.Check<string[]> {
  return opt.satisfying<string[]>(
    (value) => Array.isArray(value) && value.every((v) => typeof v === "string" && valid(v)),
    `an array of ${kind}`,
  );
}

const RESPONSE_OPTIONS = {
  ttl: opt.optional(ttlCheck),
  namespace: opt.optional(nameCheck),
  vary: opt.withDefault(names((v) => HEADER_NAME.test(v), "header names"), []),
  query: opt.optional(names((v) => v.length > 0, "names")),
  key: opt.optional(opt.fn<(request: Request) => string | Promise<string>>("a function of the request")),
  statuses: opt.withDefault(
    opt.satisfying<number[]>(
      (v) => Array.isArray(v) && v.length > 0 && v.every((s) => Number.isInteger(s) && s >= 200 && s <= 599),
      "a non-empty array of HTTP statuses (200-599)",
    ),
    [200],
  ),
  cacheAuthorized: opt.withDefault(opt.boolean, false),
  staleWhileRevalidate: opt.optional(opt.duration),
  staleIfError: opt.optional(opt.duration),
  tags: opt.withDefault(
    (value: unknown, at: opt.OptionPath) =>
      typeof value === "function" ? value as (request: Request) => readonly string[] : tagsCheck(value, at),
    [],
  ),
} satisfies opt.OptionChecks<ResponseCacheOptions>;

/** Validates `options` (a `ConfigError` naming `what` and the option) and fills in defaults from the cache's. */
export function resolveResponseOptions(
  ctx: CacheContext,
  options: ResponseCacheOptions | undefined,
  what: string,
): ResolvedResponseOptions {
  const o = opt.checkOptions(what, options, RESPONSE_OPTIONS);
  const namespace = o.namespace ?? ctx.options.namespace;
  const vary = o.vary.map((v) => v.toLowerCase());
  const query = o.query;
  const tags = o.tags;
  const prefix = ctx.options.prefix;
  const fixed = typeof tags === "function" ? [] : generationKeys(prefix, namespace, tags);
  const gens = (request: Request): readonly string[] => [
    ...typeof tags === "function"
      ? generationKeys(prefix, namespace, checkTags(tags(request), `${what}: tags`))
      : fixed,
    urlGeneration(prefix, new URL(request.url), query),
  ];
  return {
    namespace,
    policy: {
      ttlMs: o.ttl === undefined ? ctx.options.ttlMs : ttlMs(ctx.options.ttlProfiles, o.ttl, `${what}: ttl`),
      staleWhileRevalidateMs: o.staleWhileRevalidate ?? ctx.options.staleWhileRevalidateMs,
      staleIfErrorMs: o.staleIfError ?? ctx.options.staleIfErrorMs,
      label: `${namespace}/http`,
    },
    vary,
    key: o.key ?? ((request) => responseKey(request, { vary, ...(query ? { query } : {}) })),
    statuses: new Set(o.statuses),
    cacheAuthorized: o.cacheAuthorized,
    query,
    gens,
  };
}
