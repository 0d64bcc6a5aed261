/**
 * The validation walk shared by the value codecs: one pass over a value that rejects, with a
 * `CodecError` naming the path of the offending part (`$.rows[3].fmt`), anything the codec would
 * not give back unchanged. Each codec describes what it accepts with a {@link ValuePolicy}.
 *
 * Given a byte limit, the walk also adds up a lower bound of the encoded size (each codec gives
 * its {@link SizeBounds}: a string's UTF-8 form is never shorter than its UTF-16 length, a number
 * never shorter than its integer digits…) and stops with a `TooLargeError` as soon as the bound
 * passes the limit: an oversized value is refused after walking about `maxBytes` of it, before
 * anything is encoded. The bound is cheap (no per-character work, no number formatting), so it
 * can be well under the real size (a float `0.1234567890123` counts 3 bytes, a control character
 * 1 instead of 6): the codecs check the real size as well.
 *
 * @module
 */
import { CodecError, TooLargeError } from "../core/errors.ts";

/** How a built-in class is walked: its entries (`map`, `set`), a value check (`date`), or not at all (`leaf`). */
export type BuiltinKind = "map" | "set" | "date" | "leaf";

/** Lower bounds, in bytes, of how a codec encodes each kind of part (see the module doc). */
export interface SizeBounds {
  /** Bytes a string takes beyond its UTF-16 length (quotes, or a head). */
  readonly string: number;
  /** Bytes a property name takes beyond its length (quotes and a colon, or a head). */
  readonly key: number;
  /**
   * Property names may be written once for many objects (the CBOR codec's row shapes), so they
   * count nothing towards the bound. @default false
   */
  readonly sharedKeys?: boolean;
  /** Bytes of a container itself (brackets, or a head). */
  readonly container: number;
  /** Bytes of each element or property of a container beyond the element itself (a separator). */
  readonly entry: number;
  /** Bytes of `null`, a boolean, `undefined` or a Date. */
  readonly atom: number;
  /** Bytes of a (finite) number, at least. */
  number(n: number): number;
}

/** What a codec accepts, beyond `null`, booleans, finite numbers, plain objects and dense arrays. */
export interface ValuePolicy {
  /** Codec name, first word of every message. */
  readonly codec: string;
  /** Appended to messages about values the codec cannot store, e.g. a pointer to another codec. */
  readonly hint: string;
  /** `undefined` anywhere (top level, array element, object value). */
  readonly undefined: boolean;
  /** BigInts of at most this many bits (0: no BigInts). */
  readonly bigintBits: number;
  /** `NaN`, `Infinity`, `-Infinity`. */
  readonly nonFinite: boolean;
  /** An own property named `__proto__` (JSON.parse keeps it; cbor-x, in earlier versions of Larder reading the same entries, renames it). */
  readonly protoKey: boolean;
  /** Strings (values and keys) must be well-formed UTF-16, because the codec writes raw UTF-8. */
  readonly wellFormedStrings: boolean;
  /** Accepted built-in classes, by their exact prototype (subclasses are class instances, rejected). */
  readonly builtins: ReadonlyMap<object, BuiltinKind>;
  /** How the codec's encoding grows with each part, for the byte limit. */
  readonly sizes: SizeBounds;
}

/** Nesting deeper than this is rejected (the codecs recurse, and so would decoding). */
export const MAX_DEPTH = 1000;

// Ancestors at depth < SHALLOW are found by a linear scan (rows are shallow, and a scan of a few
// entries beats hashing); deeper ones also go into a Set so a deep chain stays linear.
const SHALLOW = 32;

/** A step of a path: an array index, an object key, or an entry of a Map or Set. */
type Step = number | string | {
  readonly in: "mapKey" | "mapValue" | "set";
  readonly index: number;
  readonly key?: unknown;
};

