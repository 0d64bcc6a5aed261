/**
 * A strict structural comparison for codec tests: the path of the first difference between two
 * values, or `undefined` when they are the same. Stricter than `toStrictEqual` where codecs can go
 * wrong: prototypes, own key order, Map and Set order, `-0`, invalid Dates, typed-array classes and
 * their exact bytes (NaN payloads included), RegExp flags.
 *
 * @module
 */

/** Options of {@link difference}. */
export interface SameOptions {
  /** Treat `-0` in `expected` as `0` (what cbor-x writes for it). */
  readonly negativeZeroAsZero?: boolean;
}

/** The path of the first difference between `actual` and `expected`, or `undefined`. */
export function difference(
  actual: unknown,
  expected: unknown,
  options: SameOptions = {},
  path = "$",
): string | undefined {
  if (typeof actual !== typeof expected) return `${path}: ${typeof actual} instead of ${typeof expected}`;
  if (typeof expected === "number") {
    const want = options.negativeZeroAsZero && Object.is(expected, -0) ? 0 : expected;
    return Object.is(actual, want) ? undefined : `${path}: ${String(actual)} instead of ${String(want)}`;
  }
  if (typeof expected !== "object" || expected === null || actual === null) {
    return actual === expected ? undefined : `${path}: ${String(actual)} instead of ${String(expected)}`;
  }
  const a = actual as object;
  const proto = Object.getPrototypeOf(expected);
  const wanted = proto === null ? Object.prototype : proto;
  if (Object.getPrototypeOf(a) !== wanted) return `${path}: wrong prototype (${a.constructor?.name})`;
  if (expected instanceof Date) {
    return Object.is((a as Date).getTime(), expected.getTime()) ? undefined : `${path}: Date ${(a as Date).getTime()}`;
  }
  if (expected instanceof RegExp) {
    const r = a as RegExp;
    return r.source === expected.source && r.flags === expected.flags ? undefined : `${path}: RegExp ${String(r)}`;
  }
  if (ArrayBuffer.isView(expected)) {
    const x = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
    const v = a as ArrayBufferView;
    const y = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (x.length !== y.length || x.some((byte, i) => byte !== y[i])) return `${path}: typed array contents differ`;
    return undefined;
  }
  if (expected instanceof Map) {
    const m = a as Map<unknown, unknown>;
    if (m.size !== expected.size) return `${path}: Map of ${m.size} entries instead of ${expected.size}`;
    const got = [...m];
    let i = 0;
    for (const [key, value] of expected) {
      const [k, v] = got[i] as [unknown, unknown];
      const d = difference(k, key, options, `${path}.keys()[${i}]`) ??
        difference(v, value, options, `${path}.values()[${i}]`);
      if (d !== undefined) return d;
      i++;
    }
    return undefined;
  }
  if (expected instanceof Set) {
    return difference([...(a as Set<unknown>)], [...expected], options, `${path}.values()`);
  }
  if (Array.isArray(expected)) {
    const array = a as unknown[];
    if (array.length !== expected.length) return `${path}: length ${array.length} instead of ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      if (!(i in array)) return `${path}[${i}]: a hole`;
      const d = difference(array[i], expected[i], options, `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const keys = Object.keys(expected);
  const got = Object.keys(a);
  if (got.join("\u0000") !== keys.join("\u0000")) {
    return `${path}: keys ${JSON.stringify(got)} instead of ${JSON.stringify(keys)}`;
  }
  for (const key of keys) {
    const d = difference(
      (a as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      options,
      `${path}[${JSON.stringify(key)}]`,
    );
    if (d !== undefined) return d;
  }
  return undefined;
}
