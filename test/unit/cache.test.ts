/**
 * Cache behaviour on the in-process adapters, with fault injection where a failure is the point.
 * The same behaviours run against the real services in test/integration/cache.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { ConfigError, KeyError } from "../../src/core/errors.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import type { MetadataStore } from "../../src/core/types.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosBlobs, ChaosStore, recordingLogger } from "../helpers/chaos.ts";

function setup(options: Parameters<typeof createCache>[0] = {}) {
  const store = new ChaosStore(memoryStore());
  const blobs = new ChaosBlobs(memoryBlobStore());
  const logger = recordingLogger();
  const cache = createCache({ store, blobs, logger, prefix: "t", ...options });
  return { cache, store, blobs, logger };
}

/** Every record the store holds under the prefix, parsed. */
async function recordOf(store: MetadataStore, hash: string) {
  const [text] = await store.run([{ type: "get", key: recordKey("t", hash) }]);
  return typeof text === "string" ? parseRecord(text) : null;
}

const rows = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ({ id: i, name: `customer-${i}`, amount: i * 1.25, day: new Date(86_400_000 * i) }),
  );

describe("wrap", () => {
  it("runs the function on a miss and serves the hit without running it", async () => {
    const { cache } = setup();
    const fn = vi.fn(async (sql: string, year: number) => ({ sql, year, total: year * 2 }));
    const report = cache.wrap(fn, { name: "report" });
    expect(await report("SELECT 1", 2024)).toEqual({ sql: "SELECT 1", year: 2024, total: 4048 });
    await cache.flush();
    expect(await report("SELECT 1", 2024)).toEqual({ sql: "SELECT 1", year: 2024, total: 4048 });
    expect(fn).toHaveBeenCalledTimes(1);
    const stats = cache.stats();
    expect(stats.hits).toEqual({ total: 1, memory: 0, inline: 1, blob: 0 });
    expect(stats.misses).toBe(1);
    expect(stats.hitRate).toBe(0.5);
    expect(stats.writes.ok).toBe(1);
    expect(stats.latency.hit.count).toBe(1);
  });

  it("works with no options at all (the embedded default)", async () => {
    const cache = createCache();
    let runs = 0;
    const square = cache.wrap((n: number) => (runs++, n * n), { name: "square" });
    expect(await square(12)).toBe(144);
    await cache.flush();
    expect(await square(12)).toBe(144);
    expect(runs).toBe(1);
  });

  it("wraps sync functions and keeps `this`", async () => {
    const { cache } = setup();
    const owner = {
      base: 10,
      add(n: number) {
        return this.base + n;
      },
    };
    const add = cache.wrap(owner.add, { name: "add" });
    expect(await add.call(owner, 5)).toBe(15);
  });

  it("propagates the function's error and caches nothing", async () => {
    const { cache, store } = setup();
    const fail = cache.wrap(async (_: number) => {
      throw new Error("db down");
    }, { name: "fail" });
    await expect(fail(1)).rejects.toThrow("db down");
    await cache.flush();
    const callsBefore = store.calls;
    await expect(fail(1)).rejects.toThrow("db down");
    await cache.flush();
    expect(store.calls).toBe(callsBefore + 2); // looked up again (nothing was stored), lease released
    expect(cache.stats().writes.ok).toBe(0);
  });

  it("keeps two functions with the same arguments apart", async () => {
    const { cache } = setup();
    const a = cache.wrap(async (n: number) => `a${n}`, { name: "a" });
    const b = cache.wrap(async (n: number) => `b${n}`, { name: "b" });
    expect(await a(1)).toBe("a1");
    expect(await b(1)).toBe("b1");
    await cache.flush();
    expect(await a(1)).toBe("a1");
    expect(await b(1)).toBe("b1");
    expect(cache.stats().hits.total).toBe(2);
  });

  it("treats object argument key order as irrelevant, and other differences as relevant", async () => {
    const { cache } = setup();
    const fn = vi.fn(async (q: Record<string, unknown>) => Object.keys(q).length);
    const w = cache.wrap(fn, { name: "w" });
    await w({ a: 1, b: 2 });
    await cache.flush();
    await w({ b: 2, a: 1 });
    expect(fn).toHaveBeenCalledTimes(1);
    await w({ a: 1, b: 3 });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("runs one execution for 50 concurrent misses of one key", async () => {
    const { cache, store } = setup();
    let runs = 0;
    const slow = cache.wrap(async (n: number) => {
      runs++;
      await new Promise((r) => setTimeout(r, 30));
      return { n, at: runs };
    }, { name: "slow" });
    const results = await Promise.all(Array.from({ length: 50 }, () => slow(7)));
    expect(runs).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(store.calls).toBe(1); // one lookup for all 50
    expect(cache.stats().coalesced).toBe(49);
  });

  it("normalizes whitespace in a leading query string when asked", async () => {
    const { cache } = setup();
    const fn = vi.fn(async (sql: string) => sql.length);
    const q = cache.wrap(fn, { name: "q", normalizeQuery: true });
    await q("SELECT *\n  FROM t");
    await cache.flush();
    await q("  SELECT * FROM t ");
    expect(fn).toHaveBeenCalledTimes(1);
    await q("SELECT * FROM t WHERE s = 'a  b'");
    await cache.flush();
    await q("SELECT * FROM t WHERE s = 'a b'");
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it("keys by the `key` option when given", async () => {
    const { cache } = setup();
    const fn = vi.fn(async (id: number, _log: { write(): void }) => id * 3);
    const w = cache.wrap(fn, { name: "k", key: (id) => id });
    await w(1, { write() {} });
    await cache.flush();
    expect(await w(1, { write() {} })).toBe(3);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("passes Uint8Array values through as bytes", async () => {
    const { cache, store } = setup();
    const bytes = cache.wrap(async (n: number) => new Uint8Array(n).map((_, i) => i % 251), { name: "bytes" });
    const first = await bytes(1000);
    await cache.flush();
    const second = await bytes(1000);
    expect(second).toBeInstanceOf(Uint8Array);
    expect(Array.from(second)).toEqual(Array.from(first));
    expect(cache.stats().hits.total).toBe(1);
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    expect((await recordOf(store, await keyHash("t", "default", { kind: "call", fn: "bytes", args: [1000] })))?.c).toBe(
      "bytes",
    );
  });
});

describe("values", () => {
  const rich = {
    when: new Date("2024-02-29T12:00:00Z"),
    map: new Map<unknown, unknown>([["a", 1], [2, { deep: [1n] }]]),
    set: new Set(["x", "y"]),
    big: 2n ** 70n,
    bytes: new Uint8Array([1, 2, 255]),
    floats: new Float64Array([1.5, -0.25]),
    nothing: undefined,
    list: [1, undefined, null],
  };

  for (const compression of ["zstd", "gzip", "none"] as const) {
    it(`round-trips Date, Map, Set, BigInt, typed arrays and undefined with cbor + ${compression}`, async () => {
      const { cache } = setup({ compression });
      await cache.set("rich", { ...rich, rows: rows(200) });
      const back = await cache.get<typeof rich & { rows: unknown }>("rich");
      expect(back).toEqual({ ...rich, rows: rows(200) });
      expect(back?.map).toBeInstanceOf(Map);
      expect(back?.set).toBeInstanceOf(Set);
      expect(typeof back?.big).toBe("bigint");
      expect(back?.floats).toBeInstanceOf(Float64Array);
      expect(back?.when).toBeInstanceOf(Date);
      expect(Object.hasOwn(back!, "nothing")).toBe(true);
    });

    it(`round-trips plain data with json + ${compression}`, async () => {
      const { cache } = setup({ codec: "json", compression });
      const value = { rows: rows(200).map((r) => ({ ...r, day: r.day.toISOString() })), ok: true, none: null };
      await cache.set("plain", value);
      expect(await cache.get("plain")).toEqual(value);
    });
  }

  it("does not compress tiny payloads, and records what it did", async () => {
    const { cache, store } = setup();
    const tiny = cache.wrap(async () => "x", { name: "tiny" });
    const big = cache.wrap(async () => "y".repeat(10_000), { name: "big" });
    await tiny();
    await big();
    await cache.flush();
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    const tinyRecord = await recordOf(store, await keyHash("t", "default", { kind: "call", fn: "tiny", args: [] }));
    const bigRecord = await recordOf(store, await keyHash("t", "default", { kind: "call", fn: "big", args: [] }));
    expect(tinyRecord?.z).toBe("none");
    expect(bigRecord?.z).toBe("zstd");
    expect(bigRecord!.s).toBeLessThan(bigRecord!.n / 10);
  });
});

describe("placement", () => {
  it("keeps small payloads inline and large ones in the blob store, blob written before record", async () => {
    const { cache, store, blobs } = setup({ maxInlineBytes: 1024 });
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    const { blobKey } = await import("../../src/core/record/key_layout.ts");
    // Random bytes do not compress: 4 KiB stays 4 KiB.
    const large = crypto.getRandomValues(new Uint8Array(4096));
    await cache.set("small", "hello");
    await cache.set("large", large);
    const smallRecord = await recordOf(store, await keyHash("t", "default", { kind: "key", key: "small" }));
    const largeHash = await keyHash("t", "default", { kind: "key", key: "large" });
    const largeRecord = await recordOf(store, largeHash);
    expect(smallRecord?.p).toBeTypeOf("string");
    expect(smallRecord?.b).toBeUndefined();
    expect(largeRecord?.p).toBeUndefined();
    expect(largeRecord?.b).toBe(blobKey("t", largeHash));
    expect(await blobs.inner.get(blobKey("t", largeHash))).toEqual(large);
    expect(await blobs.inner.get(blobKey("t", await keyHash("t", "default", { kind: "key", key: "small" }))))
      .toBeNull();
  });

  it("does not write the record when the blob upload fails", async () => {
    const { cache, store, blobs } = setup({ maxInlineBytes: 1024 });
    blobs.fault = "throw";
    expect(await cache.set("large", crypto.getRandomValues(new Uint8Array(4096)))).toBe(false);
    blobs.fault = "none";
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    expect(await recordOf(store, await keyHash("t", "default", { kind: "key", key: "large" }))).toBeNull();
  });

  it("serves a blob hit with one store call and one blob call, the blob GET issued with the record GET", async () => {
    const { cache, store, blobs } = setup({ maxInlineBytes: 1024 });
    const value = crypto.getRandomValues(new Uint8Array(8192));
    const w = cache.wrap(async () => value, { name: "large" });
    await w();
    await cache.flush();
    store.calls = 0;
    blobs.calls = 0;
    let blobStartedBeforeRecordAnswered = false;
    const originalRun = store.run.bind(store);
    store.run = async (ops, options) => {
      const result = await originalRun(ops, options);
      blobStartedBeforeRecordAnswered = blobs.calls === 1;
      return result;
    };
    expect(await w()).toEqual(value);
    expect(store.calls).toBe(1);
    expect(blobs.calls).toBe(1);
    expect(blobStartedBeforeRecordAnswered).toBe(true);
    expect(cache.stats().hits.blob).toBe(1);
  });

  it("serves an inline hit with one store call and no blob call", async () => {
    const { cache, store, blobs } = setup();
    const w = cache.wrap(async () => "small", { name: "small" });
    await w();
    await cache.flush();
    store.calls = 0;
    blobs.calls = 0;
    expect(await w()).toBe("small");
    expect([store.calls, blobs.calls]).toEqual([1, 0]);
  });
});

describe("speculative blob GETs", () => {
  it("cancels a GET its record turned out not to need (now inline), and counts it nowhere", async () => {
    const store = memoryStore();
    const blobs = new ChaosBlobs(memoryBlobStore());
    const options = { store, blobs, prefix: "t", maxInlineBytes: 1024, timeout: { blob: "50ms" } } as const;
    const reader = createCache({ ...options, logger: recordingLogger() });
    const writer = createCache({ ...options, logger: recordingLogger() });
    await reader.set("k", crypto.getRandomValues(new Uint8Array(4096))); // the reader now expects a blob
    await writer.set("k", "small now"); // another instance rewrites the entry inline
    blobs.fault = "hang";
    blobs.calls = 0;
    let aborted = false;
    const inner = blobs.get.bind(blobs);
    blobs.get = (key, callOptions) => {
      callOptions?.signal?.addEventListener("abort", () => (aborted = true));
      return inner(key, callOptions);
    };
    expect(await reader.get("k")).toBe("small now");
    expect(blobs.calls).toBe(1); // the GET left with the record read
    expect(aborted).toBe(false); // the caller has its answer first…
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(aborted).toBe(true); // …and the GET is cancelled in the next task
    await new Promise((resolve) => setTimeout(resolve, 100)); // past timeout.blob
    const stats = reader.stats();
    expect(stats.hits.inline).toBe(1);
    expect(stats.errors.total).toBe(0);
    expect(stats.errors.byCode).toEqual({});
  });
});

describe("integrity", () => {
  it("does not serve a tampered record, counts it, and recomputes", async () => {
    const { cache, store } = setup();
    let runs = 0;
    const w = cache.wrap(async () => ++runs, { name: "w" });
    await w();
    await cache.flush();
    store.fault = "corrupt";
    expect(await w()).toBe(2);
    expect(cache.stats().errors.integrity).toBe(1);
  });

  it("does not serve a record whose payload was swapped for another entry's", async () => {
    const { cache, store } = setup();
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    await cache.set("a", "value-a");
    await cache.set("b", "value-b");
    const ha = await keyHash("t", "default", { kind: "key", key: "a" });
    const hb = await keyHash("t", "default", { kind: "key", key: "b" });
    const [textB] = await store.inner.run([{ type: "get", key: recordKey("t", hb) }]);
    await store.inner.run([{ type: "set", key: recordKey("t", ha), value: textB as string, ttlMs: 60_000 }]);
    expect(await cache.get("a")).toBeUndefined(); // record says it belongs to b
    expect(cache.stats().errors.integrity).toBe(1);
    const forged = { ...JSON.parse(textB as string), k: ha };
    await store.inner.run([{ type: "set", key: recordKey("t", ha), value: JSON.stringify(forged), ttlMs: 60_000 }]);
    expect(await cache.get("a")).toBe("value-b"); // a forged key hash with a valid payload is out of scope…
    const forgedPayload = { ...forged, p: btoa("zzzz") };
    await store.inner.run([{
      type: "set",
      key: recordKey("t", ha),
      value: JSON.stringify(forgedPayload),
      ttlMs: 60_000,
    }]);
    expect(await cache.get("a")).toBeUndefined(); // …but a payload that does not match its checksum never is
  });

  it("does not serve a tampered blob", async () => {
    const { cache, blobs } = setup({ maxInlineBytes: 1024 });
    const value = crypto.getRandomValues(new Uint8Array(4096));
    await cache.set("large", value);
    blobs.fault = "corrupt";
    expect(await cache.get("large")).toBeUndefined();
    expect(cache.stats().errors.integrity).toBe(1);
    blobs.fault = "none";
    expect(await cache.get("large")).toEqual(value);
  });
});

describe("fail-open", () => {
  it("returns the function's result when the store throws, and logs once", async () => {
    const { cache, store, logger } = setup({ breaker: false });
    store.fault = "throw";
    const w = cache.wrap(async (n: number) => n + 1, { name: "w" });
    for (let i = 0; i < 5; i++) expect(await w(i)).toBe(i + 1);
    await cache.flush();
    const stats = cache.stats();
    expect(stats.misses).toBe(5);
    expect(stats.errors.store).toBe(5); // the reads; their values are not written (see below)
    expect(stats.writes).toMatchObject({ ok: 0, failed: 0, discarded: 5 });
    expect(logger.lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(logger.lines[0]?.message).toMatch(/store unavailable.*chaos-store get/);
  });

  it("gives up on a store that never answers after the timeout, even one that ignores its signal", async () => {
    for (const fault of ["hang", "deaf"] as const) {
      const { cache, store } = setup({ timeout: { store: 50 } });
      store.fault = fault;
      const w = cache.wrap(async () => "fresh", { name: "w" });
      const started = performance.now();
      expect(await w()).toBe("fresh");
      expect(performance.now() - started).toBeLessThan(5_000); // bounded; exact timing is for bench/
      expect(cache.stats().errors.byCode.E_TIMEOUT).toBe(1);
    }
  });

  it("bounds the whole lookup by timeout.total and goes on as a miss", async () => {
    const { cache, blobs } = setup({ maxInlineBytes: 1024, timeout: { store: "5s", blob: "5s", total: 80 } });
    const value = crypto.getRandomValues(new Uint8Array(4096));
    let runs = 0;
    const w = cache.wrap(async () => (runs++, value), { name: "w" });
    await w();
    await cache.flush();
    blobs.fault = "hang";
    blobs.calls = 0; // each call alone is within its own 5 s limit; the budget is not
    const started = performance.now();
    expect(await w()).toEqual(value);
    expect(runs).toBe(2);
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(cache.stats().budgetExceeded).toBe(1);
    expect(() => createCache({ timeout: { total: "soon" as never } })).toThrow(/timeout\.total/);
    expect(() => createCache({ timeout: { overall: 1 } as never })).toThrow(/unknown option "timeout\.overall"/);
    blobs.fault = "none";
  });

  it("a lookup that outlives timeout.total still brings the generations: the value is stored", async () => {
    const { cache, store } = setup({ timeout: { store: "5s", total: 30 } });
    let runs = 0;
    const w = cache.wrap(async () => ++runs, { name: "w" });
    const inner = store.run.bind(store);
    let delayMs = 150; // each store call within its own limit; the lookup beyond the budget
    store.run = async (ops, options) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return inner(ops, options);
    };
    expect(await w()).toBe(1);
    await cache.flush();
    expect(cache.stats()).toMatchObject({ budgetExceeded: 1, writes: { ok: 1, discarded: 0 } });
    delayMs = 0;
    expect(await w()).toBe(1);
    expect(cache.stats().hits.total).toBe(1);
  });

  it("a value whose lookup failed is returned but not stored: it may predate an invalidation", async () => {
    const { cache, store } = setup();
    let runs = 0;
    const w = cache.wrap(async () => ++runs, { name: "w" });
    store.fault = "throw";
    expect(await w()).toBe(1);
    store.fault = "none";
    await cache.flush();
    expect(cache.stats().writes).toMatchObject({ ok: 0, discarded: 1 });
    expect(await w()).toBe(2);
  });

  it("returns the function's result when the blob store fails on read or write", async () => {
    const { cache, blobs } = setup({ maxInlineBytes: 1024 });
    let runs = 0;
    const w = cache.wrap(async () => (runs++, crypto.getRandomValues(new Uint8Array(4096))), { name: "w" });
    blobs.fault = "throw";
    await w();
    await cache.flush();
    expect(cache.stats().writes.failed).toBe(1);
    blobs.fault = "none";
    await w();
    await cache.flush();
    blobs.fault = "throw";
    await w();
    expect(runs).toBe(3);
    expect(cache.stats().errors.blob).toBeGreaterThanOrEqual(2);
  });

  it("recovers when the store comes back, and logs that it did", async () => {
    const { cache, store, logger } = setup();
    const w = cache.wrap(async () => "v", { name: "w" });
    store.fault = "throw";
    await w();
    await cache.flush();
    store.fault = "none";
    await w();
    await cache.flush();
    expect(await w()).toBe("v");
    expect(cache.stats().hits.total).toBe(1);
    expect(logger.lines.map((l) => l.level)).toEqual(["warn", "info"]);
  });
});

describe("one failure, one count", () => {
  it("a payload the blob store refuses as too large: skipped, one blob error", async () => {
    const { cache } = setup({ blobs: memoryBlobStore({ maxBytes: 1000 }), maxInlineBytes: 100, compression: "none" });
    const big = cache.wrap(async () => rows(200), { name: "big" });
    await big();
    await cache.flush();
    const stats = cache.stats();
    expect(stats.writes).toMatchObject({ ok: 0, skipped: 1, failed: 0 });
    expect(stats.errors).toMatchObject({ total: 1, blob: 1, codec: 0, byCode: { E_TOO_LARGE: 1 } });
  });

  it("a record the store refuses as too large: skipped, one store error", async () => {
    const { cache } = setup({ store: memoryStore({ maxBytes: 4000 }), compression: "none" });
    const big = cache.wrap(async () => rows(200), { name: "big" });
    await big();
    await cache.flush();
    const stats = cache.stats();
    expect(stats.writes).toMatchObject({ ok: 0, skipped: 1, failed: 0 });
    expect(stats.errors).toMatchObject({ total: 1, store: 1, codec: 0, byCode: { E_TOO_LARGE: 1 } });
  });
});

describe("background writes", () => {
  it("registers each write with waitUntil and returns before the write lands", async () => {
    const tasks: Promise<unknown>[] = [];
    const { cache, store } = setup({ waitUntil: (p) => tasks.push(p) });
    const w = cache.wrap(async () => "v", { name: "w" });
    const callsBefore = store.calls;
    await w();
    expect(tasks).toHaveLength(1);
    expect(store.calls).toBe(callsBefore + 1); // only the lookup so far
    await Promise.all(tasks);
    expect(store.calls).toBe(callsBefore + 3); // the write, then the lease's release
    expect(cache.stats().writes.ok).toBe(1);
  });

  it("skips and counts writes beyond maxPendingWrites", async () => {
    const { cache } = setup({ maxPendingWrites: 2 });
    const w = cache.wrap(async (n: number) => n, { name: "w" });
    await Promise.all([w(1), w(2), w(3), w(4)]);
    expect(cache.stats().writes.pending).toBe(2);
    await cache.flush();
    const stats = cache.stats();
    expect(stats.writes).toEqual({ ok: 2, failed: 0, skipped: 2, discarded: 0, pending: 0 });
  });

  it("stores nothing for a non-serializable result, returns it, and says why", async () => {
    const { cache, store, logger } = setup();
    const result = { run: () => 1 };
    const w = cache.wrap(async () => result, { name: "fnResult" });
    expect(await w()).toBe(result);
    await cache.flush();
    const before = store.calls;
    expect(await w()).toBe(result);
    expect(store.calls).toBe(before + 1);
    expect(cache.stats().writes.skipped).toBe(1);
    expect(cache.stats().hits.total).toBe(0);
    expect(logger.lines.some((l) => /fnResult.*not cached.*function/i.test(l.message))).toBe(true);
  });

  it("stores nothing for a circular result", async () => {
    const { cache } = setup();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const w = cache.wrap(async () => cyclic, { name: "cyclic" });
    expect(await w()).toBe(cyclic);
    await cache.flush();
    expect(cache.stats().writes.skipped).toBe(1);
  });

  it("stores nothing for a value over maxValueBytes", async () => {
    const { cache, logger } = setup({ maxValueBytes: 1000 });
    const w = cache.wrap(async () => "x".repeat(5000), { name: "huge" });
    expect(await w()).toHaveLength(5000);
    await cache.flush();
    expect(cache.stats().writes.skipped).toBe(1);
    expect(logger.lines.some((l) => /huge.*maxValueBytes/.test(l.message))).toBe(true);
  });
});

describe("ttl", () => {
  it("expires entries after their TTL", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const store = memoryStore({ now: clock });
    const cache = createCache({ store, blobs: memoryBlobStore(), now: clock, ttl: "1h" });
    let runs = 0;
    const w = cache.wrap(async () => ++runs, { name: "w", ttl: "15m" });
    await w();
    await cache.flush();
    now += 14 * 60_000;
    expect(await w()).toBe(1);
    now += 2 * 60_000;
    expect(await w()).toBe(2);
  });
});

describe("ttl counts from the function's return", () => {
  it("is not lengthened by slow background encoding", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const cache = createCache({ store: memoryStore({ now: clock }), blobs: memoryBlobStore(), now: clock });
    const w = cache.wrap(async () => "v", { name: "w", ttl: 1_000 });
    await w(); // returned at t = 1_000_000; the write starts on a later macrotask
    now += 700; // encoding, compression and upload took 700 ms
    await cache.flush();
    now += 301; // 1001 ms after the function returned
    let runs = 0;
    const again = cache.wrap(async () => (runs++, "v2"), { name: "w", ttl: 1_000 });
    expect(await again()).toBe("v2");
    expect(runs).toBe(1);
  });
});

describe("get / set / has / delete", () => {
  it("stores, reads, checks and deletes by key, per namespace", async () => {
    const { cache } = setup();
    expect(await cache.get("k")).toBeUndefined();
    expect(await cache.has("k")).toBe(false);
    expect(await cache.set("k", { a: 1 }, { ttl: "1m" })).toBe(true);
    expect(await cache.set("k", { b: 2 }, { namespace: "other" })).toBe(true);
    expect(await cache.get("k")).toEqual({ a: 1 });
    expect(await cache.get("k", { namespace: "other" })).toEqual({ b: 2 });
    expect(await cache.has("k")).toBe(true);
    expect(await cache.delete("k")).toBe(true);
    expect(await cache.delete("k")).toBe(false);
    expect(await cache.get("k")).toBeUndefined();
    expect(await cache.get("k", { namespace: "other" })).toEqual({ b: 2 });
  });

  it("deletes the blob of a large entry too", async () => {
    const { cache, blobs } = setup({ maxInlineBytes: 1024 });
    const { keyHash } = await import("../../src/core/record/key_material.ts");
    const { blobKey } = await import("../../src/core/record/key_layout.ts");
    await cache.set("large", crypto.getRandomValues(new Uint8Array(4096)));
    const key = blobKey("t", await keyHash("t", "default", { kind: "key", key: "large" }));
    expect(await blobs.inner.get(key)).not.toBeNull();
    await cache.delete("large");
    expect(await blobs.inner.get(key)).toBeNull();
  });

  it("rejects values it cannot store with a clear error", async () => {
    const { cache } = setup();
    await expect(cache.set("k", { f: () => 1 })).rejects.toMatchObject({ code: "E_CODEC" });
    await expect(cache.set("k", Symbol("s"))).rejects.toMatchObject({ code: "E_CODEC" });
  });
});

describe("bad input", () => {
  it.each([
    [{ ttl: "soon" }, /ttl/],
    [{ ttl: -1 }, /ttl/],
    [{ prefix: "" }, /prefix/],
    [{ prefix: "has space" }, /prefix/],
    [{ namespace: "a/b" }, /namespace/],
    [{ codec: "msgpack" }, /codec must be one of "cbor", "json"/],
    [{ compression: "brotli" }, /compression/],
    [{ maxInlineBytes: 0 }, /maxInlineBytes/],
    [{ maxValueBytes: 1.5 }, /maxValueBytes/],
    [{ timeout: { store: "fast" } }, /timeout\.store/],
    [{ store: {} }, /store must be a MetadataStore/],
    [{ blobs: "s3" }, /blobs must be a BlobStore/],
    [{ waitUntil: true }, /waitUntil must be a function/],
    [{ logger: console.log }, /logger/],
    [{ TTL: "1h" }, /unknown option "TTL"/],
  ])("createCache(%j) throws a ConfigError", (options, message) => {
    expect(() => createCache(options as never)).toThrow(ConfigError);
    expect(() => createCache(options as never)).toThrow(message);
  });

  it("rejects anonymous functions without a name at wrap time", () => {
    const cache = createCache();
    expect(() => cache.wrap(async (n: number) => n)).toThrow(/anonymous functions need a `name`/);
    expect(() => cache.wrap(async (n: number) => n, { name: "" })).toThrow(ConfigError);
    expect(() => cache.wrap(async (n: number) => n, { name: "ok" })).not.toThrow();
  });

  it("rejects bad wrap options at wrap time", () => {
    const cache = createCache();
    async function f() {
      return 1;
    }
    expect(() => cache.wrap(f, { ttl: "1 hour" as never })).toThrow(/wrap\(f\): ttl/);
    expect(() => cache.wrap(f, { namespace: "" })).toThrow(/namespace/);
    expect(() => cache.wrap(f, { key: "id" as never })).toThrow(/key must be a function/);
    expect(() => cache.wrap(f, { tll: "1h" } as never)).toThrow(/unknown option "tll"/);
    expect(() => cache.wrap("f" as never)).toThrow(/expected a function/);
  });

  it("rejects a second, different function with the same inferred name", () => {
    const cache = createCache();
    const a = { load: async (n: number) => n };
    const b = { load: async (n: number) => n * 2 };
    cache.wrap(a.load);
    expect(() => cache.wrap(a.load)).not.toThrow();
    expect(() => cache.wrap(b.load)).toThrow(/another function named "load"/);
    expect(() => cache.wrap(b.load, { namespace: "other" })).not.toThrow();
  });

  it("rejects arguments that cannot be part of a key, with the path, without running the function", async () => {
    const { cache } = setup();
    const fn = vi.fn(async (_: unknown) => 1);
    const w = cache.wrap(fn, { name: "w" });
    await expect(w({ cb: () => 1 })).rejects.toThrow(KeyError);
    await expect(w({ cb: () => 1 })).rejects.toThrow(/args\[0\]\.cb is a function/);
    await expect(w(Symbol("s"))).rejects.toThrow(/symbol/);
    expect(fn).not.toHaveBeenCalled();
  });

  it("rejects keys that are not non-empty strings", async () => {
    const cache = createCache();
    await expect(cache.get("")).rejects.toThrow(ConfigError);
    await expect(cache.set(42 as never, 1)).rejects.toThrow(/key must be a non-empty string/);
  });
});
