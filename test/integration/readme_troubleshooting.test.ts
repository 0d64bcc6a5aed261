/**
 * The README's Troubleshooting table tells the truth: every log line (or error) in its first
 * column is one that Larder really writes. Each line is produced here the way users meet it — a
 * wrong token, a wrong region, a wrong secret, a missing bucket, a closed port, a value too
 * large, an exit with writes pending… — on the real services where a backend says it, in-process
 * otherwise, and every line of the table must match one of the messages produced (`…` in the
 * README stands for any text, `<namespace>/<fn>` for a function's label). A row whose message
 * changes in the code, or a row added for a message nothing writes, fails this test.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CacheOptions, createCache, type Logger } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { s3BlobStore, type S3BlobStoreOptions } from "../../src/blobs/s3.ts";
import { WORKERD_WITHOUT_WAIT_UNTIL } from "../../src/runtime/default_entry.ts";
import { leaseKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { ChaosBlobs } from "../helpers/chaos.ts";
import { closedPort, redisCommand, requireServices, uniquePrefix } from "../helpers/services.ts";

const services = requireServices();

/** Every message the scenarios below produced: log lines, errors (`Name: message`), standard error lines. */
const produced: string[] = [];
const logger: Logger = {
  debug() {},
  info: (message) => void produced.push(message),
  warn: (message) => void produced.push(message),
  error: (message) => void produced.push(message),
};

