/**
 * The cache against the real local services: redis-server behind the Upstash bridge, and S3.
 * Where bytes are is checked in Redis and in the bucket; round trips are counted at the bridge
 * and the S3 proxy, never inferred from the client side.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { blobKey, recordKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { bridgeOnly, describeBridgeOnly, STORE_KIND, testStore } from "../helpers/stores.ts";
import {
  addFaults,
  getObject,
  listObjects,
  putObject,
  rawRedisGet,
  rawRedisKeys,
  rawRedisPttl,
  redisCommand,
  removeFaults,
  requireServices,
  scriptCommands,
  trafficOf,
  uniquePrefix,
} from "../helpers/services.ts";
import { servicesCache } from "../helpers/cache.ts";
import { recordingLogger } from "../helpers/chaos.ts";

const services = requireServices();

const setup = (options: CacheOptions = {}) => servicesCache("cache", options);

/** Requests for `prefix` at the bridge and at the S3 proxy, after sequence numbers noted by `mark`. */
const traffic = trafficOf;

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: i,
    name: `customer-${i}`,
    amount: Math.round(i * 137.5) / 100,
    day: new Date(Date.UTC(2024, i % 12, 1 + (i % 28))),
  }));

/** Random bytes: incompressible, so their stored size is known. */
const noise = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
  return out;
};

describe("miss → hit on the real services", () => {
  for (const codec of ["cbor", "json"] as const) {
    for (const compression of ["zstd", "gzip", "none"] as const) {
      it(`${codec} + ${compression}, inline and blob`, async () => {
        const { cache, prefix } = setup({ codec, compression, maxInlineBytes: 4096 });
        let runs = 0;
        const report = cache.wrap(async (n: number) => {
          runs++;
          return rows(n).map((r) => ({ ...r, day: r.day.toISOString() }));
        }, { name: "report" });
        const small = await report(2);
        const large = await report(3000);
        await cache.flush();
        expect(await report(2)).toEqual(small);
        expect(await report(3000)).toEqual(large);
        expect(runs).toBe(2);
        expect(cache.stats().hits).toEqual({ total: 2, memory: 0, inline: 1, blob: 1 });
        const records = await rawRedisKeys(recordKey(prefix, "*"));
        expect(records).toHaveLength(2);
        for (const key of records) expect(parseRecord((await rawRedisGet(key))!).c).toBe(codec);
        expect(await listObjects(`${prefix}/`)).toHaveLength(1);
      });
    }
  }

  it("round-trips Date, Map, Set, BigInt, typed arrays and undefined", async () => {
    const { cache } = setup();
    const value = {
      when: new Date("2024-02-29T12:00:00.123Z"),
      byRegion: new Map<unknown, unknown>([["emea", 1n], [7, new Set([1, 2])]]),
      huge: -(2n ** 80n),
      ints: new Int32Array([-1, 2, 3]),
      bytes: new Uint8Array([0, 255]),
      missing: undefined,
    };
    const w = cache.wrap(async () => value, { name: "rich" });
    await w();
    await cache.flush();
    const hit = await w();
    expect(cache.stats().hits.total).toBe(1);
    expect(hit).toEqual(value);
    expect(hit.byRegion).toBeInstanceOf(Map);
    expect(hit.byRegion.get(7)).toBeInstanceOf(Set);
    expect(hit.ints).toBeInstanceOf(Int32Array);
    expect(Object.hasOwn(hit, "missing")).toBe(true);
  });

  it("keeps two functions with the same arguments in two entries", async () => {
    const { cache, prefix } = setup();
    const a = cache.wrap(async (x: number) => ({ from: "a", x }), { name: "a" });
    const b = cache.wrap(async (x: number) => ({ from: "b", x }), { name: "b" });
    await Promise.all([a(1), b(1)]);
    await cache.flush();
    expect(await rawRedisKeys(recordKey(prefix, "*"))).toHaveLength(2);
    expect(await a(1)).toEqual({ from: "a", x: 1 });
    expect(await b(1)).toEqual({ from: "b", x: 1 });
  });

  it("runs one execution for 50 concurrent misses", async () => {
    const { cache, prefix } = setup();
    let runs = 0;
    const slow = cache.wrap(async (id: number) => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return { id, computedBy: runs };
    }, { name: "slow" });
    const results = await Promise.all(Array.from({ length: 50 }, () => slow(42)));
    expect(runs).toBe(1);
    expect(results.every((r) => r === results[0])).toBe(true);
    await cache.flush();
    const { store } = await traffic(prefix);
    // The lookup (record, else lease: one script), the record's write (one script), then the
    // lease's release (one script, on the lease key).
    // (Counted at the Upstash bridge; over TCP in redis_store.test.ts.)
    if (STORE_KIND === "upstash") {
      expect(store.map((e) => scriptCommands(e).join(","))).toEqual(["EVAL", "EVAL", "EVAL"]);
      expect(store.map((e) => e.keys[0]!.split(":")[1])).toEqual(["e", "e", "l"]);
    }
  });
});

