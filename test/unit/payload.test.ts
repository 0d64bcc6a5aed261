/**
 * The payload step of the write path: a large value's encoding and compression do not hold the
 * thread as one block (other work of the process runs between them).
 */
import { describe, expect, it } from "vitest";
import { jsonCodec } from "../../src/codec/json.ts";
import { encodePayload, type PayloadConfig } from "../../src/core/payload.ts";
import type { Compressor } from "../../src/core/types.ts";

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
});
