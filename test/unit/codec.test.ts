/**
 * Value codecs: exact round trips of every supported type, rejections that name the path,
 * and decoding of garbage, truncated and hostile input.
 *
 * @module
 */
import { Decoder as DefaultDecoder, Encoder as DefaultEncoder } from "cbor-x";
import { describe, expect, it } from "vitest";
import { cborCodec } from "../../src/codec/cbor.ts";
import { codecByName, codecs } from "../../src/codec/registry.ts";
import { jsonCodec } from "../../src/codec/json.ts";
import { CodecError } from "../../src/core/errors.ts";
import { CBOR_X_OPTIONS as CBOR_OPTIONS } from "../helpers/cbor_x.ts";

const cbor = cborCodec();
const json = jsonCodec();

function roundTrip(value: unknown, codec = cbor): unknown {
  return codec.decode(codec.encode(value));
}

function rejection(value: unknown, codec = cbor): CodecError {
  try {
    codec.encode(value);
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).code).toBe("E_CODEC");
    return error as CodecError;
  }
  throw new Error("expected a CodecError");
}

function rows(count: number): { id: number; name: string; amount: number; date: Date }[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i,
    name: `customer ${i % 97}`,
    amount: Math.round(i * 7.31 * 100) / 100,
    date: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000),
  }));
}

