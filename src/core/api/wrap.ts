/**
 * `cache.wrap(fn)`: the function's identity, the namespace and the canonically encoded
 * arguments make the key (or a key template filled from them: record/templates.ts); concurrent
 * calls with one key share one execution; a miss returns `fn`'s result at once and persists it
 * in the background. Time limits (`timeout`, `abortAfter`, a caller's own signal) are
 * flow/time_limit.ts's; a wrapped function is recomputed after an invalidating write through
 * {@link handleOf} (api/invalidate_on_write.ts).
 *
 * @module
 */
import { keyHash, normalizeQueryText } from "../record/key_material.ts";
import type { CacheContext } from "../context.ts";
import type { Duration } from "../util/durations.ts";
import { ConfigError, KeyError } from "../errors.ts";
import * as opt from "../util/check_options.ts";
import { DEFAULTS } from "../defaults.ts";
import { nameCheck } from "./options.ts";
import { checkTags } from "../record/generations.ts";
import { generationKeys } from "../record/key_layout.ts";
import { checkParams, compileTags, compileTemplate, hasPlaceholder } from "../record/templates.ts";
import type { Placement } from "../flow/placement.ts";
import { getOrCompute, valueDecoder } from "../flow/get_or_compute.ts";
import type { ComputeJob, EntryPolicy } from "../flow/job.ts";
import { runAborting } from "../flow/time_limit.ts";
import { abandonable } from "../util/abort.ts";
import { type Ttl, ttlCheck, ttlMs } from "./ttl_profiles.ts";
import { getEntry } from "./entries.ts";
import { schemaCheck, SchemaGuard, type StandardSchema } from "./schema.ts";

/** Options of {@link Cache.wrap}. */
export interface WrapOptions<A extends unknown[]> {
  /** The function's identity in keys. Required for anonymous functions (unless `key` is a template, which then names it). @default fn.name */
  name?: string;
  /** Time to live of this function's entries: a duration or a TTL profile's name. @default the cache's `ttl` */
  ttl?: Ttl;
  /** Namespace of this function's entries. @default the cache's `namespace` */
  namespace?: string;
  /**
   * What identifies a call, when not all of the arguments should: a function of the arguments
   * (its result is canonically encoded like arguments are), or a key template such as
   * `"user:{id}"` filled from them (see `params`): every argument that changes the result must
   * appear in it. The function's identity stays part of the entry's key, so two functions never
   * share an entry whatever their templates; the filled template is kept readable in the record.
   * @example "user:{id}"
   * @example (sql, year, logger) => [sql, year]
   * @default the arguments themselves
   */
  key?: string | ((...args: A) => unknown);
  /**
   * The names of `fn`'s parameters, in order, for templates (`key`, `tags`): `{id}` is then the
   * argument at `id`'s position. Without it, `{id}` is the `id` field of the first argument that
   * is a plain object; `{0}` is always the first argument.
   * @example ["id", "org"]
   */
  params?: readonly string[];
  /**
   * Collapses whitespace (outside quoted literals) in a leading string argument, so the same
   * SQL written on one line or many shares one entry.
   * @default false
   */
  normalizeQuery?: boolean;
  /** Serve this function's entries up to this long past their TTL while one refresh runs. @default the cache's */
  staleWhileRevalidate?: Duration;
  /** Serve this function's entries up to this long past their TTL when it throws (or passes `timeout`). @default the cache's */
  staleIfError?: Duration;
  /**
   * Tags of this function's entries — templates allowed (`"user:{id}"`) — or a function of the
   * arguments that returns them; `cache.invalidateTag(tag)` then expires (or marks stale) every
   * entry carrying the tag.
   * @example ["orders", "customer:{customerId}"]
   * @example (customerId) => ["orders", `customer:${customerId}`]
   * @default []
   */
  tags?: readonly string[] | ((...args: A) => readonly string[]);
  /**
   * How long callers wait for a value once their lookup missed. Past it they get an expired entry
   * within `staleIfError`, else a `TimeoutError` (`backend: "function"`); the function goes on in
   * the background (its lease kept) and its value is still cached.
   * @default no limit
   */
  timeout?: Duration;
  /** When the signal given to `fn` (`signal: true`) aborts, counted from the call of `fn`. @default `timeout` */
  abortAfter?: Duration;
  /**
   * Calls `fn(...args, { signal })`: an `AbortSignal` that fires at `abortAfter` (or `timeout`),
   * with a `TimeoutError` as its reason. The wrapper keeps `fn`'s other parameters.
   * @default false
   */
  signal?: boolean;
  /**
   * A Standard Schema validator (zod, valibot, arktype…) of the function's result. A cached value
   * that does not pass (its shape changed in a deploy) is a miss, counted in `errors.schema`, and
   * the fresh value replaces it. Callers get the validator's output, on hits and misses alike; a
   * fresh value that does not pass is not stored, and the call rejects with a `SchemaError`.
   * Async validators are supported.
   * @example z.object({ total: z.number(), rows: z.array(Row) })
   * @default no check
   */
  schema?: StandardSchema;
}

