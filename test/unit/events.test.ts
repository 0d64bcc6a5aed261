/**
 * Events on the in-process adapters: nothing is built while nobody listens, listeners that throw
 * never reach a call, subscriptions filter and end, and the events of the paths the integration
 * sequence does not take (stale-if-error, a failed refresh, a full pending set, a lease wait given
 * up, `get`/`set`, namespace and prefix invalidation) match their counters.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { type CacheEvent, ConfigError, createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { CacheEvents } from "../../src/core/stats/events.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { leaseKey } from "../../src/core/record/key_layout.ts";
import { recordingLogger } from "../helpers/chaos.ts";

function setup(options: Parameters<typeof createCache>[0] = {}) {
  const logger = recordingLogger();
  const cache = createCache({ store: memoryStore(), blobs: memoryBlobStore(), logger, prefix: "t", ...options });
  const seen: CacheEvent[] = [];
  const off = cache.on("*", (event) => void seen.push(event));
  return { cache, logger, seen, off };
}

const types = (events: readonly CacheEvent[]) => events.map((e) => e.type);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("with nobody listening", () => {
  it("builds no event on hits, misses and writes", async () => {
    const begin = vi.spyOn(CacheEvents.prototype, "begin");
    const emit = vi.spyOn(CacheEvents.prototype, "emit");
    const cache = createCache({ memory: true });
    const square = cache.wrap(async (n: number) => n * n, { name: "square" });
    await square(3);
    await cache.flush();
    await square(3);
    await cache.get("k");
    await cache.set("k", 1);
    await cache.invalidateTag("x");
    expect(cache.stats().hits.total).toBe(1);
    expect(begin).not.toHaveBeenCalled();
    expect(emit).not.toHaveBeenCalled();

    // Listening, then not any more: events only in between.
    const seen: CacheEvent[] = [];
    const off = cache.on("*", (event) => void seen.push(event));
    await square(3);
    expect(types(seen)).toEqual(["hit"]);
    off();
    emit.mockClear();
    begin.mockClear();
    await square(3);
    await square(4);
    await cache.flush();
    expect(begin).not.toHaveBeenCalled();
    expect(emit).not.toHaveBeenCalled();
    expect(seen).toHaveLength(1);
  });
});

describe("listeners", () => {
  it("that throw or reject are logged once each and never reach the call", async () => {
    const { cache, logger, seen } = setup();
    cache.on("*", () => {
      throw new Error("listener bug");
    });
    cache.on("miss", () => Promise.reject(new Error("async listener bug")));
    const after: string[] = [];
    cache.on("*", (event) => void after.push(event.type));
    const double = cache.wrap(async (n: number) => n * 2, { name: "double" });
    expect(await double(1)).toBe(2);
    expect(await double(2)).toBe(4);
    await cache.flush();
    expect(await double(1)).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Every listener got every event; the two failing ones were logged once each.
    expect(after).toEqual(types(seen));
    expect(after.filter((t) => t === "miss")).toHaveLength(2);
    const errors = logger.lines.filter((l) => l.level === "error");
    expect(errors).toHaveLength(2);
    expect(errors[0]!.message).toMatch(/event listener threw/);
  });

  it("get the events of their type only, and onEvent gets all from the start", async () => {
    const all: CacheEvent[] = [];
    const { cache, seen } = setup({ onEvent: (event) => void all.push(event) });
    const hits: number[] = [];
    const off = cache.on("hit", (event) => void hits.push(event.ms));
    const fn = cache.wrap(async () => 1, { name: "one" });
    await fn();
    await cache.flush();
    await fn();
    off();
    await fn();
    expect(hits).toHaveLength(1);
    expect(all).toEqual(seen);
    expect(types(all)).toEqual(["miss", "compute", "write", "hit", "hit"]);
  });

  it("an unknown type or a listener that is not a function is refused", () => {
    const { cache } = setup();
    expect(() => cache.on("hits" as never, () => {})).toThrow(ConfigError);
    expect(() => cache.on("hits" as never, () => {})).toThrow(/unknown event type "hits"; one of hit, miss/);
    expect(() => cache.on("hit", "log" as never)).toThrow(/listener must be a function/);
  });

  it("onEvent must be a function", () => {
    expect(() => createCache({ onEvent: "log" as never })).toThrow(ConfigError);
    expect(() => createCache({ onEvent: "log" as never })).toThrow(/onEvent must be a function/);
  });
});

describe("events and their counters", () => {
  it("stale-if-error: the failed computation, then the stale serve", async () => {
    let clock = 1_000_000;
    const { cache, seen } = setup({ now: () => clock, ttl: "1m", staleIfError: "1h" });
    let fail = false;
    const report = cache.wrap(async () => {
      if (fail) throw new Error("db down");
      return "v1";
    }, { name: "report" });
    await report();
    await cache.flush();
    clock += 120_000;
    fail = true;
    expect(await report()).toBe("v1");
    const last = seen.slice(-3);
    expect(last.map((e) => e.type)).toEqual(["miss", "compute", "stale"]);
    expect(last[1]).toMatchObject({ type: "compute", op: "wrap", ok: false, fallback: true });
    expect((last[1] as { error: Error }).error.message).toBe("db down");
    expect(last[2]).toMatchObject({ type: "stale", reason: "error", tier: "inline", label: "default/report" });
    expect(cache.stats().staleIfError).toBe(1);
    expect(cache.stats().stale).toBe(0);

    // Past staleIfError, the failure is the caller's: no fallback.
    clock += 2 * 3_600_000;
    await expect(report()).rejects.toThrow("db down");
    expect(seen.at(-1)).toMatchObject({ type: "compute", ok: false, fallback: false });
  });

  it("a refresh that fails: its own call, counted in refreshesFailed", async () => {
    let clock = 1_000_000;
    const { cache, seen } = setup({ now: () => clock, ttl: "1m", staleWhileRevalidate: "1h" });
    let fail = false;
    const report = cache.wrap(async () => {
      if (fail) throw new Error("db down");
      return "v1";
    }, { name: "report" });
    await report();
    await cache.flush();
    clock += 120_000;
    fail = true;
    const before = seen.length;
    expect(await report()).toBe("v1");
    await cache.flush();
    const events = seen.slice(before);
    expect(events.map((e) => `${e.type}${"op" in e ? ` ${e.op}` : ""}`)).toEqual([
      "hit wrap",
      "stale wrap",
      "compute refresh",
    ]);
    expect(events[0]).toMatchObject({ stale: true });
    expect(events[1]).toMatchObject({ reason: "revalidate" });
    expect(events[2]).toMatchObject({ ok: false });
    const calls = events.map((e) => ("call" in e ? e.call : 0));
    expect(calls[0]).toBe(calls[1]);
    expect(calls[2]).not.toBe(calls[0]);
    expect(cache.stats().refreshesFailed).toBe(1);
    expect(cache.stats().stale).toBe(1);
  });

  it("a full pending set: the write is skipped", async () => {
    const { cache, seen } = setup({ maxPendingWrites: 1 });
    const fn = cache.wrap(async (n: number) => n, { name: "fn" });
    await Promise.all([fn(1), fn(2)]);
    await cache.flush();
    const writes = seen.filter((e) => e.type === "write");
    expect(writes.map((e) => e.outcome).sort()).toEqual(["ok", "skipped"]);
    expect(writes.find((e) => e.outcome === "skipped")).toMatchObject({ reason: "pendingFull" });
    expect(cache.stats().writes).toMatchObject({ ok: 1, skipped: 1 });
  });

  it("a lease wait given up: the waiter computes itself", async () => {
    const store = memoryStore();
    const { cache, seen } = setup({ store, lease: { wait: "60ms" } });
    const owner = createCache({ store, prefix: "t" });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const slow = owner.wrap(async () => {
      started();
      await gate;
      return "theirs";
    }, { name: "report" });
    const theirs = slow();
    await running;
    const mine = cache.wrap(async () => "mine", { name: "report" });
    expect(await mine()).toBe("mine");
    release();
    await theirs;
    expect(types(seen)).toEqual(["miss", "leaseWait", "compute"]);
    const wait = seen[1]!;
    expect(wait).toMatchObject({ type: "leaseWait", outcome: "gaveUp" });
    expect((wait as { ms: number }).ms).toBeGreaterThanOrEqual(50);
    expect(cache.stats().leases).toEqual({ acquired: 0, waited: 0, givenUp: 1, takenOver: 0 });
  });

  it("a lease taken over: its owner is gone (leaseWait acquired, counted in leases.takenOver)", async () => {
    const store = memoryStore();
    const { cache, seen } = setup({ store, lease: { ttl: "5s", wait: "5s" } });
    const mine = cache.wrap(async () => "mine", { name: "report" });
    // The lease of an owner that died: nobody renews it, it lapses.
    const key = leaseKey("t", await mine.hashOf());
    await store.run([{ type: "set", key, value: "dead-owner", ttlMs: 150, ifAbsent: true }]);
    expect(await mine()).toBe("mine");
    expect(types(seen)).toEqual(["miss", "leaseWait", "compute"]);
    expect(seen[1]).toMatchObject({ type: "leaseWait", outcome: "acquired" });
    expect(cache.stats().leases).toEqual({ acquired: 1, waited: 0, givenUp: 0, takenOver: 1 });
    await cache.flush();
  });

  it("get and set, namespace and prefix invalidation", async () => {
    const { cache, seen } = setup();
    expect(await cache.get("k", { namespace: "ns" })).toBeUndefined();
    expect(await cache.set("k", "value".repeat(10), { namespace: "ns" })).toBe(true);
    expect(await cache.get("k", { namespace: "ns" })).toBe("value".repeat(10));
    await cache.invalidateNamespace("ns", { mode: "stale" });
    await cache.invalidateTags(["a", "b:c"]);
    await cache.clear();
    // The set and each invalidation went out on the in-process store's bus too.
    expect(seen.filter((e) => e.type === "bus")).toEqual(Array(4).fill({ type: "bus", action: "sent" }));
    expect(cache.stats().bus).toMatchObject({ mode: "off", sent: 4 });
    seen.splice(0, seen.length, ...seen.filter((e) => e.type !== "bus"));
    expect(seen.map((e) => e.type)).toEqual(["miss", "write", "hit", "invalidate", "invalidate", "invalidate"]);
    expect(seen[0]).toMatchObject({ op: "get", namespace: "ns", label: "ns" });
    expect(seen[1]).toMatchObject({ op: "set", outcome: "ok", placement: "inline", label: "ns" });
    expect((seen[1] as { bytes: number }).bytes).toBeGreaterThan(0);
    expect(seen[2]).toMatchObject({ op: "get", tier: "inline", stale: false });
    expect(new Set([seen[0], seen[1], seen[2]].map((e) => (e as { keyHash: string }).keyHash)).size).toBe(1);
    expect(seen.slice(3)).toEqual([
      { type: "invalidate", mode: "stale", tags: [], namespaces: ["ns"], all: false },
      { type: "invalidate", mode: "expire", tags: ["a", "b:c"], namespaces: [], all: false },
      { type: "invalidate", mode: "expire", tags: [], namespaces: [], all: true },
    ]);
    const stats = cache.stats();
    expect(stats.writes.ok).toBe(1);
    expect(stats.misses).toBe(1);
    expect(stats.hits.inline).toBe(1);
  });
});
