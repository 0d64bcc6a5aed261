/**
 * The one options checker. Every options object Larder takes — `createCache`, `wrap`, the
 * by-key methods, `cleanup`, `clear`, the invalidations, the response cache, the dashboard and
 * the adapters' factories — is checked by {@link checkOptions} against a table of one
 * {@link Check} per option. Each table is declared `satisfies OptionChecks<TheOptions>`, so an
 * option added to the type without a check, or a check for an option the type lacks, does not
 * compile. Unknown keys are refused like wrong types and out-of-range values: each a
 * `ConfigError` naming the function, the option and what it must be. Messages describe a bad
 * value by its type, never by its contents when it is a string (it may be a secret).
 *
 * Checks compose: a primitive check refuses `undefined`; {@link optional} lets it through and
 * {@link withDefault} replaces it (the core's defaults live in one table: `core/defaults.ts`).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { toMs } from "./durations.ts";

/** Where an option sits, for messages: the function that takes it, and its path (`memory.ttl`). */
export interface OptionPath {
  /** The function, e.g. `createCache`. */
  readonly where: string;
  /** The option, dotted when nested, e.g. `memory.ttl`. */
  readonly path: string;
  /** Where a check reports a value it accepts but doubts (a TTL of 60 ms); absent: nowhere. */
  readonly warn?: ((message: string) => void) | undefined;
}

/** The function whose options are checked, and where doubtful values are reported. */
export interface CheckedCall {
  /** The function, e.g. `createCache`. */
  readonly where: string;
  /** Receives a warning for a value accepted but doubtful (e.g. `ttl: 60`, 60 ms). */
  readonly warn?: ((message: string) => void) | undefined;
}

/** Checks one option: returns its value (converted when needed), or throws a `ConfigError`. */
export type Check<T> = (value: unknown, at: OptionPath) => T;

/** A table of checks for the options type `O`: exactly one per option. */
export type OptionChecks<O> = { readonly [K in keyof Required<O>]: Check<unknown> };

/** A table of checks, whatever the options type. */
export type Checks = Readonly<Record<string, Check<unknown>>>;

/** What the checks of a table return, by option. */
export type Checked<C> = { -readonly [K in keyof C]: C[K] extends Check<infer T> ? T : never };

/** How messages name an option: `createCache: memory.ttl`. */
export function optionName(at: OptionPath): string {
  return `${at.where}: ${at.path}`;
}

/**
 * Checks `options` (undefined: every option absent) against `checks`; `call` names the function
 * in messages (and may take the warnings of doubtful values, see {@link CheckedCall}).
 */
export function checkOptions<C extends Checks>(call: string | CheckedCall, options: unknown, checks: C): Checked<C> {
  const { where, warn } = typeof call === "string" ? { where: call, warn: undefined } : call;
  if (options !== undefined && !isObject(options)) throw new ConfigError(`${where}: options must be an object`);
  return checkFields(options ?? {}, checks, { where, path: "", warn });
}

/** A group of options under one name (`timeout: { store?, blob?, total? }`); absent is an empty group. */
export function group<C extends Checks>(checks: C): Check<Checked<C>> {
  const shape = `{ ${Object.keys(checks).map((k) => `${k}?`).join(", ")} }`;
  return (value, at) => {
    if (value !== undefined && !isObject(value)) throw new ConfigError(`${optionName(at)} must be ${shape}`);
    return checkFields(value ?? {}, checks, { where: at.where, path: `${at.path}.`, warn: at.warn });
  };
}

/**
 * A group that can be switched off: `false` turns it off (`undefined`), `true` or an object turns
 * it on (an object checked by `checks`), and absent means `on`.
 */
export function switchable<C extends Checks>(checks: C, on: boolean): Check<Checked<C> | undefined> {
  const shape = `true, false or { ${Object.keys(checks).map((k) => `${k}?`).join(", ")} }`;
  return (value, at) => {
    const switched = value === undefined ? on : value;
    if (switched === false) return undefined;
    if (switched !== true && !isObject(switched)) throw new ConfigError(`${optionName(at)} must be ${shape}`);
    return checkFields(switched === true ? {} : switched, checks, {
      where: at.where,
      path: `${at.path}.`,
      warn: at.warn,
    });
  };
}

/** What {@link recordOf} checks: the object's shape (for messages), its keys and its values. */
export interface RecordSpec<T> {
  /** Completes "must be …" when the option is not an object. */
  readonly shape: string;
  /** What a key is, in messages (`namespace`). */
  readonly keyName: string;
  /** Checks each key. */
  readonly key: Check<string>;
  /** Checks each value. */
  readonly value: Check<T>;
}

