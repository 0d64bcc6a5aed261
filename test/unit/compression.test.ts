/**
 * Compressors: zstd (the embedded module, and an injected, host-compiled one), gzip and none.
 * Size limits are enforced before allocation (zstd reads the frame header itself) or while
 * streaming (gzip); malformed input is a CodecError.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as packageZstd from "@bokuweb/zstd-wasm";
import { describe, expect, it } from "vitest";
import { embeddedZstdWasm } from "../../src/codec/_zstd_embedded.ts";
import { readZstdFrameHeader } from "../../src/codec/_zstd_frame.ts";
import { instantiateZstd } from "../../src/codec/_zstd_wasm.ts";
import { cborCodec } from "../../src/codec/cbor.ts";
import { gzipCompressor } from "../../src/codec/gzip.ts";
import { compressorByName } from "../../src/codec/registry.ts";
import { jsonCodec } from "../../src/codec/json.ts";
import { noCompression } from "../../src/codec/none.ts";
import { zstdCompressor } from "../../src/codec/zstd.ts";
import { CodecError, ConfigError, TooLargeError } from "../../src/core/errors.ts";

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve("@bokuweb/zstd-wasm"));
const wasmBytes = readFileSync(join(packageDir, "zstd.wasm"));
// What a Workers user passes: a compiled module (here compiled by the test, there by wrangler).
const compiled = await WebAssembly.compile(wasmBytes);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function rowsValue(count: number): { rows: { id: number; name: string; amount: number; date: string }[] } {
  return {
    rows: Array.from({ length: count }, (_, i) => ({
      id: 10_000 + i,
      name: `customer ${(i * 7919) % 1000}`,
      amount: Math.round(((i * 7331) % 100_000) * 1.07) / 100,
      date: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
    })),
  };
}

function randomBytes(length: number, seed = 1): Uint8Array {
  let state = seed;
  return new Uint8Array(length).map(() => (state = (state * 1103515245 + 12345) % 2147483648) >>> 16 & 255);
}

/** A frame header followed by a (fake) raw block header, enough for the header check. */
function frame(descriptor: number, ...fields: number[]): Uint8Array {
  return new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...fields, 0x01, 0x00, 0x00]);
}

async function rejects(promise: Promise<unknown>, type: typeof CodecError | typeof TooLargeError): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as Error;
  }
  throw new Error(`expected a ${type.name}`);
}

const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog. ".repeat(20_000));
/** What `createCache` from `larder` uses: the zstd.wasm embedded in Larder. */
const embedded = (level?: number) =>
  zstdCompressor({ wasm: embeddedZstdWasm, ...level === undefined ? {} : { level } });

describe("zstd frame header", () => {
  it("reads the content size our frames declare", async () => {
    for (const length of [0, 1, 255, 256, 65_791, 65_792, text.length]) {
      const bytes = await embedded().compress(text.subarray(0, length));
      expect(readZstdFrameHeader(bytes).contentSize).toBe(length);
    }
  });

  it("reads every field width of the content size", () => {
    expect(readZstdFrameHeader(frame(0x20, 200)).contentSize).toBe(200); // 1 byte, single segment
    expect(readZstdFrameHeader(frame(0x60, 0xff, 0xff)).contentSize).toBe(65_535 + 256); // 2 bytes, + 256
    expect(readZstdFrameHeader(frame(0xa0, 0xff, 0xff, 0xff, 0xff)).contentSize).toBe(2 ** 32 - 1); // 4 bytes
    expect(readZstdFrameHeader(frame(0xe0, 0, 0, 0, 0, 1, 0, 0, 0)).contentSize).toBe(4 * GiB); // 8 bytes
    const windowed = readZstdFrameHeader(frame(0x40, 0x58, 0x10, 0x00)); // window descriptor, 2-byte size
    expect(windowed.contentSize).toBe(0x10 + 256);
    expect(windowed.windowSize).toBe(2 ** 21);
    expect(readZstdFrameHeader(frame(0x00, 0x00)).contentSize).toBeUndefined(); // no size declared
  });

  it("rejects what is not a frame we could have written", () => {
    const cases = [
      new Uint8Array([]),
      new Uint8Array([0x28, 0xb5, 0x2f]),
      new Uint8Array([1, 2, 3, 4, 0x20, 1, 1, 0, 0]), // bad magic
      new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]), // skippable frame
      frame(0x28, 1), // reserved bit
      frame(0x21, 7, 100), // needs dictionary 7
      frame(0x40, 0xff, 1, 0), // window of 2^41 bytes
      new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 1]), // truncated content size
    ];
    for (const bytes of cases) expect(() => readZstdFrameHeader(bytes)).toThrow(CodecError);
  });
});