describe("cbor codec: round trips", () => {
  it("is named cbor", () => {
    expect(cbor.name).toBe("cbor");
  });

  it("keeps primitives, including NaN, ±Infinity and undefined at the top level", () => {
    for (const value of [null, true, false, 0, 1, -1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53), 0.1, 1e300, "", "héllo ✓ 😀"]) {
      expect(roundTrip(value)).toBe(value);
    }
    expect(roundTrip(Number.NaN)).toBeNaN();
    expect(roundTrip(Infinity)).toBe(Infinity);
    expect(roundTrip(-Infinity)).toBe(-Infinity);
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it("keeps -0, at the top level and inside values", () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is((roundTrip({ a: [-0] }) as { a: number[] }).a[0], -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
  });

  it("keeps undefined in arrays and as an own key of objects", () => {
    const out = roundTrip({ a: undefined, b: [1, undefined, 3] }) as { a: undefined; b: unknown[] };
    expect(Object.hasOwn(out, "a")).toBe(true);
    expect(out.a).toBeUndefined();
    expect(out.b).toHaveLength(3);
    expect(1 in out.b).toBe(true);
    expect(out.b[1]).toBeUndefined();
  });

  it("keeps Dates to the millisecond, before 1970 and invalid ones too", () => {
    for (const ms of [0, 1, 1_700_000_000_123, 1_700_000_000_000, -1, -86_400_000 * 365 * 300 + 7, 4_102_444_800_999]) {
      const out = roundTrip({ at: new Date(ms) }) as { at: Date };
      expect(out.at).toBeInstanceOf(Date);
      expect(out.at.getTime()).toBe(ms);
    }
    expect((roundTrip(new Date(Number.NaN)) as Date).getTime()).toBeNaN();
  });

  it("keeps Maps as Maps, distinct from objects, with non-string keys", () => {
    const objectKey = { k: 1 };
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [1, "one"],
      [2n, "two"],
      [null, "null"],
      [undefined, "undefined"],
      [true, { nested: new Map([["x", [1, 2]]]) }],
      [objectKey, "object key"],
      [new Date(5), "date key"],
    ]);
    const out = roundTrip({ map, plain: { a: 1 } }) as { map: Map<unknown, unknown>; plain: object };
    expect(out.map).toBeInstanceOf(Map);
    expect(out.plain).not.toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(out.plain)).toBe(Object.prototype);
    expect(out.map.get("a")).toBe(1);
    expect(out.map.get(1)).toBe("one");
    expect(out.map.get(2n)).toBe("two");
    expect(out.map.get(null)).toBe("null");
    expect(out.map.has(undefined)).toBe(true);
    const nested = out.map.get(true) as { nested: Map<string, number[]> };
    expect(nested.nested).toBeInstanceOf(Map);
    expect(nested.nested.get("x")).toEqual([1, 2]);
    const keys = [...out.map.keys()];
    expect(keys[6]).toEqual({ k: 1 });
    expect(keys[7]).toBeInstanceOf(Date);
    expect(out.map.size).toBe(8);
    // An empty Map and an empty object stay distinct.
    expect(roundTrip(new Map())).toBeInstanceOf(Map);
    expect(roundTrip({})).not.toBeInstanceOf(Map);
    // Objects inside Maps and Maps inside objects inside Maps.
    const deep = roundTrip(new Map([["o", { m: new Map([[1, {}]]) }]])) as Map<string, { m: Map<number, object> }>;
    expect(Object.getPrototypeOf(deep.get("o"))).toBe(Object.prototype);
    expect(deep.get("o")?.m).toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(deep.get("o")?.m.get(1))).toBe(Object.prototype);
  });

  it("keeps Sets", () => {
    const out = roundTrip(new Set([1, "a", 3n, null, undefined, { o: 1 }])) as Set<unknown>;
    expect(out).toBeInstanceOf(Set);
    expect([...out]).toEqual([1, "a", 3n, null, undefined, { o: 1 }]);
  });

  it("keeps BigInts of any sign and size up to the limit, as bigint", () => {
    const values = [
      0n,
      1n,
      -1n,
      255n,
      2n ** 63n,
      2n ** 64n - 1n,
      2n ** 64n,
      -(2n ** 64n),
      -(2n ** 64n) - 1n,
      2n ** 1000n + 7n,
    ];
    values.push(-(2n ** 4000n) + 12345n, 2n ** 65535n);
    for (const value of values) {
      const out = roundTrip({ value }) as { value: unknown };
      expect(typeof out.value).toBe("bigint");
      expect(out.value).toBe(value);
    }
  });

  it("keeps every typed array class and its contents, and views of part of a buffer", () => {
    const arrays = [
      new Uint8Array([0, 1, 255]),
      new Uint8ClampedArray([0, 128, 255]),
      new Uint16Array([0, 1, 65535]),
      new Uint32Array([0, 1, 2 ** 32 - 1]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
      new Int8Array([-128, 0, 127]),
      new Int16Array([-32768, 0, 32767]),
      new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      new Float32Array([1.5, -0.25, Number.NaN]),
      new Float64Array([Math.PI, -Infinity, 5e-324]),
      new Float64Array(new ArrayBuffer(64), 8, 3).fill(2.5), // a view at an offset
      new Uint8Array(0),
    ];
    for (const array of arrays) {
      const out = roundTrip({ array }) as { array: ArrayLike<unknown> };
      expect(Object.getPrototypeOf(out.array)).toBe(Object.getPrototypeOf(array));
      expect(Array.from(out.array)).toEqual(Array.from(array as ArrayLike<unknown>));
    }
  });

  it("gives back a plain Uint8Array (not a Buffer) that does not alias the payload", () => {
    const bytes = cbor.encode({ data: new Uint8Array([1, 2, 3]) });
    const out = cbor.decode(bytes) as { data: Uint8Array };
    expect(out.data.constructor).toBe(Uint8Array);
    bytes.fill(0);
    expect(Array.from(out.data)).toEqual([1, 2, 3]);
  });

  it("keeps RegExps", () => {
    const out = roundTrip(/a+b\//giu) as RegExp;
    expect(out).toBeInstanceOf(RegExp);
    expect(out.source).toBe("a+b\\/");
    expect(out.flags).toBe("giu");
  });

  it("keeps nested structures, key order and object prototypes", () => {
    const value = { z: 1, a: { b: [{ c: new Map([["d", new Set([new Date(1)])]]) }] }, "odd key": [[[]]] };
    const out = roundTrip(value) as typeof value;
    expect(out).toEqual(value);
    expect(Object.keys(out)).toEqual(["z", "a", "odd key"]);
  });

  it("stores null-prototype objects (they come back as ordinary objects) and shared references (as copies)", () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(bare)).toEqual({ a: 1 });
    const shared = { x: 1 };
    const out = roundTrip({ one: shared, two: shared }) as { one: object; two: object };
    expect(out.one).toEqual({ x: 1 });
    expect(out.two).toEqual({ x: 1 });
  });

  it("gives back every short string exactly, however the decoder's string caches collide", () => {
    // 60 000 distinct strings of each length up to 32 bytes share 8192 cache slots, interleaved with
    // repeats and non-ASCII strings of the same lengths.
    const strings: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const length = 1 + (i % 32);
      const distinct = `${i.toString(36)}:`.padEnd(length, "x").slice(-length);
      strings.push(
        distinct,
        ["emea", "apac", "EUR", "paid"][i % 4]!,
        i % 7 === 0 ? `é${distinct}`.slice(0, length) : distinct,
      );
    }
    const value = { strings, keys: Object.fromEntries(strings.slice(0, 2000).map((s, i) => [s, i])) };
    for (let round = 0; round < 2; round++) expect(roundTrip(value)).toEqual(value);
  });

  it("round-trips thousands of query-result rows exactly", () => {
    const value = { rows: rows(20_000), total: 20_000 };
    const out = roundTrip(value) as typeof value;
    expect(out).toEqual(value);
    expect(out.rows[19_999]?.date).toBeInstanceOf(Date);
    expect(out.rows[19_999]?.date.getTime()).toBe(value.rows[19_999]?.date.getTime());
  });

  it("returns a plain Uint8Array, and small values do not pin cbor-x's scratch buffer", () => {
    cbor.encode({ big: "x".repeat(1_000_000) });
    const small = cbor.encode({ a: 1 });
    expect(small.constructor).toBe(Uint8Array);
    expect(small.buffer.byteLength).toBe(small.length);
  });
});