/** An object of `{ [key]: value }`, as a map; absent is empty. */
export function recordOf<T>(spec: RecordSpec<T>): Check<Map<string, T>> {
  return (value, at) => {
    const out = new Map<string, T>();
    if (value === undefined) return out;
    if (!isObject(value)) throw new ConfigError(`${optionName(at)} must be ${spec.shape}`);
    for (const [name, item] of Object.entries(value)) {
      const key = spec.key(name, { where: at.where, path: `${at.path}: ${spec.keyName}`, warn: at.warn });
      out.set(key, spec.value(item, { where: at.where, path: `${at.path}.${name}`, warn: at.warn }));
    }
    return out;
  };
}

/** Absent stays `undefined`; anything else goes through `check`. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, at) => (value === undefined ? undefined : check(value, at));
}

/** Absent is `fallback`, checked like a value given (so a default is written the way a user writes it). */
export function withDefault<T>(check: Check<T>, fallback: unknown): Check<T> {
  return (value, at) => check(value === undefined ? fallback : value, at);
}

/** A positive safe integer. */
export function positiveInteger(value: unknown, at: OptionPath): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${optionName(at)} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** An integer from `min` to `max`. */
export function integerFrom(min: number, max: number): Check<number> {
  return (value, at) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(`${optionName(at)} must be an integer from ${min} to ${max}, got ${describe(value)}`);
    }
    return value;
  };
}

/** Options that are time limits (a few hundred ms is ordinary there). */
const TIME_LIMIT = /timeout|abortAfter/i;

/**
 * A duration (`"90s"`, `"15m"`, or milliseconds), in whole milliseconds. A number under 1000 is
 * accepted but reported to `at.warn` (`ttl: 60` is 60 ms: seconds were probably meant), except
 * for time limits (`timeout…`, `abortAfter`), where a few hundred milliseconds is ordinary.
 */
export function duration(value: unknown, at: OptionPath): number {
  const ms = toMs(value, optionName(at));
  if (typeof value === "number" && value < 1000 && !TIME_LIMIT.test(at.path)) {
    at.warn?.(
      `larder: ${
        optionName(at)
      }: ${value} is ${value} ms; durations in numbers are milliseconds — did you mean "${value}s"?`,
    );
  }
  return ms;
}

/** A boolean. */
export function boolean(value: unknown, at: OptionPath): boolean {
  if (typeof value !== "boolean") throw new ConfigError(`${optionName(at)} must be a boolean`);
  return value;
}

/** A non-empty string (absent included: the option is required). */
export function requiredString(value: unknown, at: OptionPath): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ConfigError(`${optionName(at)} is required (a non-empty string)`);
  }
  return value;
}

/** A function, of type `F` (the check can only see that it is a function); `expected` completes "must be …". */
export function fn<F>(expected = "a function"): Check<F> {
  return (value, at) => {
    if (typeof value !== "function") {
      throw new ConfigError(`${optionName(at)} must be ${expected}, got ${describe(value)}`);
    }
    return value as F;
  };
}

/** One of `names`. */
export function oneOf<const N extends string>(names: readonly N[]): Check<N> {
  return (value, at) => {
    if (typeof value !== "string" || !(names as readonly string[]).includes(value)) {
      throw new ConfigError(
        `${optionName(at)} must be one of ${names.map((n) => `"${n}"`).join(", ")}; got ${JSON.stringify(value)}`,
      );
    }
    return value as N;
  };
}

/** A value `valid` accepts, of type `T`; `expected` completes "must be …" in the message. */
export function satisfying<T>(valid: (value: unknown) => boolean, expected: string): Check<T> {
  return (value, at) => {
    if (!valid(value)) throw new ConfigError(`${optionName(at)} must be ${expected}`);
    return value as T;
  };
}

/** A short description of a bad option value, safe for messages (never its contents when a string). */
export function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkFields<C extends Checks>(value: object, checks: C, at: OptionPath): Checked<C> {
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(checks, key)) throw new ConfigError(`${at.where}: unknown option "${at.path}${key}"`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(checks)) {
    out[key] = check((value as Record<string, unknown>)[key], {
      where: at.where,
      path: `${at.path}${key}`,
      warn: at.warn,
    });
  }
  return out as Checked<C>;
}