describe("zstd compressor (the embedded module)", () => {
  const zstd = embedded();

  it("is named zstd and round-trips empty, small, large and incompressible inputs", async () => {
    expect(zstd.name).toBe("zstd");
    for (const input of [new Uint8Array(0), new Uint8Array([7]), text, randomBytes(300_000)]) {
      const compressed = await zstd.compress(input);
      const out = await zstd.decompress(compressed, input.length);
      expect(out.length).toBe(input.length);
      expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
    }
  });

  it("refuses a frame declaring 4 GiB before allocating: TooLargeError, heap unchanged", async () => {
    await zstd.compress(new Uint8Array(1)); // make sure the WASM is loaded
    const binding = await instantiateZstd(await embeddedZstdWasm()); // the instance the compressor uses
    const heapBefore = binding.heapBytes();
    expect(heapBefore).toBeGreaterThan(0);
    const error = await rejects(zstd.decompress(frame(0xe0, 0, 0, 0, 0, 1, 0, 0, 0), 64 * MiB), TooLargeError);
    expect(error.message).toContain(String(4 * GiB));
    await rejects(zstd.decompress(frame(0xa0, 0xff, 0xff, 0xff, 0xff), 64 * MiB), TooLargeError);
    expect(binding.heapBytes()).toBe(heapBefore);
  });

  it("refuses a frame over maxBytes by one byte, and accepts it at exactly maxBytes", async () => {
    const compressed = await zstd.compress(text);
    await rejects(zstd.decompress(compressed, text.length - 1), TooLargeError);
    expect((await zstd.decompress(compressed, text.length)).length).toBe(text.length);
  });

  it("refuses a frame that does not declare its content size", async () => {
    const error = await rejects(zstd.decompress(frame(0x00, 0x58), 64 * MiB), TooLargeError);
    expect(error.message).toContain("does not declare");
  });

  it("turns malformed frames into CodecErrors: bad headers, garbage blocks, truncation", async () => {
    await rejects(zstd.decompress(randomBytes(100), MiB), CodecError);
    await rejects(
      zstd.decompress(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 100, ...randomBytes(50)]), MiB),
      CodecError,
    );
    const compressed = await zstd.compress(text);
    for (const length of [0, 3, 5, 8, 12, compressed.length >> 1, compressed.length - 1]) {
      await rejects(zstd.decompress(compressed.subarray(0, length), MiB * 10), CodecError);
    }
  });

  it("a malformed frame leaves nothing behind: the next frames decode exactly (one context is reused)", async () => {
    const small = new TextEncoder().encode("small payload ".repeat(20));
    const [bigFrame, smallFrame] = [await zstd.compress(text), await zstd.compress(small)];
    const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, k) => x === b[k]);
    for (let i = 0; i < 20; i++) {
      // Cut off mid-block, or one bit flipped in a block: each fails part-way through decoding.
      const broken = i % 2 === 0 ? bigFrame.subarray(0, bigFrame.length >> 1) : bigFrame.slice();
      if (i % 2 === 1) broken[20 + i] = (broken[20 + i] as number) ^ 0x10;
      await zstd.decompress(broken, text.length).catch(() => undefined);
      expect(same(await zstd.decompress(smallFrame, small.length), small)).toBe(true);
      expect(same(await zstd.decompress(bigFrame, text.length), text)).toBe(true);
    }
  });

  it("never returns more than the declared size from a corrupted frame", async () => {
    const compressed = await zstd.compress(text);
    for (let i = 0; i < 200; i++) {
      const corrupted = compressed.slice();
      const at = 8 + ((i * 7919) % (corrupted.length - 8));
      corrupted[at] = (corrupted[at] as number) ^ (1 << (i % 8));
      try {
        expect((await zstd.decompress(corrupted, text.length)).length).toBe(text.length);
      } catch (error) {
        // A flipped header bit may also change the declared size.
        expect(error instanceof CodecError || error instanceof TooLargeError).toBe(true);
      }
    }
  });

  it("rejects a maxBytes that is not a limit", async () => {
    await rejects(zstd.decompress(await zstd.compress(text), Number.NaN), CodecError);
  });

  it("validates its level", async () => {
    for (const level of [0, -1, 20, 2.5, Number.NaN]) {
      expect(() => embedded(level)).toThrow(ConfigError);
    }
    const fast = await embedded(1).compress(text);
    const small = await embedded(19).compress(text);
    expect(small.length).toBeLessThanOrEqual(fast.length);
    expect((await zstd.decompress(small, text.length)).length).toBe(text.length);
  });
});