/** What `fn` receives as its last argument with `signal: true`. */
export interface ComputeContext {
  /** Fires at the function's time limit (`abortAfter`, else `timeout`); its reason is a `TimeoutError`. */
  readonly signal: AbortSignal;
}

/** A wrapped function: same parameters, result always a Promise. */
export interface Wrapped<A extends unknown[], R> {
  /** Serves the call from the cache, or runs the function. */
  (...args: A): Promise<Awaited<R>>;
  /**
   * The same function for a caller that may stop waiting: once `signal` aborts, the call rejects
   * with its reason, while the computation goes on for the other callers sharing it (and is cached).
   * @example await getUser.withSignal(request.signal)(42)
   */
  withSignal(signal: AbortSignal): (...args: A) => Promise<Awaited<R>>;
  /**
   * The cached value of a call with these arguments, or `undefined` on a miss (including any cache
   * failure); never runs the function. Counted like `cache.get`.
   * @example const cached = await getUser.peek(42);
   */
  peek(...args: A): Promise<Awaited<R> | undefined>;
  /**
   * The key hash of a call with these arguments: what `cache.inspect({ hash })`, `larder inspect`
   * and log lines name the entry by.
   * @example await cache.inspect({ hash: await getUser.hashOf(42) })
   */
  hashOf(...args: A): Promise<string>;
}

const MAX_IDENTITY = 256;

/** Tags given as a list (checked when compiled) or as a function of the arguments (its results checked per call). */
const tagsOption: opt.Check<readonly string[] | ((...args: unknown[]) => readonly string[])> = (value, at) =>
  typeof value === "function" ? value as (...args: unknown[]) => readonly string[] : checkTagList(value, at);

function checkTagList(value: unknown, at: opt.OptionPath): readonly string[] {
  if (!Array.isArray(value) || value.some((tag) => typeof tag !== "string")) {
    throw new ConfigError(`${opt.optionName(at)} must be an array of strings or a function of the arguments`);
  }
  return value as string[];
}

