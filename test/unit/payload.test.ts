/**
 * The payload step of the write path: a large value's encoding and compression do not hold the
 * thread as one block (other work of the process runs between them), and the codec is given
 * `maxValueBytes` (one that ignores it is checked after encoding).
 */
import { describe, expect, it } from "vitest";
import { jsonCodec } from "../../src/codec/json.ts";
import { encodePayload, type PayloadConfig } from "../../src/core/record/entry.ts";
import { TooLargeError } from "../../src/core/errors.ts";
import type { Compressor, EncodeOptions, ValueCodec } from "../../src/core/types.ts";

function config(events: string[]): PayloadConfig {
  const compressor: Compressor = {
    name: "zstd",
    compress: async (bytes) => (events.push("compress"), bytes.subarray(0, bytes.length >> 1)),
    decompress: () => Promise.reject(new Error("not used")),
  };
  const codec = jsonCodec();
  return {
    codec,
    compressor,
    codecs: { json: codec },
    compressors: { zstd: compressor },
    minCompressBytes: 256,
    maxValueBytes: 64 * 1024 * 1024,
  };
}

describe("encodePayload", () => {
  it("lets a timer run between encoding and compressing a value of 1 MiB or more", async () => {
    const events: string[] = [];
    setTimeout(() => events.push("timer"), 0);
    const payload = await encodePayload("x".repeat(2 * 1024 * 1024), config(events));
    expect(events.slice(0, 2)).toEqual(["timer", "compress"]);
    expect(payload.compression).toBe("zstd");
  });

  it("does not pay for a turn of the event loop on small values", async () => {
    const events: string[] = [];
    setTimeout(() => events.push("timer"), 0);
    await encodePayload("x".repeat(10_000), config(events));
    expect(events[0]).toBe("compress");
  });

  it("gives the codec maxValueBytes, and checks a codec that ignores it after encoding", async () => {
    const seen: (EncodeOptions | undefined)[] = [];
    const ignoring: ValueCodec = {
      name: "json",
      encode: (value, options) => (seen.push(options), new TextEncoder().encode(JSON.stringify(value))),
      decode: () => null,
    };
    const limited = { ...config([]), codec: ignoring, maxValueBytes: 1000 };
    await expect(encodePayload("x".repeat(998), limited)).resolves.toMatchObject({ codec: "json" });
    const error = await encodePayload("x".repeat(999), limited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toBe("encoded value is 1001 bytes, over maxValueBytes (1000)");
    expect(seen).toEqual([{ maxBytes: 1000 }, { maxBytes: 1000 }]);
    // The built-in codecs stop on their own, with the same limit in the message.
    const own = await encodePayload("x".repeat(999), { ...config([]), maxValueBytes: 1000 }).catch((e: unknown) => e);
    expect((own as Error).message).toMatch(/^encoded value is over maxValueBytes \(1000\): json codec/);
  });
});
