/**
 * Invalidation and lifecycle against the real services (redis-server behind the Upstash bridge,
 * S3), plus the embedded default where the behaviour must be the same: tags and namespaces
 * invalidated in O(1) (commands counted at the bridge), expire vs mark-stale, values computed
 * across an invalidation never stored, LRU eviction per namespace (records and blobs), clear(),
 * and counters shared by every instance.
 */
import { describe, expect, it } from "vitest";
import { type Cache, createCache } from "../../mod.ts";
import { blobKey, lruKeys, recordKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { bridgeOnly, STORE_KIND } from "../helpers/stores.ts";
import { servicesCache } from "../helpers/cache.ts";
import { recordingLogger } from "../helpers/chaos.ts";
import {
  listObjects,
  rawRedisKeys,
  redisCommand,
  type RequestLogEntry,
  requestLogSnapshot,
  requireServices,
  scriptCommands,
  trafficOf,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();

/** A cache on the services under `prefix`. */
const onServices = (prefix: string, options: CacheOptions = {}): Cache =>
  servicesCache("", { ...options, prefix }).cache;

/** Bridge requests touching `prefix`, after the sequence number `after`. */
async function bridgeTraffic(prefix: string, after = 0): Promise<{ requests: RequestLogEntry[]; mark: number }> {
  const log = await requestLogSnapshot(services.upstash.url, services.upstash.token);
  return {
    requests: log.requests.filter((e) => e.seq > after && e.keys.some((k) => k.startsWith(`${prefix}:`))),
    mark: log.requests.at(-1)?.seq ?? 0,
  };
}

/** Runs `task` over `items` with at most `width` in flight. */
async function inParallel<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

/** Incompressible bytes, so stored sizes are known. */
const noise = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

describe("tags on the real services", () => {
  it("a tag invalidation makes 10,000 tagged entries miss with one Redis command", async () => {
    const prefix = uniquePrefix("tags10k");
    const cache = onServices(prefix);
    const keys = Array.from({ length: 10_000 }, (_, i) => `order-${i}`);
    await inParallel(keys, 64, async (key) => {
      expect(await cache.set(key, { key }, { tags: ["orders"] })).toBe(true);
    });
    await cache.set("untagged", "stays");
    expect(await cache.get("order-1234")).toEqual({ key: "order-1234" });

    const before = await bridgeTraffic(prefix);
    await cache.invalidateTag("orders");
    const { requests } = await bridgeTraffic(prefix, before.mark);
    // One request, one command, whatever the number of entries carrying the tag (counted at the
    // bridge; over TCP in redis_cluster.test.ts), and in the same request the message that tells
    // the other instances' tiers (a script appending it to the bus's log).
    if (STORE_KIND === "upstash") expect(requests.map(scriptCommands)).toEqual([["HSET", "EVAL"]]);

    let served = 0;
    await inParallel(keys, 64, async (key) => {
      if (await cache.get(key) !== undefined) served++;
    });
    expect(served).toBe(0);
    expect(await cache.get("untagged")).toBe("stays");
    // The same invalidation with ten entries costs the same: one command.
    const small = uniquePrefix("tags10");
    const few = onServices(small);
    for (let i = 0; i < 10; i++) await few.set(`k${i}`, i, { tags: ["orders"] });
    const mark = (await bridgeTraffic(small)).mark;
    await few.invalidateTag("orders");
    if (STORE_KIND === "upstash") {
      expect((await bridgeTraffic(small, mark)).requests.map(scriptCommands)).toEqual([["HSET", "EVAL"]]);
    }
    expect(await few.get("k1")).toBeUndefined();
  }, 120_000);

  bridgeOnly("a hit is still one store request, entry and its tags' generations read together", async () => {
    const prefix = uniquePrefix("tagshit");
    const cache = onServices(prefix);
    const report = cache.wrap(async (id: number) => ({ id }), { name: "report", tags: ["orders", "customers"] });
    await report(1);
    await cache.flush();
    const { mark } = await bridgeTraffic(prefix);
    expect(await report(1)).toEqual({ id: 1 });
    expect(cache.stats().hits.inline).toBe(1);
    expect((await bridgeTraffic(prefix, mark)).requests.map(scriptCommands)).toEqual([["EVAL"]]);
  });
});

for (const where of ["services", "embedded"] as const) {
  const make = (options: CacheOptions = {}): Cache =>
    where === "services"
      ? onServices(uniquePrefix(`inv-${where}`), options)
      : createCache({ prefix: "embedded", logger: recordingLogger(), ...options });

  describe(`invalidation (${where})`, () => {
    it("expire: every entry with the tag misses at once; others are untouched", async () => {
      const cache = make();
      let version = 1;
      const orders = cache.wrap(async (id: number) => ({ id, version }), { name: "orders", tags: ["orders"] });
      const other = cache.wrap(async (id: number) => ({ id, version }), { name: "other", tags: ["products"] });
      await Promise.all([orders(1), orders(2), other(1)]);
      await cache.flush();
      version = 2;
      expect(await orders(1)).toEqual({ id: 1, version: 1 });
      await cache.invalidateTag("orders");
      expect(await orders(1)).toEqual({ id: 1, version: 2 });
      expect(await orders(2)).toEqual({ id: 2, version: 2 });
      expect(await other(1)).toEqual({ id: 1, version: 1 });
    });

    it("tags computed from the arguments; invalidateTags takes several", async () => {
      const cache = make();
      let version = 1;
      const byCustomer = cache.wrap(async (customer: string) => ({ customer, version }), {
        name: "byCustomer",
        tags: (customer) => [`customer:${customer}`],
      });
      await Promise.all([byCustomer("a"), byCustomer("b"), byCustomer("c")]);
      await cache.flush();
      version = 2;
      await cache.invalidateTags(["customer:a", "customer:b"]);
      expect(await byCustomer("a")).toEqual({ customer: "a", version: 2 });
      expect(await byCustomer("b")).toEqual({ customer: "b", version: 2 });
      expect(await byCustomer("c")).toEqual({ customer: "c", version: 1 });
    });

    it("mark stale: the old value is served at once while one refresh runs, then the new one", async () => {
      const cache = make();
      let version = 1;
      let runs = 0;
      const report = cache.wrap(async () => {
        runs++;
        return { version };
      }, { name: "report", tags: ["orders"] });
      await report();
      await cache.flush();
      version = 2;
      await cache.invalidateTag("orders", { mode: "stale" });
      const served = await Promise.all([report(), report(), report()]);
      expect(served).toEqual([{ version: 1 }, { version: 1 }, { version: 1 }]);
      await cache.flush();
      expect(runs).toBe(2); // the first computation and exactly one refresh
      expect(cache.stats()).toMatchObject({ stale: 1, coalesced: 2 });
      expect(await report()).toEqual({ version: 2 });
      expect(runs).toBe(2);
      // get() has no function to refresh with: a stale entry is a miss there.
      await cache.set("k", "old", { tags: ["orders"] });
      await cache.invalidateTag("orders", { mode: "stale" });
      expect(await cache.get("k")).toBeUndefined();
    });

    it("mark stale does not stretch an entry past its TTL: an expired one follows the usual stale windows", async () => {
      let clock = Date.now();
      const cache = make({ now: () => clock, staleIfError: "10s" });
      let version = 1;
      const report = cache.wrap(async () => ({ version }), { name: "report", ttl: 1_000, tags: ["orders"] });
      await report();
      await cache.flush();
      version = 2;
      clock += 1_500; // past the TTL, still retained for stale-if-error
      await cache.invalidateTag("orders", { mode: "stale" });
      expect(await report()).toEqual({ version: 2 });
      expect(cache.stats().stale).toBe(0);
    });

    it("a value computed across an invalidation is not stored", async () => {
      const cache = make();
      let version = 1;
      const report = cache.wrap(async () => {
        const seen = version;
        // The data changes and is invalidated while this computation is under way.
        if (seen === 1) {
          version = 2;
          await cache.invalidateTag("orders");
        }
        return { version: seen };
      }, { name: "report", tags: ["orders"] });
      expect(await report()).toEqual({ version: 1 });
      await cache.flush();
      expect(cache.stats().writes).toMatchObject({ ok: 0, discarded: 1 });
      expect(await report()).toEqual({ version: 2 });
    });

    it("namespaces: invalidating one leaves the others untouched", async () => {
      const cache = make();
      await cache.set("k", "in reports", { namespace: "reports" });
      await cache.set("k", "in users", { namespace: "users" });
      await cache.set("k", "in default");
      await cache.invalidateNamespace("reports");
      expect(await cache.get("k", { namespace: "reports" })).toBeUndefined();
      expect(await cache.has("k", { namespace: "reports" })).toBe(false);
      expect(await cache.get("k", { namespace: "users" })).toBe("in users");
      expect(await cache.get("k")).toBe("in default");
      // New entries of the invalidated namespace are served again.
      await cache.set("k", "again", { namespace: "reports" });
      expect(await cache.get("k", { namespace: "reports" })).toBe("again");
    });

    it("set() with tags, get() and has() follow the record's own tags", async () => {
      const cache = make();
      await cache.set("a", 1, { tags: ["t1"] });
      await cache.set("b", 2, { tags: ["t2"] });
      expect(await cache.has("a")).toBe(true);
      await cache.invalidateTag("t1");
      expect(await cache.get("a")).toBeUndefined();
      expect(await cache.has("a")).toBe(false);
      expect(await cache.get("b")).toBe(2);
    });

    it("clear() invalidates and removes everything under the prefix", async () => {
      const cache = make();
      await cache.set("a", 1, { tags: ["t"] });
      await cache.set("b", 2, { namespace: "other" });
      const result = await cache.clear();
      expect(result.keys).toBeGreaterThanOrEqual(2);
      expect(await cache.get("a")).toBeUndefined();
      expect(await cache.get("b", { namespace: "other" })).toBeUndefined();
      await cache.set("a", 3);
      expect(await cache.get("a")).toBe(3);
    });

    it("clear({ blobs: true }) deletes the prefix's blobs too", async () => {
      const cache = make({ maxInlineBytes: 1024 });
      await cache.set("large", noise(4096));
      await cache.set("small", 1);
      expect(await cache.clear({ blobs: true })).toMatchObject({ blobs: 1 });
      expect(await cache.clear({ blobs: true })).toEqual({ keys: expect.any(Number), blobs: 0 });
      await expect(cache.clear({ blob: true } as never)).rejects.toThrow(/unknown option "blob"/);
    });

    it("rejects bad input with a clear error", async () => {
      const cache = make();
      await expect(cache.invalidateTag("has space")).rejects.toThrow(/tag is 1-128 printable ASCII/);
      await expect(cache.invalidateTag("")).rejects.toThrow(/tag/);
      await expect(cache.invalidateTags("orders" as never)).rejects.toThrow(/must be an array/);
      await expect(cache.invalidateNamespace("no/slash")).rejects.toThrow(/namespace/);
      await expect(cache.invalidateTag("x", { mode: "later" as never })).rejects.toThrow(/mode/);
      await expect(cache.set("k", 1, { tags: ['a"b'] })).rejects.toThrow(/quotes/);
      expect(() => cache.wrap(async () => 1, { name: "w", tags: [1 as never] })).toThrow(/tag/);
      expect(() => createCache({ limits: { reports: {} } })).toThrow(/maxEntries, maxBytes or both/);
      expect(() => createCache({ limits: { reports: { maxEntries: -1 } } })).toThrow(/maxEntries/);
      expect(() => createCache({ limits: { reports: { maxRows: 1 } as never } })).toThrow(/unknown option/);
    });
  });
}

describe("invalidation fails loudly", () => {
  it("rejects when the store is down: an invalidation is never silently lost", async () => {
    const cache = createCache({
      store: upstashStore({ url: "http://127.0.0.1:9", token: "dead" }),
      logger: recordingLogger(),
      timeout: { store: "2s" },
    });
    await expect(cache.invalidateTag("orders")).rejects.toMatchObject({ code: "E_STORE" });
    await expect(cache.clear()).rejects.toMatchObject({ code: "E_STORE" });
  });
});

describe("eviction per namespace (real services)", () => {
  it("keeps maxEntries, least recently used first, removing records and S3 objects", async () => {
    const prefix = uniquePrefix("evict-count");
    const cache = onServices(prefix, { maxInlineBytes: 1024, limits: { reports: { maxEntries: 3 } } });
    const hashes: string[] = [];
    for (const key of ["a", "b", "c"]) {
      await cache.set(key, noise(4096), { namespace: "reports" });
      hashes.push(await keyHash(prefix, "reports", { kind: "key", key }));
    }
    await cache.set("elsewhere", noise(4096)); // another namespace: no limit
    expect(await cache.get("a", { namespace: "reports" })).toBeInstanceOf(Uint8Array); // a is now the most recent
    await cache.set("d", noise(4096), { namespace: "reports" }); // evicts b
    await cache.set("e", noise(4096), { namespace: "reports" }); // evicts c

    expect(await cache.get("b", { namespace: "reports" })).toBeUndefined();
    expect(await cache.get("c", { namespace: "reports" })).toBeUndefined();
    for (const key of ["a", "d", "e"]) expect(await cache.get(key, { namespace: "reports" })).toBeDefined();
    expect(await cache.get("elsewhere")).toBeDefined();
    expect(await rawRedisKeys(recordKey(prefix, "*"))).toHaveLength(4);
    const objects = await listObjects(`${prefix}/`);
    expect(objects).toHaveLength(4);
    expect(objects).not.toContain(blobKey(prefix, hashes[1]!));
    expect(objects).not.toContain(blobKey(prefix, hashes[2]!));
    expect(cache.stats().evictedBlobs).toBe(2);
  });

  it("keeps maxBytes of stored payload, and a delete frees its share", async () => {
    const prefix = uniquePrefix("evict-bytes");
    const cache = onServices(prefix, {
      maxInlineBytes: 1024,
      compression: "none",
      limits: { big: { maxBytes: 25_000 } },
    });
    for (const key of ["a", "b"]) await cache.set(key, noise(10_000), { namespace: "big" });
    await cache.delete("a", { namespace: "big" });
    await cache.set("c", noise(10_000), { namespace: "big" }); // 20 KB: within the limit
    expect(await listObjects(`${prefix}/`)).toHaveLength(2);
    await cache.set("d", noise(10_000), { namespace: "big" }); // 30 KB: evicts b
    expect(await cache.get("b", { namespace: "big" })).toBeUndefined();
    expect(await cache.get("c", { namespace: "big" })).toBeDefined();
    expect(await listObjects(`${prefix}/`)).toHaveLength(2);
    const sizes = await rawRedisKeys(lruKeys(prefix, "*").sizes);
    expect(sizes).toEqual([lruKeys(prefix, "big").sizes]);
  });

  it("refuses a value over the namespace's maxBytes up front: nothing uploaded, nothing evicted", async () => {
    const { cache, prefix, logger } = servicesCache("evict-too-big", {
      maxInlineBytes: 1024,
      compression: "none",
      limits: { big: { maxBytes: 25_000 } },
    });
    const ns = { namespace: "big" } as const;
    for (const key of ["a", "b"]) expect(await cache.set(key, noise(10_000), ns)).toBe(true);
    const { mark } = await trafficOf(prefix);

    const refused = cache.set("huge", noise(30_000), ns);
    await expect(refused).rejects.toMatchObject({ code: "E_TOO_LARGE" });
    await expect(refused).rejects.toThrow(
      /^stored payload is 300\d\d bytes, over limits\.big\.maxBytes \(25000\): namespace "big" cannot hold it \(key [0-9a-f]{12}\)$/,
    );

    // From wrap: the caller gets its value; the write is skipped, counted and logged once.
    const value = noise(30_000);
    const wrapped = cache.wrap(async (_n: number) => value, { name: "huge", namespace: "big" });
    expect(await wrapped(1)).toBe(value);
    expect(await wrapped(2)).toBe(value);
    await cache.flush();
    const stats = cache.stats();
    expect(stats.writes).toMatchObject({ ok: 2, skipped: 2, failed: 0 });
    expect(stats.evictedBlobs).toBe(0);
    expect(logger.lines.filter((l) => /maxBytes/.test(l.message))).toHaveLength(1);

    // The namespace is as it was: both entries, and no PUT for the refused values.
    for (const key of ["a", "b"]) expect(await cache.get(key, ns), key).toBeInstanceOf(Uint8Array);
    const { s3 } = await trafficOf(prefix, mark);
    expect(s3.filter((r) => r.method === "PUT")).toStrictEqual([]);
    expect(await listObjects(`${prefix}/`)).toHaveLength(2);
    expect(await cache.has("huge", ns)).toBe(false);
  });

  it("expired entries do not count against maxEntries: no live entry is evicted for them", async () => {
    const prefix = uniquePrefix("evict-expired");
    let now = Date.now();
    const cache = onServices(prefix, { maxInlineBytes: 1024, now: () => now, limits: { reports: { maxEntries: 3 } } });
    const ns = { namespace: "reports" } as const;
    await cache.set("a", noise(4096), ns);
    await cache.set("b", noise(4096), { ...ns, ttl: "1s" });
    await cache.set("c", noise(4096), ns);
    now += 2_000; // b has expired; three live entries are within the bound of 3
    await cache.set("d", noise(4096), ns);
    for (const key of ["a", "c", "d"]) expect(await cache.get(key, ns), key).toBeInstanceOf(Uint8Array);
    expect(cache.stats().evictedBlobs).toBe(0);
    const live = await Promise.all(
      ["a", "c", "d"].map(async (k) => blobKey(prefix, await keyHash(prefix, "reports", { kind: "key", key: k }))),
    );
    const objects = await listObjects(`${prefix}/`);
    for (const key of live) expect(objects).toContain(key);
  });

  it("expired entries' bytes do not count against maxBytes", async () => {
    const prefix = uniquePrefix("evict-expired-bytes");
    let now = Date.now();
    const cache = onServices(prefix, {
      maxInlineBytes: 1024,
      compression: "none",
      now: () => now,
      limits: { big: { maxBytes: 25_000 } },
    });
    const ns = { namespace: "big" } as const;
    await cache.set("a", noise(10_000), ns);
    await cache.set("b", noise(10_000), { ...ns, ttl: "1s" });
    now += 2_000;
    await cache.set("c", noise(10_000), ns); // 20 KB live: within the bound
    expect(await cache.get("a", ns)).toBeInstanceOf(Uint8Array);
    expect(await cache.get("c", ns)).toBeInstanceOf(Uint8Array);
    expect(cache.stats().evictedBlobs).toBe(0);
    const total = await redisCommand(["HGET", lruKeys(prefix, "big").sizes, "#"]);
    expect(Number(total)).toBeLessThan(25_000);
    expect(Number(total)).toBeGreaterThanOrEqual(20_000);
  });

  it("clear() removes the eviction bookkeeping too", async () => {
    const prefix = uniquePrefix("evict-clear");
    const cache = onServices(prefix, { limits: { reports: { maxEntries: 3 } } });
    await cache.set("a", "v", { namespace: "reports" });
    expect((await rawRedisKeys(`${prefix}:lr*`)).sort()).toStrictEqual(
      Object.values(lruKeys(prefix, "reports")).sort(),
    );
    await cache.clear();
    expect(await rawRedisKeys(`${prefix}:lr*`)).toStrictEqual([]);
  });
});

describe("counters shared by every instance", () => {
  it("adds up what each instance counted, through the store", async () => {
    const prefix = uniquePrefix("global");
    let clock = 1_000_000;
    const options: CacheOptions = { globalStats: { interval: "1s" }, now: () => clock };
    const a = onServices(prefix, options);
    const b = onServices(prefix, options);
    const w = (cache: Cache) => cache.wrap(async (n: number) => n * 2, { name: "double" });
    await w(a)(1); // miss
    await a.flush();
    await w(b)(1); // hit
    await w(b)(2); // miss
    await b.flush();
    // Nothing reported yet (interval not elapsed); now it is, and flush() reports.
    expect(await a.globalStats()).toEqual({});
    clock += 1_000;
    await a.flush();
    await b.flush();
    expect(await a.globalStats()).toMatchObject({ misses: 2, "hits.inline": 1, "writes.ok": 2 });
    // Nothing is counted twice: with nothing new, the next reports add nothing.
    clock += 1_000;
    await a.flush();
    await b.flush();
    expect(await b.globalStats()).toMatchObject({ misses: 2, "hits.inline": 1, "writes.ok": 2 });
  });

  it("includes function timeouts and recaches: every counter stats() has, added up", async () => {
    const prefix = uniquePrefix("global-all");
    let clock = 1_000_000;
    const options: CacheOptions = { globalStats: { interval: "1s" }, now: () => clock };
    const caches = [onServices(prefix, options), onServices(prefix, options)];
    for (const [i, cache] of caches.entries()) {
      const slow = cache.wrap(async (n: number) => {
        await new Promise((resolve) => setTimeout(resolve, 60));
        return n;
      }, { name: "slow", timeout: 10 });
      await expect(slow(i)).rejects.toMatchObject({ code: "E_TIMEOUT" });
      const user = cache.wrap(async (id: number) => ({ id }), { name: "user", tags: (id) => [`user:${id}`] });
      await user(i);
      const save = cache.invalidating(async (_id: number) => {}, {
        tags: ["user:{0}"],
        recache: { calls: [[user, (id) => [id]]], await: true },
      });
      await save(i);
      await cache.flush();
    }
    clock += 1_000;
    for (const cache of caches) await cache.flush();
    const shared = await caches[0]!.globalStats();
    const sum = (pick: (cache: Cache) => number): number => caches.reduce((total, c) => total + pick(c), 0);
    expect(sum((c) => c.stats().functionTimeouts)).toBe(2);
    expect(sum((c) => c.stats().recaches.ok)).toBe(2);
    expect(shared).toMatchObject({
      functionTimeouts: 2,
      "recaches.ok": 2,
      "writes.ok": sum((c) => c.stats().writes.ok),
      misses: sum((c) => c.stats().misses),
    });
    // What no instance counted is absent, as before: only increments are sent.
    expect(shared["recaches.failed"]).toBeUndefined();
  });
});