describe("placement", () => {
  it("puts a small payload in the Redis record and a large one in the bucket, with the TTL set by the SET itself", async () => {
    const { cache, prefix } = setup({ maxInlineBytes: 16 * 1024 });
    await cache.set("small", noise(1000), { ttl: "10m" });
    await cache.set("large", noise(100_000), { ttl: "10m" });
    const small = await keyHash(prefix, "default", { kind: "key", key: "small" });
    const large = await keyHash(prefix, "default", { kind: "key", key: "large" });

    const smallRecord = parseRecord((await rawRedisGet(recordKey(prefix, small)))!);
    expect(smallRecord.p).toBeTypeOf("string");
    expect(smallRecord.s).toBe(1000);
    const largeRecord = parseRecord((await rawRedisGet(recordKey(prefix, large)))!);
    expect(largeRecord.p).toBeUndefined();
    expect(largeRecord.b).toBe(blobKey(prefix, large));
    expect((await getObject(blobKey(prefix, large)))?.length).toBe(100_000);
    expect(await listObjects(`${prefix}/`)).toEqual([blobKey(prefix, large)]);

    for (const hash of [small, large]) {
      const pttl = await rawRedisPttl(recordKey(prefix, hash));
      expect(pttl).toBeGreaterThan(9 * 60_000);
      expect(pttl).toBeLessThanOrEqual(10 * 60_000);
    }
    const { store, s3 } = await traffic(prefix);
    // One write script per record, whose SET carries its expiry (checked above): no EXPIRE ever.
    const put = s3.find((e) => e.method === "PUT")!;
    expect(put.endMs).not.toBeNull();
    // Store requests are timed at the Upstash bridge (the same ordering holds over TCP: it is the core's).
    if (STORE_KIND === "upstash") {
      expect(store.map((e) => scriptCommands(e).join(","))).toEqual(["EVAL", "EVAL"]);
      // The blob PUT arrived before the record that points to it.
      expect(put.endMs!).toBeLessThanOrEqual(store[1]!.startMs);
    }
  });

  it("expires entries with their TTL", async () => {
    const { cache, prefix } = setup();
    let runs = 0;
    const w = cache.wrap(async () => ++runs, { name: "w", ttl: 400 });
    await w();
    await cache.flush();
    expect(await w()).toBe(1);
    const key = (await rawRedisKeys(recordKey(prefix, "*")))[0]!;
    const deadline = Date.now() + 5_000;
    while ((await rawRedisGet(key)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await rawRedisGet(key)).toBeNull();
    expect(await w()).toBe(2);
  });
});

// Counted at the Upstash bridge; the TCP stores' round trips: redis_store and redis_cluster tests.
describeBridgeOnly("round trips, counted at the servers", () => {
  it("inline hit: 1 store request, 0 S3 requests; miss: 1 store request before fn runs", async () => {
    const { cache, prefix } = setup();
    let seenByFn: { store: number; s3: number } | undefined;
    const w = cache.wrap(async (n: number) => {
      const { store, s3 } = await traffic(prefix);
      seenByFn = { store: store.length, s3: s3.length };
      return { n };
    }, { name: "w" });
    await w(1);
    expect(seenByFn).toEqual({ store: 1, s3: 0 });
    await cache.flush();
    const { mark } = await traffic(prefix);
    expect(await w(1)).toEqual({ n: 1 });
    const hit = await traffic(prefix, mark);
    expect(hit.store).toHaveLength(1);
    expect(scriptCommands(hit.store[0]!)).toEqual(["EVAL"]); // the record, else the lease: one script
    expect(hit.s3).toHaveLength(0);
  });

  it("blob hit: 1 store request and 1 S3 GET, the GET issued while the store request is in flight", async () => {
    const { cache, prefix } = setup({ maxInlineBytes: 1024 });
    const w = cache.wrap(async () => noise(200_000), { name: "large" });
    const value = await w();
    await cache.flush();
    // Slow the store down for this prefix, so "concurrent" is visible at the servers:
    // the S3 GET must arrive before the store request has been answered.
    await addFaults(services.upstash.url, [{ match: prefix, latencyMs: 150 }], services.upstash.token);
    try {
      const { mark } = await traffic(prefix);
      expect(await w()).toEqual(value);
      const hit = await traffic(prefix, mark);
      expect(hit.store).toHaveLength(1);
      expect(hit.s3).toHaveLength(1);
      expect(hit.s3[0]!.method).toBe("GET");
      expect(hit.s3[0]!.startMs).toBeLessThan(hit.store[0]!.endMs!);

      // A fresh process has no placement hint: the same read costs two round trips in a row.
      // (This is what the assertion above would catch if the GETs were sequential.)
      const fresh = createCache({ store: upstashStore(services.upstash), blobs: s3BlobStore(services.s3), prefix });
      const coldWrap = fresh.wrap(async () => noise(1), { name: "large" });
      const before = await traffic(prefix);
      expect(await coldWrap()).toEqual(value);
      const cold = await traffic(prefix, before.mark);
      expect(cold.s3[0]!.startMs).toBeGreaterThanOrEqual(cold.store[0]!.endMs!);
    } finally {
      await removeFaults(services.upstash.url, prefix, services.upstash.token);
    }
  });
});

describe("integrity on the real services", () => {
  it("does not serve a tampered record", async () => {
    const { cache, prefix } = setup();
    let runs = 0;
    const w = cache.wrap(async () => ({ run: ++runs }), { name: "w" });
    await w();
    await cache.flush();
    const key = (await rawRedisKeys(recordKey(prefix, "*")))[0]!;
    const record = JSON.parse((await rawRedisGet(key))!);
    // Same length, one payload byte changed: only the checksum can tell.
    const bytes = Uint8Array.from(atob(record.p), (c) => c.charCodeAt(0));
    bytes[bytes.length - 1]! ^= 1;
    record.p = btoa(String.fromCharCode(...bytes));
    await redisCommand(["SET", key, JSON.stringify(record), "PX", 60_000]);
    expect(await w()).toEqual({ run: 2 });
    expect(cache.stats().errors.integrity).toBe(1);
  });

  it("does not serve a tampered blob", async () => {
    const { cache, prefix } = setup({ maxInlineBytes: 1024 });
    let runs = 0;
    const w = cache.wrap(async () => (runs++, noise(50_000)), { name: "w" });
    const first = await w();
    await cache.flush();
    const [object] = await listObjects(`${prefix}/`);
    const tampered = first.slice();
    tampered[25_000]! ^= 0xff;
    await putObject(object!, tampered);
    const second = await w();
    expect(runs).toBe(2);
    expect(second).not.toEqual(tampered);
    expect(cache.stats().errors.integrity).toBe(1);
  });
});

describe("fail-open on the real services", () => {
  it("returns the function's result when the store is down", async () => {
    const { logger } = setup();
    const cache = createCache({
      store: upstashStore({ url: "http://127.0.0.1:1", token: "x" }),
      blobs: s3BlobStore(services.s3),
      prefix: uniquePrefix(),
      logger,
    });
    const w = cache.wrap(async (n: number) => n * 2, { name: "w" });
    expect(await w(21)).toBe(42);
    expect(await w(21)).toBe(42);
    await cache.flush();
    expect(cache.stats().errors.store).toBe(2); // the lookups; their values are not written
    expect(cache.stats().writes).toMatchObject({ failed: 0, discarded: 2 });
    expect(logger.lines.filter((l) => l.level === "warn")).toHaveLength(1);
  });

  bridgeOnly("returns the function's result when the store is slow, after the store timeout", async () => {
    const { cache, prefix } = setup({ timeout: { store: 100 } });
    await addFaults(services.upstash.url, [{ match: prefix, latencyMs: 3_000 }], services.upstash.token);
    try {
      const w = cache.wrap(async () => "fresh", { name: "w" });
      expect(await w()).toBe("fresh");
      expect(cache.stats().errors.byCode.E_TIMEOUT).toBe(1);
    } finally {
      await removeFaults(services.upstash.url, prefix, services.upstash.token);
    }
  });

  it("returns the function's result when S3 is down, and still caches small entries", async () => {
    const prefix = uniquePrefix();
    const cache = createCache({
      store: testStore(),
      blobs: s3BlobStore({ ...services.s3, endpoint: "http://127.0.0.1:1" }),
      prefix,
      maxInlineBytes: 1024,
      logger: recordingLogger(),
    });
    let runs = 0;
    const large = cache.wrap(async () => (runs++, noise(10_000)), { name: "large" });
    const small = cache.wrap(async () => (runs++, "small"), { name: "small" });
    await large();
    await small();
    await cache.flush();
    await large();
    expect(await small()).toBe("small");
    await cache.flush();
    expect(runs).toBe(3);
    expect(cache.stats().writes.failed).toBe(2); // both misses of the large entry tried to upload
    expect(cache.stats().errors.blob).toBeGreaterThanOrEqual(1);
    expect(await rawRedisKeys(recordKey(prefix, "*"))).toHaveLength(1); // no record points to a missing blob
  });
});
