/**
 * The `larder` bin end to end: the Node entry (src/runtime/cli_node.ts, run by tsx in a child
 * process) against the real services, configured only through environment variables. Exit
 * codes, output, and the effects in Redis and in the bucket are checked. The terminal display
 * is exercised in-process (a child's stderr is never a terminal).
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { toHex } from "../../src/core/util/bytes.ts";
import {
  blobKey,
  namespaceGeneration,
  recordKey,
  storeKeyPattern,
  tagGeneration,
} from "../../src/core/record/key_layout.ts";
import { bridgeOnly, describeBridgeOnly, testStore } from "../helpers/stores.ts";
import { cliEnv, runInProcess, spawnCli } from "../helpers/cli.ts";
import {
  closedPort,
  listObjects,
  putObject,
  rawRedisKeys,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";
import { recordingLogger } from "../helpers/chaos.ts";

const services = requireServices();
const randomHash = (): string => toHex(crypto.getRandomValues(new Uint8Array(32)));

function setup() {
  const prefix = uniquePrefix("cli");
  const cache = createCache({
    store: testStore(),
    blobs: s3BlobStore(services.s3),
    prefix,
    maxInlineBytes: 64,
    compression: "none",
    logger: recordingLogger(),
  });
  return { prefix, cache, env: cliEnv(services, prefix) };
}

/** Two live blob entries and three orphans (objects no record points to). */
async function liveAndOrphans(prefix: string, cache: ReturnType<typeof setup>["cache"]) {
  for (const key of ["a", "b"]) expect(await cache.set(key, `${key}:${"x".repeat(300)}`)).toBe(true);
  const live = await Promise.all(["a", "b"].map(async (k) => blobKey(prefix, (await cache.inspect(k)).hash)));
  const orphans = Array.from({ length: 3 }, () => blobKey(prefix, randomHash()));
  for (const key of orphans) await putObject(key, new Uint8Array(1000));
  return { live, orphans };
}