/** The log lines of the README's Troubleshooting table (first column, code spans that are messages). */
function tableLines(): string[] {
  const readme = readFileSync("README.md", "utf8");
  const section = /\n## Troubleshooting\n([\s\S]*?)(\n## |$)/.exec(readme)?.[1] ?? "";
  const lines: string[] = [];
  for (const row of section.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---"))) {
    const first = row.split(" | ")[0]!.slice(2);
    // Code spans: `…`, or ``…`` when the text holds a backtick.
    for (const [, double, single] of first.matchAll(/``\s?(.+?)\s?``|`([^`]+)`/g)) {
      const span = double ?? single!;
      if (/^(larder: |[A-Z][a-zA-Z]+Error: )/.test(span)) lines.push(span);
    }
  }
  return lines;
}

/** The README's notation as a pattern: `…` is any text, `<namespace>/<fn>` a function's label. */
function pattern(line: string): RegExp {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .replaceAll("…", ".*")
    .replaceAll("<namespace>/<fn>", "[^ :/]+/[^ :/]+");
  return new RegExp(`^${escaped}`);
}

const big = (n: number) => ({ n, rows: Array.from({ length: 5_000 }, () => crypto.randomUUID()) });

/** One miss of a large value (so it goes to S3), its write awaited. */
async function writeLarge(options: CacheOptions): Promise<void> {
  const cache = createCache({ prefix: uniquePrefix("readme"), logger, globalStats: false, ...options });
  await cache.wrap(big, { name: "report" })(1);
  await cache.flush();
}

function s3(extra: Partial<S3BlobStoreOptions>) {
  return s3BlobStore({ ...services.s3, ...extra });
}

const silent = createHttpServer(() => {}); // accepts, never answers
let silentUrl = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

describe("README: Troubleshooting", () => {
  it("every log line of the table is one Larder writes", async () => {
    const store = upstashStore(services.upstash);
    // The store refuses the token; the store is not there; the store does not answer.
    await createCache({ store: upstashStore({ url: services.upstash.url, token: "not-the-token-4242" }), logger })
      .wrap(async () => 1, { name: "f" })();
    await createCache({
      store: upstashStore({ url: `http://127.0.0.1:${await closedPort()}`, token: "t0ken" }),
      logger,
    })
      .wrap(async () => 1, { name: "f" })();
    await createCache({ store: upstashStore({ url: silentUrl, token: "t0ken" }), logger, timeout: { store: "1s" } })
      .wrap(async () => 1, { name: "f" })();
    // Redis refuses the password.
    const user = `readme-${crypto.randomUUID().slice(0, 8)}`;
    await redisCommand(["ACL", "SETUSER", user, "on", ">right-password-4242", "~*", "+@all"]);
    const url = new URL(services.redisUrl);
    url.username = user;
    url.password = "wrong-password-4242";
    const tcp = redisStore({ url: url.href, connectTimeoutMs: 2_000 });
    await createCache({ store: tcp, logger }).wrap(async () => 1, { name: "f" })();
    await tcp.close();
    await redisCommand(["ACL", "DELUSER", user]);
    const down = redisStore({ url: `redis://127.0.0.1:${await closedPort()}`, connectTimeoutMs: 1_000 });
    await createCache({ store: down, logger }).wrap(async () => 1, { name: "f" })();
    await down.close();
    // S3 refuses the region, the secret, the key id; the bucket is missing; the endpoint is closed.
    await writeLarge({ store, blobs: s3({ region: "us-east-1" }) });
    await writeLarge({ store, blobs: s3({ secretAccessKey: "not-the-secret-4242" }) });
    await writeLarge({ store, blobs: s3({ accessKeyId: "AKIDNOTKNOWN" }) });
    await writeLarge({ store, blobs: s3({ bucket: "no-such-bucket-4242" }) });
    await writeLarge({ store, blobs: s3({ endpoint: `http://127.0.0.1:${await closedPort()}` }) });

    // In-process: a value too large, writes piling up, a corrupt blob, another codec, a failing function.
    await writeLarge({ maxValueBytes: 1000 });
    const stuck = new ChaosBlobs(memoryBlobStore());
    stuck.fault = "hang";
    const piling = createCache({
      store: memoryStore(),
      blobs: stuck,
      logger,
      maxPendingWrites: 1,
      timeout: { blob: 300 },
    });
    const pile = piling.wrap(big, { name: "report" });
    await pile(1);
    await pile(2);
    await piling.flush();
    const corrupt = new ChaosBlobs(memoryBlobStore());
    const corrupted = createCache({ store: memoryStore(), blobs: corrupt, logger, globalStats: false });
    const read = corrupted.wrap(big, { name: "report" });
    await read(1);
    await corrupted.flush();
    corrupt.fault = "corrupt";
    await read(1);
    const shared = { store: memoryStore(), blobs: memoryBlobStore(), logger, globalStats: false };
    await createCache(shared).set("k", new Map([["a", 1n]]));
    await createCache({ ...shared, codec: "json" }).get("k");
    let now = Date.now();
    const expiring = createCache({ logger, ttl: "1s", staleIfError: "1h", now: () => now });
    let fail = false;
    const flaky = expiring.wrap(async () => {
      if (fail) throw new Error("the query failed");
      return 1;
    }, { name: "flaky" });
    await flaky();
    await expiring.flush();
    now += 2_000;
    fail = true;
    await flaky();
    // zstd that cannot load (Workers without larder/workers).
    const disallowed = () =>
      Promise.reject(new WebAssembly.CompileError("Wasm code generation disallowed by embedder"));
    await createCache({ logger, zstd: { wasm: disallowed } }).wrap(async () => "x".repeat(5000), { name: "f" })();
    // A lease held by a process that exited; a duration in numbers; an anonymous function.
    const leased = memoryStore();
    const waiting = createCache({ store: leased, prefix: "readme-lease", logger, globalStats: false });
    const hash = await keyHash("readme-lease", "default", { kind: "call", fn: "report", args: [1] });
    await leased.run([{ type: "set", key: leaseKey("readme-lease", hash), value: "gone", ttlMs: 1_300 }]);
    await waiting.wrap(async (n: number) => n, { name: "report" })(1);
    createCache({ logger, ttl: 60 });
    try {
      createCache({ logger }).wrap(async () => 1);
    } catch (error) {
      produced.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
    // The messages only runtimes write: a Worker without waitUntil; a script that exits early.
    produced.push(WORKERD_WITHOUT_WAIT_UNTIL);
    const workers = readFileSync("src/runtime/workers.ts", "utf8");
    for (const [, text] of workers.matchAll(/"(larder: background writes are lost: [^"]+)"/g)) produced.push(text!);
    const exited = spawnSync(process.execPath, ["--import", "tsx", "test/helpers/exit_warning_child.ts"], {
      encoding: "utf8",
    });
    produced.push(...exited.stderr.split("\n"));

    const lines = tableLines();
    expect(lines.length).toBeGreaterThan(15);
    const unmatched = lines.filter((line) => !produced.some((message) => pattern(line).test(message)));
    expect(unmatched, `produced:\n${produced.join("\n")}`).toEqual([]);
  }, 60_000);
});
