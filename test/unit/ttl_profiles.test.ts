/**
 * TTL profiles (src/core/api/ttl_profiles.ts) on the in-process adapters: built-in and declared
 * profiles wherever a TTL is given (createCache, wrap, set, the response cache), overrides from
 * `LARDER_TTL_<NAME>` through `cacheOptionsFromEnv()`, and every unknown name or bad value refused
 * at start-up with a `ConfigError` that names it and lists the known profiles. Expiries are read
 * from the stored records (a fixed clock), not inferred. From the environment against the real
 * services: test/integration/write_side.test.ts.
 */
import { describe, expect, it } from "vitest";
import { type Cache, createCache } from "../../mod.ts";
import { cacheHandler } from "../../src/http/handler.ts";
import { cacheOptionsFromEnv } from "../../src/runtime/env.ts";
import { ConfigError } from "../../src/core/errors.ts";

const NOW = 1_700_000_000_000;
const clock = { now: () => NOW };

/** The TTL the record of `key` (set's key, or a wrapped call's key hash as `{ hash }`) was written with. */
async function ttlOf(cache: Cache, key: string | { readonly hash: string }): Promise<number | undefined> {
  const { record } = await cache.inspect(key);
  return record ? record.expiresAt - record.createdAt : undefined;
}

describe("TTL profiles", () => {
  it("built-in short, default and long; the cache's ttl is the default profile", async () => {
    const cache = createCache(clock);
    await cache.set("s", 1, { ttl: "short" });
    await cache.set("d", 1, { ttl: "default" });
    await cache.set("l", 1, { ttl: "long" });
    await cache.set("none", 1);
    expect(await ttlOf(cache, "s")).toBe(60_000);
    expect(await ttlOf(cache, "d")).toBe(3_600_000);
    expect(await ttlOf(cache, "l")).toBe(86_400_000);
    expect(await ttlOf(cache, "none")).toBe(3_600_000);
  });

  it("declared profiles (a built-in one redefined) in wrap, set, createCache's ttl and the response cache", async () => {
    const cache = createCache({ ...clock, ttlProfiles: { reports: "15m", short: "10s" }, ttl: "reports" });
    const getReport = cache.wrap(async (id: number) => ({ id }), { key: "report:{0}", ttl: "short" });
    await getReport(1);
    await cache.flush();
    expect(await ttlOf(cache, { hash: await getReport.hashOf(1) })).toBe(10_000);
    await cache.set("plain", 1);
    expect(await ttlOf(cache, "plain")).toBe(900_000);
    expect(() => cacheHandler(cache, async () => new Response("x"), { ttl: "reports" })).not.toThrow();
  });

  it("an unknown profile is a ConfigError listing the known ones, at wrap, set, createCache and cacheHandler time", async () => {
    const cache = createCache({ ttlProfiles: { reports: "15m" } });
    const known = /known profiles: short, default, long, reports/;
    expect(() => cache.wrap(async () => 1, { name: "f", ttl: "repotrs" })).toThrow(ConfigError);
    expect(() => cache.wrap(async () => 1, { name: "f", ttl: "repotrs" })).toThrow(
      /wrap\(f\): ttl: unknown TTL profile "repotrs"/,
    );
    expect(() => cache.wrap(async () => 1, { name: "f", ttl: "repotrs" })).toThrow(known);
    await expect(cache.set("k", 1, { ttl: "repotrs" })).rejects.toThrow(known);
    expect(() => createCache({ ttl: "medium" })).toThrow(/createCache: ttl: unknown TTL profile "medium"/);
    expect(() => cacheHandler(cache, async () => new Response("x"), { ttl: "nope" })).toThrow(known);
    expect(() => createCache({ ttlProfiles: { Short: "1m" } })).toThrow(/ttlProfiles: profile name/);
    expect(() => createCache({ ttlProfiles: { short: "soon" as never } })).toThrow(/ttlProfiles\.short/);
    expect(() => cache.wrap(async () => 1, { name: "f", ttl: "Long" })).toThrow(/a duration or a TTL profile name/);
  });

  it("overrides win over declared profiles; one for a profile nobody declared names its variable", async () => {
    const cache = createCache({ ...clock, ttlProfiles: { short: "10s" }, ttlOverrides: { short: "2s", long: "2d" } });
    await cache.set("s", 1, { ttl: "short" });
    await cache.set("l", 1, { ttl: "long" });
    expect(await ttlOf(cache, "s")).toBe(2_000);
    expect(await ttlOf(cache, "l")).toBe(172_800_000);
    expect(() => createCache({ ttlOverrides: { shrot: "1m" } })).toThrow(
      /ttlOverrides\.shrot \(LARDER_TTL_SHROT in the environment\) names no TTL profile; known profiles: short, default, long/,
    );
  });
});

describe("TTL profiles from the environment (larder/env)", () => {
  it("LARDER_TTL_<NAME> retunes a profile", async () => {
    const options = await cacheOptionsFromEnv({
      CACHE_URL: "mem://",
      LARDER_TTL_SHORT: "30s",
      LARDER_TTL_DEFAULT: "2h",
    });
    expect(options.ttlOverrides).toEqual({ short: 30_000, default: 7_200_000 });
    const cache = createCache({ ...options, ...clock });
    await cache.set("s", 1, { ttl: "short" });
    await cache.set("d", 1);
    expect(await ttlOf(cache, "s")).toBe(30_000);
    expect(await ttlOf(cache, "d")).toBe(7_200_000);
    expect((await cacheOptionsFromEnv({ CACHE_URL: "mem://" })).ttlOverrides).toBeUndefined();
  });

  it("a bad value or name is a ConfigError naming the variable", async () => {
    await expect(cacheOptionsFromEnv({ CACHE_URL: "mem://", LARDER_TTL_SHORT: "soon" })).rejects.toThrow(
      /LARDER_TTL_SHORT: invalid duration/,
    );
    await expect(cacheOptionsFromEnv({ CACHE_URL: "mem://", LARDER_TTL_SHORT: "0s" })).rejects.toThrow(
      /LARDER_TTL_SHORT/,
    );
    await expect(cacheOptionsFromEnv({ CACHE_URL: "mem://", "LARDER_TTL_9LIVES": "1m" })).rejects.toThrow(
      /LARDER_TTL_9LIVES: LARDER_TTL_<NAME> takes a profile name/,
    );
    const unknown = await cacheOptionsFromEnv({ CACHE_URL: "mem://", LARDER_TTL_REPORTS: "1m" });
    expect(() => createCache(unknown)).toThrow(/LARDER_TTL_REPORTS in the environment/);
    expect(() => createCache({ ...unknown, ttlProfiles: { reports: "15m" } })).not.toThrow();
  });
});
