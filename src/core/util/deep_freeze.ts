/**
 * Deep freezing, for the values the in-process tier hands to every caller at once (its `shared`
 * mode, flow/memory_tier.ts): a value that many callers hold must not be changeable by any of
 * them. `Object.freeze` does that for plain objects, arrays and `RegExp`s, not for the built-ins
 * that keep their state in internal slots:
 *
 * - `Date`, `Map` and `Set` are frozen and given a prototype of their own, {@link READ_ONLY_DATE}
 *   and the like, whose mutating methods (`setTime`, `set`, `add`, `delete`, `clear`…) throw a
 *   `TypeError`, as assigning to a frozen object's property does in strict code. Everything else
 *   is inherited: `instanceof Date` holds, getters work, `JSON.stringify`, `structuredClone`,
 *   `new Map(m)` and Larder's own codecs treat them as what they are. Calling the original method
 *   on them (`Date.prototype.setTime.call(d, 0)`) still changes them: nothing short of a copy
 *   per caller prevents that.
 * - Typed arrays cannot be frozen (their elements stay writable whatever is done to the object):
 *   a value holding one is not shareable ({@link deepFreeze} returns `undefined`), and the tier
 *   keeps it encoded, decoding a copy per hit.
 *
 * The walk expects what Larder's codecs decode: plain objects, arrays, those built-ins, and
 * primitives, each object reached once (the codecs never share an object between two places).
 * It also estimates the value's heap size, the figure the tier counts against its byte bound.
 *
 * @module
 */

/** Methods that change a `Date` (Annex B's `setYear` included). */
const DATE_SETTERS = [
  "setDate",
  "setFullYear",
  "setHours",
  "setMilliseconds",
  "setMinutes",
  "setMonth",
  "setSeconds",
  "setTime",
  "setUTCDate",
  "setUTCFullYear",
  "setUTCHours",
  "setUTCMilliseconds",
  "setUTCMinutes",
  "setUTCMonth",
  "setUTCSeconds",
  "setYear",
] as const;

/** A prototype inheriting `base`, with `methods` replaced by ones that throw; frozen itself. */
function readOnly(base: object, kind: string, methods: readonly string[]): object {
  const proto = Object.create(base) as Record<string, unknown>;
  for (const method of methods) {
    Object.defineProperty(proto, method, {
      value: function (): never {
        throw new TypeError(
          `Cannot ${method}() on a read-only ${kind}: values shared by the in-process tier are frozen`,
        );
      },
    });
  }
  return Object.freeze(proto);
}

/** The prototype of the `Date`s inside a deep-frozen value: `Date.prototype` without its setters. */
export const READ_ONLY_DATE: object = readOnly(Date.prototype, "Date", DATE_SETTERS);
/** The prototype of the `Map`s inside a deep-frozen value: `Map.prototype` without `set`, `delete`, `clear`. */
export const READ_ONLY_MAP: object = readOnly(Map.prototype, "Map", ["set", "delete", "clear"]);
/** The prototype of the `Set`s inside a deep-frozen value: `Set.prototype` without `add`, `delete`, `clear`. */
export const READ_ONLY_SET: object = readOnly(Set.prototype, "Set", ["add", "delete", "clear"]);

/** Thrown inside the walk at the first part that cannot be frozen. */
const UNSHAREABLE: unique symbol = Symbol("unshareable");

/** Estimated heap bytes: an object's header, a slot per property or element, a string's header and characters. */
const OBJECT_BYTES = 24;
const SLOT_BYTES = 8;
const STRING_BYTES = 16;
const DATE_BYTES = 96;

/**
 * Freezes `value` in place, deeply (see the module doc), and returns its estimated heap size in
 * bytes; `undefined` when some part cannot be frozen (a typed array, an object of another
 * class), in which case `value` may be left partly frozen and must not be handed out as shared.
 */
export function deepFreeze(value: unknown): number | undefined {
  try {
    return freeze(value);
  } catch (error) {
    if (error === UNSHAREABLE) return undefined;
    throw error;
  }
}

function freeze(value: unknown): number {
  if (typeof value === "string") return STRING_BYTES + value.length;
  if (typeof value !== "object" || value === null) return SLOT_BYTES;
  const proto: unknown = Object.getPrototypeOf(value);
  let bytes = OBJECT_BYTES;
  if (proto === Array.prototype) {
    const array = value as unknown[];
    for (let i = 0, n = array.length; i < n; i++) bytes += SLOT_BYTES + freeze(array[i]);
  } else if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>;
    for (const key in record) bytes += SLOT_BYTES + freeze(record[key]);
  } else if (proto === Date.prototype) {
    Object.setPrototypeOf(value, READ_ONLY_DATE);
    bytes = DATE_BYTES;
  } else if (proto === Map.prototype) {
    for (const [key, item] of value as Map<unknown, unknown>) bytes += 2 * SLOT_BYTES + freeze(key) + freeze(item);
    Object.setPrototypeOf(value, READ_ONLY_MAP);
  } else if (proto === Set.prototype) {
    for (const item of value as Set<unknown>) bytes += 2 * SLOT_BYTES + freeze(item);
    Object.setPrototypeOf(value, READ_ONLY_SET);
  } else if (proto !== RegExp.prototype) {
    throw UNSHAREABLE;
  }
  Object.freeze(value);
  return bytes;
}