const isWellFormed: ((this: string) => boolean) | undefined =
  (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Throws a `CodecError` naming the first part of `value` that `policy` does not accept, or a
 * `TooLargeError` as soon as a lower bound of its encoded size passes `maxBytes`.
 */
export function validateValue(value: unknown, policy: ValuePolicy, maxBytes: number = Infinity): void {
  const ancestors: object[] = [];
  const deepAncestors = new Set<object>();
  const path: Step[] = [];
  const bigintBits = BigInt(policy.bigintBits);
  const sizes = policy.sizes;
  const sharedKeys = sizes.sharedKeys === true;
  let bytes = 0;
  const grow = (depth: number, more: number): void => {
    bytes += more;
    if (bytes > maxBytes) {
      throw new TooLargeError(
        `${policy.codec} codec: the value takes more than ${maxBytes} bytes once encoded (passed at ${
          formatPath(path, depth)
        })`,
      );
    }
  };

  const fail = (depth: number, what: string, unsupported = true): never => {
    const where = formatPath(path, depth);
    throw new CodecError(
      `${policy.codec} codec cannot store ${what} at ${where}${unsupported && policy.hint ? `; ${policy.hint}` : ""}`,
    );
  };

  const enter = (v: object, depth: number): void => {
    if (depth >= MAX_DEPTH) fail(depth, `a value nested more than ${MAX_DEPTH} levels deep`, false);
    const shallow = depth < SHALLOW ? depth : SHALLOW;
    for (let i = 0; i < shallow; i++) {
      if (ancestors[i] === v) fail(depth, `a circular reference (back to ${formatPath(path, i)})`, false);
    }
    if (depth < SHALLOW) {
      ancestors[depth] = v;
    } else {
      if (deepAncestors.has(v)) {
        // Rare: find which ancestor for the message.
        let at = depth - 1;
        while (at >= SHALLOW && ancestors[at] !== v) at--;
        fail(depth, `a circular reference (back to ${formatPath(path, at)})`, false);
      }
      ancestors[depth] = v;
      deepAncestors.add(v);
    }
  };
  const leave = (v: object, depth: number): void => {
    if (depth >= SHALLOW) deepAncestors.delete(v);
  };

  // Runtimes without String.prototype.isWellFormed (all current ones have it) skip the check.
  const checkStrings = policy.wellFormedStrings && isWellFormed !== undefined;
  const badString = (depth: number, what: string): never =>
    fail(depth, `${what} with an unpaired surrogate (not representable in UTF-8)`, false);

  const visit = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case "string":
        if (checkStrings && !(isWellFormed as (this: string) => boolean).call(v)) badString(depth, "a string");
        grow(depth, v.length + sizes.string);
        return;
      case "number":
        if (!Number.isFinite(v)) {
          if (!policy.nonFinite) fail(depth, String(v));
          grow(depth, sizes.atom);
        } else {
          grow(depth, sizes.number(v));
        }
        return;
      case "boolean":
        grow(depth, sizes.atom);
        return;
      case "undefined":
        if (!policy.undefined) fail(depth, "undefined");
        grow(depth, sizes.atom);
        return;
      case "bigint": {
        if (policy.bigintBits === 0) fail(depth, "a BigInt");
        if ((v < 0n ? -v : v) >> bigintBits !== 0n) {
          fail(depth, `a BigInt of more than ${policy.bigintBits} bits`, false);
        }
        grow(depth, sizes.atom);
        return;
      }
      case "function":
        return fail(depth, `a function${v.name ? ` (${v.name})` : ""}`, false);
      case "symbol":
        return fail(depth, "a symbol", false);
    }
    if (v === null) {
      grow(depth, sizes.atom);
      return;
    }
    const object = v as object;
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto === Array.prototype) {
      const array = object as unknown[];
      enter(array, depth);
      grow(depth, sizes.container);
      for (let i = 0, n = array.length; i < n; i++) {
        const item = array[i];
        path[depth] = i;
        if (item === undefined && !(i in array)) fail(depth + 1, "a hole in a sparse array", false);
        grow(depth + 1, sizes.entry);
        visit(item, depth + 1);
      }
      leave(array, depth);
      return;
    }
    if (proto === Object.prototype || proto === null) {
      const record = object as Record<string, unknown>;
      enter(record, depth);
      grow(depth, sizes.container);
      const keys = Object.keys(record);
      for (let i = 0, n = keys.length; i < n; i++) {
        const key = keys[i] as string;
        path[depth] = key;
        if (key === "__proto__" && !policy.protoKey) fail(depth + 1, "an own property named __proto__", false);
        if (checkStrings && !(isWellFormed as (this: string) => boolean).call(key)) {
          badString(depth + 1, "a property name");
        }
        grow(depth + 1, sharedKeys ? sizes.entry : key.length + sizes.key + sizes.entry);
        visit(record[key], depth + 1);
      }
      if (Object.getOwnPropertySymbols(record).length > 0) fail(depth, "an object with symbol-keyed properties", false);
      leave(record, depth);
      return;
    }
    const kind = policy.builtins.get(proto as object);
    if (kind === undefined) return fail(depth, describe(object, proto));
    switch (kind) {
      case "leaf":
        // A typed array's bytes are all written; a RegExp's source at least.
        grow(depth, ArrayBuffer.isView(object) ? object.byteLength : sizes.atom);
        return;
      case "date": {
        grow(depth, sizes.atom);
        // The cbor codec (like cbor-x before it) writes seconds as a float64 and reads back
        // Math.round(seconds * 1000): exact for every date of the next few millennia, not for all
        // of Date's ±8.64e15 ms range.
        const ms = (object as Date).getTime();
        if (ms === ms && Math.round((ms / 1000) * 1000) !== ms) {
          fail(depth, `a Date (${ms} ms) too far from 1970 to be stored exactly`, false);
        }
        return;
      }
      case "map": {
        const map = object as Map<unknown, unknown>;
        enter(map, depth);
        grow(depth, sizes.container);
        let i = 0;
        for (const [key, item] of map) {
          path[depth] = { in: "mapKey", index: i };
          visit(key, depth + 1);
          path[depth] = { in: "mapValue", index: i, key };
          visit(item, depth + 1);
          i++;
        }
        leave(map, depth);
        return;
      }
      case "set": {
        const set = object as Set<unknown>;
        enter(set, depth);
        grow(depth, sizes.container);
        let i = 0;
        for (const item of set) {
          path[depth] = { in: "set", index: i++ };
          visit(item, depth + 1);
        }
        leave(set, depth);
        return;
      }
    }
  };

  visit(value, 0);
}

