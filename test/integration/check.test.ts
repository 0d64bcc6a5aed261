/**
 * `cache.check()`, `larder check` and the misconfigurations they and the request path report, on
 * the real services: redis-server (over the Upstash REST bridge and over TCP) and S3 behind the
 * counting proxy, which checks SigV4 signatures and answers as AWS does. Each misconfiguration a
 * first hour meets — a wrong token, a wrong region, a wrong secret, an unknown key id, a missing
 * bucket, a closed port — yields its own message and fix, and no message carries a secret, a
 * signature or the string to sign the proxy echoes.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import type { CacheOptions, CheckReport, CheckStep } from "../../mod.ts";
import { s3BlobStore, type S3BlobStoreOptions } from "../../src/blobs/s3.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { recordingLogger } from "../helpers/chaos.ts";
import { cliEnv, spawnCli } from "../helpers/cli.ts";
import { closedPort, redisCommand, requireServices, uniquePrefix } from "../helpers/services.ts";

const services = requireServices();
const WRONG_TOKEN = "not-the-token-4242";
const WRONG_SECRET = "not-the-secret-4242";

function cacheWith(overrides: { s3?: Partial<S3BlobStoreOptions>; options?: CacheOptions } = {}) {
  return createCache({
    store: upstashStore(services.upstash),
    blobs: s3BlobStore({ ...services.s3, ...overrides.s3 }),
    prefix: uniquePrefix("check"),
    logger: recordingLogger(),
    globalStats: false,
    ...overrides.options,
  });
}

function step(report: CheckReport, name: CheckStep["step"]): CheckStep {
  const found = report.steps.find((s) => s.step === name);
  if (!found) throw new Error(`no step ${name} in ${JSON.stringify(report)}`);
  return found;
}

/** Everything a report or an error says, for the no-secret checks. */
const FORBIDDEN = [
  services.upstash.token,
  WRONG_TOKEN,
  services.s3.secretAccessKey === services.s3.accessKeyId ? WRONG_SECRET : services.s3.secretAccessKey,
  WRONG_SECRET,
  "StringToSign",
  "AWS4-HMAC-SHA256",
  "CanonicalRequest",
  "Credential=",
  "Signature=",
];
function clean(text: string): void {
  for (const forbidden of FORBIDDEN) expect(text).not.toContain(forbidden);
}

