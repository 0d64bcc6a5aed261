/**
 * The write side and readable keys against the real services (redis-server behind the Upstash
 * bridge, or over TCP, and S3): an invalidating write seen by another instance, and none when the
 * write throws (commands counted at the bridge); recache racing a miss on another instance with
 * the loader run once (counted in Redis); key templates refused before any request; the readable
 * key in `inspect` and in `larder inspect`; TTL profiles from the environment (PTTL read in
 * Redis); a function past its `timeout` answered stale while its late value is stored; a caller
 * that aborts leaving the computation it shares alone. In-process details: test/unit/templates,
 * ttl_profiles, function_timeout and invalidating.
 */
import { describe, expect, it } from "vitest";
import { type Cache, KeyError, resource, StoreError, TimeoutError } from "../../mod.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { cacheOptionsFromEnv } from "../../src/runtime/env.ts";
import { servicesCache } from "../helpers/cache.ts";
import { cliEnv, spawnCli } from "../helpers/cli.ts";
import {
  addFaults,
  redisCommand,
  removeFaults,
  requireServices,
  trafficOf,
  uniquePrefix,
} from "../helpers/services.ts";
import { bridgeOnly, storeEnv } from "../helpers/stores.ts";

const services = requireServices();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two instances of an application: two caches on one prefix, sharing nothing but the services. */
function twoInstances(label: string, options: CacheOptions = {}): { a: Cache; b: Cache; prefix: string } {
  const prefix = uniquePrefix(label);
  return {
    a: servicesCache("", { ...options, prefix }).cache,
    b: servicesCache("", { ...options, prefix }).cache,
    prefix,
  };
}

/** A profile large enough to be stored in S3 even compressed (about 130 KB of CBOR, random event ids). */
function profileOf(id: number, name: string, version: number) {
  const eventId = () => Math.random().toString(36).slice(2, 14) + Math.random().toString(36).slice(2, 14);
  return {
    id,
    name,
    version,
    history: Array.from({ length: 4000 }, (_, i) => ({ at: 1_700_000_000 + i * 60, event: eventId() })),
  };
}

/** A counter in Redis: every instance's executions of a loader, where all of them can see it. */
const counter = (prefix: string) => {
  const key = `${prefix}-executions`;
  return {
    incr: async (): Promise<void> => void await redisCommand(["INCR", key]),
    read: async (): Promise<number> => Number(await redisCommand(["GET", key]) ?? 0),
  };
};

