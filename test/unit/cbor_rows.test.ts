/**
 * Row shapes in the `cbor` codec: arrays of same-shape objects written with each shape's keys once,
 * as cbor-x's records (tag 57343 defines a shape, 57344–57599 refer to one). Checked on the bytes
 * (keys written once, the same bytes as cbor-x's own record encoder), in both directions with
 * cbor-x, on values that must not change at all (no row array: the bytes of the codec without row
 * shapes), on the write limit, and on hostile input: every malformed record is a `CodecError`
 * naming it, bounded in shapes, keys and depth.
 *
 * @module
 */
import { Decoder, Encoder } from "cbor-x";
import { describe, expect, it } from "vitest";
import { cborCodec } from "../../src/codec/cbor.ts";
import { MAX_DEPTH } from "../../src/codec/_validate.ts";
import { CodecError, ConfigError, TooLargeError } from "../../src/core/errors.ts";
import { CBOR_X_OPTIONS } from "../helpers/cbor_x.ts";
import { prng, randomValues } from "../helpers/random_values.ts";
import { difference } from "../helpers/same_value.ts";

const cbor = cborCodec();
const plain = cborCodec({ rowShapes: false });

function expectSame(actual: unknown, expected: unknown, label = "value"): void {
  const diff = difference(actual, expected);
  if (diff !== undefined) expect.fail(`${label}: ${diff}`);
}

/** Query rows with strings, numbers, dates and nulls. */
function rows(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i,
    customer: `customer ${i % 97}`,
    region: ["emea", "apac", "amer"][i % 3],
    amount: Math.round(i * 7.31 * 100) / 100,
    discount: i % 4 === 0 ? null : i / 8,
    at: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000),
  }));
}

/** Order records: a nested customer and 1–3 line items per order. */
function orders(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: 1000 + i,
    status: ["paid", "shipped", "refunded"][i % 3],
    createdAt: new Date(Date.UTC(2024, 5, 1) + i * 60_000),
    customer: { id: i % 50, name: `Ada ${i % 50}`, tier: i % 2 ? "gold" : "standard" },
    items: Array.from({ length: 1 + (i % 3) }, (_, j) => ({ sku: 10_000 + j, qty: j + 1, price: 9.5 * (j + 1) })),
    coupon: i % 5 === 0 ? "WELCOME5" : null,
  }));
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const count = (haystack: Uint8Array, needle: number[]): number =>
  hex(haystack).split(Buffer.from(needle).toString("hex")).length - 1;
const utf8 = (text: string): number[] => [...new TextEncoder().encode(text)];
const DEFINE = [0xd9, 0xdf, 0xff]; // tag 57343
const SHAPE_0 = [0xd9, 0xe0, 0x00]; // tag 57344

