/**
 * Larder on a real Redis Cluster (3 masters, 3 replicas on loopback): entries spread over every
 * master; a lookup reaches the record's shard and its generations' shards in one round trip
 * (counted at proxies in front of every node, which the client reaches through ioredis' natMap);
 * invalidation is one command; the read side alone refuses a value computed before an
 * invalidation that a stale writer stored anyway; limits evict on the victims' own shards;
 * clear() walks every master.
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { lruKeys, recordKey } from "../../src/core/record/key_layout.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { type CountingProxy, countingProxy, ProxyLog } from "../helpers/tcp_proxy.ts";
import { requireCluster, uniquePrefix } from "../helpers/services.ts";

const urls = requireCluster();
const nodes = urls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));
let admin: Cluster;

beforeAll(async () => {
  admin = new Cluster([nodes[0]!], { scaleReads: "master" });
  await admin.call("PING");
});
afterAll(async () => {
  await admin.quit();
});

/** The prefix's keys matching `pattern` on each master, by master. */
async function keysPerMaster(pattern: string): Promise<number[]> {
  return await Promise.all(
    admin.nodes("master").map(async (node) => {
      let cursor = "0";
      let count = 0;
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        count += keys.length;
      } while (cursor !== "0");
      return count;
    }),
  );
}