describe("cache.check() on the real services", () => {
  it("passes every step: store, script, clock, blob put/get/delete, compression", async () => {
    const report = await cacheWith().check();
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ["store", "ok"],
      ["script", "ok"],
      ["clock", "ok"],
      ["blob put", "ok"],
      ["blob get", "ok"],
      ["blob delete", "ok"],
      ["compression", "ok"],
    ]);
    expect(report.ok).toBe(true);
    expect(step(report, "clock").detail).toMatch(/^upstash's clock is \d+ ms (ahead of|behind) this machine's$/);
    expect(step(report, "compression").detail).toMatch(/^zstd: loaded, and a payload round-trips/);
  });

  it("passes over Redis TCP too, and a wrong password there is a misconfiguration with its fix", async () => {
    // A user of its own on the shared redis-server (it has no password otherwise: ioredis would
    // then only warn that none is needed).
    const user = `check-${crypto.randomUUID().slice(0, 8)}`;
    await redisCommand(["ACL", "SETUSER", user, "on", ">right-password-4242", "~*", "+@all"]);
    const good = redisStore({ url: services.redisUrl });
    const url = new URL(services.redisUrl);
    url.username = user;
    url.password = "wrong-password-4242";
    const bad = redisStore({ url: url.href, connectTimeoutMs: 2_000 });
    try {
      const ok = await createCache({ store: good, prefix: uniquePrefix("check-tcp"), globalStats: false }).check();
      expect(ok.steps.filter((s) => ["store", "script", "clock"].includes(s.step)).map((s) => s.status))
        .toEqual(["ok", "ok", "ok"]);
      const report = await createCache({ store: bad, prefix: uniquePrefix("check-tcp"), globalStats: false }).check();
      expect(step(report, "store")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(/^redis run \[get\] failed: cannot connect: WRONGPASS/),
        fix: expect.stringMatching(/^check the user name and password in the redis:\/\/ URL/),
      });
      expect(JSON.stringify(report)).not.toContain("wrong-password-4242");
      expect(report.ok).toBe(false);
    } finally {
      await good.close();
      await bad.close();
      await redisCommand(["ACL", "DELUSER", user]);
    }
  });

  it("a wrong Upstash token: the store step fails with the fix, the steps needing it are skipped", async () => {
    const report = await createCache({
      store: upstashStore({ url: services.upstash.url, token: WRONG_TOKEN }),
      prefix: uniquePrefix("check"),
      globalStats: false,
    }).check();
    expect(step(report, "store")).toMatchObject({
      status: "fail",
      detail: "upstash run [get] failed: Unauthorized (HTTP 401)",
      fix: expect.stringMatching(
        /^check the token \(UPSTASH_REDIS_REST_TOKEN\): the database at 127\.0\.0\.1:\d+ refused it/,
      ),
    });
    expect([step(report, "script").status, step(report, "clock").status]).toEqual(["skip", "skip"]);
    expect(step(report, "blob put")).toMatchObject({ status: "warn", detail: expect.stringMatching(/^no blob store/) });
    expect(report.ok).toBe(false);
    clean(JSON.stringify(report));
  });

  it("a closed port at the store's URL: the cause and the host, and what to check", async () => {
    const port = await closedPort();
    const report = await createCache({
      store: upstashStore({ url: `http://127.0.0.1:${port}`, token: services.upstash.token }),
      prefix: uniquePrefix("check"),
      globalStats: false,
    }).check();
    expect(step(report, "store")).toMatchObject({
      status: "fail",
      detail: `upstash run [get] failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
      fix: "nothing answers there: is the server running? check the store's URL",
    });
    clean(JSON.stringify(report));
  });

  it("a wrong region: S3's own words, and the region to set", async () => {
    const report = await cacheWith({ s3: { region: "us-east-1" } }).check();
    expect(step(report, "blob put")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /^s3 PUT "check-[^"]+\/[0-9a-f]{12}…" in bucket "larder-test" failed: HTTP 400 AuthorizationHeaderMalformed: The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'$/,
      ),
      fix: 'the bucket is in eu-central-1: set `region: "eu-central-1"` (it is "us-east-1")',
    });
    expect([step(report, "blob get").status, step(report, "blob delete").status]).toEqual(["skip", "skip"]);
    expect(step(report, "store").status).toBe("ok");
    expect(report.ok).toBe(false);
    clean(JSON.stringify(report));
  });

  it("a wrong secret: SignatureDoesNotMatch, never the string to sign S3 echoes back", async () => {
    const report = await cacheWith({ s3: { secretAccessKey: WRONG_SECRET } }).check();
    expect(step(report, "blob put")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /failed: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided\. Check your key and signing method\.$/,
      ),
      fix: "check `secretAccessKey` (AWS_SECRET_ACCESS_KEY): S3 computed another signature with the key's secret",
    });
    clean(JSON.stringify(report));
  });

  it("an unknown access key id, and a missing bucket", async () => {
    const badKey = await cacheWith({ s3: { accessKeyId: "AKIDNOTKNOWN" } }).check();
    expect(step(badKey, "blob put")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist/),
      fix: "check `accessKeyId` (AWS_ACCESS_KEY_ID): S3 does not know this key",
    });
    const noBucket = await cacheWith({ s3: { bucket: "no-such-bucket-4242" } }).check();
    expect(step(noBucket, "blob put")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/in bucket "no-such-bucket-4242" failed: HTTP 404 NoSuchBucket/),
      fix: expect.stringMatching(/^create the bucket "no-such-bucket-4242" at 127\.0\.0\.1:\d+, or fix `bucket`$/),
    });
    clean(JSON.stringify([badKey, noBucket]));
  });

  it("a closed port at the S3 endpoint", async () => {
    const port = await closedPort();
    const report = await cacheWith({ s3: { endpoint: `http://127.0.0.1:${port}` } }).check();
    expect(step(report, "blob put")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(new RegExp(`failed: fetch failed: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`)),
      fix: "nothing answers there: is the server running? check `endpoint`",
    });
  });
});