/** The CodecError message decoding `bytes` fails with. */
function refusal(bytes: number[] | Uint8Array): string {
  try {
    cbor.decode(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    const message = (error as CodecError).message;
    expect(message).toMatch(/^cbor codec cannot decode the payload: .* \(at byte \d+\)$/);
    return message;
  }
  throw new Error(`expected a CodecError for ${hex(Uint8Array.from(bytes))}`);
}

describe("cbor row shapes: what is written", () => {
  it("writes a table's keys once and round-trips it exactly (strings, numbers, dates, nulls)", () => {
    const value = rows(1000);
    const bytes = cbor.encode(value);
    expectSame(cbor.decode(bytes), value);
    expect(count(bytes, utf8("discount"))).toBe(1);
    expect(count(plain.encode(value), utf8("discount"))).toBe(1000);
    expect(count(bytes, DEFINE)).toBe(1);
    expect(bytes.length).toBeLessThan(plain.encode(value).length * 0.8);
  });

  it("writes every object inside a row array as a record, nested ones too, each shape defined once", () => {
    const value = { orders: orders(300), total: 300, meta: { source: "db" } };
    const bytes = cbor.encode(value);
    expectSame(cbor.decode(bytes), value);
    for (const key of ["status", "tier", "sku"]) expect(count(bytes, utf8(key)), key).toBe(1);
    expect(count(bytes, DEFINE)).toBe(3); // order, customer, line item
    // Outside the row array, objects stay maps: the wrapper and `meta` keep their keys inline.
    expect(count(bytes, utf8("source"))).toBe(1);
    expect(hex(bytes).startsWith("b90003" + "66" + Buffer.from("orders").toString("hex"))).toBe(true);
  });

  it("writes the bytes of cbor-x's own record encoder for a table, and cbor-x decodes them", () => {
    for (const value of [rows(500), orders(200)]) {
      const ours = cbor.encode(value);
      const theirs = new Uint8Array(new Encoder({ ...CBOR_X_OPTIONS, useRecords: true }).encode(value));
      expect(hex(ours)).toBe(hex(theirs));
      expectSame(new Decoder({ ...CBOR_X_OPTIONS }).decode(ours), value);
    }
  });

  it("decodes what cbor-x writes with records on, also for objects outside arrays", () => {
    const value = { a: rows(20), b: { c: orders(3) }, d: [{ x: 1 }, { x: 2 }] };
    const bytes = new Uint8Array(new Encoder({ ...CBOR_X_OPTIONS, useRecords: true }).encode(value));
    expectSame(cbor.decode(bytes), value);
  });

  it("gives back plain objects", () => {
    const [first] = cbor.decode(cbor.encode(rows(10))) as Record<string, unknown>[];
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(first!.constructor).toBe(Object);
    expect(Object.keys(first!)).toEqual(["id", "customer", "region", "amount", "discount", "at"]);
    expect(structuredClone(first)).toEqual(first);
  });

  it("keeps values without a row array byte for byte (seeded random values, near misses)", () => {
    const nearMisses: unknown[] = [
      rows(7), // too short
      [...rows(8).slice(0, 7), null], // an item that is not an object
      [{ b: 1, a: 2 }, ...rows(8)], // first two differ
      [{}, {}, {}, {}, {}, {}, {}, {}], // no keys
      [new Map([["a", 1]]), ...rows(8)],
      Object.assign(rows(8), { extra: 1 }).slice(), // a copy is a plain array again: rows
    ];
    for (const value of nearMisses.slice(0, -1)) expect(hex(cbor.encode(value))).toBe(hex(plain.encode(value)));
    expect(hex(cbor.encode(nearMisses.at(-1)))).not.toBe(hex(plain.encode(nearMisses.at(-1))));
    const seed = Date.now() % 1_000_000;
    for (const [i, { value }] of randomValues(seed, 500).entries()) {
      expect(hex(cbor.encode(value)), `seed ${seed}, value #${i}`).toBe(hex(plain.encode(value)));
    }
  });

  it("falls back to maps past 256 shapes in one payload, and still round-trips", () => {
    const value = Array.from({ length: 300 }, (_, i) => ({ id: i, extra: { [`k${i}`]: i } }));
    const bytes = cbor.encode(value);
    expectSame(cbor.decode(bytes), value);
    expect(count(bytes, DEFINE)).toBe(256);
    expectSame(new Decoder({ ...CBOR_X_OPTIONS }).decode(bytes), value);
  });

  it("writes maps with rowShapes: false, and refuses a rowShapes that is not a boolean", () => {
    const value = rows(50);
    expect(count(plain.encode(value), DEFINE)).toBe(0);
    expect(hex(plain.encode(value))).toBe(hex(new Uint8Array(new Encoder({ ...CBOR_X_OPTIONS }).encode(value))));
    expect(() => cborCodec({ rowShapes: "yes" as unknown as boolean })).toThrow(ConfigError);
    expect(() => cborCodec({ rowShapes: "yes" as unknown as boolean })).toThrow(/rowShapes must be true or false/);
  });

  it("lets a table whose keys alone pass maxBytes through when its records fit", () => {
    // Long keys, short values: as maps ~6 KB, as records ~1.5 KB.
    const value = Array.from({ length: 100 }, (_, i) => ({ [`a_rather_long_column_name_${"x".repeat(20)}`]: i % 10 }));
    const size = cbor.encode(value).length;
    expect(plain.encode(value).length).toBeGreaterThan(4 * size);
    expect(cbor.encode(value, { maxBytes: size }).length).toBe(size);
    expect(() => cbor.encode(value, { maxBytes: size - 1 })).toThrow(TooLargeError);
    expect(() => plain.encode(value, { maxBytes: 2 * size })).toThrow(TooLargeError);
  });
});

describe("cbor row shapes: hostile input", () => {
  // Shape 0 = ["a"]; {a: 1}, then {a: 2} by reference.
  const definition = [...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61, 0x01];

  it("decodes a definition and a reference", () => {
    expectSame(cbor.decode(new Uint8Array([0x82, ...definition, ...SHAPE_0, 0x81, 0x02])), [{ a: 1 }, { a: 2 }]);
  });

  it("refuses a reference before its definition, or to a shape of another payload", () => {
    expect(refusal([...SHAPE_0, 0x81, 0x01])).toContain("a record of shape 57344 before any definition of it");
    cbor.decode(new Uint8Array([0x82, ...definition, ...SHAPE_0, 0x81, 0x02]));
    expect(refusal([...SHAPE_0, 0x81, 0x01])).toContain("before any definition");
  });

  it("refuses a record whose values do not match its shape's keys", () => {
    expect(refusal([0x82, ...definition, ...SHAPE_0, 0x82, 0x02, 0x03])).toContain("2 values for a shape of 1 keys");
    expect(refusal([0x82, ...definition, ...SHAPE_0, 0x80])).toContain("0 values for a shape of 1 keys");
    expect(refusal([...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x82, 0x61, 0x61, 0x61, 0x62, 0x01]))
      .toContain("2 keys and 1 values");
  });

  it("refuses ids outside 57344–57599 and keys that are not distinct text strings", () => {
    for (const id of [[0x19, 0xdf, 0xff], [0x19, 0xe1, 0x00], [0x61, 0x61], [0x39, 0xe0, 0x00]]) {
      expect(refusal([...DEFINE, 0x83, ...id, 0x81, 0x61, 0x61, 0x01])).toContain("whose id is not a number");
    }
    expect(refusal([...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x01, 0x01])).toContain("not a text string");
    expect(refusal([...DEFINE, 0x84, 0x19, 0xe0, 0x00, 0x82, 0x61, 0x61, 0x61, 0x61, 0x01, 0x02]))
      .toContain("repeats a key");
    expect(refusal([...DEFINE, 0x81, 0x19, 0xe0, 0x00])).toContain("fewer than 2 items");
  });

  it("refuses records over anything but a definite-length array", () => {
    expect(refusal([...DEFINE, 0x9f, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61, 0x01, 0xff]))
      .toContain("definite-length array");
    expect(refusal([...DEFINE, 0xa1, 0x61, 0x61, 0x01])).toContain("definite-length array");
    expect(refusal([0x82, ...definition, ...SHAPE_0, 0xa1, 0x61, 0x61, 0x01])).toContain(
      "tag 57344 (record) on something other than a definite-length array",
    );
    expect(refusal([...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x9f, 0x61, 0x61, 0xff, 0x01])).toContain(
      "definite-length array",
    );
  });

  it("refuses declared key counts past the end of the payload before allocating", () => {
    const huge = [0x9b, 0, 0, 0, 1, 0, 0, 0, 0]; // 2^32
    const hugePlus2 = [0x9b, 0, 0, 0, 1, 0, 0, 0, 2];
    expect(refusal([...DEFINE, ...hugePlus2, 0x19, 0xe0, 0x00, ...huge, 0x61, 0x61])).toContain("past the end");
    expect(refusal([...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x7a, 0, 1, 0, 0, 0x61])).toContain("past the end");
  });

  it(`refuses records nested deeper than ${MAX_DEPTH} levels, without overflowing the stack`, () => {
    // {a: {a: {a: …}}}: a definition, then references all the way down.
    const chain = new Uint8Array(definition.length - 1 + 4 * 300_000 + 1);
    chain.set(definition.slice(0, -1));
    for (let i = 0; i < 300_000; i++) chain.set([...SHAPE_0, 0x81], definition.length - 1 + 4 * i);
    chain[chain.length - 1] = 0x01;
    expect(refusal(chain)).toContain(`nesting deeper than ${MAX_DEPTH} levels`);
  });

  it("refuses the record tags this codec does not use (105, 57342)", () => {
    expect(refusal([0xd8, 0x69, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61, 0x01])).toContain("unsupported tag 105");
    expect(refusal([0xd9, 0xdf, 0xfe, 0x82, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x61])).toContain("unsupported tag 57342");
  });

  it("takes a redefinition of an id as cbor-x does (the later shape wins)", () => {
    const bytes = new Uint8Array([
      0x83,
      ...definition,
      ...[...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x61, 0x62, 0x02], // shape 0 = ["b"]
      ...SHAPE_0,
      0x81,
      0x03,
    ]);
    expectSame(cbor.decode(bytes), [{ a: 1 }, { b: 2 }, { b: 3 }]);
    expectSame(new Decoder({ ...CBOR_X_OPTIONS }).decode(bytes), [{ a: 1 }, { b: 2 }, { b: 3 }]);
  });

  it("gives a __proto__ key of a shape as an own property, without touching any prototype", () => {
    const bytes = new Uint8Array([
      0x82,
      ...[...DEFINE, 0x83, 0x19, 0xe0, 0x00, 0x81, 0x69, ...utf8("__proto__"), 0xa1, 0x61, 0x78, 0x01],
      ...[...SHAPE_0, 0x81, 0xa1, 0x61, 0x78, 0x02],
    ]);
    const out = cbor.decode(bytes) as Record<string, unknown>[];
    expect(Object.getPrototypeOf(out[1])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out[1], "__proto__")?.value).toEqual({ x: 2 });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("whatever it accepts from a mutated table, cbor-x decodes to the same value", () => {
    const seed = Date.now() % 1_000_000;
    const random = prng(seed);
    const int = (n: number): number => Math.floor(random() * n);
    const samples = [rows(12), orders(10), { t: rows(9) }].map((value) => cbor.encode(value));
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      let bytes = (samples[int(samples.length)] as Uint8Array).slice();
      for (let edits = 1 + int(2); edits > 0; edits--) {
        const at = int(bytes.length);
        if (int(2) === 0) bytes[at] = int(256);
        else bytes = bytes.slice(0, at);
      }
      let ours: unknown;
      try {
        ours = cbor.decode(bytes);
      } catch (error) {
        if (!(error instanceof CodecError)) expect.fail(`seed ${seed}, round ${round}: ${String(error)}`);
        continue;
      }
      accepted++;
      const theirs = new Decoder({ ...CBOR_X_OPTIONS }).decode(bytes);
      expectSame(ours, theirs, `seed ${seed}, round ${round}, bytes ${hex(bytes)}`);
    }
    expect(accepted).toBeGreaterThan(50);
  });
});