/**
 * {@link validateValue}, with anything else a walk can throw (a throwing getter, a revoked Proxy)
 * turned into a `CodecError` too.
 */
export function checkValue(value: unknown, policy: ValuePolicy, maxBytes?: number): void {
  try {
    validateValue(value, policy, maxBytes);
  } catch (error) {
    if (error instanceof CodecError || error instanceof TooLargeError) throw error;
    throw new CodecError(`${policy.codec} codec could not read the value: ${String(error)}`, { cause: error });
  }
}

/** `a Date`, `a Uint8Array`, `an instance of Foo`, `a Buffer` (names the class for the message). */
function describe(object: object, proto: unknown): string {
  let name = "";
  try {
    const ctor = (proto as { constructor?: unknown } | null)?.constructor;
    if (typeof ctor === "function" && typeof ctor.name === "string") name = ctor.name;
  } catch {
    // A hostile prototype getter: the generic description will do.
  }
  if (!name) return "an object with a non-standard prototype";
  const global = (globalThis as unknown as Record<string, unknown>)[name];
  const builtin = typeof global === "function" && global.prototype === proto;
  const advice = ADVICE[name];
  if (advice !== undefined && (builtin || name === "Buffer")) return `${article(name)} ${name} (${advice})`;
  if (builtin) return `${article(name)} ${name}`;
  return `an instance of class ${name}` + (object instanceof Error ? " (an Error)" : "");
}

const ADVICE: Record<string, string> = {
  Buffer: "use a plain Uint8Array",
  ArrayBuffer: "wrap it in a Uint8Array",
  SharedArrayBuffer: "wrap it in a Uint8Array",
  DataView: "use a Uint8Array over its bytes",
};

function article(name: string): string {
  return /^[AEIO]/.test(name) ? "an" : "a";
}

/** `$.rows[3].fmt`, `$.byId.get("a")`, `$["odd key"]`, from the first `depth` steps of `path`. */
function formatPath(path: readonly Step[], depth: number): string {
  let out = "$";
  for (let i = 0; i < depth; i++) {
    const step = path[i];
    if (typeof step === "number") out += `[${step}]`;
    else if (typeof step === "string") out += IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    else if (step !== undefined) {
      if (step.in === "set") out += `.values()[${step.index}]`;
      else if (step.in === "mapKey") out += `.keys()[${step.index}]`;
      else out += `.get(${formatKey(step.key, step.index)})`;
    }
  }
  return out;
}

function formatKey(key: unknown, index: number): string {
  switch (typeof key) {
    case "string":
      return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
    case "number":
    case "boolean":
      return String(key);
    case "bigint":
      return `${key}n`;
    default:
      return key === null ? "null" : key === undefined ? "undefined" : `<key #${index}>`;
  }
}
