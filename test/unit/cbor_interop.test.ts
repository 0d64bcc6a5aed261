/**
 * Wire compatibility of the `cbor` codec with cbor-x 1.6 (what earlier versions of Larder wrote
 * entries with; a devDependency only), in both directions: over every supported type, over seeded
 * random nested values (`LARDER_CBOR_SEED` replays one seed; the seed is in every failure message),
 * and over mutated payloads, where whatever our decoder accepts cbor-x must decode to the same value.
 *
 * @module
 */
import { Decoder, Encoder } from "cbor-x";
import { Decoder as NoEvalDecoder, Encoder as NoEvalEncoder } from "cbor-x/index-no-eval";
import { describe, expect, it } from "vitest";
import { cborCodec } from "../../src/codec/cbor.ts";
import { CodecError } from "../../src/core/errors.ts";
import { CBOR_X_OPTIONS } from "../helpers/cbor_x.ts";
import { prng, randomValues } from "../helpers/random_values.ts";
import { difference } from "../helpers/same_value.ts";

const cbor = cborCodec();
// Both cbor-x entry points Larder has used: the default one and the no-eval build.
const theirs = [
  { name: "cbor-x", encoder: new Encoder({ ...CBOR_X_OPTIONS }), decoder: new Decoder({ ...CBOR_X_OPTIONS }) },
  {
    name: "cbor-x/index-no-eval",
    encoder: new NoEvalEncoder({ ...CBOR_X_OPTIONS }),
    decoder: new NoEvalDecoder({ ...CBOR_X_OPTIONS }),
  },
];

const SEED = Number(process.env.LARDER_CBOR_SEED ?? Date.now() % 1_000_000);

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 64), (b) => b.toString(16).padStart(2, "0")).join("") +
    (bytes.length > 64 ? "…" : "");
}

/** Fails with `label` and the path of the first difference. */
function expectSame(actual: unknown, expected: unknown, label: string, negativeZeroAsZero = false): void {
  const diff = difference(actual, expected, { negativeZeroAsZero });
  if (diff !== undefined) expect.fail(`${label}: ${diff}`);
}

/** Both directions, and byte equality unless the value holds a -0 (which cbor-x writes as 0). */
function checkInterop(value: unknown, negativeZero: boolean, label: string): void {
  const ours = cbor.encode(value);
  for (const { name, encoder, decoder } of theirs) {
    const written = new Uint8Array(encoder.encode(value));
    if (!negativeZero && hex(written) !== hex(ours)) {
      expect.fail(`${label}: ${name} wrote ${hex(written)}, we wrote ${hex(ours)}`);
    }
    if (!negativeZero) expect(Buffer.from(written).equals(Buffer.from(ours)), label).toBe(true);
    expectSame(decoder.decode(ours), value, `${label}: ${name} decoding our bytes`);
    expectSame(cbor.decode(written), value, `${label}: we decoding ${name}'s bytes`, true);
  }
  expectSame(cbor.decode(ours), value, `${label}: our round trip`);
}

