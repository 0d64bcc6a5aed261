/**
 * The `cbor` codec's own encoder and decoder on input nobody should trust, and the memory rules:
 * every malformed head, length, tag and string is a `CodecError` with a reason (never another
 * error, never a stack overflow), nesting is bounded, and decoded bytes never alias the payload.
 *
 * @module
 */
import { describe, expect, it } from "vitest";
import { cborCodec } from "../../src/codec/cbor.ts";
import { MAX_DEPTH } from "../../src/codec/_validate.ts";
import { CodecError } from "../../src/core/errors.ts";

const cbor = cborCodec();

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
  throw new Error(`expected a CodecError for ${Array.from(bytes, (b) => b.toString(16)).join(" ")}`);
}

const utf8 = (text: string): number[] => [...new TextEncoder().encode(text)];

describe("cbor decoder: malformed heads", () => {
  it("refuses reserved additional information (28-30) in every major type", () => {
    for (let major = 0; major < 8; major++) {
      for (const info of [28, 29, 30]) expect(refusal([(major << 5) | info, 0, 0, 0, 0])).toContain("reserved head");
    }
  });

  it("refuses indefinite lengths on strings, integers and tags", () => {
    expect(refusal([0x5f, 0x41, 1, 0xff])).toContain("indefinite-length byte strings are not supported");
    expect(refusal([0x7f, 0x61, 0x61, 0xff])).toContain("indefinite-length text strings are not supported");
    for (const initial of [0x1f, 0x3f, 0xdf]) expect(refusal([initial, 0])).toContain("indefinite length where none");
  });

  it("refuses a break outside an indefinite-length item", () => {
    expect(refusal([0xff])).toContain("break outside");
    expect(refusal([0x82, 1, 0xff])).toContain("break inside a definite-length array");
    expect(refusal([0xa1, 0x61, 0x61, 0xff])).toContain("break in place of a map value");
    expect(refusal([0xa1, 0xff, 1])).toContain("break");
    expect(refusal([0xd9, 1, 3, 0xa1, 0xff, 1])).toContain("break");
  });

  it("refuses unsupported tags and simple values, naming them", () => {
    expect(refusal([0xc4, 0x82, 1, 2])).toContain("unsupported tag 4");
    expect(refusal([0xd8, 0x20, 0x60])).toContain("unsupported tag 32");
    expect(refusal([0xdb, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toContain("unsupported tag 4294967296");
    expect(refusal([0x81, 0xd9, 0xd9, 0xf7, 1])).toContain("tag 55799 inside a value");
    expect(refusal([0xe0])).toContain("unsupported simple value");
    expect(refusal([0xf8, 0x20])).toContain("unsupported simple value");
  });

  it("refuses tags over the wrong kind of content", () => {
    expect(refusal([0xc1, 0x61, 0x61])).toContain("tag 1 (date)");
    expect(refusal([0xc1, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1])).toContain("tag 1 (date)");
    expect(refusal([0xc0, 0x01])).toContain("tag 0 (date)");
    expect(refusal([0xc2, 0x61, 0x61])).toContain("bignum");
    expect(refusal([0xd9, 1, 2, 0xa0])).toContain("tag 258 (Set)");
    expect(refusal([0xd9, 1, 3, 0x80])).toContain("tag 259 (Map)");
    expect(refusal([0xd8, 0x40, 0x61, 0x61])).toContain("tag 64 on something other than a byte string");
    expect(refusal([0xd8, 0x1b, 0x82, ...[0x65, ...utf8("Error")], 0x61, 0x78])).toContain("RegExp");
    expect(refusal([0xd8, 0x1b, 0x83, 0x66, ...utf8("RegExp"), 0x61, 0x28, 0x60])).toContain("invalid regular");
    expect(refusal([0xd8, 86, 0x43, 1, 2, 3])).toContain("not a multiple of 8");
    expect(refusal([0xd8, 0x40, 0xd8, 0x40, 0x41, 1])).toContain("tag 64");
  });

  it("refuses invalid UTF-8 in values and in keys", () => {
    for (const bad of [[0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80]]) {
      expect(refusal([0x60 | bad.length, ...bad])).toContain("not valid UTF-8");
      expect(refusal([0xa1, 0x60 | bad.length, ...bad, 1])).toContain("not valid UTF-8");
      const long = [...utf8("x".repeat(40)), ...bad];
      expect(refusal([0x78, long.length, ...long])).toContain("not valid UTF-8");
    }
  });

  it("refuses map keys a plain object cannot have (Maps, tag 259, take any key)", () => {
    expect(refusal([0xa1, 0x80, 1])).toContain("map key");
    expect(refusal([0xa1, 0xa0, 1])).toContain("map key");
    expect(cbor.decode(new Uint8Array([0xd9, 1, 3, 0xa1, 0x80, 1]))).toEqual(new Map([[[], 1]]));
  });

  it("refuses trailing bytes and truncation, with the offset", () => {
    expect(refusal([1, 2])).toContain("1 trailing byte(s) after the value (at byte 1)");
    expect(refusal([0x82, 1])).toContain("an array of 2 items, past the end of the payload (at byte 0)");
    expect(refusal([0x9f, 1])).toContain("ends in the middle of a value (at byte 2)");
    expect(refusal([0x19, 1])).toContain("ends in the middle of a value (at byte 0)");
    expect(refusal([])).toContain("ends in the middle");
    expect(refusal([0xfb, 0, 0])).toContain("ends in the middle");
  });
});

describe("cbor decoder: sizes and nesting", () => {
  it("refuses declared lengths past the end of the payload before allocating", () => {
    expect(refusal([0x9b, 0, 0, 0, 1, 0, 0, 0, 0])).toContain("an array of 4294967296 items, past the end");
    expect(refusal([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toContain("past the end");
    expect(refusal([0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toContain("byte string of 4294967296 bytes, past the end");
    expect(refusal([0x7a, 0, 1, 0, 0, 0x61])).toContain("text string of 65536 bytes, past the end");
    expect(refusal([0xc3, 0x5a, 0, 1, 0, 0, 1])).toContain("bignum of 65536 bytes, past the end");
    expect(refusal([0x82, 0x81, 0x81])).toContain("an array of 1 items, past the end of the payload (at byte 2)");
    // Each header claims more items than remain, however many headers are nested.
    const nested = new Uint8Array(5 * 1000);
    for (let i = 0; i < 1000; i++) nested.set([0x9a, 0, 0, 0x13, 0x80], i * 5);
    expect(refusal(nested)).toContain("past the end");
  });

  it(`decodes the deepest value the codec writes (${MAX_DEPTH} levels) and refuses one level more`, () => {
    let deep: unknown = new Map([[1, new Date(1)]]);
    for (let i = 1; i < MAX_DEPTH; i++) deep = i % 2 ? [deep] : new Set([deep]);
    const bytes = cbor.encode(deep);
    let out = cbor.decode(bytes);
    for (let i = 1; i < MAX_DEPTH; i++) out = i % 2 ? (out as unknown[])[0] : [...(out as Set<unknown>)][0];
    expect((out as Map<number, Date>).get(1)?.getTime()).toBe(1);
    expect(refusal([0x81, ...bytes])).toContain(`nesting deeper than ${MAX_DEPTH} levels`);
  });

  it("refuses long chains of tags and containers without overflowing the stack", () => {
    const chains = [
      new Uint8Array(300_000).fill(0x81), // [[[[…
      new Uint8Array(300_000).fill(0x9f), // indefinite arrays
      new Uint8Array(300_000).fill(0xa1), // {{{…
      Uint8Array.from({ length: 300_000 }, (_, i) => (i % 2 ? 0x1b : 0xd8)), // tag 27 chains
      Uint8Array.from({ length: 300_000 }, (_, i) => [0xd9, 1, 2][i % 3] as number), // Set chains
    ];
    for (const bytes of chains) expect(refusal(bytes)).not.toMatch(/call stack/i);
    expect(refusal(new Uint8Array(300_000).fill(0xc0))).toContain("tag 0 (date)");
  });
});

describe("cbor decoder: the string caches", () => {
  // Short strings come from a cache compared by bytes (_cbor_strings.ts): strings that share a
  // length and all but one byte must still decode to their own text. Thousands of them per
  // length fill every slot several times over, so some of them share a slot and the comparison of
  // each word and of the last 1–3 bytes decides.
  it("decodes short strings that differ in one byte at any position to their own text", () => {
    const alphabet = ["a", "Z", "0", "-", " ", "é", "×", "€", "😀"];
    for (let length = 1; length <= 34; length++) {
      const strings: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const at = i % length;
        const chars = Array.from({ length }, (_, j) => (j === at ? alphabet[i % alphabet.length]! : "x"));
        // Vary one more position by a counter so that the strings are mostly distinct.
        const other = (at + 1 + (i >> 4)) % length;
        if (other !== at) chars[other] = String.fromCharCode(0x41 + ((i >> 2) % 26));
        strings.push(chars.join(""));
      }
      expect(cbor.decode(cbor.encode(strings))).toEqual(strings);
    }
  });

  it("tells a short string from the same string with NUL bytes appended (same words, other length)", () => {
    // Each pair differs only in its length; thousands of pairs make some pairs share a slot.
    const strings: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      const text = `${i.toString(36)}.${"q".repeat(i % 23)}`;
      strings.push(text, `${text}\u0000`, `${text}\u0000\u0000`);
    }
    expect(cbor.decode(cbor.encode(strings))).toEqual(strings);
  });

  it("refuses invalid UTF-8 in a short string right after the valid string of the same bytes but one", () => {
    for (
      const [good, bad] of [[[0xc3, 0xa9], [0xc3, 0x28]], [[0x61, 0x62, 0x63, 0x64, 0xc3, 0xa9], [
        0x61,
        0x62,
        0x63,
        0x64,
        0xc3,
        0xc3,
      ]]]
    ) {
      expect(cbor.decode(new Uint8Array([0x60 | good!.length, ...good!]))).toBe(
        new TextDecoder().decode(new Uint8Array(good!)),
      );
      expect(refusal([0x60 | bad!.length, ...bad!])).toContain("not valid UTF-8");
      expect(refusal([0x82, 0x60 | good!.length, ...good!, 0x60 | bad!.length, ...bad!])).toContain("not valid UTF-8");
    }
  });
});

describe("cbor codec: memory", () => {
  it("decodes byte strings and typed arrays into memory of their own, also from a Buffer", () => {
    const value = { b: new Uint8Array([1, 2, 3]), f: new Float64Array([1.5, 2.5]), raw: new Int16Array([-1, 7]) };
    const bytes = cbor.encode(value);
    for (const input of [bytes, Buffer.from(bytes)]) {
      const out = cbor.decode(input) as typeof value;
      for (const array of [out.b, out.f, out.raw]) expect(array.buffer.byteLength).toBe(array.byteLength);
      expect(out.b.constructor).toBe(Uint8Array);
      input.fill(0);
      expect(out).toEqual(value);
      input.set(bytes);
    }
    const untagged = cbor.decode(Buffer.from([0x43, 1, 2, 3])) as Uint8Array;
    expect(untagged.constructor).toBe(Uint8Array);
    expect(untagged.buffer.byteLength).toBe(3);
  });

  it("returns encodings that own their memory, and a later encode never changes an earlier result", () => {
    const first = cbor.encode({ a: "first" });
    const copy = first.slice();
    cbor.encode({ a: "second", b: "x".repeat(100_000) });
    expect(first).toEqual(copy);
    expect(first.buffer.byteLength).toBe(first.length);
    const large = cbor.encode(new Uint8Array(3_000_000));
    expect(large.buffer.byteLength).toBeLessThanOrEqual(large.length * 2);
  });

  it("gives a __proto__ key in foreign input as an own property, without touching any prototype", () => {
    const out = cbor.decode(new Uint8Array([0xa1, 0x69, ...utf8("__proto__"), 0xa1, 0x61, 0x78, 1])) as object;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(({} as { x?: number }).x).toBeUndefined();
  });
});

describe("cbor encoder: values that change while they are encoded", () => {
  it("refuses a getter that returns something else the second time", () => {
    let reads = 0;
    const value = {
      get sneaky(): unknown {
        return ++reads > 1 ? Symbol("s") : 1;
      },
    };
    expect(() => cbor.encode(value)).toThrow(CodecError);
    // and the shared buffer is intact afterwards
    expect(cbor.decode(cbor.encode({ ok: [1, "two"] }))).toEqual({ ok: [1, "two"] });
  });

  it("refuses a getter that encodes another value with the codec meanwhile", () => {
    let reads = 0;
    const value = {
      get nested(): unknown {
        if (++reads > 1) cbor.encode({ inner: 1 });
        return 1;
      },
    };
    expect(() => cbor.encode(value)).toThrow(/already encoding/);
    expect(cbor.decode(cbor.encode({ ok: 1 }))).toEqual({ ok: 1 });
  });
});
