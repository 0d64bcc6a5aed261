/**
 * Client-side encryption at rest (`createCache({ encryption })`) against the real services. What
 * is checked is what the servers hold: the raw Redis record and the raw S3 object are searched
 * for a marker the value contains (the same search finds it when encryption is off, so it can
 * fail); the record's key id after a rotation; a byte flipped in the bucket, a ciphertext moved to
 * another entry, a missing or wrong key — each a miss counted as an error, the function run,
 * never plaintext or another entry's value. Also: the response cache serving encrypted entries
 * (the raw HTTP bytes are the original body), the in-process tier in shared mode, and inspect /
 * cleanup, which work without the key.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Cache } from "../../mod.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { zstdCompressor } from "../../src/codec/zstd.ts";
import { embeddedZstdWasm } from "../../src/codec/_zstd_embedded.ts";
import { type EntryRecord, parseRecord } from "../../src/core/record/entry.ts";
import { blobKey, recordKey } from "../../src/core/record/key_layout.ts";
import { fromBase64, sha256Hex, toBase64, toHex } from "../../src/core/util/bytes.ts";
import { cacheHandler } from "../../src/http/handler.ts";
import { servicesCache } from "../helpers/cache.ts";
import { cliEnv, spawnCli } from "../helpers/cli.ts";
import { listen, type LoopbackServer, rawRequest } from "../helpers/raw_http.ts";
import {
  getObject,
  listObjects,
  putObject,
  rawRedisGet,
  rawRedisKeys,
  redisCommand,
  requireServices,
} from "../helpers/services.ts";
import { largeBody, sameBytes } from "../runtime/_http_scenarios.ts";

const services = requireServices();

const MARKER = "MARKER-0f9c1b7e-plaintext";
const markerBytes = new TextEncoder().encode(MARKER);
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const newKey = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
const k1 = newKey();
const k2 = newKey();

/** A small value (inline) holding the marker once. */
const small = { note: `${MARKER} small`, n: 1 };
/** A large value (a blob even compressed: random text in every row) holding the marker in each row. */
const large = Array.from({ length: 3000 }, (_, i) => ({
  id: i,
  note: `${MARKER} ${toHex(crypto.getRandomValues(new Uint8Array(12)))}`,
}));

/** Whether `needle` occurs in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const zstd = zstdCompressor({ wasm: embeddedZstdWasm });

/**
 * Whether stored bytes show the marker: as they are, or once decompressed as the record says
 * (zstd codes literals with Huffman tables: a compressed payload need not contain it verbatim).
 */
async function revealsMarker(record: EntryRecord, payload: Uint8Array): Promise<boolean> {
  if (contains(payload, markerBytes)) return true;
  if (record.z !== "zstd") return false;
  const inflated = await zstd.decompress(payload, record.n).catch(() => undefined);
  return inflated !== undefined && contains(inflated, markerBytes);
}

/** Every record under `prefix`, raw (as Redis holds it) and parsed, with its payload as stored. */
async function storedEntries(prefix: string): Promise<{ raw: string; record: EntryRecord; payload: Uint8Array }[]> {
  const keys = await rawRedisKeys(recordKey(prefix, "*"));
  return await Promise.all(keys.map(async (key) => {
    const raw = (await rawRedisGet(key))!;
    const record = parseRecord(raw);
    const payload = record.p !== undefined ? fromBase64(record.p) : (await getObject(record.b!))!;
    return { raw, record, payload };
  }));
}

/** Writes `small` and `large` through `wrap` and waits for the writes. */
async function writeBoth(cache: Cache): Promise<(which: "small" | "large") => Promise<unknown>> {
  const values = cache.wrap(async (which: "small" | "large") => (which === "small" ? small : large), {
    name: "values",
  });
  await values("small");
  await values("large");
  await cache.flush();
  return values;
}

const encrypted = (options: CacheOptions = {}): CacheOptions => ({
  encryption: { keys: { k1 }, current: "k1" },
  maxInlineBytes: 16 * 1024,
  ...options,
});