describe("invalidating on the real services", () => {
  it("a write on one instance invalidates what another serves; the next read there is fresh", async () => {
    const { a, b } = twoInstances("iw-seen");
    const table = new Map([[42, "Ada"]]);
    const user = resource("user", "id");
    const load = async (id: number) => profileOf(id, table.get(id)!, 1);
    const readOnA = a.wrap(load, { key: user.key, tags: user.tags, params: ["id"] });
    const readOnB = b.wrap(load, { key: user.key, tags: user.tags, params: ["id"] });
    expect((await readOnB(42)).name).toBe("Ada");
    await b.flush();
    expect((await readOnB(42)).name).toBe("Ada");
    expect(b.stats().hits.total).toBe(1);

    const updateUser = a.invalidating(async (id: number, name: string) => {
      table.set(id, name);
      return { updated: id };
    }, { tags: user.tags, params: ["id", "name"] });
    expect(await updateUser(42, "Ada L.")).toEqual({ updated: 42 });
    expect((await readOnB(42)).name).toBe("Ada L.");
    expect(b.stats().misses).toBe(2);
    await b.flush();
    expect((await readOnA(42)).name).toBe("Ada L.");
  });

  bridgeOnly("a write that throws sends no invalidation: not one command reaches the store", async () => {
    const { a, b, prefix } = twoInstances("iw-throw");
    const getUser = b.wrap(async (id: number) => ({ id }), { key: "user:{0}", tags: ["user:{0}"] });
    await getUser(42);
    await b.flush();
    const failing = a.invalidating(async (_id: number) => {
      throw new Error("deadlock detected");
    }, { tags: ["user:{0}"], namespaces: ["default"] });
    const before = await trafficOf(prefix);
    await expect(failing(42)).rejects.toThrow("deadlock detected");
    expect((await trafficOf(prefix, before.mark)).store).toEqual([]);
    expect(await getUser(42)).toEqual({ id: 42 });
    expect(b.stats().hits.total).toBe(1);
  });

  bridgeOnly("an invalidation the store refuses rejects with a StoreError saying the write succeeded", async () => {
    const { a, prefix } = twoInstances("iw-fail", { breaker: false, timeout: { store: "300ms" } });
    let written = 0;
    const save = a.invalidating(async (_id: number) => ++written, { name: "saveUser", tags: ["user:{0}"] });
    // The bridge answers every request of this prefix with a 500 (fault rules match on arguments).
    await addFaults(services.upstash.url, [{ match: `${prefix}:`, status: 500 }], services.upstash.token);
    try {
      const error = await save(1).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(
        /invalidating\(saveUser\): the write succeeded but the invalidation did not \(upstash run \[setGeneration\] failed/,
      );
      expect(written).toBe(1);
    } finally {
      await removeFaults(services.upstash.url, `${prefix}:`, services.upstash.token);
    }
  });
});

describe("recache on the real services", () => {
  it("a recache and a concurrent miss on another instance run the loader once (counted in Redis)", async () => {
    const { a, b, prefix } = twoInstances("recache");
    const executions = counter(prefix);
    const table = new Map([[42, "Ada"]]);
    const load = async (id: number) => {
      await executions.incr();
      await sleep(300); // long enough for the other instance's lookup to find the lease taken
      return profileOf(id, table.get(id)!, 1);
    };
    const getUserA = a.wrap(load, { key: "user:{id}", tags: ["user:{id}"], params: ["id"] });
    const getUserB = b.wrap(load, { key: "user:{id}", tags: ["user:{id}"], params: ["id"] });
    await getUserA(42);
    await a.flush();
    expect(await executions.read()).toBe(1);

    const updateUser = a.invalidating(async (id: number, name: string) => void table.set(id, name), {
      tags: ["user:{id}"],
      params: ["id", "name"],
      recache: [[getUserA, (id) => [id]]],
    });
    await updateUser(42, "Ada L.");
    // The recache runs in A's background; B misses (the entry was invalidated) at the same time.
    const fromB = await getUserB(42);
    await a.flush();
    await b.flush();
    expect(fromB.name).toBe("Ada L.");
    expect(await executions.read()).toBe(2);
    // One of the two waited on the other's lease: they overlapped, and only one ran the loader.
    expect(a.stats().leases.waited + b.stats().leases.waited).toBe(1);
    expect(a.stats().recaches).toEqual({ ok: 1, failed: 0, skipped: 0 });
    expect((await getUserB(42)).name).toBe("Ada L.");
    expect(await executions.read()).toBe(2);
  });

  it("awaited, the fresh value is in the store when the write resolves, never the old one", async () => {
    const { a, b } = twoInstances("recache-await");
    const table = new Map([[7, "Grace"]]);
    let runs = 0;
    const load = async (id: number) => (runs++, profileOf(id, table.get(id)!, runs));
    const getUser = a.wrap(load, { key: "user:{0}", tags: ["user:{0}"] });
    await getUser(7);
    await a.flush();
    const rename = a.invalidating(async (id: number, name: string) => void table.set(id, name), {
      tags: ["user:{0}"],
      recache: { calls: [[getUser, (id) => [id]]], await: true },
    });
    await rename(7, "Grace H.");
    expect(runs).toBe(2);
    // Read on the other instance, through the same function's entry, without running it.
    const stored = await b.wrap(load, { key: "user:{0}", tags: ["user:{0}"] }).peek(7);
    expect(stored?.name).toBe("Grace H.");
    expect(stored?.version).toBe(2);
  });
});

describe("key templates and readable keys on the real services", () => {
  bridgeOnly("a missing or non-scalar placeholder is a KeyError naming it, before any request", async () => {
    const { cache, prefix } = servicesCache("tpl-missing");
    let runs = 0;
    const getOrder = cache.wrap(async (q: { customer?: unknown; id?: unknown }) => (runs++, q), {
      key: "order:{customer}:{id}",
      tags: ["customer:{customer}"],
    });
    const before = await trafficOf(prefix);
    await expect(getOrder({ id: 1 })).rejects.toThrow(KeyError);
    await expect(getOrder({ id: 1 })).rejects.toThrow(/key: placeholder \{customer\} has no value/);
    await expect(getOrder({ customer: { id: 3 }, id: 1 })).rejects.toThrow(/placeholder \{customer\} is a object/);
    await expect(getOrder({ customer: 3, id: [1] })).rejects.toThrow(/placeholder \{id\} is an array/);
    expect((await trafficOf(prefix, before.mark)).store).toEqual([]);
    expect(runs).toBe(0);
    expect(await getOrder({ customer: 3, id: 1 })).toEqual({ customer: 3, id: 1 });
  });

  it("the record keeps the readable key: cache.inspect and `larder inspect` (by hash) show it", async () => {
    const { cache, prefix } = servicesCache("tpl-inspect");
    const getUser = cache.wrap(async (id: number) => profileOf(id, "Ada", 1), {
      key: "user:{id}",
      params: ["id"],
      namespace: "users",
    });
    await getUser(42);
    await cache.flush();
    const inspection = await cache.inspect({ hash: await getUser.hashOf(42) });
    expect(inspection.record).toMatchObject({ readableKey: "user:42", placement: "blob", payloadVerified: true });
    const raw = await redisCommand(["GET", recordKey(prefix, inspection.hash)]) as string;
    expect(raw).toContain(`"r":"user:42"`);

    const env = cliEnv(services, prefix);
    const byHash = await spawnCli(["inspect", inspection.hash], env);
    expect(byHash.code, byHash.stderr).toBe(0);
    expect(byHash.stdout).toMatch(/\n {2}key +"user:42"\n/);
    const json = await spawnCli(["inspect", inspection.hash, "--json"], env);
    expect(JSON.parse(json.stdout).record.readableKey).toBe("user:42");
  });
});

describe("TTL profiles from the environment on the real services", () => {
  it("LARDER_TTL_SHORT retunes the short profile: the record's PTTL in Redis says so", async () => {
    const prefix = uniquePrefix("ttl-env");
    const options = await cacheOptionsFromEnv({ ...storeEnv(), LARDER_PREFIX: prefix, LARDER_TTL_SHORT: "30s" });
    const { cache } = servicesCache("", { ...options, prefix });
    const getQuote = cache.wrap(async (symbol: string) => ({ symbol, price: 101.5 }), {
      key: "quote:{0}",
      ttl: "short",
    });
    await getQuote("ACME");
    await cache.flush();
    await cache.set("fx:eur-usd", 1.08, { ttl: "long" });
    const pttl = async (key: string | { readonly hash: string }) =>
      Number(await redisCommand(["PTTL", recordKey(prefix, (await cache.inspect(key)).hash)]));
    const quote = await pttl({ hash: await getQuote.hashOf("ACME") });
    expect(quote).toBeGreaterThan(20_000);
    expect(quote).toBeLessThanOrEqual(30_000);
    const fx = await pttl("fx:eur-usd");
    expect(fx).toBeGreaterThan(86_000_000);
    expect(fx).toBeLessThanOrEqual(86_400_000);
    await options.store?.close?.();
    await expect(cacheOptionsFromEnv({ ...storeEnv(), LARDER_TTL_SHORT: "thirty seconds" })).rejects.toThrow(
      /LARDER_TTL_SHORT: invalid duration/,
    );
  });
});

describe("the function's time limit on the real services", () => {
  it("past the timeout a stale entry is served; the late value is stored and served next", async () => {
    let now = Date.now();
    const { cache, prefix } = servicesCache("fn-timeout", { now: () => now });
    const executions = counter(prefix);
    let slow = false;
    let version = 0;
    const getReport = cache.wrap(async (id: number) => {
      await executions.incr();
      version++;
      if (slow) await sleep(400);
      return profileOf(id, "report", version);
    }, { key: "report:{0}", ttl: "2s", staleIfError: "1h", timeout: "100ms" });
    expect((await getReport(1)).version).toBe(1);
    await cache.flush();
    now += 5_000; // expired, kept for staleIfError
    slow = true;
    expect((await getReport(1)).version).toBe(1);
    expect(cache.stats()).toMatchObject({ functionTimeouts: 1, staleIfError: 1 });
    await cache.flush(); // the computation goes on; flush waits for it and its write
    expect(cache.stats().writes.ok).toBe(2);
    expect(await executions.read()).toBe(2);
    const inspection = await cache.inspect({ hash: await getReport.hashOf(1) });
    expect(inspection.record).toMatchObject({ standing: "valid", payloadVerified: true });
    expect((await getReport(1)).version).toBe(2);
    expect(await executions.read()).toBe(2);
  });

  it("with nothing to serve, a TimeoutError of the function, and the value is still cached", async () => {
    const { cache } = servicesCache("fn-timeout2");
    const getReport = cache.wrap(async (id: number) => (await sleep(300), profileOf(id, "late", 1)), {
      key: "late:{0}",
      timeout: "50ms",
    });
    const error = await getReport(3).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).backend).toBe("function");
    await cache.flush();
    expect((await getReport.peek(3))?.name).toBe("late");
  });

  it("a caller that aborts leaves the shared computation alone: the other caller gets the value, which is stored", async () => {
    const { cache, prefix } = servicesCache("fn-abort");
    const executions = counter(prefix);
    const getUser = cache.wrap(async (id: number) => {
      await executions.incr();
      await sleep(200);
      return profileOf(id, "shared", 1);
    }, { key: "user:{0}" });
    const controller = new AbortController();
    const leaving = getUser.withSignal(controller.signal)(9);
    const staying = getUser(9);
    await sleep(20);
    controller.abort(new Error("request closed"));
    await expect(leaving).rejects.toThrow("request closed");
    expect((await staying).name).toBe("shared");
    await cache.flush();
    expect(await executions.read()).toBe(1);
    const inspection = await cache.inspect({ hash: await getUser.hashOf(9) });
    expect(inspection.record).toMatchObject({ readableKey: "user:9", payloadVerified: true });
  });
});