describe("the request path, misconfigured", () => {
  it("a wrong region: each write's failure is a blob misconfiguration with its fix, health() says so", async () => {
    const logger = recordingLogger();
    const cache = cacheWith({ s3: { region: "us-east-1" }, options: { logger } });
    // Random: it stays over maxInlineBytes once compressed, so it goes to S3.
    const big = cache.wrap(
      async (n: number) => ({ n, rows: Array.from({ length: 5_000 }, () => crypto.randomUUID()) }),
      {
        name: "big",
      },
    );
    for (let n = 0; n < 3; n++) await big(n);
    await cache.flush();
    expect(cache.stats().writes).toMatchObject({ ok: 0, failed: 3 });
    expect(cache.stats().breakers.blob?.state).toBe("closed");
    expect(logger.lines).toEqual([{
      level: "error",
      message: expect.stringMatching(
        /^larder: blob misconfigured, serving without cache: s3 PUT "check-[^"]+" in bucket "larder-test" failed: HTTP 400 AuthorizationHeaderMalformed: .*expecting 'eu-central-1' — fix: the bucket is in eu-central-1: set `region: "eu-central-1"`/,
      ),
    }]);
    const health = cache.health();
    expect(health.blob).toMatchObject({
      adapter: "s3",
      state: "misconfigured",
      lastError: {
        code: "E_BLOB",
        fix: 'the bucket is in eu-central-1: set `region: "eu-central-1"` (it is "us-east-1")',
      },
    });
    expect(health.store.state).toBe("ok");
    clean(JSON.stringify(health) + JSON.stringify(logger.lines));
  });

  it("a wrong token: every lookup is a store misconfiguration, logged as such with the token to check", async () => {
    const logger = recordingLogger();
    const cache = createCache({
      store: upstashStore({ url: services.upstash.url, token: WRONG_TOKEN }),
      prefix: uniquePrefix("check"),
      logger,
      globalStats: false,
    });
    const f = cache.wrap(async (n: number) => n, { name: "f" });
    for (let n = 0; n < 8; n++) expect(await f(n)).toBe(n);
    expect(cache.stats().breakers.store?.state).toBe("closed");
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([[
      "error",
      expect.stringMatching(
        /^larder: store misconfigured, serving without cache: upstash run \[read\] failed: Unauthorized \(HTTP 401\) — fix: check the token \(UPSTASH_REDIS_REST_TOKEN\)/,
      ),
    ]]);
    expect(cache.health().store.state).toBe("misconfigured");
    clean(JSON.stringify(logger.lines));
  });
});

describe("larder check", () => {
  it("prints each step and exits 0 on the real services", async () => {
    const env = cliEnv(services, uniquePrefix("check-cli"));
    const run = await spawnCli(["check"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Checking the cache the environment configures \(prefix "check-cli-[^"]+"\):\n/);
    for (const name of ["store", "script", "clock", "blob put", "blob get", "blob delete", "compression"]) {
      expect(run.stdout).toMatch(new RegExp(`\\n  ok    ${name} +\\S`));
    }
    expect(run.stdout).toMatch(/\nAll 7 checks passed\.\n$/);
    const json = await spawnCli(["check", "--json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, steps: expect.any(Array) });
  });

  it("exits 1 on a wrong region, with the fix and the variable that sets it", async () => {
    const env = { ...cliEnv(services, uniquePrefix("check-cli")), LARDER_S3_REGION: "us-east-1" };
    const run = await spawnCli(["check"], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  fix: the bucket is in eu-central-1: set `region: "eu-central-1"` (it is "us-east-1") [LARDER_S3_REGION]\n',
    );
    expect(run.stdout).toMatch(/\n1 of 5 checks failed\.\n$/);
    clean(run.stdout + run.stderr);
  });

  it("exits 1 on a wrong secret and on a wrong token, and never prints them", async () => {
    const base = cliEnv(services, uniquePrefix("check-cli"));
    const secret = await spawnCli(["check"], { ...base, LARDER_S3_SECRET_ACCESS_KEY: WRONG_SECRET });
    expect(secret.code).toBe(1);
    expect(secret.stdout).toContain("[LARDER_S3_SECRET_ACCESS_KEY]");
    clean(secret.stdout + secret.stderr);
    if (!("UPSTASH_REDIS_REST_URL" in base)) return; // the store of this run is Redis over TCP
    const token = await spawnCli(["check"], { ...base, UPSTASH_REDIS_REST_TOKEN: WRONG_TOKEN });
    expect(token.code).toBe(1);
    expect(token.stdout).toMatch(/\n {2}FAIL {2}store +upstash run \[get\] failed: Unauthorized \(HTTP 401\)/);
    expect(token.stdout).toContain("fix: check the token (UPSTASH_REDIS_REST_TOKEN)");
    clean(token.stdout + token.stderr);
  });
});
