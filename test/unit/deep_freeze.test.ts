/** Deep freezing for the shared in-process tier: nothing a caller can reach may change. */
import { describe, expect, it } from "vitest";
import { cborCodec } from "../../src/codec/cbor.ts";
import { deepFreeze, READ_ONLY_DATE } from "../../src/core/util/deep_freeze.ts";

const sample = () => ({
  rows: [{ id: 1, at: new Date(86_400_000), tags: ["a", "b"], meta: null }],
  byId: new Map<unknown, unknown>([[1, { name: "x" }], [{ composite: true }, [1, 2]]]),
  seen: new Set<unknown>([{ n: 1 }, "s"]),
  pattern: /ab+c/i,
  big: 12345678901234567890n,
  nothing: undefined,
});

describe("deepFreeze", () => {
  it("freezes every object reachable from the value, keys of Maps and items of Sets included", () => {
    const value = sample();
    expect(deepFreeze(value)).toBeGreaterThan(0);
    const reached: unknown[] = [
      value,
      value.rows,
      value.rows[0],
      value.rows[0]!.at,
      value.rows[0]!.tags,
      value.byId,
      value.seen,
      value.pattern,
      ...value.byId.keys(),
      ...value.byId.values(),
      ...value.seen,
    ].filter((v) => typeof v === "object");
    for (const object of reached) expect(Object.isFrozen(object), String(object)).toBe(true);
  });

  it("refuses every way of changing it through its own methods and properties", () => {
    const value = sample();
    deepFreeze(value);
    const row = value.rows[0]!;
    expect(() => ((row as { id: number }).id = 2)).toThrow(TypeError);
    expect(() => value.rows.push(row)).toThrow(TypeError);
    expect(() => row.tags.sort()).toThrow(TypeError);
    for (const setter of ["setTime", "setFullYear", "setUTCHours", "setMonth", "setDate"] as const) {
      expect(() => (row.at[setter] as (n: number) => number)(0), setter).toThrow(/read-only Date/);
    }
    expect(row.at.getTime()).toBe(86_400_000);
    expect(() => value.byId.set(2, 2)).toThrow(/read-only Map/);
    expect(() => value.byId.delete(1)).toThrow(TypeError);
    expect(() => value.byId.clear()).toThrow(TypeError);
    expect(() => value.seen.add(1)).toThrow(/read-only Set/);
    expect(() => value.seen.delete("s")).toThrow(TypeError);
    expect(() => value.seen.clear()).toThrow(TypeError);
    expect(() => (value.pattern.lastIndex = 3)).toThrow(TypeError);
    expect(value.byId.size).toBe(2);
    expect(value.seen.size).toBe(2);
  });

  it("keeps what the built-ins are: instanceof, getters, JSON, structuredClone, copies and the CBOR codec", () => {
    const value = sample();
    const original = sample();
    deepFreeze(value);
    const at = value.rows[0]!.at;
    expect(at).toBeInstanceOf(Date);
    expect(Object.getPrototypeOf(at)).toBe(READ_ONLY_DATE);
    expect(at.toISOString()).toBe("1970-01-02T00:00:00.000Z");
    expect(JSON.stringify(value.rows)).toBe(JSON.stringify(original.rows));
    expect(value.byId).toBeInstanceOf(Map);
    expect(value.byId.get(1)).toEqual({ name: "x" });
    expect([...value.seen]).toEqual([...original.seen]);
    const clone = structuredClone(value);
    expect(Object.getPrototypeOf(clone.rows[0]!.at)).toBe(Date.prototype);
    clone.rows[0]!.at.setTime(0); // a copy is an ordinary, mutable value
    const copy = new Map(value.byId);
    copy.set(2, 2);
    expect(value.byId.size).toBe(2);
    const codec = cborCodec();
    expect(codec.decode(codec.encode(value))).toEqual(original);
  });

  it("does not share a value that holds a typed array or a class instance", () => {
    expect(deepFreeze({ data: new Uint8Array([1, 2]) })).toBeUndefined();
    expect(deepFreeze([new Float64Array(1)])).toBeUndefined();
    expect(deepFreeze({ at: new (class Point {})() })).toBeUndefined();
    expect(deepFreeze(new Map([[1, new Int32Array(1)]]))).toBeUndefined();
  });

  it("estimates a value's heap size from its parts", () => {
    const small = deepFreeze({ a: "x" })!;
    const large = deepFreeze({ a: "x".repeat(10_000) })!;
    expect(large - small).toBe(9_999);
    expect(deepFreeze(Array.from({ length: 1000 }, (_, i) => ({ i })))).toBeGreaterThan(1000 * 24);
    expect(deepFreeze("text")).toBe(20);
  });
});