describe("what Redis and the bucket hold", () => {
  for (const compression of ["zstd", "none"] as const) {
    it(`no plaintext in the raw record or the raw object (compression ${compression}); read back as written`, async () => {
      const writer = servicesCache("enc", encrypted({ compression }));
      await writeBoth(writer.cache);
      const entries = await storedEntries(writer.prefix);
      expect(entries.map((e) => (e.record.p === undefined ? "blob" : "inline")).sort()).toEqual(["blob", "inline"]);
      expect(await listObjects(`${writer.prefix}/`)).toHaveLength(1);
      for (const { raw, record, payload } of entries) {
        expect(record.y).toBe("k1");
        if (record.b !== undefined) expect(record.z).toBe(compression);
        expect(raw).not.toContain(MARKER);
        expect(await revealsMarker(record, payload)).toBe(false);
        // Ciphertext: not a zstd frame, and the IV and tag on top of the compressed bytes.
        expect([...payload.subarray(0, 4)]).not.toEqual(ZSTD_MAGIC);
        expect(record.s).toBeGreaterThan(28);
        // The record's checksum is over the bytes as stored.
        expect(await sha256Hex(payload)).toBe(record.h);
        // Nor the key, in any form.
        expect(raw).not.toContain(toBase64(k1));
      }

      // Another instance with the key reads both.
      const reader = servicesCache("enc", encrypted({ compression, prefix: writer.prefix }));
      const values = reader.cache.wrap(async (_which: string): Promise<unknown> => "recomputed", { name: "values" });
      expect(await values("small")).toEqual(small);
      expect(await values("large")).toEqual(large);
      expect(reader.cache.stats().hits).toMatchObject({ inline: 1, blob: 1 });
      expect(reader.cache.stats().errors.total).toBe(0);
    });

    it(`the same search finds the marker when encryption is off (compression ${compression})`, async () => {
      const { cache, prefix } = servicesCache("enc", { compression, maxInlineBytes: 16 * 1024 });
      await writeBoth(cache);
      const entries = await storedEntries(prefix);
      expect(entries).toHaveLength(2);
      for (const { record, payload } of entries) {
        expect(record.y).toBeUndefined();
        expect(await revealsMarker(record, payload)).toBe(true);
      }
    });
  }

  it("a value of exactly maxValueBytes, stored uncompressed, still reads: the IV and tag are on top of the limit", async () => {
    const options = encrypted({ compression: "none", maxValueBytes: 100_000 });
    const writer = servicesCache("enc", options);
    const value = new Uint8Array(100_000);
    for (let i = 0; i < value.length; i += 50_000) crypto.getRandomValues(value.subarray(i, i + 50_000));
    expect(await writer.cache.set("full", value)).toBe(true);
    const reader = servicesCache("enc", { ...options, prefix: writer.prefix });
    expect(await reader.cache.get("full")).toEqual(value);
    expect((await reader.cache.inspect("full")).record).toMatchObject({ storedBytes: 100_028, placement: "blob" });
    expect(reader.cache.stats().errors.total).toBe(0);
  });

  it("entries written before encryption was turned on (no key id) still read", async () => {
    const before = servicesCache("enc", { maxInlineBytes: 16 * 1024 });
    await writeBoth(before.cache);
    const after = servicesCache("enc", encrypted({ prefix: before.prefix }));
    const values = after.cache.wrap(async (_which: string): Promise<unknown> => "recomputed", { name: "values" });
    expect(await values("small")).toEqual(small);
    expect(await values("large")).toEqual(large);
    expect(after.cache.stats().errors.total).toBe(0);
  });
});

