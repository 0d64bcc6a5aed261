/**
 * `cache.invalidating(fn, options)`: the function that writes says what it invalidates, next to
 * it, the way `@invalidate_on_write` does in the libraries Larder replaces. The invalidation runs
 * only after `fn` has succeeded — never before (a reader could cache the old value again while the
 * write is under way), never when it throws — as one store command for every tag and namespace,
 * and then, optionally, the wrapped functions named in `recache` are recomputed so the next reader
 * finds a fresh entry instead of a miss.
 *
 * Placeholders (`"user:{id}"`) are filled before `fn` runs, so a call that cannot name its tags
 * fails before it writes anything. Functions of the arguments and of the result
 * (`(id, data, result) => …`) run after it. An invalidation that fails rejects the call with a
 * `StoreError` saying that the write succeeded (or, with `onError: "log"`, is logged): `fn` ran,
 * and the caller must know the cache may still serve the old value.
 *
 * A recache is an ordinary call of the wrapped function that refuses to serve a stale entry: after
 * an expiring invalidation its lookup misses and takes the entry's lease in the same round trip, so
 * a concurrent miss on another instance waits for it instead of running the function a second time.
 * It runs in the background (`waitUntil`, the bounded queue) unless `recache.await` asks to wait
 * for the values to be written; either way its failures are counted and logged, never thrown.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { ConfigError, isCacheError, KeyError, StoreError } from "../errors.ts";
import { checkTags } from "../record/generations.ts";
import { namespaceGeneration, tagGeneration } from "../record/key_layout.ts";
import { checkName } from "../record/key_material.ts";
import { checkParams, compileTags, compileTemplate, isTemplate } from "../record/templates.ts";
import * as opt from "../util/check_options.ts";
import { DEFAULTS } from "../defaults.ts";
import { invalidate } from "./invalidation.ts";
import { handleOf, type Wrapped, type WrappedHandle, type WrapState } from "./wrap.ts";

/**
 * One recomputation after the write: a function `wrap` returned, and its arguments as a function
 * of the write's arguments and result (`undefined`: skip it for this call).
 * @example [getUser, (id) => [id]]
 */
export type RecacheCall<A extends unknown[], R> = readonly [
  wrapped: Wrapped<never, unknown>,
  args: (...argsAndResult: [...A, R]) => readonly unknown[] | undefined,
];

/** `recache` with its settings. */
export interface RecacheOptions<A extends unknown[], R> {
  /** The calls to recompute. */
  calls: readonly RecacheCall<A, R>[];
  /** Recomputations running at once at most. @default 4 */
  concurrency?: number;
  /** Wait until the fresh values are written before resolving (read-your-writes); else they run in the background. @default false */
  await?: boolean;
}

/** Options of {@link Cache.invalidating}. */
export interface InvalidatingOptions<A extends unknown[], R> {
  /** Names the function in messages and logs. @default fn.name */
  name?: string;
  /**
   * Tags to invalidate once `fn` has succeeded: a list (templates such as `"user:{id}"` filled from
   * the arguments before `fn` runs), or a function of the arguments and then the result.
   * @example ["users", "user:{id}"]
   * @example (id, data, result) => [`user:${id}`, `org:${result.orgId}`]
   */
  tags?: readonly string[] | ((...argsAndResult: [...A, R]) => readonly string[]);
  /** Namespaces to invalidate, like `tags`. */
  namespaces?: readonly string[] | ((...argsAndResult: [...A, R]) => readonly string[]);
  /** The names of `fn`'s parameters, for templates (as `wrap`'s `params`). */
  params?: readonly string[];
  /** `"expire"`: entries miss from now on; `"stale"`: served stale while one refresh runs. @default "expire" */
  mode?: "expire" | "stale";
  /**
   * When the invalidation fails (after the write succeeded): `"throw"` rejects the call with a
   * `StoreError` that says so; `"log"` logs it and resolves with `fn`'s result.
   * @default "throw"
   */
  onError?: "throw" | "log";
  /**
   * Wrapped functions to recompute after the invalidation: `[[getUser, (id) => [id]]]`, or
   * `{ calls, concurrency, await }`. In the background unless `await: true`.
   * @default none
   */
  recache?: readonly RecacheCall<A, R>[] | RecacheOptions<A, R>;
}

const D = DEFAULTS.invalidating;

const listOrFunction =
  (what: string): opt.Check<readonly string[] | ((...args: unknown[]) => unknown)> => (value, at) => {
    if (typeof value === "function") return value as (...args: unknown[]) => unknown;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
      throw new ConfigError(`${opt.optionName(at)} must be an array of ${what} or a function of the arguments`);
    }
    return value as string[];
  };