describe("zstd decompressWith: the output decoded where zstd wrote it", () => {
  const zstd = embedded();
  const cbor = cborCodec();

  it("hands the decompressed bytes to `use` and returns what it returns", async () => {
    const value = rowsValue(5000);
    const raw = cbor.encode(value);
    const compressed = await zstd.compress(raw);
    expect(await zstd.decompressWith(compressed, raw.length, (bytes) => cbor.decode(bytes))).toEqual(value);
    const seen = await zstd.decompressWith(compressed, raw.length, (bytes) => Buffer.from(bytes).equals(raw));
    expect(seen).toBe(true);
  });

  it("lends a view of the WASM memory that a later job reuses: nothing decoded may alias it", async () => {
    const binding = await instantiateZstd(await embeddedZstdWasm());
    const a = await zstd.compress(new Uint8Array(4096).fill(1));
    const b = await zstd.compress(new Uint8Array(4096).fill(2));
    const view = await zstd.decompressWith(a, 4096, (bytes) => bytes);
    expect(view.buffer).toBe(binding.heapBuffer());
    await zstd.decompress(b, 4096); // reuses the freed output
    expect(view[0]).toBe(2);
    // Decoded byte strings and typed arrays are copies, so they survive it.
    const raw = cbor.encode({ bytes: new Uint8Array(64).fill(7), floats: new Float64Array([1.5]) });
    const value = await zstd.decompressWith(await zstd.compress(raw), raw.length, (bytes) => cbor.decode(bytes)) as {
      bytes: Uint8Array;
      floats: Float64Array;
    };
    await zstd.decompress(b, 4096);
    expect(value.bytes.buffer).not.toBe(binding.heapBuffer());
    expect([...value.bytes]).toEqual(new Array(64).fill(7));
    expect(value.floats[0]).toBe(1.5);
  });

  it("refuses zstd work from inside `use`, and frees the memory when `use` throws", async () => {
    const binding = await instantiateZstd(await embeddedZstdWasm());
    const compressed = await zstd.compress(text);
    expect(() => binding.decompressWith(compressed, text.length, () => binding.decompress(compressed, text.length)))
      .toThrow(/still in use/);
    expect(() => binding.decompressWith(compressed, text.length, () => binding.compress(text, 3))).toThrow(
      /still in use/,
    );
    const heap = binding.heapBytes();
    for (let i = 0; i < 200; i++) {
      await expect(zstd.decompressWith(compressed, text.length, () => {
        throw new TypeError("decoder bug");
      })).rejects.toThrow(TypeError);
    }
    expect(binding.heapBytes()).toBe(heap);
    expect((await zstd.decompress(compressed, text.length)).length).toBe(text.length);
  });

  it("applies decompress's limits and errors before calling `use`", async () => {
    let calls = 0;
    const use = (): number => ++calls;
    await rejects(zstd.decompressWith(frame(0xe0, 0, 0, 0, 0, 1, 0, 0, 0), 64 * MiB, use), TooLargeError);
    const compressed = await zstd.compress(text);
    await rejects(zstd.decompressWith(compressed, text.length - 1, use), TooLargeError);
    await rejects(zstd.decompressWith(compressed.subarray(0, compressed.length - 1), MiB, use), CodecError);
    await rejects(zstd.decompressWith(randomBytes(100), MiB, use), CodecError);
    expect(calls).toBe(0);
  });
});

