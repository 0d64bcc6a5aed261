/**
 * The in-process tiers' bus on the in-process store (caches sharing one memory store are
 * instances sharing a Redis): another instance's delete, `set` and invalidations drop what they
 * concern, and only that, in both tier modes; a value read before a change is never kept after it;
 * a lost subscription ends in an emptied tier; a polled bus bounds staleness by its interval, at
 * one read per half interval whatever the traffic; gaps in the log empty the tier.
 */
import { describe, expect, it } from "vitest";
import { type Cache, createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import type { BusListener, CallOptions, MetadataStore, StoreOp, StoreResult } from "../../src/core/types.ts";
import { memoryStore, type MemoryStoreOptions } from "../../src/stores/memory.ts";
import { MemoryTier } from "../../src/core/flow/memory_tier.ts";

/**
 * A memory store seen through a probe: counts batches, can hold the replies of the batches that
 * read a key (to let a change land while they are on their way), and can cut the subscription.
 */
class Probe implements MetadataStore {
  readonly name = "probe";
  readonly bus: "push" | "poll" | undefined;
  readonly subscribe: ((channel: string, listener: BusListener) => () => void) | undefined;
  runs = 0;
  ops: StoreOp[] = [];
  /** Replies of reads of this key wait for {@link release}. */
  holdReadsOf: string | undefined;
  /** Replies of reads of the bus's log wait for {@link release}. */
  holdBusReads = false;
  #held: (() => void)[] = [];
  /** While set, messages are not delivered (a subscription that lost them). */
  deaf = false;
  readonly #listeners: BusListener[] = [];

  constructor(readonly inner: MetadataStore) {
    this.bus = inner.bus;
    this.subscribe = inner.subscribe && ((channel, listener) => {
      const probed: BusListener = {
        message: (text) => this.deaf || listener.message(text),
        live: (live) => listener.live(live),
      };
      this.#listeners.push(probed);
      return inner.subscribe!(channel, probed);
    });
  }

  async run(ops: readonly StoreOp[], options?: CallOptions): Promise<StoreResult[]> {
    this.runs++;
    this.ops.push(...ops);
    const results = await this.inner.run(ops, options);
    const held = (op: StoreOp): boolean =>
      (op.type === "read" && op.key.includes(this.holdReadsOf ?? "\0")) || (op.type === "readBus" && this.holdBusReads);
    if (ops.some(held)) {
      await new Promise<void>((resolve) => this.#held.push(resolve));
    }
    return results;
  }

  /** Lets the held replies through. */
  release(): void {
    for (const resume of this.#held.splice(0)) resume();
  }

  /** Whether a read is being held. */
  get holding(): number {
    return this.#held.length;
  }

  /** Tells every subscriber its subscription is lost (or back). */
  live(live: boolean): void {
    for (const listener of this.#listeners) listener.live(live);
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Two instances on one store: `reader` with a tier, `writer` without. */
function instances(options: MemoryStoreOptions & { shared?: boolean; clock?: () => number; interval?: number } = {}) {
  const { shared = false, clock, interval, ...storeOptions } = options;
  const probe = new Probe(memoryStore({ ...storeOptions, ...(clock ? { now: clock } : {}) }));
  const common = { store: probe, blobs: memoryBlobStore(), ...(clock ? { now: clock } : {}) };
  const reader = createCache({
    ...common,
    memory: { ttl: "1h", shared, ...(interval ? { bus: { interval } } : {}) },
  });
  const writer = createCache(common);
  return { probe, reader, writer };
}

/** The value `cache` serves for `key`, and whether its tier served it. */
async function served(cache: Cache, key: string, probe: Probe): Promise<{ value: unknown; memory: boolean }> {
  const runs = probe.runs;
  const value = await cache.get(key);
  return { value, memory: probe.runs === runs && value !== undefined };
}

describe("the tiers' bus (push, in-process)", () => {
  for (const shared of [false, true]) {
    const mode = shared ? "shared" : "encoded";

    it(`${mode}: another instance's delete and set reach this tier at once`, async () => {
      const { probe, reader, writer } = instances({ shared });
      await writer.set("k", "old");
      expect(await reader.get("k")).toBe("old");
      await reader.flush();
      expect(await served(reader, "k", probe)).toEqual({ value: "old", memory: true });
      await writer.set("k", "new");
      expect(await served(reader, "k", probe)).toEqual({ value: "new", memory: false });
      expect(await served(reader, "k", probe)).toEqual({ value: "new", memory: true });
      await writer.delete("k");
      expect(await served(reader, "k", probe)).toEqual({ value: undefined, memory: false });
      expect(reader.stats().bus).toMatchObject({ mode: "push", received: 3, dropped: 2, resets: 0 });
      expect(writer.stats().bus).toMatchObject({ mode: "off", sent: 3 });
    });

    it(`${mode}: an invalidation drops the entries carrying its tag or namespace, and keeps the others`, async () => {
      const { probe, reader, writer } = instances({ shared });
      await writer.set("a", 1, { tags: ["x"] });
      await writer.set("b", 2, { tags: ["y"] });
      await writer.set("c", 3, { namespace: "other" });
      for (const [key, namespace] of [["a"], ["b"], ["c", "other"]] as const) {
        await reader.get(key, namespace ? { namespace } : {});
      }
      await reader.flush();
      await writer.invalidateTag("x");
      expect(await served(reader, "a", probe)).toEqual({ value: undefined, memory: false });
      expect(await served(reader, "b", probe)).toEqual({ value: 2, memory: true });
      await writer.invalidateNamespace("other");
      expect(await reader.get("c", { namespace: "other" })).toBeUndefined();
      expect(await served(reader, "b", probe)).toEqual({ value: 2, memory: true });
      await writer.clear();
      expect(await served(reader, "b", probe)).toEqual({ value: undefined, memory: false });
    });
  }

  it("an invalidation by this instance drops only what it concerns (no longer the whole tier)", async () => {
    const probe = new Probe(memoryStore());
    const cache = createCache({ store: probe, memory: true });
    await cache.set("a", 1, { tags: ["x"] });
    await cache.set("b", 2, { tags: ["y"] });
    await cache.invalidateTag("x");
    expect(await served(cache, "a", probe)).toEqual({ value: undefined, memory: false });
    expect(await served(cache, "b", probe)).toEqual({ value: 2, memory: true });
    // Its own messages are not applied twice: nothing received, nothing dropped by the bus.
    expect(cache.stats().bus).toMatchObject({ sent: 3, received: 0, dropped: 0 });
  });

  it("a value read before another instance's change is not kept in the tier after it", async () => {
    const { probe, reader, writer } = instances();
    await writer.set("k", "old", { tags: ["t"] });
    probe.holdReadsOf = "e:{";
    const reading = reader.get("k");
    while (probe.holding === 0) await tick();
    probe.holdReadsOf = undefined;
    await writer.invalidateTag("t"); // lands while the reply with "old" is on its way
    probe.release();
    expect(await reading).toBe("old"); // it started before the invalidation: either answer is right
    await reader.flush();
    expect(await served(reader, "k", probe)).toEqual({ value: undefined, memory: false });
  });

  it("nor a value read before this instance's own delete", async () => {
    const probe = new Probe(memoryStore());
    const cache = createCache({ store: probe, memory: true });
    const writer = createCache({ store: probe });
    await writer.set("k", "old");
    probe.holdReadsOf = "e:{";
    const reading = cache.get("k");
    while (probe.holding === 0) await tick();
    probe.holdReadsOf = undefined;
    await cache.delete("k");
    probe.release();
    expect(await reading).toBe("old");
    expect(await served(cache, "k", probe)).toEqual({ value: undefined, memory: false });
  });

  it("a lost subscription: the tier serves on (its TTL bounds it), and is emptied once it is back", async () => {
    const { probe, reader, writer } = instances();
    await writer.set("k", "old");
    await reader.get("k");
    await reader.flush();
    probe.live(false);
    probe.deaf = true; // what is published meanwhile is lost
    await writer.set("k", "new");
    expect(await served(reader, "k", probe)).toEqual({ value: "old", memory: true }); // the TTL backstop
    probe.deaf = false;
    probe.live(true);
    expect(await served(reader, "k", probe)).toEqual({ value: "new", memory: false });
    expect(reader.stats().bus).toMatchObject({ failures: 1, reconnects: 1, resets: 1 });
  });

  it("memory.bus: false keeps the tier on its TTL alone; the instance still publishes", async () => {
    const probe = new Probe(memoryStore());
    const reader = createCache({ store: probe, memory: { bus: false } });
    const writer = createCache({ store: probe });
    await writer.set("k", "old");
    await reader.get("k");
    await reader.flush();
    await writer.delete("k");
    expect(await served(reader, "k", probe)).toEqual({ value: "old", memory: true });
    expect(reader.stats().bus.mode).toBe("off");
    expect(probe.ops.filter((op) => op.type === "publish")).toHaveLength(2);
  });

  it("publishes after the change, in its batch; a store without a bus gets no message", async () => {
    const probe = new Probe(memoryStore());
    const cache = createCache({ store: probe });
    await cache.set("k", 1);
    await cache.delete("k");
    await cache.invalidateTag("t");
    const types = probe.ops.map((op) => op.type);
    expect(types).toEqual(["write", "publish", "del", "publish", "setGeneration", "publish"]);
    const silent = new Probe(memoryStore({ bus: false }));
    const quiet = createCache({ store: silent, memory: true });
    await quiet.set("k", 1);
    await quiet.invalidateTag("t");
    expect(silent.ops.map((op) => op.type)).toEqual(["write", "setGeneration"]);
    expect(quiet.stats().bus).toMatchObject({ mode: "off", sent: 0 });
  });
});

describe("the tiers' bus (polled)", () => {
  it("staleness is bounded by the interval; one read per half interval whatever the traffic", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const { probe, reader, writer } = instances({ bus: "poll", clock, interval: 200 });
    await writer.set("k", "old");
    // The first read of the log leaves with the first lookup, and brings the message of that set:
    // it cannot tell it from a later one, so the value read meanwhile is not kept. The next one is.
    expect(await reader.get("k")).toBe("old");
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    expect(await served(reader, "k", probe)).toEqual({ value: "old", memory: false });
    const reads = () => probe.ops.filter((op) => op.type === "readBus").length;
    expect(reads()).toBe(1);
    now += 10;
    await writer.set("k", "new"); // published at +10
    for (let i = 0; i < 50; i++) expect(await served(reader, "k", probe)).toEqual({ value: "old", memory: true });
    expect(reads()).toBe(1); // within the first half interval: no read
    now += 100; // +110: past half the interval, a hit starts a read (and is served meanwhile)
    expect(await served(reader, "k", probe)).toMatchObject({ value: "old" });
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    expect(reads()).toBe(2);
    expect(await served(reader, "k", probe)).toEqual({ value: "new", memory: false });
    // Past the interval since the last read, a hit waits for the next one: never older than 200 ms.
    await writer.set("k", "newer");
    now += 250;
    expect(await reader.get("k")).toBe("newer");
    expect(reads()).toBe(3);
    // A burst of 1000 hits at one instant: still one read.
    now += 300;
    await Promise.all(Array.from({ length: 1000 }, () => reader.get("k")));
    expect(reads()).toBe(4);
    expect(reader.stats().bus).toMatchObject({ mode: "poll", polls: 4, received: 3 });
  });

  it("a hit waiting for a read that left before the change waits for the next one too", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const { probe, reader, writer } = instances({ bus: "poll", clock, interval: 200 });
    await writer.set("k", "old");
    await reader.get("k");
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    await reader.get("k"); // kept, after the first read (at +0: current until +200)
    now += 150;
    probe.holdBusReads = true;
    expect(await reader.get("k")).toBe("old"); // starts a read, which reads the log now, before the change
    while (probe.holding === 0) await tick();
    probe.holdBusReads = false;
    now += 10;
    await writer.set("k", "new"); // at +160
    now += 240; // +400: past +200, and past what the read under way will allow (+350)
    const late = reader.get("k");
    probe.release();
    expect(await late).toBe("new"); // not "old", 240 ms after the change
  });

  it("the first read brings the recent messages: a value kept before it is dropped", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const { probe, reader, writer } = instances({ bus: "poll", clock, interval: 200 });
    await reader.set("k", "old", { tags: ["t"] }); // kept in the tier; no read of the log yet
    now += 1_000;
    await writer.invalidateTag("t");
    now += 1_000;
    expect(await served(reader, "k", probe)).toEqual({ value: undefined, memory: false });
  });

  it("a gap in the log (trimmed, or deleted by clear()) empties the tier", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const { probe, reader, writer } = instances({ bus: "poll", clock, interval: 200, busLogMax: 3 });
    await writer.set("k", "v");
    await writer.set("other", "v", { tags: ["u"] });
    await reader.get("k");
    await reader.get("other");
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    for (let i = 0; i < 5; i++) await writer.invalidateTag(`z${i}`); // none concerns k, but the log loses some
    now += 300;
    expect(await served(reader, "k", probe)).toEqual({ value: "v", memory: false });
    expect(reader.stats().bus).toMatchObject({ resets: 1 });
    await reader.get("other");
    now += 300;
    await reader.get("k");
    await writer.clear();
    now += 300;
    expect(await reader.get("k")).toBeUndefined();
    expect(reader.stats().bus.resets).toBeGreaterThanOrEqual(1);
  });

  it("a failed read: the tier serves on (TTL), and the next read resumes where it was", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const inner = memoryStore({ bus: "poll", now: clock });
    let failing = false;
    const flaky: MetadataStore = {
      name: "flaky",
      bus: "poll",
      run: async (ops, options) => {
        if (failing && ops.some((op) => op.type === "readBus")) throw new Error("down");
        return await inner.run(ops, options);
      },
    };
    const reader = createCache({ store: flaky, now: clock, memory: { bus: { interval: 200 } } });
    const writer = createCache({ store: flaky, now: clock });
    await writer.set("k", "old");
    await reader.get("k");
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    await reader.get("k"); // kept now that the first read is done
    failing = true;
    await writer.set("k", "new");
    now += 300;
    expect(await reader.get("k")).toBe("old"); // waited for the read, which failed: served from the tier
    expect(reader.stats().bus.failures).toBe(1);
    failing = false;
    now += 150;
    await reader.get("k"); // starts the next read
    await reader.flush();
    await tick(); // the read of the log (no write: flush() does not wait for it)
    expect(await reader.get("k")).toBe("new");
  });
});

describe("the tier's side", () => {
  const value = { codec: "x", bytes: new Uint8Array(1) };
  const keep = (gens: string[], since?: number) => ({
    expiresAt: 1e12,
    gens,
    ...(since === undefined ? {} : { since }),
  });

  it("drops by hash and by generation key exactly what carries them, and counts it", () => {
    const tier = new MemoryTier({ maxBytes: 1e6, ttlMs: 60_000, now: () => 0 });
    tier.set("a", value, keep(["p", "ns", "t1"]));
    tier.set("b", value, keep(["p", "ns", "t2"]));
    tier.set("c", value, keep(["p", "other"]));
    expect(tier.drop({ gens: ["t1"] })).toBe(1);
    expect(tier.drop({ hashes: ["b", "zz"] })).toBe(1);
    expect(tier.drop({ gens: ["ns"] })).toBe(0);
    expect(tier.size).toBe(1);
    expect(tier.drop({ gens: ["p"] })).toBe(1);
    expect(tier.drop("all")).toBe(0);
  });

  it("keeps its index in step with evictions and replacements (a replaced entry's old tags no longer drop it)", () => {
    const tier = new MemoryTier({ maxBytes: 4 * (1 + 160 + 48) * 4, ttlMs: 60_000, now: () => 0 });
    tier.set("a", value, keep(["old"]));
    tier.set("a", value, keep(["new"]));
    expect(tier.drop({ gens: ["old"] })).toBe(0);
    expect(tier.drop({ gens: ["new"] })).toBe(1);
    for (let i = 0; i < 100; i++) tier.set(`h${i}`, value, keep(["many"]));
    const live = tier.size;
    expect(live).toBeLessThan(100); // the oldest were evicted
    expect(tier.drop({ gens: ["many"] })).toBe(live);
    expect(tier.size).toBe(0);
  });

  it("refuses a value read before a drop that concerns it, or before more drops than it remembers", () => {
    const tier = new MemoryTier({ maxBytes: 1e6, ttlMs: 60_000, now: () => 0 });
    const since = tier.epoch;
    tier.drop({ gens: ["unrelated"] });
    tier.set("kept", value, keep(["t"], since));
    expect(tier.size).toBe(1);
    tier.drop({ hashes: ["late"] });
    tier.set("late", value, keep(["t"], since));
    expect(tier.size).toBe(1);
    const before = tier.epoch;
    for (let i = 0; i < 64; i++) tier.drop({ hashes: [`x${i}`] });
    tier.set("remembered", value, keep(["t"], before)); // the last 64 drops are known: none concerns it
    expect(tier.size).toBe(2);
    tier.drop({ hashes: ["x64"] });
    tier.set("forgotten", value, keep(["t"], before));
    expect(tier.size).toBe(2); // 65 drops since: it no longer knows them all, so it does not keep it
    tier.set("now", value, keep(["t"], tier.epoch));
    expect(tier.size).toBe(3);
  });

  it("polled: past checkAt a hit starts a check; past validUntil a held entry waits for it, an absent one does not", async () => {
    let now = 0;
    const tier = new MemoryTier({ maxBytes: 1e6, ttlMs: 60_000, now: () => now });
    let checks = 0;
    let finish: () => void = () => {};
    let checking: Promise<void> | undefined;
    // Like the bus: one check at a time, the one under way returned to every caller.
    tier.watch(() =>
      checking ??= new Promise<void>((resolve) => {
        checks++;
        finish = () => {
          checking = undefined;
          resolve();
        };
      })
    );
    tier.set("a", value, keep([]));
    tier.window(100, 200);
    expect(tier.get("a")).not.toBeInstanceOf(Promise);
    expect(checks).toBe(0);
    now = 150;
    expect(tier.get("a")).not.toBeInstanceOf(Promise); // within the window: served, a check started
    expect(checks).toBe(1);
    finish();
    now = 250;
    const waiting = tier.get("a");
    expect(checks).toBe(2);
    expect(waiting).toBeInstanceOf(Promise);
    expect(tier.get("absent")).toBeUndefined();
    tier.window(Infinity, Infinity);
    finish();
    expect(await waiting).toBeDefined();
  });
});

describe("the bus's options", () => {
  it("refuses a bad memory.bus, and a store that declares a bus it does not have", () => {
    expect(() => createCache({ memory: { bus: { interval: 5 } } })).toThrow(
      /memory\.bus\.interval must be at least 20ms/,
    );
    expect(() => createCache({ memory: { bus: "yes" as never } })).toThrow(/memory\.bus must be/);
    const store = { name: "odd", bus: "push" as const, run: memoryStore().run };
    expect(() => createCache({ store, memory: true })).toThrow(/declares bus "push" but has no subscribe/);
    expect(() => memoryStore({ bus: "both" as never })).toThrow(/bus/);
  });
});
