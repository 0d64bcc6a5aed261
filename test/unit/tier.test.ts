/** The in-process tier: zero round trips, a byte bound, and a bound on staleness across instances. */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { MemoryTier } from "../../src/core/flow/memory_tier.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosBlobs, ChaosStore } from "../helpers/chaos.ts";

describe("in-process tier", () => {
  it("serves repeated hits with no store or blob round trip, counted separately", async () => {
    const store = new ChaosStore(memoryStore());
    const blobs = new ChaosBlobs(memoryBlobStore());
    const cache = createCache({ store, blobs, memory: true, maxInlineBytes: 1024 });
    let runs = 0;
    const small = cache.wrap(async () => (runs++, { rows: [1, 2, 3] }), { name: "small" });
    const large = cache.wrap(async () => (runs++, crypto.getRandomValues(new Uint8Array(4096))), { name: "large" });
    await small();
    const first = await large();
    await cache.flush();
    const before = { store: store.calls, blobs: blobs.calls };
    for (let i = 0; i < 5; i++) {
      expect(await small()).toEqual({ rows: [1, 2, 3] });
      expect(await large()).toEqual(first);
    }
    expect({ store: store.calls, blobs: blobs.calls }).toEqual(before);
    expect(runs).toBe(2);
    expect(cache.stats().hits).toEqual({ total: 10, memory: 10, inline: 0, blob: 0 });
  });

  it("promotes store hits into the tier", async () => {
    const store = new ChaosStore(memoryStore());
    const shared = { store, blobs: memoryBlobStore() };
    await createCache(shared).set("k", "v");
    const cache = createCache({ ...shared, memory: true });
    expect(await cache.get("k")).toBe("v");
    const calls = store.calls;
    expect(await cache.get("k")).toBe("v");
    expect(store.calls).toBe(calls);
    expect(cache.stats().hits).toMatchObject({ memory: 1, inline: 1 });
  });

  it("never hands two callers the same mutable object", async () => {
    const cache = createCache({ memory: true });
    const w = cache.wrap(async () => ({ list: [3, 1, 2] }), { name: "w" });
    await w();
    await cache.flush();
    const a = await w();
    a.list.sort();
    expect(await w()).toEqual({ list: [3, 1, 2] });
  });

  it("serves another instance's deleted entry for at most memory.ttl", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const shared = { store: memoryStore({ now: clock }), blobs: memoryBlobStore(), now: clock };
    const reader = createCache({ ...shared, memory: { ttl: "2s" } });
    const writer = createCache(shared);
    await writer.set("k", "old");
    expect(await reader.get("k")).toBe("old");
    await writer.delete("k");
    now += 1_999;
    expect(await reader.get("k")).toBe("old"); // within the documented bound
    now += 2;
    expect(await reader.get("k")).toBeUndefined(); // past it: the tier asks the store again
  });

  it("drops the entry when this process deletes it", async () => {
    const cache = createCache({ memory: true });
    await cache.set("k", "v");
    expect(await cache.get("k")).toBe("v");
    await cache.delete("k");
    expect(await cache.get("k")).toBeUndefined();
  });

  it("stays within its byte bound, evicting the least recently used", () => {
    const tier = new MemoryTier({ maxBytes: 10_000, ttlMs: 60_000, now: () => 0 });
    for (let i = 0; i < 50; i++) tier.set(`h${i}`, { codec: "bytes", bytes: new Uint8Array(1000) }, 1e9);
    expect(tier.bytes).toBeLessThanOrEqual(10_000);
    expect(tier.size).toBeGreaterThan(5);
    expect(tier.get("h0")).toBeUndefined();
    expect((tier.get("h49") as { bytes: Uint8Array }).bytes.length).toBe(1000);
    tier.set("huge", { codec: "bytes", bytes: new Uint8Array(5000) }, 1e9); // over a quarter of the tier: not kept
    expect(tier.get("huge")).toBeUndefined();
  });

  it("never outlives the entry's own expiry", () => {
    let now = 0;
    const tier = new MemoryTier({ maxBytes: 10_000, ttlMs: 60_000, now: () => now });
    tier.set("h", { codec: "bytes", bytes: new Uint8Array(1) }, 100);
    now = 99;
    expect(tier.get("h")).toBeDefined();
    now = 100;
    expect(tier.get("h")).toBeUndefined();
    expect(tier.bytes).toBe(0);
  });

  it("shared: after the background freeze, every hit gets the one deep-frozen value", async () => {
    const store = new ChaosStore(memoryStore());
    const cache = createCache({ store, memory: { shared: true } });
    const made = () => ({
      rows: [{ id: 1, at: new Date(1_000), tags: new Set(["a"]) }],
      index: new Map([["a", [0]]]),
    });
    const w = cache.wrap(async () => made(), { name: "w" });
    const computed = await w();
    expect(Object.isFrozen(computed)).toBe(false); // the caller's own result, as the function made it
    await cache.flush(); // the write, then the freeze it scheduled
    const calls = store.calls;
    const a = await w();
    const b = await w();
    expect(b).toBe(a);
    expect(a).toEqual(made());
    expect(Object.isFrozen(a) && Object.isFrozen(a.rows[0]) && Object.isFrozen(a.rows[0]!.at)).toBe(true);
    expect(() => a.rows[0]!.at.setTime(0)).toThrow(TypeError);
    expect(() => a.rows[0]!.tags.add("b")).toThrow(TypeError);
    expect(() => a.index.get("a")!.push(1)).toThrow(TypeError);
    expect(await w()).toEqual(made());
    expect(store.calls).toBe(calls);
    expect(cache.stats().hits.memory).toBe(3);
  });

  it("shared: a store hit is shared once frozen; until then each hit decodes its own copy", async () => {
    const store = memoryStore();
    await createCache({ store }).set("k", { list: [3, 1, 2] });
    const cache = createCache({ store, memory: { shared: true } });
    const first = await cache.get<{ list: number[] }>("k");
    first!.list.sort(); // the first caller's copy is its own
    const second = await cache.get<{ list: number[] }>("k"); // before the freeze ran: decoded again
    expect(second).toEqual({ list: [3, 1, 2] });
    expect(second).not.toBe(first);
    await cache.flush();
    const third = await cache.get<{ list: number[] }>("k");
    expect(third).toBe(await cache.get("k"));
    expect(Object.isFrozen(third!.list)).toBe(true);
  });

  it("shared: a value holding a typed array stays encoded, each hit its own copy", async () => {
    const cache = createCache({ memory: { shared: true } });
    const w = cache.wrap(async () => ({ data: new Uint8Array([1, 2, 3]) }), { name: "w" });
    await w();
    await cache.flush();
    const a = await w();
    a.data[0] = 9;
    const b = await w();
    expect(b).not.toBe(a);
    expect(b.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(cache.stats().hits.memory).toBe(2);
  });

  it("shared: a value read from the tier can be cached again (read-only Dates, Maps and Sets encode as such)", async () => {
    const cache = createCache({ memory: { shared: true } });
    const value = { at: new Date(5), m: new Map([[1, new Set([2])]]) };
    await cache.set("a", value);
    await cache.flush();
    const shared = await cache.get<typeof value>("a");
    expect(Object.isFrozen(shared!.at)).toBe(true);
    await expect(cache.set("b", shared)).resolves.toBe(true);
    const other = createCache();
    await other.set("c", shared);
    expect(await other.get("c")).toEqual(value);
  });

  it("shared: a late freeze never brings back an entry deleted or replaced meanwhile", () => {
    const tasks: (() => Promise<void>)[] = [];
    const tier = new MemoryTier({
      maxBytes: 1e6,
      ttlMs: 60_000,
      now: () => 0,
      sharing: { decode: ({ bytes }) => ({ first: bytes[0] }), schedule: (task) => (tasks.push(task), true) },
    });
    tier.set("deleted", { codec: "x", bytes: new Uint8Array([1]) }, 1e9);
    tier.delete("deleted");
    tier.set("replaced", { codec: "x", bytes: new Uint8Array([1]) }, 1e9);
    tier.set("replaced", { codec: "x", bytes: new Uint8Array([2]) }, 1e9);
    for (const task of tasks.slice(0, 2)) void task();
    expect(tier.get("deleted")).toBeUndefined();
    expect(tier.get("replaced")?.shared).toBeUndefined(); // the first freeze was of the old bytes
    void tasks[2]!();
    expect(tier.get("replaced")?.shared?.value).toEqual({ first: 2 });
  });

  it("shared: counts a frozen value by its estimated heap size, and keeps it encoded when that is too large", () => {
    const tasks: (() => Promise<void>)[] = [];
    const tier = new MemoryTier({
      maxBytes: 40_000,
      ttlMs: 60_000,
      now: () => 0,
      sharing: {
        decode: ({ bytes }) => Array.from({ length: bytes.length }, (_, i) => ({ i })),
        schedule: (task) => (tasks.push(task), true),
      },
    });
    tier.set("small", { codec: "x", bytes: new Uint8Array(10) }, 1e9);
    tier.set("large", { codec: "x", bytes: new Uint8Array(1000) }, 1e9); // ~1 KB encoded, ~40 KB decoded
    const encoded = tier.bytes;
    for (const task of tasks) void task();
    expect(tier.get("small")?.shared).toBeDefined();
    expect(tier.get("large")?.shared).toBeUndefined();
    expect(tier.bytes).toBeGreaterThan(encoded);
  });

  it("rejects invalid tier options", () => {
    expect(() => createCache({ memory: { shared: "yes" as never } })).toThrow(/memory\.shared/);
    expect(() => createCache({ memory: { maxBytes: 0 } })).toThrow(/memory\.maxBytes/);
    expect(() => createCache({ memory: { ttl: "soon" as never } })).toThrow(/memory\.ttl/);
    expect(() => createCache({ memory: { size: 1 } as never })).toThrow(/unknown option "memory\.size"/);
    expect(() => createCache({ memory: "yes" as never })).toThrow(/memory must be/);
  });
});
