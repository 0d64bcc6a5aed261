/**
 * Cross-instance leases, stale-while-revalidate and stale-if-error, on the in-process adapters:
 * two `createCache` instances sharing one store behave like two processes sharing Redis.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { leaseKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import type { MetadataStore, StoreOp } from "../../src/core/types.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosStore, recordingLogger } from "../helpers/chaos.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function instances(count: number, options: CacheOptions = {}, store: MetadataStore = memoryStore()) {
  const blobs = memoryBlobStore();
  return Array.from(
    { length: count },
    () => createCache({ store, blobs, prefix: "p", logger: recordingLogger(), ...options }),
  );
}

describe("cross-instance lease", () => {
  it("runs the function once when two instances miss the same key together", async () => {
    const [a, b] = instances(2);
    let runs = 0;
    const work = async (n: number) => {
      runs++;
      await sleep(120);
      return { n, run: runs };
    };
    const wa = a!.wrap(work, { name: "work" });
    const wb = b!.wrap(work, { name: "work" });
    const [ra, rb] = await Promise.all([wa(1), sleep(10).then(() => wb(1))]);
    expect(runs).toBe(1);
    expect(rb).toEqual(ra);
    expect(a!.stats().leases.acquired + b!.stats().leases.acquired).toBe(1);
    expect(b!.stats().leases.waited).toBe(1);
  });

  it("takes over when the owner dies (its lease expires unrenewed)", async () => {
    const store = memoryStore();
    const [b] = instances(1, { lease: { ttl: 1000, wait: "5s" } }, store);
    const hash = await keyHash("p", "default", { kind: "call", fn: "work", args: [1] });
    // A dead owner: its lease exists for 150 ms and is never renewed nor released.
    await store.run([{ type: "set", key: leaseKey("p", hash), value: "dead-owner", ttlMs: 150, ifAbsent: true }]);
    let runs = 0;
    const started = performance.now();
    expect(await b!.wrap(async (n: number) => (runs++, n * 2), { name: "work" })(1)).toBe(2);
    expect(runs).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(b!.stats().leases).toEqual({ acquired: 1, waited: 0, givenUp: 0, takenOver: 1 });
  });

  it("stops waiting after `wait` and runs the function itself (fail-open)", async () => {
    const store = memoryStore();
    const [b] = instances(1, { lease: { ttl: "1m", wait: 200 } }, store);
    const hash = await keyHash("p", "default", { kind: "call", fn: "work", args: [] });
    await store.run([{ type: "set", key: leaseKey("p", hash), value: "slow-owner", ttlMs: 60_000 }]);
    let runs = 0;
    const started = performance.now();
    expect(await b!.wrap(async () => ++runs, { name: "work" })()).toBe(1);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(5_000);
    expect(b!.stats().leases.givenUp).toBe(1);
  });

  it("renews the lease while the function runs, and releases it after the write", async () => {
    const store = new ChaosStore(memoryStore());
    const [a] = instances(1, { lease: { ttl: 90 } }, store);
    const hash = await keyHash("p", "default", { kind: "call", fn: "slow", args: [] });
    const lease = leaseKey("p", hash);
    const slow = a!.wrap(async () => {
      await sleep(300); // more than 3 lease TTLs: only renewal keeps it
      return (await store.inner.run([{ type: "get", key: lease }]))[0];
    }, { name: "slow" });
    const holderDuringRun = await slow();
    expect(holderDuringRun).toBeTypeOf("string");
    await a!.flush();
    expect(await store.inner.run([{ type: "exists", key: lease }])).toEqual([false]);
  });

  it("releases the lease when the function throws, so the next caller need not wait", async () => {
    const store = memoryStore();
    const [a] = instances(1, {}, store);
    const fail = a!.wrap(async () => {
      throw new Error("boom");
    }, { name: "fail" });
    await expect(fail()).rejects.toThrow("boom");
    await a!.flush();
    const hash = await keyHash("p", "default", { kind: "call", fn: "fail", args: [] });
    expect(await store.run([{ type: "exists", key: leaseKey("p", hash) }])).toEqual([false]);
  });

  it("does not hand a waiter an entry past its stale-while-revalidate window", async () => {
    let now = 10_000_000;
    const clock = () => now;
    const store = memoryStore({ now: clock });
    const blobs = memoryBlobStore();
    const shared = { store, blobs, prefix: "p", now: clock, ttl: 1_000, logger: recordingLogger() };
    const waiter = createCache({ ...shared, staleWhileRevalidate: 100, staleIfError: "1h", lease: { wait: "5s" } });
    const writer = createCache({ ...shared, staleIfError: "1h", lease: false });
    const hash = await keyHash("p", "default", { kind: "call", fn: "report", args: [] });
    await store.run([{ type: "set", key: leaseKey("p", hash), value: "other-owner", ttlMs: 60_000 }]);

    let version = "";
    const waiting = waiter.wrap(async () => "computed-by-waiter", { name: "report" })();
    await sleep(60);
    // An entry written long ago: expired for 4 s, far outside the 100 ms window (but retained).
    now -= 5_000;
    version = "old";
    await writer.wrap(async () => version, { name: "report" })();
    await writer.flush();
    now += 5_000;
    await sleep(150);
    version = "fresh";
    await store.run([{ type: "del", key: (await import("../../src/core/record/key_layout.ts")).recordKey("p", hash) }]);
    await writer.wrap(async () => version, { name: "report" })();
    await writer.flush();
    expect(await waiting).toBe("fresh");
  });

  it("takes no lease with lease: false", async () => {
    const store = new ChaosStore(memoryStore());
    const inner = store.run.bind(store);
    const ops: StoreOp[] = [];
    store.run = (batch, options) => (ops.push(...batch), inner(batch, options));
    const [a] = instances(1, { lease: false }, store);
    await a!.wrap(async () => 1, { name: "w" })();
    await a!.flush();
    expect(ops.map((op) => op.type)).toEqual(["read", "write"]);
    expect(ops[0]).not.toHaveProperty("lease");
    expect(() => createCache({ lease: { ttl: 0 } })).toThrow(/lease\.ttl/);
    expect(() => createCache({ lease: { wait: "x" as never } })).toThrow(/lease\.wait/);
    expect(() => createCache({ lease: { owner: 1 } as never })).toThrow(/unknown option "lease\.owner"/);
  });
});

describe("stale-while-revalidate", () => {
  function clocked(options: CacheOptions, count = 1) {
    let now = 1_000_000;
    const clock = () => now;
    const caches = instances(count, { now: clock, ttl: 1_000, ...options }, memoryStore({ now: clock }));
    return { caches, advance: (ms: number) => (now += ms) };
  }

  it("serves the expired entry at once and refreshes it once in the background", async () => {
    const { caches: [cache], advance } = clocked({ staleWhileRevalidate: 10_000 });
    let version = 0;
    const w = cache!.wrap(async () => ++version, { name: "w" });
    expect(await w()).toBe(1);
    await cache!.flush();
    advance(1_500);
    const [x, y, z] = await Promise.all([w(), w(), w()]);
    expect([x, y, z]).toEqual([1, 1, 1]); // stale, served at once
    await cache!.flush();
    expect(version).toBe(2); // one refresh, not three
    expect(await w()).toBe(2); // fresh again
    expect(cache!.stats().stale).toBe(1);
  });

  it("refreshes once across instances", async () => {
    const { caches: [a, b], advance } = clocked({ staleWhileRevalidate: 10_000 }, 2);
    let version = 0;
    const fn = async () => {
      await sleep(50);
      return ++version;
    };
    await a!.wrap(fn, { name: "fn" })();
    await a!.flush();
    advance(1_500);
    expect(await Promise.all([a!.wrap(fn, { name: "fn" })(), b!.wrap(fn, { name: "fn" })()])).toEqual([1, 1]);
    await Promise.all([a!.flush(), b!.flush()]);
    expect(version).toBe(2);
  });

  it("is a miss past the window", async () => {
    const { caches: [cache], advance } = clocked({ staleWhileRevalidate: 2_000 });
    let version = 0;
    const w = cache!.wrap(async () => ++version, { name: "w" });
    await w();
    await cache!.flush();
    advance(3_001);
    expect(await w()).toBe(2);
  });

  it("keeps the stale entry when the refresh fails", async () => {
    const { caches: [cache], advance } = clocked({ staleWhileRevalidate: 10_000 });
    let fail = false;
    const w = cache!.wrap(async () => {
      if (fail) throw new Error("db down");
      return "v1";
    }, { name: "w" });
    await w();
    await cache!.flush();
    advance(1_500);
    fail = true;
    expect(await w()).toBe("v1");
    await cache!.flush();
    expect(cache!.stats().refreshesFailed).toBe(1);
    expect(await w()).toBe("v1");
  });
});

describe("stale-if-error", () => {
  it("serves the expired entry when the function throws, within the window only", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const [cache] = instances(1, { now: clock, ttl: 1_000 }, memoryStore({ now: clock }));
    let fail = false;
    const w = cache!.wrap(async () => {
      if (fail) throw new Error("db down");
      return "v1";
    }, { name: "w", staleIfError: "1m" });
    await w();
    await cache!.flush();
    now += 30_000;
    fail = true;
    expect(await w()).toBe("v1");
    expect(cache!.stats().staleIfError).toBe(1);
    now += 31_000;
    await expect(w()).rejects.toThrow("db down");
  });

  it("still computes when the function succeeds (an expired entry is not served without an error)", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const [cache] = instances(1, { now: clock, ttl: 1_000, staleIfError: "1h" }, memoryStore({ now: clock }));
    let version = 0;
    const w = cache!.wrap(async () => ++version, { name: "w" });
    await w();
    await cache!.flush();
    now += 2_000;
    expect(await w()).toBe(2);
  });
});
