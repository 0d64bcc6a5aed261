/**
 * Arrow tables as cached values (`larder/arrow`) against the real services: a `Table` stored as
 * an Arrow IPC stream under the codec name `arrow` (checked in the raw Redis record and the raw
 * S3 object), read back by another cache as a `Table` with its schema and column types intact,
 * inline and through S3; values that are not tables untouched; a reader without the codec a miss
 * counted in `errors.codec` whose log line names the fix.
 */
import { Field, Float64, List, Table, tableFromIPC, TimestampMillisecond, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { arrowCodec } from "../../src/codec/arrow.ts";
import { zstdCompressor } from "../../src/codec/zstd.ts";
import { embeddedZstdWasm } from "../../src/codec/_zstd_embedded.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { blobKey, recordKey } from "../../src/core/record/key_layout.ts";
import { fromBase64 } from "../../src/core/util/bytes.ts";
import { servicesCache } from "../helpers/cache.ts";
import { getObject, listObjects, rawRedisGet, rawRedisKeys, requireServices } from "../helpers/services.ts";

requireServices();

/** A table of `n` rows with types CBOR rows would lose: Int64, a dictionary, timestamps, lists. */
function table(n: number): Table {
  return new Table({
    id: vectorFromArray(Int32Array.from({ length: n }, (_, i) => i)),
    big: vectorFromArray(BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 10n ** 14n + 1n)),
    region: vectorFromArray(Array.from({ length: n }, (_, i) => ["emea", "apac", "amer"][i % 3]!)),
    at: vectorFromArray(
      Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * 60_000),
      new TimestampMillisecond(),
    ),
    scores: vectorFromArray(
      Array.from({ length: n }, (_, i) => [i / 4, i / 2]),
      new List(new Field("item", new Float64(), true)),
    ),
  });
}

/** The schema as text: field names, types (dictionary and timestamp unit included) and nullability. */
const schemaOf = (t: Table): string[] => t.schema.fields.map((f) => `${f.name}: ${String(f.type)} ${f.nullable}`);

/** Every row as plain data (lists as arrays), for comparison by value. */
const rowsOf = (t: Table): unknown[] =>
  t.toArray().map((row: { toJSON(): Record<string, unknown> }) => {
    const json = row.toJSON();
    return Object.fromEntries(
      Object.entries(json).map((
        [k, v],
      ) => [k, v instanceof Object && "toArray" in v ? [...(v as unknown as Iterable<unknown>)] : v]),
    );
  });