describe("cbor codec: records decode identically with cbor-x's default entry", () => {
  const value = {
    rows: rows(500),
    map: new Map<unknown, unknown>([[1, "a"], ["b", { c: 2n ** 70n }]]),
    set: new Set(["x"]),
    bytes: new Uint8Array([1, 2, 3]),
    floats: new Float32Array([0.5]),
    nothing: undefined,
    big: -(2n ** 100n),
  };

  it("the default entry decodes what the no-eval codec wrote", () => {
    const decoded = new DefaultDecoder({ ...CBOR_OPTIONS }).decode(cbor.encode(value));
    expect(decoded).toEqual(value);
    expect(decoded.map).toBeInstanceOf(Map);
  });

  it("the default entry's encoder writes the same bytes with the same options (row shapes off)", () => {
    // `rows` is a row array: with row shapes on (the default) it is written as records instead
    // (test/unit/cbor_rows.test.ts compares those bytes with cbor-x's record encoder).
    const ours = cborCodec({ rowShapes: false }).encode(value);
    const theirs = new DefaultEncoder({ ...CBOR_OPTIONS }).encode(value);
    expect(Buffer.from(theirs).equals(Buffer.from(ours))).toBe(true);
  });

  it("never generates code, as on workerd where new Function throws inside requests", () => {
    const value = { rows: rows(5000), map: new Map([[1, { a: 1 }]]) };
    const recordsEncoded = new DefaultEncoder({ useRecords: true }).encode(value);
    const recordsDecoder = new DefaultDecoder({ useRecords: true });
    const fresh = cborCodec();
    // Modules are loaded (workerd allows code generation at startup); then it is forbidden.
    const original = globalThis.Function;
    let generated = 0;
    let control: unknown;
    let ours: unknown;
    globalThis.Function = function blocked(): never {
      generated++;
      throw new EvalError("Code generation from strings disallowed for this context");
    } as unknown as FunctionConstructor;
    try {
      try {
        recordsDecoder.decode(recordsEncoded);
      } catch (error) {
        control = error;
      }
      try {
        for (let i = 0; i < 5; i++) ours = fresh.decode(fresh.encode(value));
      } catch (error) {
        ours = error;
      }
    } finally {
      globalThis.Function = original;
    }
    // The control proves the trap works: cbor-x with records compiles readers with new Function.
    expect(control).toBeInstanceOf(EvalError);
    expect(generated).toBe(1);
    expect(ours).toEqual(value);
  });
});