describe("cbor codec and cbor-x: every type, both directions, same bytes", () => {
  const cases: [string, unknown][] = [
    ["null, booleans, undefined", [null, true, false, undefined]],
    ["small and boundary integers", [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -24, -25, -256, -257]],
    ["32-bit and larger integers", [
      2 ** 31,
      -(2 ** 31) - 1,
      -(2 ** 32),
      2 ** 32,
      -(2 ** 32) - 1,
      2 ** 53 - 1,
      -(2 ** 53),
    ]],
    ["floats and non-finite numbers", [0.1, -2.5, 1e300, 5e-324, NaN, Infinity, -Infinity, Number.MAX_VALUE]],
    ["BigInts: 64-bit and bignums", [
      0n,
      1n,
      -1n,
      2n ** 64n - 1n,
      2n ** 64n,
      -(2n ** 64n) + 1n,
      -(2n ** 64n),
      2n ** 65535n,
    ]],
    ["strings at head-size boundaries", ["", "x".repeat(23), "x".repeat(24), "x".repeat(255), "x".repeat(256)]],
    ["non-ASCII and astral strings", ["héllo", "€".repeat(30), "😀".repeat(100), "a\u0000b", "é".repeat(40_000)]],
    ["long ASCII string", "y".repeat(70_000)],
    ["Dates", [new Date(0), new Date(1_700_000_000_000), new Date(1_700_000_000_123), new Date(-1), new Date(NaN)]],
    ["Dates past 2106 and before 1970 in whole seconds", [new Date(4_294_967_296_000), new Date(-86_400_000)]],
    ["Maps with keys of any type", new Map<unknown, unknown>([[1, "a"], ["1", "b"], [null, 1], [2n, [new Map()]]])],
    ["Map with object and Date keys", new Map<unknown, unknown>([[{ k: 1 }, 1], [new Date(5), 2], [[1], 3]])],
    ["Sets", new Set([1, "1", 1n, null, undefined, new Set([2])])],
    ["RegExps", [/a+b/g, /^x$/, /[é😀]/u, /\//gimsuy]],
    ["Uint8Arrays", [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)]],
    ["every typed array class", [
      new Uint8ClampedArray([0, 255]),
      new Uint16Array([1, 65535]),
      new Uint32Array([2 ** 32 - 1]),
      new BigUint64Array([2n ** 64n - 1n]),
      new Int8Array([-128]),
      new Int16Array([-32768]),
      new Int32Array([-(2 ** 31)]),
      new BigInt64Array([-(2n ** 63n)]),
      new Float32Array([1.5, NaN, -0]),
      new Float64Array([Math.PI, -Infinity]),
    ]],
    ["typed arrays that are views at an offset", [
      new Float64Array(new ArrayBuffer(32), 8, 2),
      new Uint8Array(8).subarray(3),
    ]],
    ["objects: key order, numeric-like and odd keys", { z: 1, 10: 2, 2: 3, "": 4, "a b": 5, é: 6, constructor: 7 }],
    [
      "an object with more than 65 535 keys",
      Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])),
    ],
    ["an array of more than 65 535 items, a Map and a Set of more than 65 535", [
      Array.from({ length: 70_000 }, (_, i) => i),
      new Map(Array.from({ length: 70_000 }, (_, i) => [i, i])),
      new Set(Array.from({ length: 70_000 }, (_, i) => `s${i}`)),
    ]],
    ["undefined as an object value and an array item", { a: undefined, b: [undefined] }],
    ["null-prototype objects", Object.assign(Object.create(null) as object, { a: 1 })],
    ["nested rows", { rows: [{ id: 1, at: new Date(1_700_000_000_000), tags: new Set(["a"]), amount: 12.5 }] }],
  ];
  for (const [label, value] of cases) {
    it(label, () => checkInterop(value, false, label));
  }

  it("-0: kept by us, decoded as -0 by cbor-x, and cbor-x's 0 decoded as 0", () => {
    const ours = cbor.encode({ z: -0 });
    for (const { decoder, encoder } of theirs) {
      expect(Object.is((decoder.decode(ours) as { z: number }).z, -0)).toBe(true);
      expect(Object.is((cbor.decode(new Uint8Array(encoder.encode({ z: -0 }))) as { z: number }).z, 0)).toBe(true);
    }
    checkInterop([-0, 0, [-0]], true, "-0");
  });

  it(`seeded random nested values (seed ${SEED}; LARDER_CBOR_SEED=${SEED} replays)`, () => {
    const values = randomValues(SEED, 1500);
    values.forEach(({ value, negativeZero }, i) => checkInterop(value, negativeZero, `seed ${SEED}, value #${i}`));
  });
});

