/**
 * `cache.wrap(fn)`: the function's identity, the namespace and the canonically encoded
 * arguments make the key; concurrent calls with one key share one execution; a miss returns
 * `fn`'s result at once and persists it in the background.
 *
 * @module
 */
import { keyHash, normalizeQueryText } from "../record/key_material.ts";
import type { CacheContext } from "../context.ts";
import type { Duration } from "../util/durations.ts";
import { ConfigError } from "../errors.ts";
import * as opt from "../util/check_options.ts";
import { DEFAULTS } from "../defaults.ts";
import { nameCheck } from "./options.ts";
import { checkTags } from "../record/generations.ts";
import { generationKeys } from "../record/key_layout.ts";
import type { Placement } from "../flow/placement.ts";
import { getOrCompute, valueDecoder } from "../flow/get_or_compute.ts";
import type { EntryPolicy } from "../flow/job.ts";

/** Options of {@link Cache.wrap}. */
export interface WrapOptions<A extends unknown[]> {
  /** The function's identity in keys. Required for anonymous functions. @default fn.name */
  name?: string;
  /** Time to live of this function's entries. @default the cache's `ttl` */
  ttl?: Duration;
  /** Namespace of this function's entries. @default the cache's `namespace` */
  namespace?: string;
  /**
   * Maps the arguments to what identifies a call, when not all of them should (a logger, a
   * request object…). The result is canonically encoded like arguments are.
   * @default the arguments themselves
   */
  key?: (...args: A) => unknown;
  /**
   * Collapses whitespace (outside quoted literals) in a leading string argument, so the same
   * SQL written on one line or many shares one entry.
   * @default false
   */
  normalizeQuery?: boolean;
  /** Serve this function's entries up to this long past their TTL while one refresh runs. @default the cache's */
  staleWhileRevalidate?: Duration;
  /** Serve this function's entries up to this long past their TTL when it throws. @default the cache's */
  staleIfError?: Duration;
  /**
   * Tags of this function's entries, or a function of the arguments that returns them;
   * `cache.invalidateTag(tag)` then expires (or marks stale) every entry carrying the tag.
   * @example ["orders"]
   * @example (customerId) => ["orders", `customer:${customerId}`]
   * @default []
   */
  tags?: readonly string[] | ((...args: A) => readonly string[]);
}

/** A wrapped function: same parameters, result always a Promise. */
export type Wrapped<A extends unknown[], R> = (...args: A) => Promise<Awaited<R>>;

const MAX_IDENTITY = 256;

/** Tags given as a list (checked now) or as a function of the arguments (its results checked per call). */
const tagsOption: opt.Check<readonly string[] | ((...args: unknown[]) => readonly string[])> = (value, at) =>
  typeof value === "function"
    ? value as (...args: unknown[]) => readonly string[]
    : checkTags(value, opt.optionName(at));

const WRAP_OPTIONS = {
  // Checked before the others (it names the function in their messages): see identityOf.
  name: (value: unknown): unknown => value,
  ttl: opt.optional(opt.duration),
  namespace: opt.optional(nameCheck),
  key: opt.optional(opt.fn<(...args: never[]) => unknown>("a function of the arguments")),
  normalizeQuery: opt.withDefault(opt.boolean, false),
  staleWhileRevalidate: opt.optional(opt.duration),
  staleIfError: opt.optional(opt.duration),
  tags: opt.withDefault(tagsOption, []),
} satisfies opt.OptionChecks<WrapOptions<never[]>>;

/** Identities already wrapped, by namespace and name, with the function's source text. */
export type Registry = Map<string, string>;

/** What the wrappers of one cache share: its context, its calls in flight, and the identities wrapped. */
export interface WrapState {
  /** The cache's state. */
  readonly ctx: CacheContext;
  /** Calls in flight, by key hash: concurrent calls with one key share one execution. */
  readonly inflight: Map<string, Promise<unknown>>;
  /** Identities wrapped so far. */
  readonly registry: Registry;
}