describe("zstd compressor with an injected WebAssembly.Module (the Workers path)", () => {
  it("compresses and decompresses through the injected module, byte-identical to the embedded one and to the package's own glue", async () => {
    const injected = zstdCompressor({ wasm: compiled });
    const viaEmbedded = embedded();
    const compressed = await injected.compress(text);
    expect(Buffer.from(compressed).equals(Buffer.from(await viaEmbedded.compress(text)))).toBe(true);
    expect(Buffer.from(await injected.decompress(compressed, text.length)).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(await viaEmbedded.decompress(compressed, text.length)).equals(Buffer.from(text))).toBe(true);
    // The package's own loader and glue (initialised here, in this test file only) writes the same frame.
    await packageZstd.init();
    expect(Buffer.from(packageZstd.compress(text, 3)).equals(Buffer.from(compressed))).toBe(true);
    const empty = await injected.compress(new Uint8Array(0));
    expect((await injected.decompress(empty, 0)).length).toBe(0);
  });

  it("accepts a function resolving to the module, and calls it once", async () => {
    let calls = 0;
    const zstd = zstdCompressor({
      wasm: () => {
        calls++;
        return WebAssembly.compile(wasmBytes);
      },
    });
    await Promise.all([zstd.compress(text), zstd.compress(text)]);
    await zstd.decompress(await zstd.compress(text), text.length);
    expect(calls).toBe(1);
  });

  it("refuses a frame declaring 4 GiB without growing the WASM heap", async () => {
    const zstd = zstdCompressor({ wasm: compiled });
    const binding = await instantiateZstd(compiled); // the same instance the compressor uses
    await zstd.decompress(await zstd.compress(text), text.length);
    const heapBefore = binding.heapBytes();
    expect(heapBefore).toBeGreaterThan(0);
    await rejects(zstd.decompress(frame(0xe0, 0, 0, 0, 0, 1, 0, 0, 0), 64 * MiB), TooLargeError);
    await rejects(zstd.decompress(frame(0x00, 0x58), 64 * MiB), TooLargeError);
    await rejects(zstd.decompress(frame(0xa0, 0, 0, 0, 8), 64 * MiB), TooLargeError); // 128 MiB declared
    expect(binding.heapBytes()).toBe(heapBefore);
  });

  it("grows the heap to the largest job and keeps it (documented: it never shrinks)", async () => {
    const zstd = zstdCompressor({ wasm: compiled });
    const binding = await instantiateZstd(compiled);
    const big = randomBytes(8 * MiB, 3);
    await zstd.decompress(await zstd.compress(big), big.length);
    const grown = binding.heapBytes() as number;
    // Compressing needs input + compressBound(input) + zstd's context.
    expect(grown).toBeGreaterThan(16 * MiB);
    await zstd.compress(new Uint8Array(10));
    expect(binding.heapBytes()).toBe(grown);
  });

  it("turns malformed frames into CodecErrors", async () => {
    const zstd = zstdCompressor({ wasm: compiled });
    await rejects(
      zstd.decompress(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 100, ...randomBytes(50)]), MiB),
      CodecError,
    );
    const compressed = await zstd.compress(text);
    await rejects(zstd.decompress(compressed.subarray(0, compressed.length - 1), 10 * MiB), CodecError);
  });

  it("rejects an invalid wasm option at construction, and a module that is not zstd at first use", async () => {
    expect(() => zstdCompressor({ wasm: "zstd.wasm" as unknown as WebAssembly.Module })).toThrow(ConfigError);
    expect(() => zstdCompressor({} as unknown as { wasm: WebAssembly.Module })).toThrow(ConfigError);
    const empty = await WebAssembly.compile(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const error = await rejects(zstdCompressor({ wasm: empty }).compress(text), CodecError);
    expect(error.message).toContain("not the zstd.wasm");
    await rejects(
      zstdCompressor({ wasm: () => Promise.resolve("nope" as unknown as WebAssembly.Module) }).compress(text),
      ConfigError,
    );
  });
});