describe("Redis Cluster: layout", () => {
  it("spreads 1,000 entries over every master, each a fair share", async () => {
    const store = redisStore({ url: urls });
    const prefix = uniquePrefix("spread");
    const cache = createCache({ store, prefix, globalStats: false });
    try {
      for (let i = 0; i < 1_000; i += 100) {
        const written = await Promise.all(Array.from({ length: 100 }, (_, j) => cache.set(`k${i + j}`, i + j)));
        expect(written.every(Boolean)).toBe(true);
      }
      const counts = await keysPerMaster(recordKey(prefix, "*"));
      expect(counts).toHaveLength(3);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000);
      // A third each is expected; 250 is more than five standard deviations below it.
      for (const count of counts) expect(count).toBeGreaterThan(250);
      expect(await cache.get("k999")).toBe(999);
    } finally {
      await store.close();
    }
  });

  it("keeps a limited namespace's bounds: victims' records deleted on their own shards", async () => {
    const store = redisStore({ url: urls });
    const prefix = uniquePrefix("limits");
    const cache = createCache({ store, prefix, globalStats: false, limits: { lim: { maxEntries: 5 } } });
    try {
      for (let i = 0; i < 12; i++) expect(await cache.set(`k${i}`, `v${i}`, { namespace: "lim" })).toBe(true);
      const remaining = (await keysPerMaster(recordKey(prefix, "*"))).reduce((a, b) => a + b, 0);
      expect(remaining).toBe(5);
      expect(await admin.zcard(lruKeys(prefix, "lim").key)).toBe(5);
      expect(await cache.get("k11", { namespace: "lim" })).toBe("v11");
      expect(await cache.get("k0", { namespace: "lim" })).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("clear() removes the prefix's keys from every master", async () => {
    const store = redisStore({ url: urls });
    const prefix = uniquePrefix("clear");
    const cache = createCache({ store, prefix, globalStats: false });
    try {
      await Promise.all(Array.from({ length: 60 }, (_, i) => cache.set(`k${i}`, i, { tags: [`t${i % 7}`] })));
      const before = await keysPerMaster(`${prefix}:*`);
      expect(before.every((n) => n > 0)).toBe(true);
      const { keys } = await cache.clear();
      expect(keys).toBeGreaterThanOrEqual(60);
      expect(await keysPerMaster(`${prefix}:*`)).toEqual([0, 0, 0]);
      expect(await cache.get("k1")).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe("Redis Cluster: round trips (counted at proxies in front of every node)", () => {
  const log = new ProxyLog();
  const proxies: CountingProxy[] = [];
  let client: Cluster;

  beforeAll(async () => {
    for (const node of nodes) proxies.push(await countingProxy(node, log, { node: String(node.port), delayMs: 5 }));
    const natMap = Object.fromEntries(
      nodes.map((node, i) => [`${node.host}:${node.port}`, { host: "127.0.0.1", port: proxies[i]!.port }]),
    );
    client = new Cluster([{ host: "127.0.0.1", port: proxies[0]!.port }], {
      natMap,
      scaleReads: "master",
      enableAutoPipelining: true,
    });
    await client.call("PING");
    // Connections to every master open now: a node's first command also pays its handshake.
    await Promise.all(client.nodes("master").map((node) => node.call("PING")));
  });
  afterAll(async () => {
    await client.quit();
    for (const proxy of proxies) await proxy.close();
  });
  beforeEach(() => log.reset());

  it("a hit is one round trip: the record's shard and the generations' shards at once", async () => {
    const store = redisStore({ client });
    const prefix = uniquePrefix("rt");
    const cache = createCache({ store, prefix, globalStats: false });
    const before: number[] = [];
    const double = cache.wrap(async (n: number) => {
      before.push(log.flights());
      return n * 2;
    }, { name: "double" });
    await double(0); // the scripts reach each node once with EVAL
    await double(0);
    await cache.flush();
    log.reset();
    expect(await double(1)).toBe(2);
    expect(before.at(-1), "round trips before the function ran on a miss (lease included)").toBe(1);
    await cache.flush();
    log.reset();
    const hits = cache.stats().hits.inline;
    expect(await double(1)).toBe(2);
    expect(cache.stats().hits.inline).toBe(hits + 1);
    expect(log.flights()).toBe(1);
    // The record (with its lease) and two generations (prefix, namespace): three scripts.
    expect(log.commands().map((c) => c[0])).toEqual(["EVALSHA", "EVALSHA", "EVALSHA"]);
    expect(log.nodes().size).toBeGreaterThanOrEqual(1);
  });

  it("an invalidation is one command to one shard, whatever the number of entries", async () => {
    const store = redisStore({ client });
    const prefix = uniquePrefix("inv");
    const cache = createCache({ store, prefix, globalStats: false });
    await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`k${i}`, i, { tags: ["report"] })));
    log.reset();
    await cache.invalidateTags(["report"]);
    // Then, once it is done, its message to the other instances' tiers, on the bus channel's shard.
    expect(log.commands()).toEqual([
      ["HSET", `${prefix}:v:tag:report`, "x", expect.any(String)],
      ["SPUBLISH", `${prefix}:bus`, expect.stringMatching(new RegExp(` g ${prefix}:v:tag:report$`))],
    ]);
    expect(log.flights()).toBe(2);
    expect(await cache.get("k1")).toBeUndefined();
  });

  it("a miss after an invalidation this process has not seen takes its lease in a second round trip", async () => {
    const store = redisStore({ client });
    const prefix = uniquePrefix("unseen");
    const cache = createCache({ store, prefix, globalStats: false });
    const otherStore = redisStore({ url: urls });
    const other = createCache({ store: otherStore, prefix, globalStats: false });
    let version = 0;
    const fetch = cache.wrap(async () => ++version, { name: "fetch", tags: ["t"] });
    try {
      expect(await fetch()).toBe(1);
      await cache.flush();
      await other.invalidateTags(["t"]);
      log.reset();
      const flightsBefore: number[] = [];
      const again = cache.wrap(async () => {
        flightsBefore.push(log.flights());
        return ++version;
      }, { name: "fetch", tags: ["t"] });
      expect(await again()).toBe(2);
      expect(flightsBefore).toEqual([2]);
      expect(cache.stats().leases.acquired).toBe(2);
    } finally {
      await otherStore.close();
    }
  });
});

describe("Redis Cluster: the read side alone keeps invalidations", () => {
  it("a value computed before an invalidation, stored by a writer that had not seen it, is never served", async () => {
    const prefix = uniquePrefix("guarantee");
    const stores = [redisStore({ url: urls }), redisStore({ url: urls }), redisStore({ url: urls })];
    const [writer, invalidator, reader] = stores.map((store) =>
      createCache({ store, prefix, globalStats: false, lease: false })
    );
    try {
      let release!: () => void;
      let started!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const running = new Promise<void>((resolve) => (started = resolve));
      let data = "old";
      const slow = writer!.wrap(async () => {
        const seen = data;
        started();
        await gate;
        return seen;
      }, { name: "report", tags: ["sales"] });
      const pending = slow();
      await running; // its lookup is done (it saw the old tokens): the function runs
      data = "new";
      await invalidator!.invalidateTags(["sales"]);
      release();
      expect(await pending).toBe("old");
      await writer!.flush();
      // The writer had not seen the invalidation: its write-side check let the value through.
      const records = (await keysPerMaster(recordKey(prefix, "*"))).reduce((a, b) => a + b, 0);
      expect(records, "the stale writer's record is in Redis").toBe(1);
      const read = reader!.wrap(async () => data, { name: "report", tags: ["sales"] });
      expect(await read()).toBe("new");
      expect(await slow()).toBe("new");
    } finally {
      for (const store of stores) await store.close();
    }
  });
});
