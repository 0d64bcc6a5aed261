/**
 * The TCP store's specifics against a real redis-server, counted at a proxy in front of it:
 * round trips of a hit and a miss, EVALSHA with its NOSCRIPT recovery, a client the app owns
 * (lazy, RESP3), a dead server failing fast, and the lifecycle of the client.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { freePort } from "../../scripts/services/redis.ts";
import { type CountingProxy, countingProxy, ProxyLog } from "../helpers/tcp_proxy.ts";
import { requireServices, uniquePrefix } from "../helpers/services.ts";

const { redisUrl } = requireServices();
const target = { host: new URL(redisUrl).hostname, port: Number(new URL(redisUrl).port) };
const log = new ProxyLog();
let proxy: CountingProxy;
let admin: Redis;

beforeAll(async () => {
  // Replies held back 5 ms: a request sent before any reply arrived is then plainly so.
  proxy = await countingProxy(target, log, { delayMs: 5 });
  admin = new Redis({ host: target.host, port: target.port, lazyConnect: true });
});
afterAll(async () => {
  await admin.quit();
  await proxy.close();
});
beforeEach(() => log.reset());

/** Resolves once the client's connection is over (`quit` resolves on its reply, a moment earlier). */
async function ended(client: { status: string }): Promise<void> {
  for (let i = 0; i < 100 && client.status !== "end"; i++) await new Promise((r) => setTimeout(r, 10));
  expect(client.status).toBe("end");
}

const names = (): string[] => log.commands().map((c) => c[0]!.toUpperCase());

describe("redisStore round trips (counted at the server's proxy)", () => {
  it("an inline hit is one round trip: one EVALSHA; a miss one round trip before the function", async () => {
    const store = redisStore({ url: proxy.url });
    const cache = createCache({ store, prefix: uniquePrefix("rt"), globalStats: false });
    const double = cache.wrap(async (n: number) => {
      calls.push(log.flights());
      return n * 2;
    }, { name: "double" });
    const calls: number[] = [];
    try {
      await double(0); // loads the scripts (SCRIPT LOAD rides along in the same pipeline)
      await cache.flush();
      log.reset();
      expect(await double(1)).toBe(2);
      expect(calls.at(-1), "round trips before the function ran on a miss").toBe(1);
      await cache.flush();
      log.reset();
      expect(await double(1)).toBe(2);
      expect(log.flights()).toBe(1);
      expect(names()).toEqual(["EVALSHA"]);
    } finally {
      await store.close();
    }
  });

  it("a batch is one pipeline: one round trip for many operations", async () => {
    const store = redisStore({ url: proxy.url });
    try {
      const prefix = uniquePrefix("batch");
      await store.run([{ type: "get", key: `${prefix}:warm` }]);
      log.reset();
      const ops = Array.from(
        { length: 50 },
        (_, i) => ({ type: "set", key: `${prefix}:${i}`, value: "v", ttlMs: 60_000 }) as const,
      );
      expect(await store.run(ops)).toEqual(ops.map(() => true));
      expect(log.flights()).toBe(1);
      expect(log.commands()).toHaveLength(50);
      // The TTL is in the SET itself, never a separate EXPIRE.
      expect(log.commands()[0]).toEqual(["SET", `${prefix}:0`, "v", "PX", "60000"]);
    } finally {
      await store.close();
    }
  });

  it("recovers from SCRIPT FLUSH: NOSCRIPT, one EVAL re-send, then EVALSHA again", async () => {
    const store = redisStore({ url: proxy.url });
    const cache = createCache({ store, prefix: uniquePrefix("noscript"), globalStats: false });
    const square = cache.wrap(async (n: number) => n * n, { name: "square" });
    try {
      await square(3);
      await cache.flush();
      await admin.call("SCRIPT", "FLUSH");
      log.reset();
      expect(await square(3)).toBe(9);
      expect(cache.stats().hits.inline).toBe(1);
      expect(names()).toEqual(["EVALSHA", "EVAL"]);
      expect(log.flights()).toBe(2);
      log.reset();
      expect(await square(3)).toBe(9);
      expect(names()).toEqual(["EVALSHA"]);
      expect(cache.stats().errors.store).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe("redisStore clients", () => {
  it("works with the app's own client (lazy, RESP3 by default) and leaves it open on close()", async () => {
    const client = new Redis({ host: target.host, port: target.port, lazyConnect: true });
    try {
      expect(client.status).toBe("wait");
      const store = redisStore({ client });
      const prefix = uniquePrefix("own");
      const gen = `${prefix}:g`;
      const [read, , hash] = await store.run([
        {
          type: "read",
          key: `${prefix}:r`,
          gens: [gen],
          token: "t",
          lease: { key: `${prefix}:l`, token: "me", ttlMs: 5_000 },
        },
        { type: "hincr", key: `${prefix}:h`, field: "a", by: 2 },
        { type: "hgetall", key: `${prefix}:h` },
      ]);
      expect(read).toEqual({ value: null, invalidated: false, lease: "acquired", gens: { [gen]: { x: "t", s: "t" } } });
      expect(hash).toEqual({ a: "2" });
      await store.close();
      expect(await client.call("PING")).toBe("PONG");
    } finally {
      await client.quit();
    }
  });

  it("selects the database of the URL's path", async () => {
    const prefix = uniquePrefix("db");
    const store = redisStore({ url: `${redisUrl}/3` });
    try {
      await store.run([{ type: "set", key: `${prefix}:k`, value: "in-3", ttlMs: 60_000 }]);
      expect(await admin.call("GET", `${prefix}:k`)).toBeNull();
      await admin.select(3);
      expect(await admin.call("GET", `${prefix}:k`)).toBe("in-3");
    } finally {
      await admin.select(0);
      await store.close();
    }
  });

  it("fails fast on a server that is not there, and the cache fails open", async () => {
    const store = redisStore({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 500 });
    const cache = createCache({ store, prefix: uniquePrefix("down"), globalStats: false, timeout: { store: "2s" } });
    try {
      const started = performance.now();
      await expect(store.run([{ type: "get", key: "k" }])).rejects.toMatchObject({ code: "E_STORE" });
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(await cache.wrap(async () => "computed", { name: "f" })()).toBe("computed");
      expect(cache.stats().errors.store).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it("close() ends the client it created; the store then refuses calls", async () => {
    const store = redisStore({ url: redisUrl });
    await store.run([{ type: "get", key: "k" }]);
    const client = await store.client();
    await store.close();
    await ended(client);
    await expect(store.run([{ type: "get", key: "k" }])).rejects.toMatchObject({ code: "E_STORE" });
  });

  it("refuses a client that has been closed", async () => {
    const client = new Redis({ host: target.host, port: target.port });
    await client.quit();
    await ended(client);
    expect(() => redisStore({ client })).toThrow(/has been closed/);
  });
});
