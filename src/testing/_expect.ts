/**
 * Larder's own small assertions for the published conformance suites: the matchers the suites
 * use, with the meaning vitest and jest give them, and nothing imported from a test runner, so the
 * suites run under vitest, jest, bun:test, node:test or Deno's std/testing/bdd alike. A failed
 * assertion throws an {@link AssertionFailure}, which every runner reports as a failure.
 *
 * @module
 */

/** A failed assertion of the conformance suites. */
export class AssertionFailure extends Error {
  /** A failure described by `message`. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionFailure";
  }
}

/** The assertions on one value (see the module doc). */
export interface Matchers {
  /** The same value (`Object.is`). */
  toBe(expected: unknown): void;
  /** Equal, recursively; properties holding `undefined` are ignored. */
  toEqual(expected: unknown): void;
  /** Equal, recursively, with the same prototypes and the same properties (`undefined` ones included). */
  toStrictEqual(expected: unknown): void;
  /** Has at least `expected`'s properties, recursively equal. */
  toMatchObject(expected: object): void;
  /** Is `null`. */
  toBeNull(): void;
  /** Is `undefined`. */
  toBeUndefined(): void;
  /** Is an instance of `type`. */
  toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void;
  /** An array holding `item`, or a string holding `item` as a substring. */
  toContain(item: unknown): void;
  /** Has a `length` of `length`. */
  toHaveLength(length: number): void;
  /** A number above `bound`. */
  toBeGreaterThan(bound: number): void;
  /** A number at or above `bound`. */
  toBeGreaterThanOrEqual(bound: number): void;
  /** A number below `bound`. */
  toBeLessThan(bound: number): void;
  /** A number at or below `bound`. */
  toBeLessThanOrEqual(bound: number): void;
  /**
   * A function that throws (called with no arguments) — or, after `rejects`, the rejection — whose
   * error matches `expected`: a substring of its message, a pattern, or a class it is an instance of.
   */
  toThrow(expected?: string | RegExp | (abstract new (...args: never[]) => unknown)): void;
}

/** The assertions of {@link expect}: on the value, negated (`not`), or on a promise's outcome. */
export interface Expectation extends Matchers {
  /** The same assertions, negated. */
  readonly not: Matchers;
  /** The assertions on the value the promise resolves to; rejects when it rejects. */
  readonly resolves: AsyncMatchers;
  /** The assertions on the promise's rejection; rejects when it resolves. */
  readonly rejects: AsyncMatchers;
}

/** {@link Matchers}, each awaiting a promise first. */
export type AsyncMatchers = { readonly [K in keyof Matchers]: (...args: Parameters<Matchers[K]>) => Promise<void> };

/** Assertions on `actual`; `message` prefixes a failure's description. */
export function expect(actual: unknown, message?: string): Expectation {
  const positive = matchers(actual, { message, negated: false });
  return Object.assign(positive, {
    not: matchers(actual, { message, negated: true }),
    resolves: settled(actual, { message, rejected: false }),
    rejects: settled(actual, { message, rejected: true }),
  });
}

/** How one set of matchers reports. */
interface Mode {
  readonly message: string | undefined;
  readonly negated: boolean;
}

function matchers(actual: unknown, mode: Mode): Matchers {
  const check = (pass: boolean, what: string): void => {
    if (pass === mode.negated) {
      const prefix = mode.message ? `${mode.message}: ` : "";
      throw new AssertionFailure(`${prefix}expected ${show(actual)} ${mode.negated ? "not " : ""}${what}`);
    }
  };
  const number = (): number => {
    if (typeof actual !== "number" && typeof actual !== "bigint") {
      throw new AssertionFailure(`${mode.message ? `${mode.message}: ` : ""}expected a number, got ${show(actual)}`);
    }
    return Number(actual);
  };
  return {
    toBe: (expected) => check(Object.is(actual, expected), `to be ${show(expected)}`),
    toEqual: (expected) => check(equal(actual, expected, false), `to equal ${show(expected)}`),
    toStrictEqual: (expected) => check(equal(actual, expected, true), `to strictly equal ${show(expected)}`),
    toMatchObject: (expected) => check(matchesObject(actual, expected), `to match ${show(expected)}`),
    toBeNull: () => check(actual === null, "to be null"),
    toBeUndefined: () => check(actual === undefined, "to be undefined"),
    toBeInstanceOf: (type) => check(actual instanceof type, `to be an instance of ${type.name}`),
    toContain: (item) =>
      check(
        Array.isArray(actual)
          ? actual.some((element) => Object.is(element, item))
          : typeof actual === "string" && typeof item === "string" && actual.includes(item),
        `to contain ${show(item)}`,
      ),
    toHaveLength: (length) =>
      check((actual as { length?: unknown } | null)?.length === length, `to have length ${length}`),
    toBeGreaterThan: (bound) => check(number() > bound, `to be greater than ${bound}`),
    toBeGreaterThanOrEqual: (bound) => check(number() >= bound, `to be at least ${bound}`),
    toBeLessThan: (bound) => check(number() < bound, `to be less than ${bound}`),
    toBeLessThanOrEqual: (bound) => check(number() <= bound, `to be at most ${bound}`),
    toThrow: (expected) => {
      let thrown: { error: unknown } | undefined;
      if (typeof actual !== "function") {
        throw new AssertionFailure(`expected a function to call, got ${show(actual)}`);
      }
      try {
        (actual as () => unknown)();
      } catch (error) {
        thrown = { error };
      }
      check(thrown !== undefined && errorMatches(thrown.error, expected), `to throw${describeThrow(expected)}`);
    },
  };
}

function settled(
  actual: unknown,
  mode: { readonly message: string | undefined; readonly rejected: boolean },
): AsyncMatchers {
  const outcome = async (): Promise<unknown> => {
    let value: unknown;
    try {
      value = await actual;
    } catch (error) {
      if (mode.rejected) return error;
      throw new AssertionFailure(
        `${mode.message ? `${mode.message}: ` : ""}expected the promise to resolve, it rejected with ${show(error)}`,
      );
    }
    if (mode.rejected) {
      throw new AssertionFailure(
        `${mode.message ? `${mode.message}: ` : ""}expected the promise to reject, it resolved with ${show(value)}`,
      );
    }
    return value;
  };
  const names = Object.keys(matchers(undefined, { message: undefined, negated: false })) as (keyof Matchers)[];
  return Object.fromEntries(names.map((name) => [
    name,
    async (...args: unknown[]): Promise<void> => {
      const value = await outcome();
      const target = name === "toThrow" && mode.rejected
        ? () => {
          throw value;
        }
        : value;
      (matchers(target, { message: mode.message, negated: false })[name] as (...a: unknown[]) => void)(...args);
    },
  ])) as unknown as AsyncMatchers;
}

function errorMatches(
  error: unknown,
  expected: string | RegExp | (abstract new (...args: never[]) => unknown) | undefined,
): boolean {
  if (expected === undefined) return true;
  if (typeof expected === "function") return error instanceof expected;
  const message = error instanceof Error ? error.message : String(error);
  return typeof expected === "string" ? message.includes(expected) : expected.test(message);
}

function describeThrow(expected: unknown): string {
  if (expected === undefined) return "";
  if (typeof expected === "function") return ` an instance of ${(expected as { name: string }).name}`;
  return ` ${String(expected)}`;
}

/** Recursive equality: `strict` also compares prototypes and properties holding `undefined`. */
function equal(a: unknown, b: unknown, strict: boolean): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (strict && (i in a) !== (i in b)) return false;
      if (!equal(a[i], b[i], strict)) return false;
    }
    return true;
  }
  const keys = (o: object): string[] =>
    Object.keys(o).filter((k) => strict || (o as Record<string, unknown>)[k] !== undefined);
  const ka = keys(a);
  const kb = keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    Object.hasOwn(b, k) && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], strict)
  );
}

/** Whether `actual` has `expected`'s properties, recursively (arrays element by element, same length). */
function matchesObject(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== "object" || expected === null || expected instanceof Date || ArrayBuffer.isView(expected)) {
    return equal(actual, expected, false);
  }
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((item, i) => matchesObject(actual[i], item));
  }
  return Object.entries(expected).every(([key, value]) =>
    key in actual && matchesObject((actual as Record<string, unknown>)[key], value)
  );
}

/** A short description of a value for failure messages (long bytes and strings cut). */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
    if (text === undefined) return String(value);
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
}