describe("key rotation", () => {
  it("old entries read with the old key, new writes use the current one; a reader without the old key misses them", async () => {
    const first = servicesCache("enc", encrypted());
    const { prefix } = first;
    await first.cache.set("old", small);

    const rotated = servicesCache("enc", { prefix, encryption: { keys: { k2, k1 }, current: "k2" } });
    expect(await rotated.cache.get("old")).toEqual(small);
    await rotated.cache.set("new", large);
    const keyIds = async (key: string) =>
      parseRecord((await rawRedisGet(recordKey(prefix, (await rotated.cache.inspect(key)).hash)))!).y;
    expect(await keyIds("old")).toBe("k1");
    expect(await keyIds("new")).toBe("k2");
    expect((await rotated.cache.inspect("new")).record?.encryptionKey).toBe("k2");

    // k1 retired too early: its entries are misses, counted in errors.codec, with the fix logged.
    const retired = servicesCache("enc", { prefix, encryption: { keys: { k2 }, current: "k2" } });
    expect(await retired.cache.get("new")).toEqual(large);
    expect(await retired.cache.get("old")).toBeUndefined();
    const stats = retired.cache.stats();
    expect(stats.errors).toMatchObject({ total: 1, codec: 1, byCode: { E_CODEC: 1 } });
    const logged = retired.logger.lines.filter((l) => l.message.includes("encrypted"));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain('key "k1", which is not in encryption.keys');
    expect(logged[0]!.message).not.toContain(toBase64(k2));
  });
});

describe("a payload that does not decrypt is a miss, counted, and the function runs", () => {
  /** A blob entry written with k1, and a wrapped reader on the same prefix counting its runs. */
  async function blobEntry() {
    const writer = servicesCache("enc", encrypted());
    await writeBoth(writer.cache);
    const { record } = (await storedEntries(writer.prefix)).find((e) => e.record.b !== undefined)!;
    const reader = servicesCache("enc", encrypted({ prefix: writer.prefix }));
    let runs = 0;
    const values = reader.cache.wrap(async (which: string) => {
      runs++;
      return { recomputed: which };
    }, { name: "values" });
    return { prefix: writer.prefix, record, reader, values, runs: () => runs };
  }

  /** Replaces fields of the record stored for `hash` (its TTL kept). */
  async function editRecord(prefix: string, hash: string, edit: (raw: string) => string): Promise<void> {
    const key = recordKey(prefix, hash);
    expect(await redisCommand(["SET", key, edit((await rawRedisGet(key))!), "KEEPTTL"])).toBe("OK");
  }

  it("a byte flipped in the S3 object: an integrity miss", async () => {
    const { record, reader, values, runs } = await blobEntry();
    const object = (await getObject(record.b!))!;
    object[object.length >> 1]! ^= 0x01;
    await putObject(record.b!, object);
    expect(await values("large")).toEqual({ recomputed: "large" });
    expect(runs()).toBe(1);
    expect(reader.cache.stats().errors).toMatchObject({ total: 1, integrity: 1 });
  });

  it("a byte flipped in the S3 object and the record's checksum made to match: GCM refuses it", async () => {
    const { prefix, record, reader, values, runs } = await blobEntry();
    const object = (await getObject(record.b!))!;
    object[object.length >> 1]! ^= 0x01;
    await putObject(record.b!, object);
    const checksum = await sha256Hex(object);
    await editRecord(prefix, record.k, (raw) => raw.replace(`"h":"${record.h}"`, `"h":"${checksum}"`));
    expect(await values("large")).toEqual({ recomputed: "large" });
    expect(runs()).toBe(1);
    expect(reader.cache.stats().errors).toMatchObject({ total: 1, integrity: 1, byCode: { E_INTEGRITY: 1 } });
    const logged = reader.logger.lines.filter((l) => l.message.includes("does not decrypt"));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain(record.k.slice(0, 12));
  });

  it("a ciphertext moved into another entry's record (same key): refused, the other entry's value never served", async () => {
    const writer = servicesCache("enc", encrypted());
    const { prefix } = writer;
    await writer.cache.set("a", { owner: "a", secret: MARKER });
    await writer.cache.set("b", { owner: "b" });
    const [a, b] = [(await writer.cache.inspect("a")).hash, (await writer.cache.inspect("b")).hash];
    const recordA = parseRecord((await rawRedisGet(recordKey(prefix, a)))!);
    await editRecord(prefix, b, (raw) => {
      const fields = JSON.parse(raw) as Record<string, unknown>;
      // Everything that describes the payload taken from a's record: only the key hash stays b's.
      for (const field of ["p", "s", "h", "n", "c", "z", "y"] as const) fields[field] = recordA[field];
      return JSON.stringify(fields);
    });
    const reader = servicesCache("enc", encrypted({ prefix }));
    expect(await reader.cache.get("a")).toEqual({ owner: "a", secret: MARKER });
    expect(await reader.cache.get("b")).toBeUndefined();
    expect(reader.cache.stats().errors).toMatchObject({ total: 1, integrity: 1 });
  });

  it("another key under the entry's key id: an integrity miss", async () => {
    const { prefix } = servicesCache("enc", encrypted());
    const writer = servicesCache("enc", encrypted({ prefix }));
    await writer.cache.set("x", small);
    const reader = servicesCache("enc", { prefix, encryption: { keys: { k1: k2 }, current: "k1" } });
    expect(await reader.cache.get("x")).toBeUndefined();
    expect(reader.cache.stats().errors).toMatchObject({ total: 1, integrity: 1 });
  });

  it("a reader with no encryption option: a miss counted in errors.codec, the fix logged", async () => {
    const writer = servicesCache("enc", encrypted());
    await writer.cache.set("x", small);
    const reader = servicesCache("enc", { prefix: writer.prefix });
    let runs = 0;
    const values = reader.cache.wrap(async () => (runs++, "fresh"), { name: "x" });
    await reader.cache.set("y", "plain");
    expect(await reader.cache.get("x")).toBeUndefined();
    expect(await reader.cache.get("y")).toBe("plain");
    expect(reader.cache.stats().errors).toMatchObject({ total: 1, codec: 1 });
    expect(reader.logger.lines.map((l) => l.message).join("\n")).toContain(
      "this cache has no encryption option: give it the writers' createCache({ encryption: { keys, current } })",
    );
    expect(await values()).toBe("fresh");
    expect(runs).toBe(1);
  });
});