describe("larder bin (Node) on the real services", () => {
  it("cleanup --dry-run counts orphans and deletes nothing; cleanup deletes them; exit 0", async () => {
    const { prefix, cache, env } = setup();
    const { live, orphans } = await liveAndOrphans(prefix, cache);

    // Just written: within the default grace period of an hour.
    const recent = await spawnCli(["cleanup", "--dry-run"], env);
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toMatch(/recent +5 \(younger than the grace period, kept\)/);

    const dry = await spawnCli(["cleanup", "--dry-run", "--grace", "1ms"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run \(nothing deleted\) of prefix "cli-[^"]+" \(grace 1ms\)/);
    expect(dry.stdout).toMatch(/orphans +3, 3\.0 kB/);
    expect(dry.stdout).not.toMatch(/^ +deleted/m);
    // Not a terminal: plain progress lines on standard error.
    expect(dry.stderr).toMatch(/^cleanup: 1 page, 5 objects scanned \([^)]+\), 3 orphans \(3\.0 kB\)\n$/);
    expect(await listObjects(`${prefix}/`)).toHaveLength(5);

    const real = await spawnCli(["cleanup", "--grace", "1ms", "--json"], env);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({
      prefix,
      dryRun: false,
      scanned: 5,
      live: 2,
      orphans: 3,
      deleted: 3,
      deletedBytes: 3000,
      failed: 0,
    });
    expect(await listObjects(`${prefix}/`)).toStrictEqual([...live].sort());
    expect(orphans.every((key) => !live.includes(key))).toBe(true);
  });

  it("inspect shows a blob entry by key and by hash, and a missing one; exit 0", async () => {
    const { prefix, cache, env } = setup();
    await cache.set("report:2024", { rows: "x".repeat(400) }, { ttl: "15m", namespace: "reports" });
    const { hash } = await cache.inspect("report:2024", { namespace: "reports" });

    const byKey = await spawnCli(["inspect", "report:2024", "--namespace", "reports"], env);
    expect(byKey.code, byKey.stderr).toBe(0);
    expect(byKey.stdout).toMatch(/^key +"report:2024" in namespace "reports"\n/);
    expect(byKey.stdout).toMatch(new RegExp(`\nhash +${hash}\n`));
    expect(byKey.stdout).toMatch(new RegExp(`  placement +blob ${blobKey(prefix, hash)}\n`));
    expect(byKey.stdout).toMatch(/ {2}format +v2, codec cbor, compression none\n/);
    expect(byKey.stdout).toMatch(/ {2}standing +valid\n/);
    expect(byKey.stdout).toMatch(new RegExp(` {2}generation +${namespaceGeneration(prefix, "reports")} {2}current\n`));
    expect(byKey.stdout).toMatch(/ {2}expires +\S+Z \(in 1[45]m/);
    expect(byKey.stdout).toMatch(/ {2}payload +verified \(size and checksum match\)\n/);
    expect(byKey.stdout).toMatch(/\nlease +none\n/);
    expect(byKey.stdout).toMatch(new RegExp(`\nblob +${blobKey(prefix, hash)} {2}\\d+ B\n`));

    const byHash = await spawnCli(["inspect", hash, "--json"], env);
    expect(byHash.code, byHash.stderr).toBe(0);
    expect(JSON.parse(byHash.stdout)).toMatchObject({
      hash,
      leased: false,
      record: { placement: "blob", codec: "cbor", payloadVerified: true },
      blob: { exists: true, referenced: true },
    });

    const missing = await spawnCli(["inspect", "never-set"], env);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(/\nrecord +\S+ {2}\(none\)\n/);
    expect(missing.stdout).toMatch(/\nblob +\S+ {2}absent\n/);
  });

  it("invalidate --tag / --namespace [--stale] reach every instance's reads; inspect shows the standing", async () => {
    const { prefix, cache, env } = setup();
    const other = createCache({ store: testStore(), prefix, logger: recordingLogger() });
    const fill = async (): Promise<void> => {
      expect(await cache.set("eu", "v-eu", { tags: ["region:eu", "2024"] })).toBe(true);
      expect(await cache.set("us", "v-us", { tags: ["region:us", "2024"] })).toBe(true);
      expect(await cache.set("r", "v-r", { namespace: "reports" })).toBe(true);
    };
    await fill();
    const byTag = await spawnCli(["invalidate", "--tag", "region:eu"], env);
    expect(byTag.code, byTag.stderr).toBe(0);
    expect(byTag.stdout).toBe(
      `Invalidated tag "region:eu" under prefix "${prefix}": entries miss from now on ` +
        "(in-process tiers of running instances within their memory.ttl).\n",
    );
    expect(await other.get("eu")).toBeUndefined();
    expect(await other.get("us")).toBe("v-us");
    expect(JSON.parse((await spawnCli(["inspect", "eu", "--json"], env)).stdout)).toMatchObject({
      record: { standing: "invalid" },
      problem: `the entry was invalidated (${tagGeneration(prefix, "region:eu")}): readers miss`,
    });

    const stale = await spawnCli(["invalidate", "--tag", "2024", "--tag", "region:us", "--stale"], env);
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stdout).toMatch(/^Invalidated tags "2024", "region:us" under prefix .*: entries are served stale/);
    expect(JSON.parse((await spawnCli(["inspect", "us", "--json"], env)).stdout).record.standing).toBe("stale");

    const byNamespace = await spawnCli(["invalidate", "--namespace", "reports"], env);
    expect(byNamespace.code, byNamespace.stderr).toBe(0);
    expect(await other.get("r", { namespace: "reports" })).toBeUndefined();

    const badTag = await spawnCli(["invalidate", "--tag", 'quo"te'], env);
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/^larder: invalidateTags: tags: a tag is 1-128 printable ASCII/);
  });

  it("clear --yes removes every key of the prefix from Redis and leaves blobs to cleanup", async () => {
    const { prefix, cache, env } = setup();
    for (const key of ["a", "b", "c"]) expect(await cache.set(key, `${key}:${"x".repeat(300)}`)).toBe(true);
    expect((await rawRedisKeys(storeKeyPattern(prefix))).length).toBeGreaterThanOrEqual(3);
    const refused = await spawnCli(["clear"], env);
    expect(refused.code).toBe(2);
    expect((await rawRedisKeys(recordKey(prefix, "*"))).length).toBe(3);

    const cleared = await spawnCli(["clear", "--yes"], env);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(new RegExp(`^Cleared prefix "${prefix}": \\d+ keys deleted from Redis\\.\n`));
    expect(await rawRedisKeys(storeKeyPattern(prefix))).toStrictEqual([]);
    expect(await cache.get("a")).toBeUndefined();
    // The blobs stay until a cleanup finds them orphaned.
    expect(await listObjects(`${prefix}/`)).toHaveLength(3);
    const cleanup = await spawnCli(["cleanup", "--grace", "1ms", "--json"], env);
    expect(JSON.parse(cleanup.stdout)).toMatchObject({ orphans: 3, deleted: 3 });
  });

  it("clear --yes --blobs also deletes the prefix's blobs", async () => {
    const { prefix, cache, env } = setup();
    for (const key of ["a", "b"]) expect(await cache.set(key, `${key}:${"x".repeat(300)}`)).toBe(true);
    expect(await listObjects(`${prefix}/`)).toHaveLength(2);
    const cleared = await spawnCli(["clear", "--yes", "--blobs"], env);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/\n2 payload blobs deleted from the bucket\.\n$/);
    expect(await rawRedisKeys(storeKeyPattern(prefix))).toStrictEqual([]);
    expect(await listObjects(`${prefix}/`)).toStrictEqual([]);
  });

  it("stats shows the counters every instance reported", async () => {
    const { prefix, env } = setup();
    const instances = [0, 1].map(() =>
      createCache({
        store: testStore(),
        prefix,
        logger: recordingLogger(),
        globalStats: { interval: 1 },
      })
    );
    for (const instance of instances) {
      const square = instance.wrap(async (n: number) => n * n, { name: "square" });
      await square(3); // a miss on the first instance, a hit on the second
      await instance.flush();
      await square(3); // a hit
      await new Promise((resolve) => setTimeout(resolve, 5));
      await instance.flush();
    }
    const json = await spawnCli(["stats", "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      prefix,
      counters: { "hits.inline": 3, misses: 1, "writes.ok": 1 },
    });
    const text = await spawnCli(["stats"], env);
    expect(text.stdout).toMatch(new RegExp(`^Counters of every instance using prefix "${prefix}":\n`));
    expect(text.stdout).toMatch(/\n {2}hits\.inline +3\n/);
    const empty = await spawnCli(["stats"], { ...env, LARDER_PREFIX: `${prefix}-unused` });
    expect(empty.stdout).toMatch(/\(none reported yet\)/);
  });

  bridgeOnly("exits 1 with one line, and no secret, when a backend fails", async () => {
    const { env } = setup();
    const noBucket = await spawnCli(["cleanup"], { ...env, LARDER_S3_BUCKET: "no-such-bucket-for-cli" });
    expect(noBucket.code).toBe(1);
    expect(noBucket.stderr).toBe(
      `larder: cannot clean up the bucket "no-such-bucket-for-cli" at ${services.s3.endpoint}: ` +
        "HTTP 404 NoSuchBucket: The specified bucket does not exist — check LARDER_S3_BUCKET\n",
    );
    const wrongToken = await spawnCli(["inspect", "k"], { ...env, UPSTASH_REDIS_REST_TOKEN: "not-the-token-1234" });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toBe(
      `larder: cannot read the entry from the store at ${services.upstash.url}: Unauthorized (HTTP 401) — ` +
        "check UPSTASH_REDIS_REST_TOKEN\n",
    );
    for (const run of [noBucket, wrongToken]) {
      for (const secret of [services.upstash.token, "not-the-token-1234"]) {
        expect(run.stdout + run.stderr).not.toContain(secret);
      }
    }
  });

  describeBridgeOnly(
    "every command, when a backend fails: the operator's one line, exit 1, no warning, no token",
    () => {
      const WRONG = "not-the-token-5678";
      const commands = [
        { args: ["stats"], action: "read stats from" },
        { args: ["inspect", "k"], action: "read the entry from" },
        { args: ["invalidate", "--tag", "t"], action: "write the invalidation to" },
        { args: ["cleanup", "--grace", "1ms"], action: "check records in" },
        { args: ["clear", "--yes"], action: "clear the prefix in" },
      ];
      /** A prefix with one orphan, so that cleanup has a record to look up in the store. */
      const withOrphan = async (): Promise<Record<string, string>> => {
        const { prefix, env } = setup();
        await putObject(blobKey(prefix, randomHash()), new Uint8Array(10));
        return env;
      };
      const clean = (run: { stdout: string; stderr: string }): void => {
        for (const secret of [services.upstash.token, WRONG]) expect(run.stdout + run.stderr).not.toContain(secret);
      };

      it.each(commands)("$args.0: wrong token", async ({ args, action }) => {
        const env = await withOrphan();
        const run = await spawnCli(args, { ...env, UPSTASH_REDIS_REST_TOKEN: WRONG });
        expect(run.stderr).toBe(
          `larder: cannot ${action} the store at ${services.upstash.url}: Unauthorized (HTTP 401) — check UPSTASH_REDIS_REST_TOKEN\n`,
        );
        expect(run.code).toBe(1);
        expect(run.stdout).toBe("");
        clean(run);
      });

      it.each(commands)("$args.0: nothing listening at the store's URL", async ({ args, action }) => {
        const env = await withOrphan();
        const port = await closedPort();
        const url = `http://127.0.0.1:${port}`;
        const run = await spawnCli(args, { ...env, UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: WRONG });
        expect(run.stderr).toBe(
          `larder: cannot ${action} the store at ${url}: connect ECONNREFUSED 127.0.0.1:${port} — ` +
            "is the server running? check UPSTASH_REDIS_REST_URL\n",
        );
        expect(run.code).toBe(1);
        expect(run.stdout).toBe("");
        clean(run);
      });

      it("cleanup: nothing listening at the S3 endpoint, or a wrong access key", async () => {
        const env = await withOrphan();
        const port = await closedPort();
        const endpoint = `http://127.0.0.1:${port}`;
        const down = await spawnCli(["cleanup"], { ...env, LARDER_S3_ENDPOINT: endpoint });
        expect(down.stderr).toBe(
          `larder: cannot clean up the bucket "${services.s3.bucket}" at ${endpoint}: connect ECONNREFUSED ` +
            `127.0.0.1:${port} — is the server running? check LARDER_S3_ENDPOINT\n`,
        );
        expect(down.code).toBe(1);
        const wrongKey = await spawnCli(["cleanup"], { ...env, LARDER_S3_ACCESS_KEY_ID: "AKIDWRONG" });
        expect(wrongKey.stderr).toBe(
          `larder: cannot clean up the bucket "${services.s3.bucket}" at ${services.s3.endpoint}: ` +
            "HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. — " +
            "check LARDER_S3_ACCESS_KEY_ID and LARDER_S3_SECRET_ACCESS_KEY\n",
        );
        expect(wrongKey.code).toBe(1);
        for (const run of [down, wrongKey]) expect(run.stdout + run.stderr).not.toContain(services.s3.secretAccessKey);
      });
    },
  );

  it("exits 1 with one line naming CACHE_URL, and no password, when a Redis URL's server is not there", async () => {
    const { env } = setup();
    const tcp = { ...env, CACHE_URL: "redis://larder:pw-not-shown-42@127.0.0.1:9/0", LARDER_TIMEOUT: "2s" };
    const run = await spawnCli(["inspect", "k"], tcp);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^larder: cannot read the entry from the store at redis:\/\/127\.0\.0\.1:9\/0: .+ — (is the server running\? check CACHE_URL|check CACHE_URL, or raise LARDER_TIMEOUT)\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain("pw-not-shown-42");
  });

  it("exits 2 on a usage error in the real process too", async () => {
    const run = await spawnCli(["cleanup", "--force"], {});
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: 'larder: unknown option --force for "cleanup"\nRun "larder cleanup --help" for usage.\n',
    });
  });

  it("shows cleanup progress on a terminal as one line rewritten in place", async () => {
    const { prefix, env } = setup();
    for (let i = 0; i < 3; i++) await putObject(blobKey(prefix, randomHash()), new Uint8Array(10));
    const run = await runInProcess(["cleanup", "--grace", "1ms"], env, { isTTY: true });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.startsWith("\r\x1b[2Kcleanup: 1 page, 3 objects scanned")).toBe(true);
    expect(run.stderr.endsWith("3 orphans (30 B), 3 deleted\n")).toBe(true);
    expect(run.stderr.split("\n")).toHaveLength(2);
    expect(await listObjects(`${prefix}/`)).toStrictEqual([]);
  });
});