describe("Arrow tables (larder/arrow)", () => {
  it("round-trips a table inline and through S3, read by another cache with its schema and types intact", async () => {
    const options = { codecs: [arrowCodec()], maxInlineBytes: 16 * 1024 };
    const writer = servicesCache("arrow", options);
    const { prefix } = writer;
    const reader = servicesCache("arrow", { ...options, prefix });
    const small = table(20);
    const large = table(20_000);
    let runs = 0;
    const define = (cache: typeof writer.cache) =>
      cache.wrap(async (n: number) => {
        runs++;
        return n === 20 ? small : large;
      }, { name: "daily" });

    const fresh = await define(writer.cache)(20_000);
    expect(fresh).toBe(large);
    await define(writer.cache)(20);
    await writer.cache.flush();

    // What is stored: the codec named in both records, an Arrow IPC stream (zstd-compressed) inline
    // and in the bucket.
    const records = await Promise.all(
      (await rawRedisKeys(recordKey(prefix, "*"))).map(async (key) => parseRecord((await rawRedisGet(key))!)),
    );
    expect(records.map((r) => [r.c, r.z, r.p === undefined ? "blob" : "inline"]).sort()).toEqual([
      ["arrow", "zstd", "blob"],
      ["arrow", "zstd", "inline"],
    ]);
    const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
    const blobRecord = records.find((r) => r.b !== undefined)!;
    expect(await listObjects(`${prefix}/`)).toEqual([blobKey(prefix, blobRecord.k)]);
    const object = (await getObject(blobRecord.b!))!;
    const storedTable = tableFromIPC(await zstd.decompress(object, blobRecord.n));
    expect(storedTable.numRows).toBe(20_000);
    const inlineRecord = records.find((r) => r.p !== undefined)!;
    expect(tableFromIPC(await zstd.decompress(fromBase64(inlineRecord.p!), inlineRecord.n)).numRows).toBe(20);

    const read = define(reader.cache);
    // Both read before either is checked: a table must not view memory the next read reuses.
    const hits = [await read(20), await read(20_000)];
    for (const [i, [n, original]] of ([[20, small], [20_000, large]] as const).entries()) {
      const hit = hits[i]!;
      expect(hit).toBeInstanceOf(Table);
      expect(hit).not.toBe(original);
      expect(hit.numRows).toBe(n);
      expect(schemaOf(hit)).toEqual(schemaOf(original));
      expect(schemaOf(hit)).toEqual([
        "id: Int32 false",
        "big: Int64 false",
        "region: Dictionary<Int32, Utf8> true",
        "at: Timestamp<MILLISECOND> true",
        "scores: List<Float64> true",
      ]);
      expect(hit.getChild("big")!.get(n - 1)).toBe(BigInt(n - 1) * 10n ** 14n + 1n);
      expect(rowsOf(hit)).toEqual(rowsOf(original));
    }
    expect(runs).toBe(2);
    expect(reader.cache.stats().hits).toEqual({ total: 2, memory: 0, inline: 1, blob: 1 });
    expect(reader.cache.stats().errors.total).toBe(0);
  });

  it("leaves values that are not tables to the cache's codec", async () => {
    const { cache, prefix } = servicesCache("arrow", { codecs: [arrowCodec()] });
    const value = { rows: [{ id: 1, at: new Date(0) }], ids: new Int32Array([1, 2]) };
    const plain = cache.wrap(async () => value, { name: "plain" });
    await plain();
    await cache.flush();
    const [key] = await rawRedisKeys(recordKey(prefix, "*"));
    expect(parseRecord((await rawRedisGet(key!))!).c).toBe("cbor");
    expect(await plain()).toEqual(value);
    expect(cache.stats().hits.inline).toBe(1);
  });

  it("a reader without the codec: a miss counted in errors.codec, logged with the fix, and the function runs", async () => {
    const writer = servicesCache("arrow", { codecs: [arrowCodec()] });
    const reader = servicesCache("arrow", { prefix: writer.prefix });
    const runs: string[] = [];
    const define = (cache: typeof writer.cache, who: string) =>
      cache.wrap(async () => {
        runs.push(who);
        return who === "writer" ? table(10) : { rows: 10 };
      }, { name: "t" });
    await define(writer.cache, "writer")();
    await writer.cache.flush();
    expect(await define(reader.cache, "reader")()).toEqual({ rows: 10 });
    expect(runs).toEqual(["writer", "reader"]);
    const stats = reader.cache.stats();
    expect(stats.misses).toBe(1);
    expect(stats.errors.codec).toBe(1);
    expect(stats.errors.byCode).toEqual({ E_CODEC: 1 });
    const logged = reader.logger.lines.filter((l) => l.message.includes('"arrow"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain("createCache({ codecs })");
    expect(logged[0]!.message).toContain('arrowCodec() from "larder/arrow"');
  });

  it("with the in-process tier (shared mode), every memory hit is a Table of its own", async () => {
    const { cache } = servicesCache("arrow", { codecs: [arrowCodec()], memory: { shared: true } });
    const t = cache.wrap(async () => table(100), { name: "tiered" });
    await t();
    await cache.flush();
    const first = await t();
    const second = await t();
    expect(cache.stats().hits).toMatchObject({ memory: 2, inline: 0 });
    for (const hit of [first, second]) {
      expect(hit).toBeInstanceOf(Table);
      expect(rowsOf(hit)).toEqual(rowsOf(table(100)));
    }
    // A table cannot be frozen (its columns are typed arrays): the tier decodes one per hit.
    expect(first).not.toBe(second);
    expect(Object.isFrozen(first)).toBe(false);
  });
});
