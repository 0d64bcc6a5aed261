/**
 * Events against the real services: a known sequence of calls (a miss of each size, hits of each
 * tier, a value computed across an invalidation, a value too large, an entry marked stale and
 * refreshed, a wait for another instance's lease, the store failing until the breaker opens, then
 * answering again) produces exactly the expected events, in order, and their counts are the
 * counts of `stats()`.
 */
import { describe, expect, it } from "vitest";
import { type CacheEvent, type CallFields, createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { ChaosStore, recordingLogger } from "../helpers/chaos.ts";
import { requireServices, uniquePrefix } from "../helpers/services.ts";
import { testStore } from "../helpers/stores.ts";

const services = requireServices();

/** Incompressible bytes: 8000 of them go to S3 past `maxInlineBytes: 1024`. */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

/** What a test asserts of an event: its type and the fields that say what happened. */
function gist(event: CacheEvent): string {
  switch (event.type) {
    case "hit":
      return `${event.op} ${event.label} hit ${event.tier}${event.stale ? " stale" : ""}`;
    case "miss":
      return `${event.op} ${event.label} miss`;
    case "stale":
      return `${event.op} ${event.label} stale ${event.reason} ${event.tier}`;
    case "leaseWait":
      return `${event.op} ${event.label} leaseWait ${event.outcome}`;
    case "compute":
      return `${event.op} ${event.label} compute ${event.ok ? "ok" : "threw"}${event.fallback ? " fallback" : ""}`;
    case "write": {
      const detail = event.outcome === "ok"
        ? event.placement
        : event.outcome === "discarded"
        ? event.reason
        : event.outcome === "skipped"
        ? `${event.reason} ${event.code ?? ""}`.trim()
        : event.code ?? "";
      return `${event.op} ${event.label} write ${event.outcome} ${detail}`;
    }
    case "invalidate":
      return `invalidate ${event.mode} tags=${event.tags.join(",")} namespaces=${event.namespaces.join(",")}${
        event.all ? " all" : ""
      }`;
    case "breaker":
      return `breaker ${event.backend} ${event.state}`;
    case "error":
      return `error ${event.source} ${event.code}`;
    case "bus":
      return `bus ${event.action}${event.reason ? ` ${event.reason}` : ""}`;
  }
}

describe("events against the real services", () => {
  it("tell a known sequence in order, and their counts are stats()'s", async () => {
    const prefix = uniquePrefix("events");
    let clock = Date.now();
    const now = () => clock;
    const store = new ChaosStore(testStore());
    const seen: CacheEvent[] = [];
    const logger = recordingLogger();
    const cache = createCache({
      store,
      blobs: s3BlobStore(services.s3),
      prefix,
      logger,
      now,
      maxInlineBytes: 1024,
      maxValueBytes: 50_000,
      memory: { ttl: "1s" },
      breaker: { threshold: 2, cooldown: "10s" },
      globalStats: false,
    });
    const off = cache.on("*", (event) => void seen.push(event));
    const small = cache.wrap(async (n: number) => ({ n, text: "s".repeat(100) }), { name: "small", tags: ["small"] });
    const big = cache.wrap(async (_n: number) => noise(8000), { name: "big" });
    const huge = cache.wrap(async () => noise(60_000), { name: "huge" });
    const racing = cache.wrap(async () => {
      await cache.invalidateTag("race");
      return 1;
    }, { name: "racing", tags: ["race"] });
    const expected: string[] = [];
    const step = async (run: () => Promise<unknown>, events: string[]) => {
      await run();
      await cache.flush();
      expected.push(...events);
      expect(seen.map(gist)).toEqual(expected);
    };

    // Misses, each stored in the background: inline, then in S3.
    await step(() => small(1), [
      "wrap default/small miss",
      "wrap default/small compute ok",
      "wrap default/small write ok inline",
    ]);
    await step(() => big(1), [
      "wrap default/big miss",
      "wrap default/big compute ok",
      "wrap default/big write ok blob",
    ]);
    // Hits of each tier: the in-process tier holds what was written; once its 1 s has passed, the store.
    await step(() => small(1), ["wrap default/small hit memory"]);
    clock += 2_000;
    await step(() => small(1), ["wrap default/small hit inline"]);
    await step(() => big(1), ["wrap default/big hit blob"]);
    // A value over maxValueBytes is not stored: skipped, counted as a codec error.
    await step(() => huge(), [
      "wrap default/huge miss",
      "wrap default/huge compute ok",
      "wrap default/huge write skipped value E_TOO_LARGE",
      "error codec E_TOO_LARGE",
    ]);
    // A value computed across an invalidation of its own tag is discarded.
    await step(() => racing(), [
      "wrap default/racing miss",
      "invalidate expire tags=race namespaces=",
      "wrap default/racing compute ok",
      "wrap default/racing write discarded invalidated",
    ]);
    // Marked stale: served while one refresh replaces it.
    await step(() => cache.invalidateTag("small", { mode: "stale" }), ["invalidate stale tags=small namespaces="]);
    await step(() => small(1), [
      "wrap default/small hit inline stale",
      "wrap default/small stale marked inline",
      "refresh default/small compute ok",
      "refresh default/small write ok inline",
    ]);

    // Another instance holds the lease of small(2) while it computes: this one waits and gets its entry.
    const other = createCache({ store: testStore(), blobs: s3BlobStore(services.s3), prefix, now, logger });
    let started!: () => void;
    const computing = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const slow = other.wrap(async (n: number) => {
      started();
      await gate;
      return { n, text: "s".repeat(100) };
    }, { name: "small", tags: ["small"] });
    const theirs = slow(2);
    await computing;
    const ours = small(2);
    // Its lookup found the lease held: it polls until the owner's entry is there.
    while (seen.length === expected.length) await new Promise((resolve) => setTimeout(resolve, 5));
    finish();
    await theirs;
    await other.flush();
    await step(() => ours, ["wrap default/small miss", "wrap default/small leaseWait served"]);
    expect(await ours).toEqual({ n: 2, text: "s".repeat(100) });

    // The store fails: each lookup is a miss whose value cannot be checked against invalidations
    // (discarded); the second failure opens the breaker, and the third call skips the store.
    store.fault = "throw";
    const failing = [
      "wrap default/small miss",
      "wrap default/small compute ok",
      "wrap default/small write discarded unverified",
    ];
    await step(() => small(3), ["error store E_STORE", ...failing]);
    await step(() => small(4), ["breaker store open", "error store E_STORE", ...failing]);
    const calls = store.calls;
    await step(() => small(5), failing);
    expect(store.calls).toBe(calls);
    // Past the cooldown the store answers again: the probe closes the breaker, and small(1) is a hit.
    store.fault = "none";
    clock += 11_000;
    await step(() => small(1), ["breaker store closed", "wrap default/small hit inline"]);

    // Every count of stats() is the number of its events.
    const count = (test: (event: CacheEvent) => boolean) => seen.filter(test).length;
    const hits = (tier: string) => count((e) => e.type === "hit" && e.tier === tier);
    const writes = (outcome: string) => count((e) => e.type === "write" && e.outcome === outcome);
    const stats = cache.stats();
    expect(stats.hits).toEqual({
      total: count((e) => e.type === "hit"),
      memory: hits("memory"),
      inline: hits("inline"),
      blob: hits("blob"),
    });
    expect(stats.hits).toEqual({ total: 5, memory: 1, inline: 3, blob: 1 });
    expect(stats.misses).toBe(count((e) => e.type === "miss"));
    expect(stats.stale).toBe(count((e) => e.type === "stale" && e.reason !== "error"));
    expect(stats.staleIfError).toBe(count((e) => e.type === "stale" && e.reason === "error"));
    expect(stats.writes).toMatchObject({
      ok: writes("ok"),
      discarded: writes("discarded"),
      skipped: writes("skipped"),
      failed: writes("failed"),
    });
    expect(stats.writes).toMatchObject({ ok: 3, discarded: 4, skipped: 1, failed: 0 });
    expect(stats.errors).toMatchObject({
      total: count((e) => e.type === "error"),
      store: count((e) => e.type === "error" && e.source === "store"),
      codec: count((e) => e.type === "error" && e.source === "codec"),
      byCode: { E_STORE: 2, E_TOO_LARGE: 1 },
    });
    expect(stats.breakers.store).toMatchObject({
      state: "closed",
      opened: count((e) => e.type === "breaker" && e.state === "open"),
    });
    expect(stats.leases.waited).toBe(count((e) => e.type === "leaseWait" && e.outcome === "served"));
    expect(stats.leases.takenOver).toBe(count((e) => e.type === "leaseWait" && e.outcome === "acquired"));
    expect(stats.refreshesFailed).toBe(count((e) => e.type === "compute" && e.op === "refresh" && !e.ok));
    // Each call's events share its number; the refresh is a call of its own.
    const first = seen[0] as CallFields;
    const ofSmall1 = seen.filter((e) => "keyHash" in e && e.keyHash === first.keyHash);
    expect(new Set(ofSmall1.map((e) => "call" in e && e.call)).size).toBe(6);

    off();
    await small(1);
    expect(seen.map(gist)).toEqual(expected);
    expect(logger.lines.filter((l) => l.level === "error")).toEqual([]);
  });
});
