/** Circuit breakers: a dead backend costs no round trip per call, and comes back by itself. */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { CircuitBreaker } from "../../src/core/backend/breaker.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosBlobs, ChaosStore, recordingLogger } from "../helpers/chaos.ts";

function setup() {
  let now = 0;
  const store = new ChaosStore(memoryStore());
  const blobs = new ChaosBlobs(memoryBlobStore());
  const cache = createCache({
    store,
    blobs,
    logger: recordingLogger(),
    now: () => now,
    breaker: { threshold: 3, cooldown: "10s" },
    maxInlineBytes: 1024,
  });
  return { cache, store, blobs, advance: (ms: number) => (now += ms) };
}

describe("circuit breaker", () => {
  it("opens after `threshold` consecutive failures; then calls skip the store entirely", async () => {
    const { cache, store } = setup();
    store.fault = "throw";
    for (let i = 0; i < 3; i++) await cache.get(`k${i}`);
    expect(store.calls).toBe(3);
    expect(cache.stats().breakers.store).toEqual({ state: "open", opened: 1, rejected: 0 });
    let runs = 0;
    const w = cache.wrap(async (n: number) => (runs++, n), { name: "w" });
    for (let i = 0; i < 20; i++) expect(await w(i)).toBe(i);
    await cache.flush();
    expect(runs).toBe(20);
    // Lookups refused: their values are not written (the generations were not read).
    expect(cache.stats().writes).toMatchObject({ ok: 0, failed: 0, discarded: 20 });
    expect(await cache.set("k", 1)).toBe(false); // a write refused too
    expect(store.calls).toBe(3); // no round trip while open: reads and writes alike
    expect(cache.stats().breakers.store?.rejected).toBe(21);
    expect(cache.stats().errors.store).toBe(3); // refusals are not backend errors
  });

  it("half-opens after the cooldown and closes when the probe succeeds", async () => {
    const { cache, store, advance } = setup();
    await cache.set("k", "v").catch(() => {});
    store.fault = "throw";
    for (let i = 0; i < 3; i++) await cache.get("k");
    store.fault = "none";
    advance(9_999);
    expect(await cache.get("k")).toBeUndefined(); // still open
    expect(cache.stats().breakers.store?.state).toBe("open");
    advance(1);
    expect(cache.stats().breakers.store?.state).toBe("half-open");
    expect(await cache.get("k")).toBe("v"); // the probe
    expect(cache.stats().breakers.store?.state).toBe("closed");
  });

  it("opens again at once when the probe fails", async () => {
    const { cache, store, advance } = setup();
    store.fault = "throw";
    for (let i = 0; i < 3; i++) await cache.get("k");
    advance(10_000);
    const calls = store.calls;
    await cache.get("k"); // probe fails
    expect(store.calls).toBe(calls + 1);
    expect(cache.stats().breakers.store).toMatchObject({ state: "open", opened: 2 });
    await cache.get("k");
    expect(store.calls).toBe(calls + 1);
  });

  it("keeps backends apart: a dead blob store does not stop inline hits", async () => {
    const { cache, store, blobs } = setup();
    await cache.set("small", "s");
    blobs.fault = "throw";
    for (let i = 0; i < 3; i++) await cache.set(`large${i}`, crypto.getRandomValues(new Uint8Array(4096)));
    expect(cache.stats().breakers.blob?.state).toBe("open");
    expect(await cache.get("small")).toBe("s");
    expect(cache.stats().breakers.store?.state).toBe("closed");
    void store;
  });

  it("lets only one probe through while half-open", () => {
    let now = 0;
    const breaker = new CircuitBreaker(1, 100, () => now);
    breaker.failure();
    now = 100;
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
    breaker.success();
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
  });

  it("is off with breaker: false, and validates its options", async () => {
    const store = new ChaosStore(memoryStore());
    const cache = createCache({ store, breaker: false, logger: recordingLogger() });
    store.fault = "throw";
    for (let i = 0; i < 10; i++) await cache.get("k");
    expect(store.calls).toBe(10);
    expect(cache.stats().breakers.store).toBeUndefined();
    expect(() => createCache({ breaker: { threshold: 0 } })).toThrow(/breaker\.threshold/);
    expect(() => createCache({ breaker: { cooldown: "later" as never } })).toThrow(/breaker\.cooldown/);
    expect(() => createCache({ breaker: "on" as never })).toThrow(/breaker must be true, false or/);
    expect(() => createCache({ breaker: true })).not.toThrow();
  });
});
