import { describe, expect, it } from "vitest";
import { sha256Hex, toHex } from "../../src/core/util/bytes.ts";
import { sha256 } from "../../src/core/util/sha256.ts";

const text = (s: string) => new TextEncoder().encode(s);
const webCrypto = async (bytes: Uint8Array) =>
  toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));

describe("sha256", () => {
  it("matches the FIPS 180-4 example vectors", () => {
    expect(toHex(sha256(text("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(toHex(sha256(text("")))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(toHex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with WebCrypto at every length around the padding boundaries, and beyond", async () => {
    for (let length = 0; length <= 300; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(toHex(sha256(bytes)), `length ${length}`).toBe(await webCrypto(bytes));
    }
    const large = crypto.getRandomValues(new Uint8Array(65_536));
    expect(toHex(sha256(large))).toBe(await webCrypto(large));
  });

  it("hashes a view by its own bytes, not its buffer's (a subarray at an offset, a full last block)", async () => {
    const buffer = crypto.getRandomValues(new Uint8Array(1000));
    for (const [from, to] of [[1, 1], [3, 67], [5, 133], [64, 128], [7, 1000]] as const) {
      const view = buffer.subarray(from, to);
      expect(toHex(sha256(view)), `${from}..${to}`).toBe(await webCrypto(view.slice()));
    }
  });

  it("gives the same hex through sha256Hex on both sides of the sync threshold", async () => {
    for (const length of [4095, 4096, 4097, 65_536]) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(await sha256Hex(bytes)).toBe(await webCrypto(bytes));
    }
  });
});
