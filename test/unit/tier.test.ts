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
    const tier = new MemoryTier(10_000, 60_000, () => 0);
    for (let i = 0; i < 50; i++) tier.set(`h${i}`, { codec: "bytes", bytes: new Uint8Array(1000) }, 1e9);
    expect(tier.bytes).toBeLessThanOrEqual(10_000);
    expect(tier.size).toBeGreaterThan(5);
    expect(tier.get("h0")).toBeUndefined();
    expect(tier.get("h49")?.bytes.length).toBe(1000);
    tier.set("huge", { codec: "bytes", bytes: new Uint8Array(5000) }, 1e9); // over a quarter of the tier: not kept
    expect(tier.get("huge")).toBeUndefined();
  });

  it("never outlives the entry's own expiry", () => {
    let now = 0;
    const tier = new MemoryTier(10_000, 60_000, () => now);
    tier.set("h", { codec: "bytes", bytes: new Uint8Array(1) }, 100);
    now = 99;
    expect(tier.get("h")).toBeDefined();
    now = 100;
    expect(tier.get("h")).toBeUndefined();
    expect(tier.bytes).toBe(0);
  });

  it("rejects invalid tier options", () => {
    expect(() => createCache({ memory: { maxBytes: 0 } })).toThrow(/memory\.maxBytes/);
    expect(() => createCache({ memory: { ttl: "soon" as never } })).toThrow(/memory\.ttl/);
    expect(() => createCache({ memory: { size: 1 } as never })).toThrow(/unknown option "memory\.size"/);
    expect(() => createCache({ memory: "yes" as never })).toThrow(/memory must be/);
  });
});