describe("cbor codec: rejections name the path", () => {
  it("rejects functions with the path of the offending value", () => {
    const error = rejection({ rows: [{}, {}, {}, { fmt: () => "x" }] });
    expect(error.message).toContain("$.rows[3].fmt");
    expect(error.message).toContain("function");
  });

  it("rejects symbols, as values and as keys", () => {
    expect(rejection({ a: [Symbol("s")] }).message).toContain("$.a[0]");
    expect(rejection({ a: { [Symbol("k")]: 1 } }).message).toMatch(/symbol-keyed.*\$\.a/);
  });

  it("rejects circular references instead of encoding them, and names both ends", () => {
    const value: { rows: { parent?: unknown }[] } = { rows: [{}] };
    (value.rows[0] as { parent?: unknown }).parent = value;
    const error = rejection(value);
    expect(error.message).toContain("circular");
    expect(error.message).toContain("$.rows[0].parent");
    const array: unknown[] = [];
    array.push([array]);
    expect(rejection(array).message).toContain("$[0][0]");
    const map = new Map<string, unknown>();
    map.set("self", map);
    expect(rejection({ map }).message).toContain('$.map.get("self")');
    const set = new Set<unknown>();
    set.add(set);
    expect(rejection(set).message).toContain("$.values()[0]");
  });

  it("rejects circular references deeper than the linear-scan window", () => {
    const root: { next?: unknown } = {};
    let node = root;
    for (let i = 0; i < 100; i++) {
      const next = {};
      node.next = next;
      node = next;
    }
    node.next = root.next;
    expect(rejection(root).message).toContain("circular");
  });

  it("rejects class instances and built-ins it cannot restore", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const cases: [unknown, RegExp][] = [
      [new Point(1), /instance of class Point at \$\.v/],
      [new Error("boom"), /an Error at \$\.v/],
      [new TypeError("boom"), /a TypeError at \$\.v/],
      [new WeakMap(), /a WeakMap/],
      [new WeakSet(), /a WeakSet/],
      [Promise.resolve(1), /a Promise/],
      [Buffer.from("x"), /a Buffer \(use a plain Uint8Array\)/],
      [new ArrayBuffer(4), /an ArrayBuffer \(wrap it in a Uint8Array\)/],
      [new DataView(new ArrayBuffer(4)), /a DataView/],
      [new (class MyMap extends Map {})(), /instance of class MyMap/],
      [new (class MyArray extends Array {})(), /instance of class MyArray/],
      [new (class MyDate extends Date {})(), /instance of class MyDate/],
      [new Number(1), /a Number/],
      [new String("s"), /a String/],
      [new URL("https://example.com"), /a URL/],
    ];
    for (const [v, pattern] of cases) {
      expect(rejection({ v }).message).toMatch(pattern);
    }
  });

  it("rejects sparse arrays, own __proto__ keys and unpaired surrogates", () => {
    // deno-lint-ignore no-sparse-arrays
    expect(rejection({ a: [1, , 3] }).message).toContain("$.a[1]");
    const withProto = JSON.parse('{"x":{"__proto__":1}}');
    expect(rejection(withProto).message).toContain("__proto__");
    expect(rejection({ s: "ok\ud800" }).message).toMatch(/a string with an unpaired surrogate .* at \$\.s/);
    expect(rejection({ ["k\udc00"]: 1 }).message).toMatch(/property name with an unpaired surrogate/);
    // A well-formed pair is fine.
    expect(roundTrip("😀")).toBe("😀");
  });

  it("rejects Dates it could not restore to the millisecond, BigInts over the limit, absurd nesting", () => {
    expect(rejection({ at: new Date(4_407_055_969_086_822) }).message).toMatch(/Date .* at \$\.at/);
    expect(rejection({ n: 2n ** 65536n }).message).toMatch(/BigInt of more than 65536 bits at \$\.n/);
    let deep: unknown = 1;
    for (let i = 0; i < 1200; i++) deep = [deep];
    expect(rejection(deep).message).toMatch(/nested more than 1000 levels/);
  });

  it("turns a throwing getter into a CodecError", () => {
    const value = {
      get boom(): never {
        throw new Error("getter");
      },
    };
    expect(rejection(value).message).toContain("could not read the value");
  });

  it("formats odd keys and Map keys readably", () => {
    expect(rejection({ "odd key": { [`k"q`]: () => 1 } }).message).toContain(`$["odd key"]["k\\"q"]`);
    expect(rejection({ m: new Map([[7, () => 1]]) }).message).toContain("$.m.get(7)");
    expect(rejection({ m: new Map([[() => 1, 1]]) }).message).toContain("$.m.keys()[0]");
  });
});

