/**
 * The operator CLI in-process, without services: help, usage and configuration errors (exit
 * code 2), secrets kept out of output, and the progress display on a terminal and in logs.
 * Commands against the real services: test/integration/cli.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { CleanupProgress } from "../../src/core/ops/cleanup.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { backendFailureLine } from "../../src/cli/failure.ts";
import { BlobError, CodecError, StoreError, TimeoutError } from "../../src/core/errors.ts";
import { progressDisplay } from "../../src/cli/progress.ts";
import { runInProcess } from "../helpers/cli.ts";

const TOKEN = "AXsecret-token-0123456789";
const env = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", UPSTASH_REDIS_REST_TOKEN: TOKEN };

describe("larder CLI: help and usage", () => {
  it("prints the top-level help with every command and variable, exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const run = await runInProcess(args, {});
      expect(run.code, args.join(" ")).toBe(0);
      for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command.name} `);
      expect(run.stdout).toContain("UPSTASH_REDIS_REST_TOKEN");
      expect(run.stdout).toContain("LARDER_S3_BUCKET");
      expect(run.stderr).toBe("");
    }
  });

  it("prints each command's help with its options, exit 0, without needing any configuration", async () => {
    for (const command of COMMANDS) {
      for (const args of [[command.name, "--help"], [command.name, "-h"], ["help", command.name]]) {
        const run = await runInProcess(args, {});
        expect(run.code, args.join(" ")).toBe(0);
        expect(run.stdout).toContain(`Usage: larder ${command.usage}`);
        for (const option of Object.keys(command.options)) expect(run.stdout).toContain(`--${option}`);
      }
    }
  });

  it.each([
    [[], /^Usage: larder <command>/],
    [["frobnicate"], /^larder: unknown command "frobnicate"\nRun "larder --help" for usage\.\n$/],
    [["--verbose"], /^larder: unknown option --verbose; a command comes first\n/],
    [["help", "nope"], /^larder: unknown command "nope"\n/],
    [
      ["cleanup", "--bogus"],
      /^larder: unknown option --bogus for "cleanup"\nRun "larder cleanup --help" for usage\.\n$/,
    ],
    [["cleanup", "--grace"], /^larder: option --grace needs a value\n/],
    [["cleanup", "--dry-run=no"], /^larder: option --dry-run does not take a value\n/],
    [["inspect"], /^larder: inspect takes one key or key hash\nRun "larder inspect --help"/],
    [["inspect", "a", "b"], /^larder: inspect takes one key or key hash\n/],
    [["inspect", "f".repeat(64), "--namespace", "x"], /^larder: --namespace applies to keys/],
    [["invalidate"], /^larder: invalidate needs either --tag \(one or more\) or --namespace, not both\n/],
    [["invalidate", "--tag", "a", "--namespace", "b"], /^larder: invalidate needs either --tag/],
    [["invalidate", "reports"], /^larder: invalidate takes no arguments \(got "reports"\)/],
    [["clear"], /^larder: clear removes every entry under prefix "larder"; run it again with --yes\n/],
  ])("refuses %j with a one-line message and exit code 2", async (args, pattern) => {
    const run = await runInProcess(args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(pattern);
  });

  it("names the missing or invalid variable (exit 2), never a secret's value", async () => {
    expect((await runInProcess(["cleanup"], {})).stderr).toMatch(
      /^larder: no store configured: set CACHE_URL \(or REDIS_URL\) to redis:/,
    );
    expect((await runInProcess(["cleanup"], { UPSTASH_REDIS_REST_URL: "http://x" })).stderr).toMatch(
      /^larder: UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not/,
    );
    expect((await runInProcess(["stats"], { CACHE_URL: "https://x.upstash.io" })).stderr).toMatch(
      /^larder: CACHE_URL is an https:\/\/ URL: for Upstash over HTTP set UPSTASH_REDIS_REST_URL/,
    );
    expect((await runInProcess(["stats"], { REDIS_URL: "mem://" })).stderr).toMatch(/needs a shared store/);
    // A Redis URL's password is a secret: never echoed, even by a URL that does not parse.
    const password = await runInProcess(["stats"], { REDIS_URL: "redis://u:hunter2pw@host:bad/0" });
    expect(password.code).toBe(2);
    expect(password.stderr).not.toContain("hunter2pw");
    expect((await runInProcess(["cleanup"], env)).stderr).toMatch(/^larder: LARDER_S3_BUCKET is not set/);
    const s3 = { ...env, LARDER_S3_BUCKET: "b", AWS_ACCESS_KEY_ID: "AKID" };
    expect((await runInProcess(["cleanup"], s3)).stderr).toMatch(/LARDER_S3_SECRET_ACCESS_KEY \(or AWS_SECRET/);
    const badPrefix = await runInProcess(["inspect", "k"], { ...env, LARDER_PREFIX: "no spaces" });
    expect(badPrefix.code).toBe(2);
    expect(badPrefix.stderr).toMatch(/prefix must be 1-64 characters/);
    const badTimeout = await runInProcess(["inspect", "k"], { ...env, LARDER_TIMEOUT: "soon" });
    expect(badTimeout.stderr).toMatch(/^larder: LARDER_TIMEOUT: invalid duration "soon"/);
    // A secret pasted into the wrong variable is echoed by the adapter's message, and scrubbed here.
    const leaked = await runInProcess(["inspect", "k"], { ...env, UPSTASH_REDIS_REST_URL: `not a url ${TOKEN}` });
    expect(leaked.code).toBe(2);
    expect(leaked.stderr).toContain("***");
    expect(leaked.stderr).not.toContain(TOKEN);
  });

  it("reports an unreachable backend in one line with exit code 1, without the token", async () => {
    const run = await runInProcess(["inspect", "k"], env);
    expect(run.code).toBe(1);
    // Port 9 is one fetch refuses to connect to.
    expect(run.stderr).toBe(
      "larder: cannot read the entry from the store at http://127.0.0.1:9: bad port — " +
        "check UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN\n",
    );
    expect(run.stderr).not.toContain(TOKEN);
  });
});

describe("larder CLI: the line for a failing backend", () => {
  const s3Env = { ...env, LARDER_S3_BUCKET: "cache", LARDER_S3_ENDPOINT: "https://s3.example.test/" };
  const nested = (message: string, code: string) =>
    Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(message), { code }) });
  const actions = { store: "read stats from", blob: "clean up" };

  it.each([
    [
      new StoreError("upstash run [get] failed: fetch failed", {
        cause: nested("getaddrinfo ENOTFOUND nowhere.invalid", "ENOTFOUND"),
      }),
      "larder: cannot read stats from the store at http://127.0.0.1:9: getaddrinfo ENOTFOUND nowhere.invalid — " +
      "check the host name in UPSTASH_REDIS_REST_URL",
    ],
    [
      new StoreError("upstash run [get] failed: fetch failed", {
        cause: Object.assign(new TypeError("fetch failed"), {
          cause: Object.assign(new AggregateError([], ""), { code: "ECONNREFUSED" }),
        }),
      }),
      "larder: cannot read stats from the store at http://127.0.0.1:9: fetch failed (ECONNREFUSED) — " +
      "is the server running? check UPSTASH_REDIS_REST_URL",
    ],
    [
      new StoreError("upstash hgetall failed: WRONGPASS invalid or missing auth token"),
      "larder: cannot read stats from the store at http://127.0.0.1:9: WRONGPASS invalid or missing auth token — " +
      "check UPSTASH_REDIS_REST_TOKEN",
    ],
    [
      new TimeoutError("store", "upstash run [hgetall] timed out after 30000 ms"),
      "larder: cannot read stats from the store at http://127.0.0.1:9: no answer, timed out after 30000 ms — " +
      "check UPSTASH_REDIS_REST_URL, or raise LARDER_TIMEOUT",
    ],
    [
      new BlobError("s3 list (bucket cache) failed: HTTP 400 AuthorizationHeaderMalformed"),
      'larder: cannot clean up the bucket "cache" at https://s3.example.test: HTTP 400 AuthorizationHeaderMalformed — ' +
      "check LARDER_S3_REGION and LARDER_S3_ENDPOINT",
    ],
    [
      new TimeoutError("blob", 's3 list "p/" timed out after 500 ms'),
      'larder: cannot clean up the bucket "cache" at https://s3.example.test: no answer, timed out after 500 ms — ' +
      "check LARDER_S3_ENDPOINT, or raise LARDER_TIMEOUT",
    ],
  ])("%s", (error, line) => {
    expect(backendFailureLine(error, actions, s3Env)).toBe(line);
  });

  it("leaves other errors to the generic line", () => {
    expect(backendFailureLine(new CodecError("bad"), actions, s3Env)).toBeUndefined();
    expect(backendFailureLine(new Error("boom"), actions, s3Env)).toBeUndefined();
  });
});

describe("larder CLI: progress display", () => {
  const progress = (pages: number, phase: CleanupProgress["phase"] = "deleted"): CleanupProgress => ({
    phase,
    pages,
    scanned: pages * 1000,
    scannedBytes: pages * 2_500_000,
    live: 0,
    recent: 0,
    foreign: 0,
    orphans: pages * 10,
    orphanBytes: pages * 25_000,
    rescued: 0,
    deleted: pages * 10,
    deletedBytes: pages * 25_000,
    failed: 0,
  });

  it("rewrites one line on a terminal, at most every 100 ms, and ends it", () => {
    let out = "";
    let time = 0;
    const display = progressDisplay({ write: (t) => void (out += t), isTTY: true, now: () => time }, false);
    for (let page = 1; page <= 10; page++) {
      display.update(progress(page));
      time += 30;
    }
    display.end();
    const frames = out.split("\r\x1b[2K").filter(Boolean);
    expect(frames.length).toBe(4); // pages 1, 5, 9 and the final state (10)
    expect(out.endsWith("\n")).toBe(true);
    expect(out.split("\n")).toHaveLength(2);
    expect(frames.at(-1)).toBe(
      "cleanup: 10 pages, 10,000 objects scanned (25 MB), 100 orphans (250 kB), 100 deleted\n",
    );
  });

  it("writes a plain line now and then in logs, and none at the end", () => {
    let out = "";
    let time = 0;
    const display = progressDisplay(
      { write: (t) => void (out += t), isTTY: false, now: () => time, intervalMs: 1_000 },
      true,
    );
    for (let page = 1; page <= 10; page++) {
      display.update(progress(page, "listed"));
      display.update(progress(page, "checked"));
      time += 400;
    }
    display.end();
    expect(out).not.toContain("\r");
    expect(out.split("\n").filter(Boolean)).toStrictEqual([
      "cleanup: 1 page, 1,000 objects scanned (2.5 MB), 10 orphans (25 kB)",
      "cleanup: 4 pages, 4,000 objects scanned (10 MB), 40 orphans (100 kB)",
      "cleanup: 7 pages, 7,000 objects scanned (18 MB), 70 orphans (175 kB)",
      "cleanup: 10 pages, 10,000 objects scanned (25 MB), 100 orphans (250 kB)",
    ]);
  });
});