const RECACHE_GROUP = opt.group({
  calls: (value: unknown, at: opt.OptionPath): unknown[] => {
    if (!Array.isArray(value)) throw new ConfigError(`${opt.optionName(at)} must be an array of [wrapped, args] pairs`);
    return value;
  },
  concurrency: opt.withDefault(opt.positiveInteger, D.recacheConcurrency),
  await: opt.withDefault(opt.boolean, false),
});

const INVALIDATING_OPTIONS = {
  name: opt.optional(opt.requiredString),
  tags: opt.optional(listOrFunction("tags")),
  namespaces: opt.optional(listOrFunction("namespaces")),
  params: opt.optional((value: unknown, at: opt.OptionPath) => checkParams(value, opt.optionName(at))),
  mode: opt.withDefault(opt.oneOf(["expire", "stale"]), D.mode),
  onError: opt.withDefault(opt.oneOf(["throw", "log"]), D.onError),
  recache: opt.optional((value: unknown, at: opt.OptionPath) =>
    RECACHE_GROUP(Array.isArray(value) ? { calls: value } : value, at)
  ),
} satisfies opt.OptionChecks<InvalidatingOptions<never[], unknown>>;

/** Targets of one call: filled before `fn` runs (lists), or computed from its result (functions). */
type Targets = (args: readonly unknown[], result: unknown) => readonly string[];

/** A checked recache call. */
interface Recache {
  readonly handle: WrappedHandle;
  readonly argsOf: (...argsAndResult: unknown[]) => unknown;
}

/** Builds the invalidating wrapper; see the module doc. Everything checkable is checked now. */
export function invalidatingFunction<A extends unknown[], R>(
  state: WrapState,
  fn: (...args: A) => R,
  options: InvalidatingOptions<A, Awaited<R>>,
): (...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== "function") throw new ConfigError("invalidating: expected a function");
  const { ctx } = state;
  const where = `invalidating(${typeof options?.name === "string" ? options.name : fn.name || "anonymous function"})`;
  const o = opt.checkOptions(where, options, INVALIDATING_OPTIONS);
  if (o.tags === undefined && o.namespaces === undefined) {
    throw new ConfigError(`${where}: name what the write invalidates: tags, namespaces or both`);
  }
  const source = { params: o.params, what: where };
  const { prefix } = ctx.options;
  const tagsOf = targets(o.tags, {
    compile: (list) => compileTags(list, { ...source, what: `${where}: tags` }),
    check: (list) => checkTags(list, `${where}: tags`),
  });
  const namespacesOf = targets(o.namespaces, {
    compile: (list) => compileNames(list, { ...source, what: `${where}: namespaces` }),
    check: (list) => list.map((ns) => checkName(ns, `${where}: namespaces`)),
  });
  const recache = o.recache && {
    ...o.recache,
    calls: o.recache.calls.map((call, i) => checkRecache(state, call, `${where}: recache[${i}]`)),
  };

  return async function (this: unknown, ...args: A): Promise<Awaited<R>> {
    // Placeholders first: a call that cannot name its tags fails before it writes.
    const before = { tags: tagsOf(args), namespaces: namespacesOf(args) };
    const result: Awaited<R> = await fn.apply(this, args);
    let keys: string[];
    try {
      keys = [
        ...before.tags(result).map((tag) => tagGeneration(prefix, tag)),
        ...before.namespaces(result).map((ns) => namespaceGeneration(prefix, ns)),
      ];
      await invalidate(ctx, keys, { mode: o.mode });
    } catch (error) {
      const failure = afterWrite(error, where);
      if (o.onError === "throw") throw failure;
      ctx.backend.logger.error(failure.message, { cause: error });
      return result;
    }
    if (recache && recache.calls.length > 0) {
      const planned = plan(ctx, recache.calls, { args, result, keys: new Set(keys), where });
      const work = (): Promise<void> => recacheAll(ctx, planned, { concurrency: recache.concurrency, where });
      if (recache.await) await work();
      else if (!ctx.background.schedule(work)) {
        ctx.stats.recachesSkipped += planned.length;
        ctx.backend.warnOnce(
          "recache-full",
          `larder: ${where}: recache skipped, ${ctx.options.maxPendingWrites} background tasks already pending`,
        );
      }
    }
    return result;
  };
}