const WRAP_OPTIONS = {
  // Checked before the others (it names the function in their messages): see identityOf.
  name: (value: unknown): unknown => value,
  ttl: opt.optional(ttlCheck),
  namespace: opt.optional(nameCheck),
  key: opt.optional(
    (value: unknown, at: opt.OptionPath) =>
      typeof value === "string" && hasPlaceholder(value) ? value : opt.fn<(...args: never[]) => unknown>(
        'a function of the arguments or a key template with a placeholder, e.g. "user:{id}" (a key without one would give every call one entry)',
      )(value, at),
  ),
  params: opt.optional((value: unknown, at: opt.OptionPath) => checkParams(value, opt.optionName(at))),
  normalizeQuery: opt.withDefault(opt.boolean, false),
  staleWhileRevalidate: opt.optional(opt.duration),
  staleIfError: opt.optional(opt.duration),
  tags: opt.withDefault(tagsOption, []),
  timeout: opt.optional(opt.duration),
  abortAfter: opt.optional(opt.duration),
  signal: opt.withDefault(opt.boolean, false),
  schema: opt.optional(schemaCheck),
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

/** What an invalidating write needs of a wrapped function to recompute it (api/invalidate_on_write.ts). */
export interface WrappedHandle {
  /** The cache it belongs to. */
  readonly state: WrapState;
  /** `namespace/name`, for messages. */
  readonly label: string;
  /** The generation keys of the entry of a call with `args`. Throws a `KeyError` or `ConfigError` for bad arguments. */
  gensOf(args: readonly unknown[]): readonly string[];
  /**
   * Recomputes the entry of a call with `args` (a stale entry is not served; through the lease);
   * resolves once the value is known, with the settling of its write when one was scheduled.
   */
  recache(args: readonly unknown[]): Promise<{ readonly written: Promise<void> | undefined }>;
}

const handles = new WeakMap<object, WrappedHandle>();

/** The recache handle of a function `wrap` returned; `undefined` for anything else. */
export function handleOf(wrapped: unknown): WrappedHandle | undefined {
  return typeof wrapped === "function" ? handles.get(wrapped) : undefined;
}

/** Builds the wrapper; validates everything that can be validated before the first call. */
export function wrapFunction<A extends unknown[], R>(
  state: WrapState,
  fn: (...args: never) => R,
  options: WrapOptions<A> = {},
): Wrapped<A, R> {
  const { ctx, inflight, registry } = state;
  if (typeof fn !== "function") throw new ConfigError("wrap: expected a function");
  const given = typeof options === "object" && options !== null ? options : {};
  const template = typeof given.key === "string" && hasPlaceholder(given.key) ? given.key : undefined;
  const name = identityOf(fn, given.name ?? (fn.name || template));
  const where = `wrap(${name})`;
  const o = opt.checkOptions({ where, warn: (m) => ctx.backend.warnOnce(m, m) }, options, WRAP_OPTIONS);
  const namespace = o.namespace ?? ctx.options.namespace;
  const policy: EntryPolicy = {
    ttlMs: o.ttl === undefined ? ctx.options.ttlMs : ttlMs(ctx.options.ttlProfiles, o.ttl, `${where}: ttl`),
    staleWhileRevalidateMs: o.staleWhileRevalidate ?? ctx.options.staleWhileRevalidateMs,
    staleIfErrorMs: o.staleIfError ?? ctx.options.staleIfErrorMs,
    label: `${namespace}/${name}`,
  };
  const limits = timeLimits(o, where);
  const params = o.params;
  const keyTemplate = template && compileTemplate(template, { params, what: `${where}: key` });
  const userTags = typeof o.tags === "function" ? o.tags : undefined;
  const tags = typeof o.tags === "function" ? undefined : compileTags(o.tags, { params, what: `${where}: tags` });
  checkTemplateOptions(o, { where, templated: keyTemplate !== undefined || typeof tags === "function" });
  if (given.name === undefined) {
    checkCollision(registry, {
      id: `${namespace}\u0000${name}`,
      fn,
      clash:
        `another function named "${name}" is already wrapped in namespace "${namespace}"; give each a distinct \`name\` option so they never share entries`,
    });
  }
  const { prefix } = ctx.options;
  const fixedGens = Array.isArray(tags) ? generationKeys(prefix, namespace, tags) : [];
  const gensOf = (args: readonly unknown[]): readonly string[] => {
    if (userTags) return generationKeys(prefix, namespace, checkTags(userTags(...args as never[]), `${where}: tags`));
    return typeof tags === "function" ? generationKeys(prefix, namespace, tags(args)) : fixedGens;
  };
  const toKey = o.key as ((...args: unknown[]) => unknown) | undefined;
  const normalize = o.normalizeQuery;
  const identify = async (args: readonly unknown[]): Promise<{ hash: string; readableKey?: string }> => {
    if (keyTemplate) {
      const readableKey = keyTemplate(args);
      if (readableKey.length === 0) throw new KeyError(`${where}: key template "${template}" filled to an empty key`);
      // The function's identity stays in the hash (two functions never share an entry, whatever
      // their templates); the filled template stands in for the arguments, and is kept readable.
      const material = { template: readableKey };
      return { hash: await keyHash(prefix, namespace, { kind: "call", fn: name, args: material }), readableKey };
    }
    let material: unknown = toKey ? toKey(...args) : args;
    if (normalize && Array.isArray(material) && typeof material[0] === "string") {
      material = [normalizeQueryText(material[0]), ...material.slice(1)];
    }
    return { hash: await keyHash(prefix, namespace, { kind: "call", fn: name, args: material }) };
  };
  const call = fn as (...args: unknown[]) => R;
  const run = (thisArg: unknown, args: readonly unknown[]): Promise<Awaited<R>> =>
    limits.abortAfterMs === undefined
      // A sync throw becomes a rejection like an async one.
      ? (async (): Promise<Awaited<R>> => await call.apply(thisArg, [...args]))()
      : runAborting((signal) => call.apply(thisArg, [...args, { signal } satisfies ComputeContext]), {
        afterMs: limits.abortAfterMs,
        label: policy.label,
      });
  // The placement of this function's most recent entry: a fresh key of a function whose
  // results are large is probably large too, so its blob GET can go out with the record GET.
  let lastPlacement: Placement | undefined;
  // With a schema, values are checked on the way out of the cache and of the function (api/schema.ts).
  const guard = o.schema && new SchemaGuard(ctx, o.schema, { label: policy.label });
  const decoder = guard ? guard.decoder<Awaited<R>>(valueDecoder(ctx)) : valueDecoder<Awaited<R>>(ctx);

  const serve = async (
    thisArg: unknown,
    args: readonly unknown[],
    recache?: Pick<ComputeJob<Awaited<R>>, "persisting">,
  ): Promise<Awaited<R>> => {
    const { hash, readableKey } = await identify(args);
    // A recache must not join a call that started before the invalidation: it starts its own.
    const running = recache ? undefined : inflight.get(hash);
    if (running) {
      ctx.stats.coalesced++;
      return running as Promise<Awaited<R>>;
    }
    const work = getOrCompute<Awaited<R>>(ctx, {
      ref: {
        hash,
        namespace,
        gens: gensOf(args),
        fallbackHint: lastPlacement,
        ...(readableKey === undefined ? {} : { readableKey }),
      },
      policy,
      decoder,
      ...(guard ? guard.computing<Awaited<R>>(() => run(thisArg, args), policy.ttlMs) : {
        compute: () => run(thisArg, args),
      }),
      onPlacement: (placement) => {
        lastPlacement = placement;
      },
      // Nobody waits on a recache but the invalidating write; only `abortAfter` bounds it.
      ...(recache ? { recompute: true, ...recache } : {}),
      ...(!recache && limits.timeoutMs !== undefined ? { timeoutMs: limits.timeoutMs } : {}),
    });
    inflight.set(hash, work);
    // The entry leaves the map whatever happens (unless a recache replaced it); the caller still
    // sees the rejection via `work`.
    const forget = (): void => {
      if (inflight.get(hash) === work) inflight.delete(hash);
    };
    work.then(forget, forget);
    return work;
  };

  const wrapped = function (this: unknown, ...args: A): Promise<Awaited<R>> {
    return serve(this, args);
  } as Wrapped<A, R>;
  wrapped.withSignal = (signal: AbortSignal) => {
    // Duck-typed: a signal from another realm (a framework's own AbortSignal) is as good.
    if (typeof signal?.addEventListener !== "function" || typeof signal.aborted !== "boolean") {
      throw new ConfigError(`${where}: withSignal expects an AbortSignal`);
    }
    return function (this: unknown, ...args: A): Promise<Awaited<R>> {
      // Aborted already: nothing starts.
      return signal.aborted ? Promise.reject(signal.reason) : abandonable(serve(this, args), signal);
    };
  };
  wrapped.peek = async (...args: A): Promise<Awaited<R> | undefined> => {
    const { hash } = await identify(args);
    return await getEntry(ctx, { hash, namespace, gens: gensOf(args) }, decoder) as Awaited<R> | undefined;
  };
  wrapped.hashOf = async (...args: A): Promise<string> => (await identify(args)).hash;
  handles.set(wrapped, {
    state,
    label: policy.label,
    gensOf,
    async recache(args) {
      let written: Promise<void> | undefined;
      await serve(undefined, args, { persisting: (settled) => (written = settled) });
      return { written };
    },
  });
  return wrapped;
}

/** The checked time limits: the callers' `timeout`, and when `fn`'s signal fires (only with `signal: true`). */
function timeLimits(
  o: { readonly timeout?: number | undefined; readonly abortAfter?: number | undefined; readonly signal: boolean },
  where: string,
): { readonly timeoutMs: number | undefined; readonly abortAfterMs: number | undefined } {
  if (o.abortAfter !== undefined && !o.signal) {
    throw new ConfigError(`${where}: abortAfter fires the signal given to the function: set signal: true`);
  }
  if (o.signal && o.timeout === undefined && o.abortAfter === undefined) {
    throw new ConfigError(`${where}: signal: true needs timeout or abortAfter (when the signal fires)`);
  }
  return { timeoutMs: o.timeout, abortAfterMs: o.signal ? o.abortAfter ?? o.timeout : undefined };
}

/** Options that only make sense together: `params` with a template, `normalizeQuery` without a key template. */
function checkTemplateOptions(
  o: {
    readonly key?: unknown;
    readonly params?: readonly string[] | undefined;
    readonly normalizeQuery: boolean;
  },
  compiled: { readonly where: string; readonly templated: boolean },
): void {
  const { where, templated } = compiled;
  if (typeof o.key === "string" && o.normalizeQuery) {
    throw new ConfigError(`${where}: normalizeQuery applies to the arguments; a key template replaces them`);
  }
  if (o.params !== undefined && !templated) {
    throw new ConfigError(`${where}: params names the parameters of key and tag templates, and there is none`);
  }
}

function identityOf(fn: (...args: never) => unknown, name: unknown): string {
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
 * Two different functions that happen to share an inferred `fn.name` in one
 * namespace would read each other's entries. Wrapping the same code again (a closure per request)
 * is fine.
 */
function checkCollision(
  registry: Registry,
  wrapped: { readonly id: string; readonly fn: (...args: never) => unknown; readonly clash: string },
): void {
  const { id } = wrapped;
  const source = String(wrapped.fn);
  const known = registry.get(id);
  if (known === undefined) {
    if (registry.size < DEFAULTS.wrappedIdentities) registry.set(id, source);
  } else if (known !== source) {
    throw new ConfigError(`wrap: ${wrapped.clash}`);
  }
}