describe("cbor codec: untrusted input", () => {
  const sample = cbor.encode({ rows: rows(50), m: new Map([[1, "a"]]), s: new Set([1]), b: 2n ** 80n });

  it("turns random bytes into a CodecError or some value, never another error, and stays usable", () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(1 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      try {
        cbor.decode(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
      }
    }
    // The shared decoder state is intact: Maps are still Maps and objects still objects.
    const out = cbor.decode(sample) as { m: unknown; rows: object[] };
    expect(out.m).toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(out.rows[0])).toBe(Object.prototype);
  });

  it("rejects every truncation of a real payload", () => {
    for (let length = 0; length < sample.length; length += length < 64 ? 1 : 97) {
      expect(() => cbor.decode(sample.subarray(0, length))).toThrow(CodecError);
    }
  });

  it("rejects trailing bytes", () => {
    const longer = new Uint8Array(sample.length + 1);
    longer.set(sample);
    expect(() => cbor.decode(longer)).toThrow(CodecError);
  });

  it("does not allocate from declared lengths", () => {
    const headers = [
      [0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], // array of 2^32-1 items
      [0x9a, 0xff, 0xff, 0xff, 0xff], // array of 2^32-1 items
      [0xba, 0x7f, 0xff, 0xff, 0xff], // map of 2^31 entries
      [0x5a, 0xff, 0xff, 0xff, 0xff, 1, 2], // byte string of 4 GiB
      [0x7a, 0xff, 0xff, 0xff, 0xff, 0x61], // text string of 4 GiB
      [0xd9, 0x01, 0x03, 0xba, 0x7f, 0xff, 0xff, 0xff], // tagged Map of 2^31 entries
      [0xd8, 0x40, 0x5a, 0xff, 0xff, 0xff, 0xff], // Uint8Array of 4 GiB
    ];
    for (const header of headers) {
      expect(() => cbor.decode(new Uint8Array(header))).toThrow(CodecError);
    }
  });

  it("survives deep nesting in the input", () => {
    const bytes = new Uint8Array(200_000).fill(0x81); // [[[[…
    expect(() => cbor.decode(bytes)).toThrow(CodecError);
  });

  it("decodes a crafted megabyte-sized bignum in linear-ish time", () => {
    const size = 1_000_000;
    const bytes = new Uint8Array(size + 6);
    bytes.set([0xc2, 0x5a, (size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255]);
    bytes.fill(0xab, 6);
    const start = performance.now();
    const value = cbor.decode(bytes) as bigint;
    expect(performance.now() - start).toBeLessThan(2000);
    expect(typeof value).toBe("bigint");
    expect(value % 256n).toBe(0xabn);
  });

  it("rejects what is not a Uint8Array", () => {
    expect(() => cbor.decode("x" as unknown as Uint8Array)).toThrow(CodecError);
  });
});

describe("json codec", () => {
  it("is named json and round-trips what JSON can hold", () => {
    expect(json.name).toBe("json");
    const value = {
      rows: rows(1000).map((r) => ({ ...r, date: r.date.toISOString() })),
      nested: { a: [1, "two", null, true, { b: [] }] },
      unicode: "héllo 😀 \ud800", // JSON escapes unpaired surrogates, so they survive
    };
    expect(roundTrip(value, json)).toEqual(value);
    const withProto = JSON.parse('{"__proto__":{"x":1}}');
    const out = roundTrip(withProto, json) as object;
    expect(Object.hasOwn(out, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it("rejects what JSON would change, naming the path and suggesting the cbor codec", () => {
    const cases: [unknown, string][] = [
      [{ a: undefined }, "undefined at $.a"],
      [{ a: [undefined] }, "undefined at $.a[0]"],
      [undefined, "undefined at $"],
      [{ n: 1n }, "BigInt at $.n"],
      [{ n: Number.NaN }, "NaN at $.n"],
      [{ n: [Infinity] }, "Infinity at $.n[0]"],
      [{ d: new Date() }, "a Date at $.d"],
      [{ m: new Map() }, "a Map at $.m"],
      [{ s: new Set() }, "a Set at $.s"],
      [{ t: new Uint8Array(1) }, "a Uint8Array at $.t"],
      [{ r: /x/ }, "a RegExp at $.r"],
      [{ rows: [{}, { c: new (class Cents {})() }] }, "instance of class Cents at $.rows[1].c"],
    ];
    for (const [value, expected] of cases) {
      const error = rejection(value, json);
      expect(error.message).toContain(expected);
      expect(error.message).toContain('"cbor" codec');
    }
  });

  it("rejects functions, symbols, cycles and sparse arrays without suggesting cbor", () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    // deno-lint-ignore no-sparse-arrays
    for (const value of [{ f: () => 1 }, { s: Symbol("x") }, cyclic, [1, , 2]]) {
      const error = rejection(value, json);
      expect(error.message).not.toContain('"cbor" codec');
    }
  });

  it("turns invalid UTF-8 and invalid JSON into a CodecError that does not quote the payload", () => {
    expect(() => json.decode(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(CodecError);
    try {
      json.decode(new TextEncoder().encode('{"secret-token": abc'));
      throw new Error("expected a CodecError");
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError);
      expect((error as Error).message).not.toContain("secret");
    }
  });
});

describe("codec registry", () => {
  it("finds codecs by the name recorded in entries, and only those", () => {
    expect(codecs.cbor?.name).toBe("cbor");
    expect(codecs.json?.name).toBe("json");
    expect(codecByName("cbor")).toBe(codecs.cbor);
    for (const name of ["msgpack", "toString", "__proto__", ""]) {
      expect(() => codecByName(name)).toThrow(CodecError);
    }
  });
});
