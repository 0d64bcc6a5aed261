/**
 * Seeded random values of every kind the `cbor` codec accepts, nested, with the edges that break
 * encoders: integer and length boundaries (23/24, 255/256, 2^16, 2^32, 2^53, 2^64), `-0`, `NaN`,
 * astral and non-ASCII text, invalid and sub-second Dates, every typed-array class (views at an
 * offset too), Maps with keys of any type, Sets, RegExps. Same seed, same values.
 *
 * @module
 */
import { mulberry32 as prng } from "../../scripts/_random.ts";

export { prng };

/** A generated value, and whether it holds a `-0` somewhere (cbor-x writes it as `0`). */
export interface Generated {
  readonly value: unknown;
  readonly negativeZero: boolean;
}

const INTEGERS = [
  0,
  1,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -1,
  -24,
  -25,
  -256,
  -257,
  -65536,
  -65537,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 32),
  -(2 ** 32) - 1,
  -(2 ** 53),
];
const FLOATS = [0.5, -0.5, 1.1, 1e300, -1e-300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 65504, 1 / 3];
const BIGINTS = [
  0n,
  1n,
  -1n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  -(2n ** 64n) + 1n,
  -(2n ** 64n),
  -(2n ** 64n) - 1n,
  2n ** 200n + 12345n,
  -(2n ** 1000n),
];
const TEXT = ["", "a", "é", "€", "😀", "ü😀x", "key", "__proto_", "0", "10", "-1", "constructor", "toString", "a b"];
const TYPED = [
  Uint8Array,
  Uint8ClampedArray,
  Uint16Array,
  Uint32Array,
  BigUint64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  BigInt64Array,
  Float32Array,
  Float64Array,
] as const;
const PATTERNS: readonly [string, string][] = [["a+b", "g"], ["^x$", ""], ["[é😀]", "u"], ["\\/\\d{2,}", "gimsuy"]];

/** `count` values from `seed`. */
export function randomValues(seed: number, count: number): Generated[] {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  let negativeZero = false;

  const text = (): string => {
    switch (int(6)) {
      case 0:
        return pick(TEXT);
      case 1: // ASCII around the head-size boundaries
        return "x".repeat(pick([22, 23, 24, 25, 63, 64, 65, 255, 256, 300]));
      case 2: {
        let s = "";
        for (let i = int(40); i > 0; i--) s += String.fromCharCode(0x20 + int(95));
        return s;
      }
      case 3: {
        let s = "";
        for (let i = int(30); i > 0; i--) s += pick(["a", "é", "€", "😀", "\u0000", "\u07ff", "\u0800", "\uffff"]);
        return s;
      }
      default:
        return pick(TEXT) + int(100);
    }
  };

  const typedArray = (): ArrayBufferView => {
    const ctor = pick(TYPED);
    const length = pick([0, 1, 3, 24, 100]);
    const offset = int(2) * ctor.BYTES_PER_ELEMENT;
    const bytes = new Uint8Array(offset + length * ctor.BYTES_PER_ELEMENT).map(() => int(256));
    return new ctor(bytes.buffer, offset, length);
  };

  const leaf = (): unknown => {
    switch (int(14)) {
      case 0:
        return pick([null, undefined, true, false]);
      case 1:
        return pick(INTEGERS);
      case 2:
        return int(2000) - 1000;
      case 3:
        return pick(FLOATS);
      case 4:
        return (random() - 0.5) * 10 ** (int(40) - 20);
      case 5:
        if (int(4) === 0) {
          negativeZero = true;
          return -0;
        }
        return pick(BIGINTS) + BigInt(int(3));
      case 6:
      case 7:
        return text();
      case 8: {
        const kind = int(5);
        if (kind === 0) return new Date(NaN);
        if (kind === 1) return new Date(int(2 ** 31) * 1000); // whole seconds: written as an integer
        if (kind === 2) return new Date(-int(2 ** 40));
        return new Date(int(2 ** 42));
      }
      case 9: {
        const bytes = new Uint8Array(pick([0, 1, 23, 24, 255, 256, 1000])).map(() => int(256));
        return int(3) === 0 ? bytes.subarray(1) : bytes;
      }
      case 10:
        return typedArray();
      case 11: {
        const [source, flags] = pick(PATTERNS);
        return new RegExp(source, flags);
      }
      default:
        return int(100);
    }
  };

  const node = (depth: number): unknown => {
    if (depth > 4 || int(3) > 0) return leaf();
    const size = int(8) === 0 ? 20 + int(20) : int(6);
    switch (int(4)) {
      case 0:
        return Array.from({ length: size }, () => node(depth + 1));
      case 1: {
        const record: Record<string, unknown> = {};
        for (let i = 0; i < size; i++) record[text()] = node(depth + 1);
        return record;
      }
      case 2: {
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < size; i++) map.set(int(2) === 0 ? leaf() : node(depth + 1), node(depth + 1));
        return map;
      }
      default:
        return new Set(Array.from({ length: size }, () => node(depth + 1)));
    }
  };

  return Array.from({ length: count }, () => {
    negativeZero = false;
    const value = node(0);
    return { value, negativeZero };
  });
}
