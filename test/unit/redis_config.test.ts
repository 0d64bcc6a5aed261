/**
 * Bad input to the TCP store (and the Upstash store given a TCP URL) gets a ConfigError that
 * names the fix, and never shows a password. No server needed: validation happens at creation.
 */
import { describe, expect, it } from "vitest";
import { isCacheError } from "../../src/core/errors.ts";
import { redisStore, type RedisStoreOptions } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { parseRedisUrl } from "../../src/stores/_redis_url.ts";

function configError(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(isCacheError(error) && error.code).toBe("E_CONFIG");
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("redisStore options", () => {
  it.each([
    [{ url: "localhost:6379" }, /must start with redis:\/\//],
    [{ url: "not a url" }, /not a valid URL/],
    [{ url: "https://eu1-x.upstash.io" }, /use upstashStore/],
    [{ url: "http://127.0.0.1:8080" }, /use upstashStore/],
    [{ url: "redis://host:6379/zero" }, /database index/],
    [{ url: "redis://host:6379/0?tls=1" }, /unknown query parameter "tls"/],
    [{ url: "redis://host:7000/2?cluster=true" }, /only database 0/],
    [{ url: ["redis://a:7000", "redis://b:7000/1"] }, /only database 0/],
    [{ url: "redis://a:7000", cluster: true, client: {} }, /either `url`/],
    [{}, /either `url`/],
    [{ client: { get: () => 1 } }, /not an ioredis client/],
    [{ client: "redis://x" }, /not an ioredis client/],
    [{ url: "redis://x", timeout: 5 }, /unknown option "timeout"/],
    [{ url: ["redis://a", "rediss://b"] }, /mix of redis:\/\/ and rediss:\/\//],
  ])("%j → ConfigError %s", (options, pattern) => {
    expect(configError(() => redisStore(options as unknown as RedisStoreOptions))).toMatch(pattern);
  });

  it("never shows the password of a URL it refuses", () => {
    const message = configError(() => redisStore({ url: "redis://user:s3cret-pw@host:6379/x" }));
    expect(message).not.toContain("s3cret-pw");
    expect(message).toContain("***@host");
  });

  it("refuses a client that says it is a cluster when the options say otherwise", () => {
    const fake = { isCluster: true, status: "ready", call() {}, pipeline() {}, quit() {}, nodes() {} };
    expect(configError(() => redisStore({ client: fake as never, cluster: false }))).toMatch(/is a Cluster/);
  });

  it("parses user, password, port, database, TLS and the cluster flag", () => {
    expect(parseRedisUrl("rediss://me:p%40ss@cache.example:6380/2", "url")).toEqual({
      host: "cache.example",
      port: 6380,
      username: "me",
      password: "p@ss",
      db: 2,
      tls: true,
      cluster: false,
    });
    expect(parseRedisUrl("redis://:pw@[::1]?cluster=true", "url")).toEqual({
      host: "::1",
      port: 6379,
      password: "pw",
      tls: false,
      cluster: true,
    });
  });
});

describe("upstashStore given a TCP URL", () => {
  it("points at redisStore", () => {
    expect(configError(() => upstashStore({ url: "redis://localhost:6379", token: "t" }))).toMatch(
      /use redisStore from "larder\/stores\/redis"/,
    );
    expect(configError(() => upstashStore({ url: "rediss://h:6380", token: "t" }))).toMatch(/use redisStore/);
  });
});