/** How a list or function of targets becomes, per call, a function of the result. */
function targets(
  option: readonly string[] | ((...args: unknown[]) => unknown) | undefined,
  how: {
    readonly compile: (
      list: readonly string[],
    ) => readonly string[] | ((args: readonly unknown[]) => readonly string[]);
    readonly check: (list: readonly string[]) => readonly string[];
  },
): (args: readonly unknown[]) => (result: unknown) => readonly string[] {
  if (option === undefined) return () => () => [];
  if (typeof option === "function") {
    return (args) => (result) => {
      const list = option(...args, result);
      if (!Array.isArray(list)) {
        throw new ConfigError("the tags or namespaces function must return an array of strings");
      }
      return how.check(list);
    };
  }
  const compiled = how.compile(option);
  return typeof compiled === "function"
    ? (args) => {
      const filled = compiled(args);
      return () => filled;
    }
    : () => () => compiled;
}

/** A list of namespaces that may hold templates, like `compileTags` for tags. */
function compileNames(
  list: readonly string[],
  source: { readonly params?: readonly string[] | undefined; readonly what: string },
): readonly string[] | ((args: readonly unknown[]) => readonly string[]) {
  if (!list.some(isTemplate)) return list.map((ns) => checkName(ns, source.what));
  const items = list.map((ns) => {
    if (!isTemplate(ns)) return checkName(ns, source.what);
    checkName(ns.replace(/\{[^{}]*\}/g, "x"), source.what);
    return compileTemplate(ns, source);
  });
  return (args) =>
    items.map((item) => {
      if (typeof item === "string") return item;
      const filled = item(args);
      try {
        return checkName(filled, source.what);
      } catch {
        throw new KeyError(`${source.what}: a namespace template filled with this call's values is not a valid name`);
      }
    });
}

function checkRecache(state: WrapState, call: unknown, what: string): Recache {
  const shape = `${what} must be [a function this cache's wrap() returned, (...args, result) => its arguments]`;
  if (!Array.isArray(call) || call.length !== 2 || typeof call[1] !== "function") throw new ConfigError(shape);
  const handle = handleOf(call[0]);
  if (!handle || handle.state !== state) throw new ConfigError(shape);
  return { handle, argsOf: call[1] as (...argsAndResult: unknown[]) => unknown };
}

/** The error of a failed invalidation: the write happened, and the message says so. */
function afterWrite(error: unknown, where: string): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const text = `${where}: the write succeeded but the invalidation did not (${reason})`;
  if (isCacheError(error) && (error.code === "E_CONFIG" || error.code === "E_KEY")) {
    return new ConfigError(text, { cause: error });
  }
  return new StoreError(text, { cause: error });
}

/** A recomputation to run: the wrapped function and its arguments. */
interface Planned {
  readonly handle: WrappedHandle;
  readonly args: readonly unknown[];
}

/**
 * The recomputations of one write: arguments worked out now (from this call's arguments and
 * result), and only those the invalidation covered (another one would just be served as it is:
 * counted as skipped and logged once).
 */
function plan(
  ctx: CacheContext,
  calls: readonly Recache[],
  write: {
    readonly args: readonly unknown[];
    readonly result: unknown;
    readonly keys: ReadonlySet<string>;
    readonly where: string;
  },
): Planned[] {
  const planned: Planned[] = [];
  for (const { handle, argsOf } of calls) {
    try {
      const args = argsOf(...write.args, write.result);
      if (args === undefined) continue;
      if (!Array.isArray(args)) throw new ConfigError(`the arguments function of ${handle.label} must return an array`);
      if (!handle.gensOf(args).some((gen) => write.keys.has(gen))) {
        ctx.stats.recachesSkipped++;
        ctx.backend.warnOnce(
          `recache-uncovered:${write.where}:${handle.label}`,
          `larder: ${write.where}: recache of ${handle.label} skipped: its entry carries none of the tags or namespaces invalidated, so it would be served as it is`,
        );
        continue;
      }
      planned.push({ handle, args });
    } catch (error) {
      ctx.stats.recachesFailed++;
      ctx.backend.logger.warn(`larder: ${write.where}: recache of ${handle.label} failed`, { error });
    }
  }
  return planned;
}

/** Runs the recomputations, `concurrency` at a time; each failure is counted and logged. */
async function recacheAll(
  ctx: CacheContext,
  planned: readonly Planned[],
  run: { readonly concurrency: number; readonly where: string },
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < planned.length) {
      const { handle, args } = planned[next++]!;
      try {
        const { written } = await handle.recache(args);
        await written;
        ctx.stats.recachesOk++;
      } catch (error) {
        ctx.stats.recachesFailed++;
        ctx.backend.logger.warn(`larder: ${run.where}: recache of ${handle.label} failed`, { error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.concurrency, planned.length) }, worker));
}
