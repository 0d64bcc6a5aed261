/**
 * The codecs' byte limit (`encode(value, { maxBytes })`) is exact at the boundary: a value whose
 * encoding is N bytes encodes, byte for byte the same, with `maxBytes: N`, and is refused with a
 * `TooLargeError` with `maxBytes: N - 1`. So the validation walk's lower bound of the size never
 * overstates (no false refusals) and the CBOR encoder's own check is exact. Checked on seeded
 * random values with every edge the encoders know, and on the JSON number bound directly.
 */
import { describe, expect, it, vi } from "vitest";
import { encodeCbor } from "../../src/codec/_cbor_encode.ts";
import { cborCodec } from "../../src/codec/cbor.ts";
import { jsonCodec, jsonNumberBytes } from "../../src/codec/json.ts";
import { TooLargeError } from "../../src/core/errors.ts";
import type { ValueCodec } from "../../src/core/types.ts";
import { prng, randomValues } from "../helpers/random_values.ts";

function expectExactLimit(codec: ValueCodec, value: unknown, label: string): void {
  const bytes = codec.encode(value);
  expect(Buffer.from(codec.encode(value, { maxBytes: bytes.length })).equals(Buffer.from(bytes)), label).toBe(true);
  if (bytes.length === 0) return;
  let refused: unknown;
  try {
    codec.encode(value, { maxBytes: bytes.length - 1 });
  } catch (error) {
    refused = error;
  }
  expect(refused, `${label}: ${bytes.length - 1} bytes must refuse`).toBeInstanceOf(TooLargeError);
}

/** Seeded JSON-shaped values: the strings and numbers whose JSON form is longest for their size. */
function randomJson(seed: number, count: number): unknown[] {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const numbers = [
    0,
    -0,
    1,
    -1,
    9,
    10,
    99,
    100,
    0.5,
    -0.5,
    1e-6,
    1e-7,
    -1e-7,
    123.456,
    0.1 + 0.2,
    2 ** 53,
    1e20,
    1e21,
    -1e21,
    1.7976931348623157e308,
    5e-324,
    Math.PI,
  ];
  const strings = ["", "a", "é", "日本", "🎉", "\u0000\u001f", '"\\', "\ud800", "line\nbreak", "x".repeat(300)];
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? Math.floor(random() * 4) : Math.floor(random() * 6);
    switch (kind) {
      case 0:
        return random() < 0.5 ? pick(numbers) : (random() - 0.5) * 10 ** Math.floor(random() * 30 - 10);
      case 1:
        return pick(strings) + (random() < 0.3 ? pick(strings) : "");
      case 2:
        return pick([true, false, null]);
      case 3:
        return Math.floor(random() * 2 ** 40) * (random() < 0.5 ? -1 : 1);
      case 4:
        return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: Math.floor(random() * 5) }, (_, i) => [pick(strings) + i, value(depth + 1)]),
        );
    }
  };
  return Array.from({ length: count }, () => value(0));
}

describe("encode with maxBytes is exact at the boundary", () => {
  it("cbor: seeded random values of every kind", () => {
    const codec = cborCodec();
    for (const [i, { value }] of randomValues(20_261, 300).entries()) expectExactLimit(codec, value, `cbor #${i}`);
  });

  it("cbor: long strings (ASCII, 2-, 3- and 4-byte UTF-8), typed arrays and bignums near the limit", () => {
    const codec = cborCodec();
    for (const text of ["x", "é", "日", "🎉"]) {
      for (const length of [23, 24, 255, 256, 5_000, 70_000]) {
        expectExactLimit(codec, text.repeat(length), `${text} × ${length}`);
        expectExactLimit(codec, { rows: [text.repeat(length), text.repeat(length >> 1)] }, `rows of ${text}`);
      }
    }
    expectExactLimit(codec, new Float64Array(10_000).fill(0.5), "Float64Array");
    expectExactLimit(codec, [new Uint8Array(100_000), 1n << 2000n, -(1n << 700n)], "bytes and bignums");
  });

  it("cbor: the encoder itself refuses at exactly the limit, with no output past it", () => {
    // Dates: the walk's bound counts 1 byte for each, the encoder writes 10.
    const value = new Array<Date>(10_000).fill(new Date(1_700_000_000_123));
    const bytes = encodeCbor(value);
    expect(bytes.length).toBe(3 + 10 * 10_000);
    expect(Buffer.from(encodeCbor(value, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    expect(() => encodeCbor(value, bytes.length - 1)).toThrow(TooLargeError);
    expect(() => cborCodec().encode(value, { maxBytes: 50_000 })).toThrow(/more than 50000 bytes/);
    // The encoder is usable again afterwards, without a limit.
    expect(Buffer.from(encodeCbor(value)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("json: seeded random values with escapes, astral text, lone surrogates and every number form", () => {
    const codec = jsonCodec();
    for (const [i, value] of randomJson(7_331, 400).entries()) expectExactLimit(codec, value, `json #${i}`);
  });

  it("json: the number bound never exceeds JSON.stringify's length", () => {
    const random = prng(99);
    const samples = [0, -0, 0.5, 1e-6, 1e-7, 9.999999e-7, 1e20, 1e21 - 65536, 1e21, 123456789.125, 5e-324, -5e-324];
    for (let i = 0; i < 20_000; i++) {
      samples.push((random() - 0.5) * 10 ** Math.floor(random() * 60 - 30), Math.floor(random() * 2 ** 53));
    }
    for (const n of samples) expect(jsonNumberBytes(n), String(n)).toBeLessThanOrEqual(JSON.stringify(n).length);
    // Exact for integers.
    for (const n of [0, 7, 10, 99, 100, -100, 2 ** 53, 1e20]) expect(jsonNumberBytes(n)).toBe(JSON.stringify(n).length);
  });

  it("json: a value refused by the walk is refused before JSON.stringify runs; one that fits is stringified once", () => {
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      const value = { rows: new Array<string>(100_000).fill("x".repeat(100)) };
      expect(() => jsonCodec().encode(value, { maxBytes: 1_000_000 })).toThrow(/more than 1000000 bytes/);
      expect(stringify).not.toHaveBeenCalled();
      expect(jsonCodec().encode(value, { maxBytes: 11_000_000 }).length).toBe(10_300_010);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
  });
});
