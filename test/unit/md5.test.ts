import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { md5 } from "../../src/blobs/_md5.ts";
import { toHex } from "../../src/core/util/bytes.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("md5", () => {
  it("matches the RFC 1321 test suite (appendix A.5)", () => {
    const suite: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a",
      ],
    ];
    for (const [input, digest] of suite) expect(toHex(md5(text(input))), JSON.stringify(input)).toBe(digest);
  });

  it("has the constant table RFC 1321 defines (floor(abs(sin(i + 1)) * 2^32))", async () => {
    const source = await import("node:fs").then((fs) => fs.readFileSync("src/blobs/_md5.ts", "utf8"));
    const table = [...source.matchAll(/0x[0-9a-f]{8}/g)].slice(0, 64).map((m) => Number(m[0]));
    expect(table).toStrictEqual(
      Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32)),
    );
  });

  it("agrees with node:crypto at every length around the padding boundaries, and beyond", () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(toHex(md5(bytes)), `length ${length}`).toBe(createHash("md5").update(bytes).digest("hex"));
    }
    const large = crypto.getRandomValues(new Uint8Array(65_536));
    expect(toHex(md5(large))).toBe(createHash("md5").update(large).digest("hex"));
    // A view into a larger buffer: only its bytes count.
    expect(toHex(md5(large.subarray(3, 1003)))).toBe(createHash("md5").update(large.subarray(3, 1003)).digest("hex"));
  });
});
