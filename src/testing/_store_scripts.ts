/**
 * The store contract's scripts, part of {@link describeStoreConformance}: the atomic `read` and
 * `write` operations and what they keep — leases (taken in the read, renewed and released only by
 * their owner), generations (tokens created when missing, compared in the read, checked and
 * stamped in the write) and a namespace's eviction bookkeeping (last use, sizes, expiries, the
 * limits enforced in the write).
 *
 * @module
 */
import type { MetadataStore, StoreOp, StoreResult, WriteOp, WriteResult } from "../core/types.ts";
import { expect } from "./_expect.ts";
import type { ManualClock } from "./_helpers.ts";
import type { TestRunner } from "./_runner.ts";

/** What the script tests get from the suite. */
export interface ScriptTestContext {
  /** The test runner. */
  readonly runner: TestRunner;
  /** The store under test (valid inside tests). */
  readonly store: () => MetadataStore;
  /** Runs a batch on the store. */
  readonly run: (ops: StoreOp[]) => Promise<StoreResult[]>;
  /** `name` under this test's random prefix. */
  readonly key: (name: string) => string;
  /** The clock the store was given, if the suite has one (TTL tests move it instead of sleeping). */
  readonly clock: ManualClock | undefined;
}

/** Registers the tests of the `read`/`write` scripts, leases, generations and eviction bookkeeping. */
export function scriptTests(context: ScriptTestContext): void {
  const { describe, it } = context.runner;
  const { run, key, clock } = context;
  describe("leases", () => {
    const read = (k: string, lease: { key: string; token: string; ttlMs?: number }): StoreOp => ({
      type: "read",
      key: k,
      gens: [],
      token: "g1",
      lease: { ttlMs: 60_000, ...lease },
    });

    it("read returns the record when it exists, and takes no lease then", async () => {
      const [k, l] = [key("v"), key("lease")];
      await run([{ type: "set", key: k, value: "record", ttlMs: 60_000 }]);
      expect(await run([read(k, { key: l, token: "a" })])).toStrictEqual([
        { value: "record", invalidated: false, lease: "none", gens: {} },
      ]);
      expect(await run([{ type: "exists", key: l }])).toStrictEqual([false]);
    });

    it("read acquires the lease when the record is absent, then answers held to any other caller", async () => {
      const [k, l] = [key("v"), key("lease")];
      const lease = async (ops: StoreOp[]): Promise<unknown[]> =>
        (await run(ops)).map((r) => typeof r === "object" && r !== null && "lease" in r ? r.lease : r);
      expect(await lease([read(k, { key: l, token: "a" })])).toStrictEqual(["acquired"]);
      expect(await lease([read(k, { key: l, token: "b" }), read(k, { key: l, token: "a" }), { type: "get", key: l }]))
        .toStrictEqual([
          "held",
          "held",
          "a",
        ]);
    });

    it("lets exactly one of many concurrent readers take the lease", async () => {
      const [k, l] = [key("v"), key("lease")];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => run([read(k, { key: l, token: `t${i}` })])),
      );
      expect(results.flat().filter((r) => (r as { lease?: string }).lease === "acquired")).toHaveLength(1);
    });

    it("renews and releases only for the owner", async () => {
      const [k, l] = [key("v"), key("lease")];
      await run([read(k, { key: l, token: "owner" })]);
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
      expect((await run([read(k, { key: l, token: "dead", ttlMs: 100 })]))[0]).toMatchObject({ lease: "acquired" });
      if (clock) clock.advance(101);
      else await new Promise((r) => setTimeout(r, 250));
      expect((await run([read(k, { key: l, token: "next" })]))[0]).toMatchObject({ lease: "acquired" });
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
    /** One tracked entry's write: its stored bytes, its score (now), the limits and its TTL. */
    type Tracked = { bytes: number; score: number; limits?: Limits; ttlMs?: number };
    // A namespace's bookkeeping keys share a hash tag (one Redis Cluster slot), as Larder's key
    // layout makes them; a cluster store refuses eviction keys that do not.
    const lruKey = (): string => key("lru:{ns}");
    const sizesKey = (): string => key("sizes:{ns}");
    const expiriesKey = (): string => key("exp:{ns}");
    const ref = (member: string) => ({ key: lruKey(), sizes: sizesKey(), expiries: expiriesKey(), member });
    const lru = (member: string, entry: Tracked) => ({
      ...ref(member),
      bytes: entry.bytes,
      score: entry.score,
      recordPrefix: key("rec:"),
      ...entry.limits ?? { maxEntries: 2, maxBytes: 0 },
    });
    const writeOp = (member: string, entry: Tracked): WriteOp => ({
      type: "write",
      key: key(`rec:${member}`),
      record: member.startsWith("blob") ? `{"b":"x/${member}"}` : `{"p":"AA=="}`,
      ttlMs: entry.ttlMs ?? 60_000,
      gens: [],
      token: "t",
      lru: lru(member, entry),
    });
    const write = (member: string, entry: Tracked) => run([writeOp(member, entry)]);
    /** Writes `member`, expecting it written and exactly `evicted` (the members with blobs) reported. */
    const writeEvicting = async (member: string, entry: Tracked, evicted: string[]): Promise<void> => {
      expect(await write(member, entry)).toStrictEqual([{ written: true, evicted }]);
    };
    const exists = (member: string): Promise<StoreResult[]> => run([{ type: "exists", key: key(`rec:${member}`) }]);
    const sizes = async (): Promise<StoreResult | undefined> => (await run([{ type: "hgetall", key: sizesKey() }]))[0];

    it("evicts the least recently used entries past maxEntries, reporting those with blobs", async () => {
      await writeEvicting("blob-a", { bytes: 10, score: 1 }, []);
      await writeEvicting("inline-b", { bytes: 10, score: 2 }, []);
      // A hit on blob-a makes inline-b the least recently used.
      await run([{
        type: "read",
        key: key("rec:blob-a"),
        gens: [],
        token: "t",
        touch: { ...ref("blob-a"), score: 3 },
      }]);
      await writeEvicting("blob-c", { bytes: 10, score: 4 }, []);
      expect(await exists("inline-b")).toStrictEqual([false]);
      await writeEvicting("blob-d", { bytes: 10, score: 5 }, ["blob-a"]);
      expect(await run([{ type: "hgetall", key: sizesKey() }])).toStrictEqual([
        { "#": "20", "blob-c": "10", "blob-d": "10" },
      ]);
    });

    it("evicts past maxBytes, and forgets a deleted entry's size", async () => {
      const limits = { maxEntries: 0, maxBytes: 100 };
      await write("blob-a", { bytes: 60, score: 1, limits });
      await write("blob-b", { bytes: 30, score: 2, limits });
      await writeEvicting("blob-c", { bytes: 30, score: 3, limits }, ["blob-a"]);
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
      await write("blob-a", { bytes: 10, score: 1_000, limits });
      await write("blob-b", { bytes: 10, score: 1_001, limits, ttlMs: 100 }); // expires at 1_101
      await write("blob-c", { bytes: 10, score: 1_002, limits });
      // Three live members and d: nothing to evict; b's bookkeeping is dropped.
      await writeEvicting("blob-d", { bytes: 10, score: 2_000, limits }, []);
      expect(await exists("blob-a")).toStrictEqual([true]);
      expect(await sizes()).toStrictEqual({ "#": "30", "blob-a": "10", "blob-c": "10", "blob-d": "10" });
      // b is gone from the eviction order too: the next eviction takes a, and b is never reported
      // (its blob is not the evictor's to delete: the record expired on its own).
      await writeEvicting("blob-e", { bytes: 10, score: 2_001, limits }, ["blob-a"]);
      await writeEvicting("blob-f", { bytes: 10, score: 2_002, limits }, ["blob-c"]);
      expect(await sizes()).toStrictEqual({ "#": "30", "blob-d": "10", "blob-e": "10", "blob-f": "10" });
    });

    it("releases an expired member's bytes before deciding what to evict past maxBytes", async () => {
      const limits = { maxEntries: 0, maxBytes: 100 };
      await write("blob-a", { bytes: 40, score: 1_000, limits });
      await write("blob-b", { bytes: 40, score: 1_001, limits, ttlMs: 100 });
      await writeEvicting("blob-c", { bytes: 40, score: 2_000, limits }, []);
      expect(await exists("blob-a")).toStrictEqual([true]);
      expect(await sizes()).toStrictEqual({ "#": "80", "blob-a": "40", "blob-c": "40" });
    });

    it("counts a member rewritten after it expired once, with its new size", async () => {
      const limits = { maxEntries: 2, maxBytes: 100 };
      await write("blob-a", { bytes: 40, score: 1_000, limits, ttlMs: 100 });
      await writeEvicting("blob-a", { bytes: 50, score: 2_000, limits }, []);
      await writeEvicting("blob-b", { bytes: 50, score: 2_001, limits }, []);
      expect(await sizes()).toStrictEqual({ "#": "100", "blob-a": "50", "blob-b": "50" });
      expect(await exists("blob-a")).toStrictEqual([true]);
    });

    it("drops at most 100 expired members per write, earliest expiry first", async () => {
      const limits = { maxEntries: 0, maxBytes: 1_000_000 };
      // 150 members expiring at 1_010 + i (written in one batch, latest expiry first).
      const ops = Array.from(
        { length: 150 },
        (_, i) => writeOp(`m${String(149 - i).padStart(3, "0")}`, { bytes: 1, score: 1_000, limits, ttlMs: 159 - i }),
      );
      await run(ops);
      await write("inline-x", { bytes: 1, score: 5_000, limits });
      const left = await sizes() as Record<string, string>;
      expect(left["#"]).toBe("51");
      expect(Object.keys(left).filter((m) => m.startsWith("m")).sort()).toStrictEqual(
        Array.from({ length: 50 }, (_, i) => `m${100 + i}`),
      );
      await write("inline-y", { bytes: 1, score: 5_001, limits });
      expect(await sizes()).toStrictEqual({ "#": "2", "inline-x": "1", "inline-y": "1" });
    });

    it("keeps the expiry order consistent: a delete forgets the member everywhere", async () => {
      await write("blob-a", { bytes: 10, score: 1_000 });
      expect(await run([{ type: "exists", key: lruKey() }, { type: "exists", key: expiriesKey() }]))
        .toStrictEqual([true, true]);
      expect(await run([{ type: "del", key: key("rec:blob-a"), lru: ref("blob-a") }])).toStrictEqual([1]);
      expect(await run([{ type: "exists", key: lruKey() }, { type: "exists", key: expiriesKey() }]))
        .toStrictEqual([false, false]);
      expect(await sizes()).toStrictEqual({ "#": "0" });
    });

    it("never evicts the member it is writing, even when the writer's clock is behind", async () => {
      const limits = { maxEntries: 2, maxBytes: 0 };
      await write("blob-a", { bytes: 10, score: 5_000, limits });
      await write("blob-b", { bytes: 10, score: 5_001, limits });
      // c's score is the lowest (its writer's clock lags): a, the oldest other member, goes.
      await writeEvicting("blob-c", { bytes: 10, score: 4_000, limits }, ["blob-a"]);
      expect(await exists("blob-c")).toStrictEqual([true]);
      expect(await sizes()).toStrictEqual({ "#": "20", "blob-b": "10", "blob-c": "10" });
    });

    it("never evicts the member it is writing when it alone is over maxBytes", async () => {
      const limits = { maxEntries: 0, maxBytes: 100 };
      await write("blob-a", { bytes: 40, score: 1_000, limits });
      const [result] = await write("blob-big", { bytes: 150, score: 2_000, limits });
      expect((result as WriteResult).evicted).not.toContain("blob-big");
      expect(await exists("blob-big")).toStrictEqual([true]);
      expect((await sizes() as Record<string, string>)["blob-big"]).toBe("150");
    });
  });
}