describe("zstd instances of Larder's own", () => {
  it("two compressors of one copy (different levels) interleave big and small jobs correctly", async () => {
    const fast = embedded(1);
    const small = embedded(19);
    const big = randomBytes(3 * MiB, 9);
    const jobs = await Promise.all([
      fast.compress(big),
      small.compress(text),
      fast.compress(text),
      small.compress(big.subarray(0, MiB)),
    ]);
    const outs = await Promise.all([
      small.decompress(jobs[0]!, big.length),
      fast.decompress(jobs[1]!, text.length),
      small.decompress(jobs[2]!, text.length),
      fast.decompress(jobs[3]!, MiB),
    ]);
    expect(Buffer.from(outs[0]!).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from(outs[1]!).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(outs[2]!).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(outs[3]!).equals(Buffer.from(big.subarray(0, MiB)))).toBe(true);
    expect(jobs[1]!.length).toBeLessThan(jobs[2]!.length); // level 19 did compress harder
  });

  it("a second copy of the module (loaded again through a query string) has an instance and a heap of its own", async () => {
    // What two copies of Larder in one process (two versions, or ESM and a bundle) amount to.
    const specifier = "../../src/codec/_zstd_embedded.ts?second-copy";
    const copy = await import(/* @vite-ignore */ specifier) as typeof import("../../src/codec/_zstd_embedded.ts");
    expect(copy.embeddedZstdWasm).not.toBe(embeddedZstdWasm);
    const first = embedded();
    const second = zstdCompressor({ wasm: copy.embeddedZstdWasm });
    await Promise.all([first.compress(text), second.compress(text)]);
    const [mine, theirs] = await Promise.all([
      instantiateZstd(await embeddedZstdWasm()),
      instantiateZstd(await copy.embeddedZstdWasm()),
    ]);
    expect(mine).not.toBe(theirs);
    const theirHeap = theirs.heapBytes();
    const big = randomBytes(16 * MiB, 4);
    const frameOfMine = await first.compress(big); // grows only the first copy's heap
    expect(mine.heapBytes()).toBeGreaterThan(32 * MiB);
    expect(theirs.heapBytes()).toBe(theirHeap);
    // Interleaved: each decodes the other's frames, and its own.
    const frameOfTheirs = await second.compress(text);
    expect(Buffer.from(await second.decompress(frameOfMine, big.length)).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from(await first.decompress(frameOfTheirs, text.length)).equals(Buffer.from(text))).toBe(true);
  });
});

