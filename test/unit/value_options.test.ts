/**
 * The options of the value path, refused with a `ConfigError` that names the option and the fix
 * (and never quotes a key): `encryption` at `createCache`, `codecs` at `createCache`, `schema` at
 * `wrap`; and the forms that are accepted.
 */
import { describe, expect, it } from "vitest";
import { type CacheOptions, ConfigError, createCache } from "../../mod.ts";
import { arrowCodec } from "../../src/codec/arrow.ts";
import { toBase64 } from "../../src/core/util/bytes.ts";

/** The `ConfigError` message `make` throws with; fails the test when it throws none or another error. */
function refused(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

const key32 = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
const withEncryption = (encryption: unknown) => () => createCache({ encryption } as CacheOptions);

describe("encryption", () => {
  it("accepts 32 raw bytes, their base64 (standard or URL-safe) and an AES-GCM 256 CryptoKey", async () => {
    const raw = key32();
    const urlSafe = toBase64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const crypto256 = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const decryptOnly = await crypto.subtle.importKey("raw", key32() as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
      "decrypt",
    ]);
    const cache = createCache({
      encryption: { keys: { a: raw, b: toBase64(raw), c: urlSafe, d: crypto256, old: decryptOnly }, current: "d" },
    });
    expect(await cache.set("x", { n: 1 })).toBe(true);
    expect(await cache.get("x")).toEqual({ n: 1 });
    expect((await cache.inspect("x")).record?.encryptionKey).toBe("d");
  });

  it("refuses bad options, naming the option and never the key", async () => {
    const short = crypto.getRandomValues(new Uint8Array(16));
    const messages = [
      refused(withEncryption(5)),
      refused(withEncryption({ keys: {}, current: "a" })),
      refused(withEncryption({ keys: { a: key32() }, current: "b" })),
      refused(withEncryption({ keys: { a: key32() } })),
      refused(withEncryption({ keys: { "a b": key32() }, current: "a b" })),
      refused(withEncryption({ keys: { a: short }, current: "a" })),
      refused(withEncryption({ keys: { a: toBase64(short) }, current: "a" })),
      refused(withEncryption({ keys: { a: "not base64 at all!" }, current: "a" })),
      refused(withEncryption({ keys: { a: 42 }, current: "a" })),
      refused(withEncryption({ keys: { a: key32() }, current: "a", cipher: "aes" })),
    ];
    expect(messages).toEqual([
      "createCache: encryption must be { keys: { [keyId]: key }, current: keyId }, got 5",
      "createCache: encryption.keys must be an object of { [keyId]: key } with at least one key",
      'createCache: encryption.current is "b", which is not one of the ids in encryption.keys (a)',
      "createCache: encryption.current is required (a non-empty string)",
      'createCache: encryption.keys: key ids are 1-32 letters, digits, "_", "." or "-"; got "a b"',
      "createCache: encryption.keys.a must be 32 bytes (AES-256), got 16",
      "createCache: encryption.keys.a must be 32 bytes (AES-256), got 16",
      "createCache: encryption.keys.a is a string but not base64 (expected 32 bytes in base64)",
      "createCache: encryption.keys.a must be a CryptoKey, 32 bytes (Uint8Array) or 32 bytes in base64",
      'createCache: unknown option "encryption.cipher"',
    ]);
    expect(messages.join("\n")).not.toContain(toBase64(short));
  });

  it("refuses CryptoKeys of another algorithm, size or usage", async () => {
    const cbc = await crypto.subtle.generateKey({ name: "AES-CBC", length: 256 }, false, ["encrypt", "decrypt"]);
    const gcm128 = await crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, false, ["encrypt", "decrypt"]);
    const decryptOnly = await crypto.subtle.importKey("raw", key32() as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
      "decrypt",
    ]);
    expect(refused(withEncryption({ keys: { a: cbc }, current: "a" }))).toBe(
      "createCache: encryption.keys.a must be an AES-GCM key of 256 bits",
    );
    expect(refused(withEncryption({ keys: { a: gcm128 }, current: "a" }))).toBe(
      "createCache: encryption.keys.a must be an AES-GCM key of 256 bits",
    );
    // A key that only decrypts may read old entries, not be the current one.
    expect(refused(withEncryption({ keys: { a: decryptOnly }, current: "a" }))).toBe(
      "createCache: encryption.keys.a must allow encrypt (its usages)",
    );
  });
});

describe("codecs", () => {
  const codec = (name: unknown) => ({ name, accepts: () => false, encode: () => new Uint8Array(), decode: () => null });
  it("refuses what is not a list of codecs with distinct, free names", () => {
    const of = (codecs: unknown) => refused(() => createCache({ codecs } as CacheOptions));
    expect([
      of(arrowCodec()),
      of([{ name: "x", encode: () => new Uint8Array() }]),
      of([codec("Arrow!")]),
      of([codec("cbor")]),
      of([arrowCodec(), codec("arrow")]),
    ]).toEqual([
      "createCache: codecs must be an array of codecs, e.g. [arrowCodec()]",
      "createCache: codecs[0] must be a codec with accepts, encode and decode methods (e.g. arrowCodec())",
      'createCache: codecs[0]: name must be 1-16 lower-case letters or digits, got "Arrow!"',
      'createCache: codecs[0]: name "cbor" is a built-in encoding\'s',
      'createCache: codecs[1]: a codec named "arrow" comes earlier in the list',
    ]);
  });
});

describe("schema", () => {
  const cache = createCache();
  const wrapWith = (schema: unknown) => () => cache.wrap(async () => 1, { name: "f", schema } as never);
  it("refuses what is not a Standard Schema (version 1)", () => {
    const expected = (got: string) =>
      `wrap(f): schema must be a Standard Schema validator (version 1: zod 3.24+, valibot 1, arktype 2), got ${got}`;
    expect(refused(wrapWith({ parse: () => 1 }))).toBe(expected("object"));
    expect(refused(wrapWith({ "~standard": { version: 2, vendor: "x", validate: () => ({ value: 1 }) } }))).toBe(
      expected("object"),
    );
    expect(refused(wrapWith({ "~standard": { version: 1, vendor: "x" } }))).toBe(expected("object"));
    expect(refused(wrapWith("z.number()"))).toMatch(/^wrap\(f\): schema must be a Standard Schema/);
  });

  it("accepts a function carrying ~standard (arktype's types are functions)", async () => {
    const type = Object.assign((value: unknown) => value, {
      "~standard": { version: 1 as const, vendor: "fake", validate: (value: unknown) => ({ value: [value] }) },
    });
    const wrapped = cache.wrap(async (n: number) => n, { name: "g", schema: type });
    expect(await wrapped(3)).toEqual([3]);
  });
});