describe("cbor codec and cbor-x: hostile and foreign input", () => {
  it(`what we accept from a mutated payload, cbor-x decodes to the same value (seed ${SEED})`, () => {
    const random = prng(SEED);
    const int = (n: number): number => Math.floor(random() * n);
    const samples = randomValues(SEED + 1, 200).map(({ value }) => cbor.encode(value));
    let accepted = 0;
    for (let round = 0; round < 6000; round++) {
      const source = samples[int(samples.length)] as Uint8Array;
      const bytes = mutate(source, int);
      let ours: unknown;
      try {
        ours = cbor.decode(bytes);
      } catch (error) {
        if (!(error instanceof CodecError)) {
          expect.fail(`seed ${SEED}, round ${round}: ${String(error)} on ${hex(bytes)}`);
        }
        continue;
      }
      accepted++;
      let expected: unknown;
      try {
        expected = theirs[0]!.decoder.decode(bytes);
      } catch (error) {
        expect.fail(`seed ${SEED}, round ${round}: we decoded what cbor-x refuses (${String(error)}): ${hex(bytes)}`);
      }
      expectSame(ours, expected, `seed ${SEED}, round ${round}, bytes ${hex(bytes)}`);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it("decodes typed arrays over a tag-64 byte string (cbor-x where there is no Buffer, as on workerd)", () => {
    // tag 85 (Float32Array, little-endian) over tag 64 over 8 bytes
    const bytes = new Uint8Array([0xd8, 85, 0xd8, 64, 0x48, 0, 0, 0xc0, 0x3f, 0, 0, 0x20, 0x40]);
    expectSame(cbor.decode(bytes), new Float32Array([1.5, 2.5]), "tag 85 over tag 64");
    expectSame(theirs[0]!.decoder.decode(bytes), new Float32Array([1.5, 2.5]), "cbor-x agrees");
  });

  it("decodes big-endian typed arrays, float16 and float32, tag 0 dates, indefinite arrays and maps", () => {
    const cases: [number[], unknown][] = [
      [[0xd8, 81, 0x44, 0x3f, 0xc0, 0, 0], new Float32Array([1.5])], // tag 81: float32 big-endian
      [[0xd8, 65, 0x44, 0, 1, 0xff, 0xff], new Uint16Array([1, 65535])], // tag 65: uint16 big-endian
      [[0xf9, 0x3c, 0x00], 1],
      [[0xf9, 0x7b, 0xff], 65504],
      [[0xf9, 0x00, 0x01], 2 ** -24],
      [[0xf9, 0xfc, 0x00], -Infinity],
      [[0xfa, 0x3f, 0xc0, 0, 0], 1.5],
      [[0xc0, 0x74, ...new TextEncoder().encode("2013-03-21T20:04:00Z")], new Date("2013-03-21T20:04:00Z")],
      [[0xc1, 0xf9, 0x3c, 0x00], new Date(1000)],
      [[0x9f, 1, 0x9f, 0xff, 0xff], [1, []]],
      [[0xbf, 0x61, 0x61, 1, 0xff], { a: 1 }],
      [[0xd9, 1, 3, 0xbf, 1, 2, 0xff], new Map([[1, 2]])],
      [[0xd9, 1, 2, 0x9f, 1, 0xff], new Set([1])],
      [[0xa2, 1, 2, 0xf5, 3], { 1: 2, true: 3 }], // cbor-x: non-string keys of plain maps become strings
      [[0xd9, 0xd9, 0xf7, 0x01], 1], // a leading self-described CBOR tag
      [[0x18, 0x05], 5], // a non-minimal head
    ];
    for (const [input, expected] of cases) {
      const bytes = new Uint8Array(input);
      expectSame(cbor.decode(bytes), expected, hex(bytes));
      expectSame(theirs[0]!.decoder.decode(bytes), expected, `cbor-x: ${hex(bytes)}`);
    }
  });
});

/** One to three random edits: a byte changed, a byte inserted or removed, a truncation. */
function mutate(source: Uint8Array, int: (n: number) => number): Uint8Array {
  let bytes = source.slice();
  for (let edits = 1 + int(3); edits > 0; edits--) {
    const at = int(bytes.length + 1);
    switch (int(4)) {
      case 0:
        if (at < bytes.length) bytes[at] = int(256);
        break;
      case 1:
        bytes = new Uint8Array([...bytes.subarray(0, at), int(256), ...bytes.subarray(at)]);
        break;
      case 2:
        bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
        break;
      default:
        bytes = bytes.slice(0, at);
    }
  }
  return bytes;
}
