/**
 * The conformance suite of the metadata store role ({@link MetadataStore}): every adapter runs it,
 * against the real backend, so each one meets the same contract, which is Redis's: `SET … PX`
 * (`NX` when `ifAbsent`), `GET`, `DEL`, `EXISTS`, batches in order, expired keys absent.
 *
 * @example
 * ```ts
 * import { describeStoreConformance } from "./store.ts";
 * describeStoreConformance("memory", () => memoryStore());
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MetadataStore, StoreOp, StoreResult, WriteOp, WriteResult } from "../../src/core/types.ts";
import { abortedSignal, expectAbortSettles, type ManualClock, pollUntil, randomPrefix } from "./_shared.ts";

export { type ManualClock, manualClock } from "./_shared.ts";

/** What `additionalTests` get: the suite's store and a per-test key namer. */
export interface StoreTestContext {
  /** The store the suite created (valid inside tests, not at collection time). */
  readonly store: () => MetadataStore;
  /** `name` under this test's random prefix. */
  readonly key: (name: string) => string;
}

/** Options of {@link describeStoreConformance}. */
export interface StoreConformanceOptions {
  /** Adapter-specific tests, registered inside the suite's `describe`. */
  additionalTests?: (context: StoreTestContext) => void;
  /**
   * The clock the store was given: TTL tests then move it instead of sleeping. Without it they
   * use real time (TTLs of 150–200 ms, polled).
   */
  clock?: ManualClock;
  /** Called once after the suite (close connections…). */
  teardown?: (store: MetadataStore) => Promise<void> | void;
}