/** Builds the wrapper; validates everything that can be validated before the first call. */
export function wrapFunction<A extends unknown[], R>(
  state: WrapState,
  fn: (...args: A) => R,
  options: WrapOptions<A> = {},
): Wrapped<A, R> {
  const { ctx, inflight, registry } = state;
  if (typeof fn !== "function") throw new ConfigError("wrap: expected a function");
  const name = identityOf(fn, typeof options === "object" && options !== null ? options.name : undefined);
  const o = opt.checkOptions(
    { where: `wrap(${name})`, warn: (m) => ctx.backend.warnOnce(m, m) },
    options,
    WRAP_OPTIONS,
  );
  const namespace = o.namespace ?? ctx.options.namespace;
  const policy: EntryPolicy = {
    ttlMs: o.ttl ?? ctx.options.ttlMs,
    staleWhileRevalidateMs: o.staleWhileRevalidate ?? ctx.options.staleWhileRevalidateMs,
    staleIfErrorMs: o.staleIfError ?? ctx.options.staleIfErrorMs,
    label: `${namespace}/${name}`,
  };
  if (options.name === undefined) checkCollision(registry, { namespace, name, fn });
  const { prefix } = ctx.options;
  const tags = o.tags;
  const fixedGens = typeof tags === "function" ? [] : generationKeys(prefix, namespace, tags);
  const gensOf = (args: A): readonly string[] =>
    typeof tags === "function"
      ? generationKeys(prefix, namespace, checkTags(tags(...args), `wrap(${name}): tags`))
      : fixedGens;
  const toKey = o.key as ((...args: A) => unknown) | undefined;
  const normalize = o.normalizeQuery;
  // The placement of this function's most recent entry: a fresh key of a function whose
  // results are large is probably large too, so its blob GET can go out with the record GET.
  let lastPlacement: Placement | undefined;
  const decoder = valueDecoder<Awaited<R>>(ctx);

  return async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    let material: unknown = toKey ? toKey(...args) : args;
    if (normalize && Array.isArray(material) && typeof material[0] === "string") {
      material = [normalizeQueryText(material[0]), ...material.slice(1)];
    }
    const hash = await keyHash(prefix, namespace, { kind: "call", fn: name, args: material });
    const running = inflight.get(hash);
    if (running) {
      ctx.stats.coalesced++;
      return running as Promise<Awaited<R>>;
    }
    const gens = gensOf(args);
    const work = getOrCompute<Awaited<R>>(ctx, {
      ref: { hash, namespace, gens, fallbackHint: lastPlacement },
      policy,
      decoder,
      // A sync throw becomes a rejection like an async one.
      compute: async (): Promise<Awaited<R>> => {
        const result: Awaited<R> = await fn.apply(this, args);
        return result;
      },
      onPlacement: (placement) => {
        lastPlacement = placement;
      },
    });
    inflight.set(hash, work);
    // The entry leaves the map whatever happens; the caller still sees the rejection via `work`.
    work.then(() => inflight.delete(hash), () => inflight.delete(hash));
    return work;
  };
}

function identityOf(fn: (...args: never[]) => unknown, name: unknown): string {
  const identity = name ?? fn.name;
  if (typeof identity !== "string" || identity.length === 0) {
    throw new ConfigError(
      "wrap: anonymous functions need a `name` option (it is part of every cache key, so that two functions never share entries)",
    );
  }
  if (identity.length > MAX_IDENTITY) throw new ConfigError(`wrap: name is longer than ${MAX_IDENTITY} characters`);
  return identity;
}

/**
 * Two different functions that happen to share an inferred `fn.name` in one namespace would
 * read each other's entries. Wrapping the same code again (a closure per request) is fine.
 */
function checkCollision(
  registry: Registry,
  wrapped: { readonly namespace: string; readonly name: string; readonly fn: (...args: never[]) => unknown },
): void {
  const { namespace, name } = wrapped;
  const id = `${namespace}\u0000${name}`;
  const source = String(wrapped.fn);
  const known = registry.get(id);
  if (known === undefined) {
    if (registry.size < DEFAULTS.wrappedIdentities) registry.set(id, source);
  } else if (known !== source) {
    throw new ConfigError(
      `wrap: another function named "${name}" is already wrapped in namespace "${namespace}"; give each a distinct \`name\` option so they never share entries`,
    );
  }
}