describe("gzip compressor", () => {
  const gzip = gzipCompressor();

  it("is named gzip and round-trips empty, small and large inputs", async () => {
    expect(gzip.name).toBe("gzip");
    for (const input of [new Uint8Array(0), new Uint8Array([1, 2, 3]), text, randomBytes(200_000)]) {
      const out = await gzip.decompress(await gzip.compress(input), input.length);
      expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
    }
  });

  it("enforces maxBytes exactly", async () => {
    const compressed = await gzip.compress(text);
    expect((await gzip.decompress(compressed, text.length)).length).toBe(text.length);
    await rejects(gzip.decompress(compressed, text.length - 1), TooLargeError);
  });

  it("stops a gzip bomb as soon as the output passes maxBytes", async () => {
    const bomb = await gzip.compress(new Uint8Array(64 * MiB)); // about 64 KiB of gzip
    expect(bomb.length).toBeLessThan(MiB);
    // Count what the decompressor actually inflates (bytes, not time: timed assertions flake).
    const Original = globalThis.DecompressionStream;
    let inflated = 0;
    class CountingDecompressionStream {
      readonly writable: WritableStream<BufferSource>;
      readonly readable: ReadableStream<Uint8Array>;
      constructor(format: CompressionFormat) {
        const inner = new Original(format);
        this.writable = inner.writable;
        this.readable = inner.readable.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              inflated += chunk.length;
              controller.enqueue(chunk);
            },
          }),
        );
      }
    }
    globalThis.DecompressionStream = CountingDecompressionStream as unknown as typeof DecompressionStream;
    try {
      expect((await gzip.decompress(bomb, Infinity)).length).toBe(64 * MiB);
      expect(inflated).toBe(64 * MiB);
      inflated = 0;
      const error = await rejects(gzip.decompress(bomb, MiB), TooLargeError);
      expect(error.message).toContain(String(MiB));
      // Stopped within a few chunks past 1 MiB, not after inflating all 64 MiB.
      expect(inflated).toBeGreaterThan(MiB);
      expect(inflated).toBeLessThan(8 * MiB);
    } finally {
      globalThis.DecompressionStream = Original;
    }
  });

  it("turns malformed and truncated input into CodecErrors", async () => {
    await rejects(gzip.decompress(randomBytes(1000), MiB), CodecError);
    await rejects(gzip.decompress(new Uint8Array(0), MiB), CodecError);
    const compressed = await gzip.compress(text);
    for (const length of [1, 10, compressed.length >> 1, compressed.length - 1]) {
      await rejects(gzip.decompress(compressed.subarray(0, length), 10 * MiB), CodecError);
    }
    await rejects(gzip.decompress(compressed, Number.NaN), CodecError);
  });
});

describe("no compression", () => {
  it("passes bytes through and still enforces maxBytes", async () => {
    const none = noCompression();
    expect(none.name).toBe("none");
    expect(await none.compress(text)).toBe(text);
    expect(await none.decompress(text, text.length)).toBe(text);
    await rejects(none.decompress(text, text.length - 1), TooLargeError);
    await rejects(none.decompress(text, Number.NaN), CodecError);
  });
});

describe("compressor registry", () => {
  it("builds each compressor by the name recorded in entries", async () => {
    for (const name of ["zstd", "gzip", "none"]) {
      const compressor = compressorByName(name);
      expect(compressor.name).toBe(name);
      expect((await compressor.decompress(await compressor.compress(text), text.length)).length).toBe(text.length);
    }
    expect(compressorByName("zstd", { zstd: { wasm: compiled, level: 5 } }).name).toBe("zstd");
    expect(() => compressorByName("zstd", { zstd: { level: 30 } })).toThrow(ConfigError);
    for (const name of ["brotli", "toString", ""]) expect(() => compressorByName(name)).toThrow(CodecError);
  });
});

describe("compression ratios on query-result rows", () => {
  const value = rowsValue(20_000);

  it("CBOR + zstd compresses rows more than 3x", async () => {
    const encoded = cborCodec().encode(value);
    const compressed = await embedded().compress(encoded);
    expect(encoded.length / compressed.length).toBeGreaterThan(3);
  });

  it("JSON + gzip compresses rows more than 3x", async () => {
    const encoded = jsonCodec().encode(value);
    const compressed = await gzipCompressor().compress(encoded);
    expect(encoded.length / compressed.length).toBeGreaterThan(3);
  });
});