/** Registers the store contract tests for the adapter `factory` builds (once per suite). */
export function describeStoreConformance(
  name: string,
  factory: () => Promise<MetadataStore> | MetadataStore,
  options: StoreConformanceOptions = {},
): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;
    let prefix = "";
    const key = (n: string): string => `${prefix}:${n}`;
    const run = (ops: StoreOp[]): Promise<StoreResult[]> => store.run(ops);
    const clock = options.clock;

    beforeAll(async () => {
      store = await factory();
    });
    afterAll(async () => {
      if (store !== undefined) await options.teardown?.(store);
    });
    beforeEach(() => {
      prefix = randomPrefix(`conf-${name}`);
    });

    it("has a name", () => {
      expect(typeof store.name).toBe("string");
      expect(store.name.length).toBeGreaterThan(0);
    });

    it("answers an empty batch with no results", async () => {
      expect(await run([])).toEqual([]);
    });

    describe("get / set", () => {
      it("returns null for a missing key", async () => {
        expect(await run([{ type: "get", key: key("missing") }])).toStrictEqual([null]);
      });

      it("sets (true) and gets the value back", async () => {
        expect(await run([{ type: "set", key: key("k"), value: "v1", ttlMs: 60_000 }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: key("k") }])).toStrictEqual(["v1"]);
      });

      it("overwrites an existing value (true)", async () => {
        await run([{ type: "set", key: key("k"), value: "old", ttlMs: 60_000 }]);
        expect(await run([{ type: "set", key: key("k"), value: "new", ttlMs: 60_000 }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: key("k") }])).toStrictEqual(["new"]);
      });

      it.each([
        ["empty", ""],
        ["number-like", "123"],
        ["float-like", "1.50"],
        ["null-like", "null"],
        ["boolean-like", "true"],
        ["JSON object", '{"a":1,"b":[true,null]}'],
        ["JSON string", '"quoted"'],
        ["whitespace", "  \t\n\r\n  "],
        ["unicode", "héllo 日本語 🎉 e\u0301"],
        ["NUL and controls", "a\u0000b\u0001c\u001f"],
        ["base64", "AAECAwQFBgcICQ==+/"],
        ["Redis syntax", "*3\r\n$3\r\nSET\r\n"],
      ])("keeps a %s value exactly, as a string", async (_label, value) => {
        await run([{ type: "set", key: key("v"), value, ttlMs: 60_000 }]);
        const [got] = await run([{ type: "get", key: key("v") }]);
        expect(typeof got).toBe("string");
        expect(got).toBe(value);
      });

      it("keeps a 1 MiB value", async () => {
        const value = "0123456789abcdef".repeat(65_536);
        await run([{ type: "set", key: key("big"), value, ttlMs: 60_000 }]);
        const [got] = await run([{ type: "get", key: key("big") }]);
        expect(got === value, "1 MiB value round-trips").toBe(true);
      });

      it.each([
        ["spaces", "a key with spaces"],
        ["plus and percent", "a+b%2Bc%"],
        ["unicode", "ключ/日本/🎉"],
        ["glob characters", "*?[a-z]\\"],
        ["separators", "a:b/c|d#e&f=g?h"],
        ["newline", "line1\nline2"],
        ["long", "k".repeat(1_000)],
      ])("accepts keys with %s, each its own entry", async (_label, suffix) => {
        const odd = key(suffix);
        await run([
          { type: "set", key: odd, value: "odd", ttlMs: 60_000 },
          { type: "set", key: key("plain"), value: "plain", ttlMs: 60_000 },
        ]);
        expect(await run([{ type: "get", key: odd }, { type: "exists", key: odd }])).toStrictEqual(["odd", true]);
        expect(await run([{ type: "del", key: odd }, { type: "get", key: key("plain") }])).toStrictEqual([1, "plain"]);
      });
    });

    describe("set with ifAbsent (NX)", () => {
      it("writes when absent (true), refuses when present (false) and keeps the old value", async () => {
        const k = key("lease");
        expect(await run([{ type: "set", key: k, value: "a", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([true]);
        expect(await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([false]);
        expect(await run([{ type: "get", key: k }])).toStrictEqual(["a"]);
      });

      it("writes again once the key is deleted", async () => {
        const k = key("lease");
        await run([{ type: "set", key: k, value: "a", ttlMs: 60_000, ifAbsent: true }]);
        expect(
          await run([
            { type: "del", key: k },
            { type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true },
            { type: "get", key: k },
          ]),
        ).toStrictEqual([1, true, "b"]);
      });

      it("treats ifAbsent: false as a plain set", async () => {
        const k = key("k");
        await run([{ type: "set", key: k, value: "a", ttlMs: 60_000 }]);
        expect(await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: false }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: k }])).toStrictEqual(["b"]);
      });

      it("lets exactly one of many concurrent writers win", async () => {
        const k = key("race");
        const results = await Promise.all(
          Array.from(
            { length: 20 },
            (_, i) => run([{ type: "set", key: k, value: `w${i}`, ttlMs: 60_000, ifAbsent: true }]),
          ),
        );
        const winners = results.flat().filter((r) => r === true);
        expect(winners).toHaveLength(1);
        const winner = results.findIndex((r) => r[0] === true);
        expect(await run([{ type: "get", key: k }])).toStrictEqual([`w${winner}`]);
      });
    });

    describe("del / exists", () => {
      it("del answers 1 for a removed key and 0 for a missing one", async () => {
        const k = key("k");
        await run([{ type: "set", key: k, value: "v", ttlMs: 60_000 }]);
        expect(await run([{ type: "del", key: k }])).toStrictEqual([1]);
        expect(await run([{ type: "del", key: k }, { type: "get", key: k }])).toStrictEqual([0, null]);
      });

      it("exists answers booleans", async () => {
        const k = key("k");
        expect(await run([{ type: "exists", key: k }])).toStrictEqual([false]);
        await run([{ type: "set", key: k, value: "", ttlMs: 60_000 }]);
        expect(await run([{ type: "exists", key: k }])).toStrictEqual([true]);
      });
    });

    describe("batches", () => {
      it("applies ops in order and answers one typed result per op", async () => {
        const a = key("a");
        const b = key("b");
        const results = await run([
          { type: "get", key: a },
          { type: "set", key: a, value: "1", ttlMs: 60_000 },
          { type: "get", key: a },
          { type: "set", key: a, value: "2", ttlMs: 60_000, ifAbsent: true },
          { type: "set", key: b, value: "x", ttlMs: 60_000, ifAbsent: true },
          { type: "set", key: a, value: "3", ttlMs: 60_000 },
          { type: "exists", key: a },
          { type: "get", key: a },
          { type: "del", key: a },
          { type: "del", key: a },
          { type: "exists", key: a },
          { type: "get", key: a },
          { type: "get", key: b },
        ]);
        expect(results).toStrictEqual([null, true, "1", false, true, true, true, "3", 1, 0, false, null, "x"]);
      });

      it("keeps the order of 200 ops", async () => {
        const ops: StoreOp[] = [];
        for (let i = 0; i < 100; i++) ops.push({ type: "set", key: key(`k${i}`), value: `v${i}`, ttlMs: 60_000 });
        for (let i = 99; i >= 0; i--) ops.push({ type: "get", key: key(`k${i}`) });
        const results = await run(ops);
        expect(results.slice(0, 100).every((r) => r === true)).toBe(true);
        expect(results.slice(100)).toStrictEqual(Array.from({ length: 100 }, (_, i) => `v${99 - i}`));
      });

      it("rejects a batch with a ttlMs that is not a positive integer", async () => {
        for (const ttlMs of [0, -5, 1.5]) {
          await expect(run([{ type: "set", key: key("bad"), value: "v", ttlMs }]), `ttlMs ${ttlMs}`).rejects
            .toThrow();
        }
      });
    });

    describe("leases", () => {
      const read = (k: string, l: string, token: string, ttlMs = 60_000): StoreOp => ({
        type: "read",
        key: k,
        gens: [],
        token: "g1",
        lease: { key: l, token, ttlMs },
      });

      it("read returns the record when it exists, and takes no lease then", async () => {
        const [k, l] = [key("v"), key("lease")];
        await run([{ type: "set", key: k, value: "record", ttlMs: 60_000 }]);
        expect(await run([read(k, l, "a")])).toStrictEqual([
          { value: "record", invalidated: false, lease: "none", gens: {} },
        ]);
        expect(await run([{ type: "exists", key: l }])).toStrictEqual([false]);
      });

      it("read acquires the lease when the record is absent, then answers held to any other caller", async () => {
        const [k, l] = [key("v"), key("lease")];
        const lease = async (ops: StoreOp[]): Promise<unknown[]> =>
          (await run(ops)).map((r) => typeof r === "object" && r !== null && "lease" in r ? r.lease : r);
        expect(await lease([read(k, l, "a")])).toStrictEqual(["acquired"]);
        expect(await lease([read(k, l, "b"), read(k, l, "a"), { type: "get", key: l }])).toStrictEqual([
          "held",
          "held",
          "a",
        ]);
      });

      it("lets exactly one of many concurrent readers take the lease", async () => {
        const [k, l] = [key("v"), key("lease")];
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run([read(k, l, `t${i}`)])));
        expect(results.flat().filter((r) => (r as { lease?: string }).lease === "acquired")).toHaveLength(1);
      });

      it("renews and releases only for the owner", async () => {
        const [k, l] = [key("v"), key("lease")];
        await run([read(k, l, "owner")]);
        expect(
          await run([
            { type: "renewLease", key: l, token: "intruder", ttlMs: 60_000 },
            { type: "releaseLease", key: l, token: "intruder" },
            { type: "renewLease", key: l, token: "owner", ttlMs: 60_000 },
            { type: "get", key: l },
            { type: "releaseLease", key: l, token: "owner" },
            { type: "releaseLease", key: l, token: "owner" },
            { type: "renewLease", key: l, token: "owner", ttlMs: 60_000 },
            { type: "exists", key: l },
          ]),
        ).toStrictEqual([false, false, true, "owner", true, false, false, false]);
      });

      it("hands the lease over once it expires", async () => {
        const [k, l] = [key("v"), key("lease")];
        expect((await run([read(k, l, "dead", 100)]))[0]).toMatchObject({ lease: "acquired" });
        if (clock) clock.advance(101);
        else await new Promise((r) => setTimeout(r, 250));
        expect((await run([read(k, l, "next")]))[0]).toMatchObject({ lease: "acquired" });
        expect(await run([{ type: "get", key: l }])).toStrictEqual(["next"]);
      });
    });

    describe("generations", () => {
      const write = (k: string, gens: WriteOp["gens"], record = '{"v":1}'): WriteOp => ({
        type: "write",
        key: k,
        record,
        ttlMs: 60_000,
        gens,
        token: "fresh",
      });
      const read = (k: string, gens: string[] = []): StoreOp => ({ type: "read", key: k, gens, token: "fresh" });

      it("creates missing generations with the given token and reports them even without a record", async () => {
        const [k, g] = [key("r"), key("gen")];
        expect(await run([read(k, [g])])).toStrictEqual([
          { value: null, invalidated: false, lease: "none", gens: { [g]: { x: "fresh", s: "fresh" } } },
        ]);
        expect(await run([{ type: "hgetall", key: g }])).toStrictEqual([{ x: "fresh", s: "fresh" }]);
      });

      it("stamps a written record with the current generations in front, and reads them back", async () => {
        const [k, a, b] = [key("r"), key("a"), key("b")];
        await run([{ type: "setGeneration", key: b, field: "x", token: "bx" }]);
        expect(await run([write(k, [{ key: a }, { key: b }])])).toStrictEqual([{ written: true, evicted: [] }]);
        const [got] = await run([read(k)]);
        const stored = `{"g":[["${a}","fresh","fresh"],["${b}","bx","fresh"]],"v":1}`;
        expect(got).toStrictEqual({
          value: stored,
          invalidated: false,
          lease: "none",
          gens: { [a]: { x: "fresh", s: "fresh" }, [b]: { x: "bx", s: "fresh" } },
        });
      });

      it("refuses a write computed under an expire token that has since changed", async () => {
        const [k, g] = [key("r"), key("gen")];
        await run([{ type: "setGeneration", key: g, field: "x", token: "new" }]);
        expect(await run([write(k, [{ key: g, x: "old", s: "fresh" }])])).toStrictEqual([
          { written: false, evicted: [] },
        ]);
        expect(await run([{ type: "exists", key: k }])).toStrictEqual([false]);
        // A changed stale token is written as given: the record reads as stale.
        await run([{ type: "setGeneration", key: g, field: "s", token: "s2" }]);
        expect(await run([write(k, [{ key: g, x: "new", s: "s1" }])])).toStrictEqual([{ written: true, evicted: [] }]);
      });

      it("reports a record whose expire token changed as invalidated, and takes the lease for it", async () => {
        const [k, g, l] = [key("r"), key("gen"), key("lease")];
        await run([write(k, [{ key: g }])]);
        await run([{ type: "setGeneration", key: g, field: "s", token: "s2" }]);
        const [stale] = await run([read(k)]);
        expect(stale).toMatchObject({ invalidated: false, gens: { [g]: { x: "fresh", s: "s2" } } });
        expect((stale as { value: string }).value).toContain('"fresh","fresh"');
        await run([{ type: "setGeneration", key: g, field: "x", token: "x2" }]);
        expect(
          await run([{ type: "read", key: k, gens: [], token: "t", lease: { key: l, token: "me", ttlMs: 60_000 } }]),
        ).toStrictEqual([{ value: null, invalidated: true, lease: "acquired", gens: { [g]: { x: "x2", s: "s2" } } }]);
      });

      it("never revives an invalidated record when its generation disappears", async () => {
        const [k, g] = [key("r"), key("gen")];
        await run([write(k, [{ key: g }])]);
        await run([{ type: "del", key: g }]);
        expect(await run([{ type: "read", key: k, gens: [], token: "other" }])).toMatchObject([
          { value: null, invalidated: true },
        ]);
      });
    });

    describe("eviction bookkeeping", () => {
      type Limits = { maxEntries: number; maxBytes: number };
      // A namespace's bookkeeping keys share a hash tag (one cluster slot), as lruKeys() makes them.
      const lruKey = (): string => key("lru:{ns}");
      const sizesKey = (): string => key("sizes:{ns}");
      const ref = (member: string) => ({ key: lruKey(), sizes: sizesKey(), expiries: key("exp:{ns}"), member });
      const lru = (member: string, bytes: number, score: number, limits: Limits = { maxEntries: 2, maxBytes: 0 }) => ({
        ...ref(member),
        bytes,
        score,
        recordPrefix: key("rec:"),
        ...limits,
      });
      const writeOp = (member: string, bytes: number, score: number, limits?: Limits, ttlMs = 60_000): WriteOp => ({
        type: "write",
        key: key(`rec:${member}`),
        record: member.startsWith("blob") ? `{"b":"x/${member}"}` : `{"p":"AA=="}`,
        ttlMs,
        gens: [],
        token: "t",
        lru: lru(member, bytes, score, limits),
      });
      const write = (member: string, bytes: number, score: number, limits?: Limits, ttlMs?: number) =>
        run([writeOp(member, bytes, score, limits, ttlMs)]);
      const exists = (member: string): Promise<StoreResult[]> => run([{ type: "exists", key: key(`rec:${member}`) }]);
      const sizes = async (): Promise<StoreResult | undefined> =>
        (await run([{ type: "hgetall", key: sizesKey() }]))[0];

      it("evicts the least recently used entries past maxEntries, reporting those with blobs", async () => {
        expect(await write("blob-a", 10, 1)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await write("inline-b", 10, 2)).toStrictEqual([{ written: true, evicted: [] }]);
        // A hit on blob-a makes inline-b the least recently used.
        await run([{
          type: "read",
          key: key("rec:blob-a"),
          gens: [],
          token: "t",
          touch: { ...ref("blob-a"), score: 3 },
        }]);
        expect(await write("blob-c", 10, 4)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await exists("inline-b")).toStrictEqual([false]);
        expect(await write("blob-d", 10, 5)).toStrictEqual([{ written: true, evicted: ["blob-a"] }]);
        expect(await run([{ type: "hgetall", key: sizesKey() }])).toStrictEqual([
          { "#": "20", "blob-c": "10", "blob-d": "10" },
        ]);
      });

      it("evicts past maxBytes, and forgets a deleted entry's size", async () => {
        const limits = { maxEntries: 0, maxBytes: 100 };
        await write("blob-a", 60, 1, limits);
        await write("blob-b", 30, 2, limits);
        expect(await write("blob-c", 30, 3, limits)).toStrictEqual([{ written: true, evicted: ["blob-a"] }]);
        expect(
          await run([{
            type: "del",
            key: key("rec:blob-b"),
            lru: ref("blob-b"),
          }]),
        ).toStrictEqual([1]);
        expect(await run([{ type: "hgetall", key: sizesKey() }])).toStrictEqual([{ "#": "30", "blob-c": "30" }]);
      });

      // Expiry is decided by the writer's clock (`score` is its "now"; a member expires at
      // score + ttlMs), never the server's: instances and tests with a moved clock agree.
      it("does not count an expired member against maxEntries, nor report it as evicted", async () => {
        const limits = { maxEntries: 3, maxBytes: 0 };
        await write("blob-a", 10, 1_000, limits);
        await write("blob-b", 10, 1_001, limits, 100); // expires at 1_101
        await write("blob-c", 10, 1_002, limits);
        // Three live members and d: nothing to evict; b's bookkeeping is dropped.
        expect(await write("blob-d", 10, 2_000, limits)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await exists("blob-a")).toStrictEqual([true]);
        expect(await sizes()).toStrictEqual({ "#": "30", "blob-a": "10", "blob-c": "10", "blob-d": "10" });
        // b is gone from the eviction order too: the next eviction takes a, and b is never reported
        // (its blob is not the evictor's to delete: the record expired on its own).
        expect(await write("blob-e", 10, 2_001, limits)).toStrictEqual([{ written: true, evicted: ["blob-a"] }]);
        expect(await write("blob-f", 10, 2_002, limits)).toStrictEqual([{ written: true, evicted: ["blob-c"] }]);
        expect(await sizes()).toStrictEqual({ "#": "30", "blob-d": "10", "blob-e": "10", "blob-f": "10" });
      });

      it("releases an expired member's bytes before deciding what to evict past maxBytes", async () => {
        const limits = { maxEntries: 0, maxBytes: 100 };
        await write("blob-a", 40, 1_000, limits);
        await write("blob-b", 40, 1_001, limits, 100);
        expect(await write("blob-c", 40, 2_000, limits)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await exists("blob-a")).toStrictEqual([true]);
        expect(await sizes()).toStrictEqual({ "#": "80", "blob-a": "40", "blob-c": "40" });
      });

      it("counts a member rewritten after it expired once, with its new size", async () => {
        const limits = { maxEntries: 2, maxBytes: 100 };
        await write("blob-a", 40, 1_000, limits, 100);
        expect(await write("blob-a", 50, 2_000, limits)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await write("blob-b", 50, 2_001, limits)).toStrictEqual([{ written: true, evicted: [] }]);
        expect(await sizes()).toStrictEqual({ "#": "100", "blob-a": "50", "blob-b": "50" });
        expect(await exists("blob-a")).toStrictEqual([true]);
      });

      it("drops at most 100 expired members per write, earliest expiry first", async () => {
        const limits = { maxEntries: 0, maxBytes: 1_000_000 };
        // 150 members expiring at 1_010 + i (written in one batch, latest expiry first).
        const ops = Array.from(
          { length: 150 },
          (_, i) => writeOp(`m${String(149 - i).padStart(3, "0")}`, 1, 1_000, limits, 159 - i),
        );
        await run(ops);
        await write("inline-x", 1, 5_000, limits);
        const left = await sizes() as Record<string, string>;
        expect(left["#"]).toBe("51");
        expect(Object.keys(left).filter((m) => m.startsWith("m")).sort()).toStrictEqual(
          Array.from({ length: 50 }, (_, i) => `m${100 + i}`),
        );
        await write("inline-y", 1, 5_001, limits);
        expect(await sizes()).toStrictEqual({ "#": "2", "inline-x": "1", "inline-y": "1" });
      });

      it("keeps the expiry order consistent: a delete forgets the member everywhere", async () => {
        await write("blob-a", 10, 1_000);
        expect(await run([{ type: "exists", key: lruKey() }, { type: "exists", key: key("exp:{ns}") }]))
          .toStrictEqual([true, true]);
        expect(await run([{ type: "del", key: key("rec:blob-a"), lru: ref("blob-a") }])).toStrictEqual([1]);
        expect(await run([{ type: "exists", key: lruKey() }, { type: "exists", key: key("exp:{ns}") }]))
          .toStrictEqual([false, false]);
        expect(await sizes()).toStrictEqual({ "#": "0" });
      });

      it("never evicts the member it is writing, even when the writer's clock is behind", async () => {
        const limits = { maxEntries: 2, maxBytes: 0 };
        await write("blob-a", 10, 5_000, limits);
        await write("blob-b", 10, 5_001, limits);
        // c's score is the lowest (its writer's clock lags): a, the oldest other member, goes.
        expect(await write("blob-c", 10, 4_000, limits)).toStrictEqual([{ written: true, evicted: ["blob-a"] }]);
        expect(await exists("blob-c")).toStrictEqual([true]);
        expect(await sizes()).toStrictEqual({ "#": "20", "blob-b": "10", "blob-c": "10" });
      });

      it("never evicts the member it is writing when it alone is over maxBytes", async () => {
        const limits = { maxEntries: 0, maxBytes: 100 };
        await write("blob-a", 40, 1_000, limits);
        const [result] = await write("blob-big", 150, 2_000, limits);
        expect((result as WriteResult).evicted).not.toContain("blob-big");
        expect(await exists("blob-big")).toStrictEqual([true]);
        expect((await sizes() as Record<string, string>)["blob-big"]).toBe("150");
      });
    });

    describe("counters and scans", () => {
      it("adds to hash fields and reads the hash back", async () => {
        const h = key("stats");
        expect(
          await run([
            { type: "hincr", key: h, field: "hits", by: 3 },
            { type: "hincr", key: h, field: "hits", by: 2 },
            { type: "hincr", key: h, field: "misses", by: 1 },
            { type: "hgetall", key: h },
            { type: "hgetall", key: key("none") },
          ]),
        ).toStrictEqual([3, 5, 1, { hits: "5", misses: "1" }, {}]);
      });

      it("scans every key matching a pattern, and deletes several keys in one op", async () => {
        const names = Array.from({ length: 30 }, (_, i) => key(`scan:${i}`));
        await run(names.map((k): StoreOp => ({ type: "set", key: k, value: "v", ttlMs: 60_000 })));
        await run([{ type: "hincr", key: key("scan:hash"), field: "f", by: 1 }]);
        const found = new Set<string>();
        let cursor = "0";
        do {
          const [step] = await run([{ type: "scan", cursor, match: key("scan:*"), count: 10 }]);
          const { cursor: next, keys } = step as { cursor: string; keys: string[] };
          keys.forEach((k) => found.add(k));
          cursor = next;
        } while (cursor !== "0");
        expect([...found].sort()).toStrictEqual([...names, key("scan:hash")].sort());
        const [first, ...more] = [...found];
        expect(await run([{ type: "del", key: first!, more }])).toStrictEqual([31]);
      });
    });

    describe("expiry", () => {
      if (clock) {
        it("keeps a key until its TTL passes, then behaves as absent", async () => {
          const k = key("ttl");
          await run([{ type: "set", key: k, value: "v", ttlMs: 1_000 }]);
          clock.advance(999);
          expect(await run([{ type: "get", key: k }, { type: "exists", key: k }])).toStrictEqual(["v", true]);
          clock.advance(2);
          expect(await run([{ type: "get", key: k }, { type: "exists", key: k }, { type: "del", key: k }]))
            .toStrictEqual([null, false, 0]);
        });

        it("lets NX write over an expired key", async () => {
          const k = key("lease");
          await run([{ type: "set", key: k, value: "a", ttlMs: 100, ifAbsent: true }]);
          clock.advance(101);
          expect(await run([{ type: "set", key: k, value: "b", ttlMs: 100, ifAbsent: true }, { type: "get", key: k }]))
            .toStrictEqual([true, "b"]);
        });

        it("resets the TTL on a plain set, and a refused NX does not extend it", async () => {
          const k = key("k");
          await run([{ type: "set", key: k, value: "a", ttlMs: 100 }]);
          clock.advance(60);
          await run([{ type: "set", key: k, value: "b", ttlMs: 100 }]);
          clock.advance(60);
          expect(await run([{ type: "get", key: k }])).toStrictEqual(["b"]);
          expect(await run([{ type: "set", key: k, value: "c", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([
            false,
          ]);
          clock.advance(41);
          expect(await run([{ type: "get", key: k }])).toStrictEqual([null]);
        });
      } else {
        const expiresWithin = async (k: string, ttlMs: number, since: number): Promise<void> => {
          await pollUntil(async () => (await run([{ type: "exists", key: k }]))[0] === false, {
            timeoutMs: ttlMs + 5_000,
            everyMs: 20,
          });
          // Gone, but not before its TTL (a little slack for clock granularity).
          expect(performance.now() - since).toBeGreaterThanOrEqual(ttlMs - 15);
        };

        it("keeps a key until its TTL passes, then behaves as absent", async () => {
          const k = key("ttl");
          const since = performance.now();
          expect(await run([{ type: "set", key: k, value: "v", ttlMs: 200 }, { type: "get", key: k }]))
            .toStrictEqual([true, "v"]);
          await expiresWithin(k, 200, since);
          expect(await run([{ type: "get", key: k }, { type: "del", key: k }])).toStrictEqual([null, 0]);
        });

        it("lets NX write over an expired key", async () => {
          const k = key("lease");
          const since = performance.now();
          await run([{ type: "set", key: k, value: "a", ttlMs: 150, ifAbsent: true }]);
          await expiresWithin(k, 150, since);
          expect(
            await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true }, { type: "get", key: k }]),
          )
            .toStrictEqual([true, "b"]);
        });

        it("resets the TTL on a plain set, and a refused NX does not extend it", async () => {
          const k = key("k");
          await run([{ type: "set", key: k, value: "a", ttlMs: 150 }]);
          const since = performance.now();
          expect(
            await run([
              { type: "set", key: k, value: "b", ttlMs: 200 },
              { type: "set", key: k, value: "c", ttlMs: 60_000, ifAbsent: true },
              { type: "get", key: k },
            ]),
          ).toStrictEqual([true, false, "b"]);
          await expiresWithin(k, 200, since);
        });
      }
    });

    describe("abort", () => {
      it("rejects with the reason when the signal is already aborted", async () => {
        const { signal, reason } = abortedSignal();
        await expect(store.run([{ type: "get", key: key("k") }], { signal })).rejects.toBe(reason);
      });

      it("settles promptly when the signal aborts in flight", async () => {
        const ops: StoreOp[] = Array.from({ length: 50 }, (_, i) => ({ type: "get", key: key(`k${i}`) }));
        await expectAbortSettles((signal) => store.run(ops, { signal }), 1_000);
      });

      it("works normally with a signal that does not abort", async () => {
        const signal = new AbortController().signal;
        expect(
          await store.run([{ type: "set", key: key("k"), value: "v", ttlMs: 60_000 }, { type: "get", key: key("k") }], {
            signal,
          }),
        ).toStrictEqual([true, "v"]);
      });
    });

    options.additionalTests?.({ store: () => store, key });
  });
}