describe("with the response cache", () => {
  const servers: LoopbackServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("serves encrypted entries decrypted: the raw HTTP body is the original (identity and zstd), the bucket holds ciphertext", async () => {
    const { cache, prefix } = servicesCache("enc", encrypted());
    const body = largeBody(512 * 1024);
    const marked = new Uint8Array(body.length + markerBytes.length);
    marked.set(markerBytes);
    marked.set(body, markerBytes.length);
    let runs = 0;
    const server = await listen(cacheHandler(cache, () => {
      runs++;
      return new Response(marked as Uint8Array<ArrayBuffer>, { headers: { "content-type": "text/csv" } });
    }));
    servers.push(server);
    const miss = await rawRequest(server, "/report.csv");
    expect(sameBytes(miss.body, marked)).toBe(true);
    await cache.flush();

    const [stored] = await storedEntries(prefix);
    expect(stored!.record.b).toBe(blobKey(prefix, stored!.record.k));
    expect(stored!.record.y).toBe("k1");
    expect(await revealsMarker(stored!.record, stored!.payload)).toBe(false);
    // What is not encrypted: the record's metadata (the stored response's status and headers).
    expect(stored!.raw).toContain("text/csv");

    const plain = await rawRequest(server, "/report.csv");
    expect(plain.header("cache-status")).toMatch(/^Larder; hit; ttl=\d+; detail=blob$/);
    expect(plain.header("content-encoding")).toBeUndefined();
    expect(sameBytes(plain.body, marked)).toBe(true);

    const encoded = await rawRequest(server, "/report.csv", { headers: { "accept-encoding": "zstd" } });
    expect(encoded.header("cache-status")).toMatch(/^Larder; hit; ttl=\d+; detail=blob$/);
    expect(encoded.header("content-encoding")).toBe("zstd");
    expect([...encoded.body.subarray(0, 4)]).toEqual(ZSTD_MAGIC);
    expect(sameBytes(encoded.body, stored!.payload)).toBe(false);
    expect(sameBytes(await zstd.decompress(encoded.body, marked.length), marked)).toBe(true);
    expect(Number(encoded.header("content-length"))).toBe(encoded.body.length);
    expect(runs).toBe(1);
    expect(cache.stats().errors.total).toBe(0);
  });
});

