import { describe, expect, it, vi } from "vitest";
import { isCacheError } from "../../src/core/errors.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { describeStoreConformance, manualClock } from "./store.ts";

const clock = manualClock();
describeStoreConformance("memory", () => memoryStore({ now: clock.now }), { clock, additionalTests: memorySpecifics });
// The bus as a log to poll (the Upstash store's kind), which the core's tests use too.
describeStoreConformance("memory (bus: poll)", () => memoryStore({ now: clock.now, bus: "poll" }), { clock });

function memorySpecifics(): void {
  describe("memory specifics", () => {
    const set = (key: string, ttlMs = 60_000) => ({ type: "set", key, value: `v-${key}`, ttlMs }) as const;
    const get = (key: string) => ({ type: "get", key }) as const;

    it("evicts the least recently used entry past maxEntries (get refreshes recency)", async () => {
      const store = memoryStore({ maxEntries: 3 });
      await store.run([set("a"), set("b"), set("c"), get("a"), set("d")]);
      expect(await store.run([get("a"), get("b"), get("c"), get("d")])).toStrictEqual(["v-a", null, "v-c", "v-d"]);
    });

    it("evicts past maxBytes, counting 2 bytes per code unit of key and value", async () => {
      // Each entry: key "k0" (2) + value "v-k0" (4) = 6 code units = 12 bytes.
      const store = memoryStore({ maxBytes: 40 });
      await store.run([set("k0"), set("k1"), set("k2")]);
      expect(await store.run([get("k0"), get("k1"), get("k2")])).toStrictEqual(["v-k0", "v-k1", "v-k2"]);
      await store.run([set("k3")]);
      expect(await store.run([get("k0"), get("k3")])).toStrictEqual([null, "v-k3"]);
    });

    it("drops expired entries before evicting live ones", async () => {
      const c = manualClock();
      const store = memoryStore({ maxEntries: 3, now: c.now });
      await store.run([set("old"), set("older"), set("short", 100)]);
      c.advance(101);
      await store.run([set("new")]);
      expect(await store.run([get("old"), get("older"), get("short"), get("new")]))
        .toStrictEqual(["v-old", "v-older", null, "v-new"]);
    });

    it("refuses an entry larger than maxBytes with E_TOO_LARGE", async () => {
      const store = memoryStore({ maxBytes: 100 });
      await expect(store.run([{ type: "set", key: "k", value: "x".repeat(100), ttlMs: 1_000 }])).rejects
        .toMatchObject({ code: "E_TOO_LARGE" });
    });

    it("applies nothing from a batch with an invalid op", async () => {
      const store = memoryStore();
      await expect(store.run([set("a"), { type: "set", key: "b", value: "v", ttlMs: 0 }])).rejects
        .toMatchObject({ code: "E_STORE" });
      await expect(store.run([set("a"), { type: "incr", key: "a" } as never])).rejects.toMatchObject({
        code: "E_STORE",
      });
      expect(await store.run([get("a")])).toStrictEqual([null]);
    });

    it("starts no timers (nothing keeps a process alive)", async () => {
      vi.useFakeTimers();
      try {
        const store = memoryStore({ maxEntries: 2 });
        await store.run([set("a", 10), set("b", 10), set("c", 10), get("a")]);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    it.each([
      [{ maxEntries: 0 }, /maxEntries/],
      [{ maxEntries: 1.5 }, /maxEntries/],
      [{ maxEntries: "10" }, /maxEntries/],
      [{ maxBytes: -1 }, /maxBytes/],
      [{ now: 5 }, /now/],
      ["fast", /options/],
    ])("rejects invalid options %j with a ConfigError", (options, pattern) => {
      let error: unknown;
      try {
        memoryStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(isCacheError(error) && error.code).toBe("E_CONFIG");
      expect(String(error)).toMatch(pattern);
    });
  });
}