describe("HTTP validators of encrypted entries", () => {
  const servers: LoopbackServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("the ETag stays the same when the same response is stored again (new IV, new ciphertext) and matches an unencrypted cache's; If-None-Match gets a 304 (RFC 9110 §13.1.2)", async () => {
    const { cache, prefix } = servicesCache("enc-etag", { ...encrypted(), ttl: "1h" });
    const body = largeBody(64 * 1024);
    const handler = () => new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": "text/csv" } });
    const server = await listen(cacheHandler(cache, handler));
    servers.push(server);
    await rawRequest(server, "/etag.csv");
    await cache.flush();
    const first = await rawRequest(server, "/etag.csv");
    const [before] = await storedEntries(prefix);
    // Stored again: the same bytes sealed under a new IV.
    await cache.clear();
    await rawRequest(server, "/etag.csv");
    await cache.flush();
    const second = await rawRequest(server, "/etag.csv");
    const [after] = await storedEntries(prefix);
    expect(after!.record.h).not.toBe(before!.record.h);
    expect(first.header("cache-status")).toMatch(/^Larder; hit;/);
    expect(second.header("cache-status")).toMatch(/^Larder; hit;/);
    expect(second.header("etag")).toBe(first.header("etag"));
    expect(second.header("etag")).toMatch(/^"[0-9a-f]{32}"$/);

    const revalidated = await rawRequest(server, "/etag.csv", { headers: { "if-none-match": first.header("etag")! } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.body.length).toBe(0);

    // The validator an unencrypted cache gives the same response: the payload's own checksum.
    const plain = servicesCache("enc-etag-plain", { ttl: "1h" }).cache;
    const plainServer = await listen(cacheHandler(plain, handler));
    servers.push(plainServer);
    await rawRequest(plainServer, "/etag.csv");
    await plain.flush();
    expect((await rawRequest(plainServer, "/etag.csv")).header("etag")).toBe(first.header("etag"));
  });
});

describe("with the in-process tier and the operator's tools", () => {
  it("memory.shared: the tier holds the decrypted value, served frozen with no store request", async () => {
    const writer = servicesCache("enc", encrypted({ memory: { shared: true } }));
    const values = await writeBoth(writer.cache);
    const [a, b] = [await values("large"), await values("large")];
    expect(a).toEqual(large);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(writer.cache.stats().hits.memory).toBe(2);
    const reader = servicesCache("enc", encrypted({ prefix: writer.prefix, memory: { shared: true } }));
    const read = reader.cache.wrap(async (_which: string): Promise<unknown> => "recomputed", { name: "values" });
    expect(await read("large")).toEqual(large); // from S3, decrypted, kept
    await new Promise((resolve) => setTimeout(resolve, 50)); // the tier's background decode and freeze
    expect(await read("large")).toEqual(large);
    expect(reader.cache.stats().hits).toMatchObject({ blob: 1, memory: 1 });
    expect(reader.cache.stats().errors.total).toBe(0);
  });

  it("inspect verifies the stored payload and names its key, without the key; cleanup keeps live encrypted blobs", async () => {
    const writer = servicesCache("enc", encrypted());
    const { prefix } = writer;
    await writer.cache.set("big", large);
    await writer.cache.set("gone", large, { ttl: 50 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const keyless = servicesCache("enc", { prefix, now: () => Date.now() + 2 * 3_600_000 });
    const found = await keyless.cache.inspect("big");
    expect(found.record).toMatchObject({ placement: "blob", encryptionKey: "k1", payloadVerified: true });
    expect(found.problem).toBeUndefined();
    const summary = await keyless.cache.cleanup();
    expect(summary).toMatchObject({ live: 1, orphans: 1, deleted: 1 });
    expect(await listObjects(`${prefix}/`)).toEqual([found.blobKey]);
    expect(await writer.cache.get("big")).toEqual(large);

    // The bin, configured from the environment alone (no keys), shows the key id.
    const shown = await spawnCli(["inspect", "big"], cliEnv(services, prefix));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/ {2}format +v2, codec cbor, compression zstd, encrypted \(key k1\)\n/);
    expect(shown.stdout).toMatch(/ {2}payload +verified \(size and checksum match\)\n/);
  });
});
