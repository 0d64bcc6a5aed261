/**
 * The mistakes of a user's first hour, each made loud (DESIGN.md, "A user's first hour"), on the
 * in-process adapters (no services; the real backends' misconfigurations are in
 * test/integration/check.test.ts):
 *
 * - a misconfigured backend is reported as such, with its fix, every minute while it lasts, and
 *   never opens the breaker ("outage");
 * - a numeric duration under 1000 (`ttl: 60`, 60 ms) warns once;
 * - an entry written with another codec under the same prefix is a counted miss, warned once;
 * - zstd that cannot load (Workers without `larder/workers`) names the fix;
 * - where background work dies with the call (workerd without `waitUntil`), the cache warns and
 *   takes no lease; a lease wait over 1 s is logged once per key with the function's name;
 * - a script that exits with writes pending says so, on Node, Bun and Deno.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { type CacheEvent, createCache, StoreError } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { embeddedZstdWasm } from "../../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../../src/codec/zstd.ts";
import { createCacheFor } from "../../src/core/api/create_cache.ts";
import { MISCONFIGURED_LOG_INTERVAL_MS } from "../../src/core/backend/backend_call.ts";
import { leaseKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import type { MetadataStore, StoreOp, StoreResult } from "../../src/core/types.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { recordingLogger } from "../helpers/chaos.ts";

/** A memory store that refuses every call with a misconfiguration while `refuse` is set, and counts its calls. */
function refusingStore(): MetadataStore & { refuse: boolean; calls: number } {
  const inner = memoryStore();
  const store = {
    name: "upstash",
    refuse: true,
    calls: 0,
    run(ops: readonly StoreOp[], options?: { signal?: AbortSignal }): Promise<StoreResult[]> {
      store.calls++;
      if (store.refuse) {
        return Promise.reject(
          new StoreError("upstash run [read] failed: Unauthorized (HTTP 401)", {
            fix: "check the token (UPSTASH_REDIS_REST_TOKEN)",
          }),
        );
      }
      return inner.run(ops, options);
    },
  };
  return store;
}

describe("a misconfigured backend", () => {
  it("is reported with its fix, again every minute while it lasts, and never opens the breaker", async () => {
    let now = 1_700_000_000_000;
    const store = refusingStore();
    const logger = recordingLogger();
    const cache = createCache({ store, logger, now: () => now, globalStats: false });
    const events: CacheEvent[] = [];
    cache.on("error", (event) => void events.push(event));
    const report = cache.wrap(async (n: number) => n * 2, { name: "report" });
    for (let i = 0; i < 20; i++) expect(await report(i)).toBe(i * 2);
    // Each refusal is an error event that says it is a misconfiguration, with the fix.
    expect(events).toHaveLength(20);
    expect(events[0]).toEqual({
      type: "error",
      source: "store",
      code: "E_STORE",
      fix: "check the token (UPSTASH_REDIS_REST_TOKEN)",
    });
    // Every call still reached the store: a refusal is quick, and the breaker is for outages.
    expect(store.calls).toBe(20);
    expect(cache.stats().breakers.store).toMatchObject({ state: "closed", opened: 0, rejected: 0 });
    const line = "larder: store misconfigured, serving without cache: upstash run [read] failed: Unauthorized " +
      "(HTTP 401) — fix: check the token (UPSTASH_REDIS_REST_TOKEN)";
    expect(logger.lines).toEqual([{ level: "error", message: line }]);
    expect(logger.lines.some((l) => /unavailable|circuit open/.test(l.message))).toBe(false);

    const health = cache.health();
    expect(health.ok).toBe(false);
    expect(health.store).toMatchObject({
      adapter: "upstash",
      state: "misconfigured",
      errors: 20,
      lastError: {
        message: "upstash run [read] failed: Unauthorized (HTTP 401)",
        code: "E_STORE",
        at: now,
        fix: "check the token (UPSTASH_REDIS_REST_TOKEN)",
      },
    });
    expect(health.store.latency.count).toBe(20);
    expect(health.blob).toMatchObject({ adapter: null, state: "none" });

    // Still misconfigured a minute later: said again (not one warning, then silence).
    now += MISCONFIGURED_LOG_INTERVAL_MS - 1;
    await report(100);
    expect(logger.lines).toHaveLength(1);
    now += 1;
    await report(101);
    expect(logger.lines).toEqual([{ level: "error", message: line }, { level: "error", message: line }]);

    // Fixed: the store answers, health says so, and the log says it once.
    store.refuse = false;
    await report(102);
    expect(cache.health().store.state).toBe("ok");
    expect(cache.health().store.lastError?.fix).toBe("check the token (UPSTASH_REDIS_REST_TOKEN)");
    expect(logger.lines.at(-1)).toEqual({ level: "info", message: "larder: store (upstash) answering again" });
  });

  it("is told apart from an outage, which opens the breaker and says so", async () => {
    let calls = 0;
    const store: MetadataStore = {
      name: "upstash",
      run: () => (calls++, Promise.reject(new StoreError("upstash run [read] failed: fetch failed: ECONNREFUSED"))),
    };
    const logger = recordingLogger();
    const cache = createCache({ store, logger, globalStats: false });
    const events: CacheEvent[] = [];
    cache.on("error", (event) => void events.push(event));
    const report = cache.wrap(async (n: number) => n, { name: "report" });
    for (let i = 0; i < 10; i++) await report(i);
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual({ type: "error", source: "store", code: "E_STORE" });
    expect(calls).toBe(5);
    expect(cache.stats().breakers.store?.state).toBe("open");
    expect(cache.health().store.state).toBe("down");
    expect(logger.lines.map((l) => l.message)).toEqual([
      "larder: store unavailable, serving without cache: upstash run [read] failed: fetch failed: ECONNREFUSED",
    ]);
  });
});

describe("numeric durations", () => {
  const warnings = (logger: ReturnType<typeof recordingLogger>): string[] =>
    logger.lines.filter((l) => l.level === "warn").map((l) => l.message);

  it("warn once when under 1000 (milliseconds, where seconds were probably meant), not for time limits", async () => {
    const logger = recordingLogger();
    const cache = createCache({ ttl: 60, lease: { ttl: 900 }, timeout: { store: 500, total: 300 }, logger });
    expect(warnings(logger)).toEqual([
      'larder: createCache: ttl: 60 is 60 ms; durations in numbers are milliseconds — did you mean "60s"?',
      'larder: createCache: lease.ttl: 900 is 900 ms; durations in numbers are milliseconds — did you mean "900s"?',
    ]);
    const fn = async (n: number) => n;
    cache.wrap(fn, { name: "a", ttl: 30 });
    cache.wrap(fn, { name: "b", ttl: "30s" });
    cache.wrap(fn, { name: "c", ttl: 1000 });
    // The function's time limits are time limits too: a few hundred ms is ordinary.
    cache.wrap(async (n: number, _context: { signal: AbortSignal }) => n, {
      name: "d",
      timeout: 500,
      abortAfter: 300,
      signal: true,
    });
    await cache.set("k", 1, { ttl: 5 });
    await cache.set("k", 1, { ttl: 5 });
    expect(warnings(logger).slice(2)).toEqual([
      'larder: wrap(a): ttl: 30 is 30 ms; durations in numbers are milliseconds — did you mean "30s"?',
      'larder: set: ttl: 5 is 5 ms; durations in numbers are milliseconds — did you mean "5s"?',
    ]);
  });
});

describe("an entry written with another codec under the same prefix", () => {
  it("is a miss counted in errors.codec and warned once, both ways, never a value of the wrong shape", async () => {
    const store = memoryStore();
    const blobs = memoryBlobStore();
    const cborLog = recordingLogger();
    const jsonLog = recordingLogger();
    const cbor = createCache({ store, blobs, prefix: "shared", logger: cborLog, globalStats: false });
    const json = createCache({ store, blobs, prefix: "shared", codec: "json", logger: jsonLog, globalStats: false });
    expect(await cbor.set("k", { when: new Date(0), counts: new Map([["a", 1n]]) })).toBe(true);
    expect(await json.get("k")).toBeUndefined();
    expect(await json.get("k")).toBeUndefined();
    expect(json.stats()).toMatchObject({ misses: 2, errors: { codec: 2, byCode: { E_CODEC: 2 } } });
    expect(jsonLog.lines).toEqual([{
      level: "warn",
      message: 'larder: an entry written with codec "cbor" is ignored by this "json" cache (a miss, counted in ' +
        "errors.codec): caches that share a prefix must use one codec, or different prefixes",
    }]);
    // The other way: a Date would come back as a string.
    expect(await json.set("d", { when: "1970-01-01T00:00:00.000Z" })).toBe(true);
    expect(await cbor.get("d")).toBeUndefined();
    expect(cborLog.lines.map((l) => l.message)).toEqual([
      expect.stringContaining('written with codec "json" is ignored by this "cbor" cache'),
    ]);
    // Bytes are stored as they are, whatever the codec: both read them.
    expect(await cbor.set("b", new Uint8Array([1, 2, 3]))).toBe(true);
    expect(await json.get("b")).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe("zstd that cannot load", () => {
  const disallowed = (): Promise<WebAssembly.Module> =>
    Promise.reject(new WebAssembly.CompileError("WebAssembly.compile(): Wasm code generation disallowed by embedder"));

  it("names the fix for Workers: larder/workers", async () => {
    const zstd = zstdCompressor({ wasm: disallowed });
    await expect(zstd.compress(new Uint8Array(1000))).rejects.toThrow(
      /Wasm code generation disallowed by embedder.*on Cloudflare Workers, import \{ createCache \} from "larder\/workers"/,
    );
  });

  it("reaches the log of a cache whose values are not cached because of it", async () => {
    const logger = recordingLogger();
    const cache = createCache({ zstd: { wasm: disallowed }, logger, globalStats: false });
    const report = cache.wrap(async () => "x".repeat(5000), { name: "report" });
    await report();
    await cache.flush();
    expect(cache.stats().writes.skipped).toBe(1);
    expect(logger.lines.map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^larder: default\/report: result not cached: zstd: could not load .*import \{ createCache \} from "larder\/workers"/,
      ),
    ]);
  });
});

describe("background work that does not outlive the call (workerd without waitUntil)", () => {
  const WARNING = "larder: background writes are lost (test): pass waitUntil";

  /** A cache as an entry point for such a runtime creates it, and whether its warning was said. */
  function workerdLike(options: Parameters<typeof createCacheFor>[0]) {
    let said = false;
    return createCacheFor(options, {
      zstdWasm: embeddedZstdWasm,
      unkeptWarning: () => {
        if (said) return undefined;
        said = true;
        return WARNING;
      },
    });
  }

  it("warns once and takes no lease, so no lost write leaves one behind for the next caller", async () => {
    const store = memoryStore();
    const logger = recordingLogger();
    const cache = workerdLike({ store, prefix: "w", logger, globalStats: false });
    const report = cache.wrap(async (n: number) => n, { name: "report" });
    await report(1);
    await report(2);
    expect(logger.lines).toEqual([{ level: "warn", message: WARNING }]);
    expect(cache.stats().leases).toEqual({ acquired: 0, waited: 0, givenUp: 0, takenOver: 0 });
    const hash = await keyHash("w", "default", { kind: "call", fn: "report", args: [1] });
    expect(await store.run([{ type: "exists", key: leaseKey("w", hash) }])).toEqual([false]);
    await cache.flush();
  });

  it("takes leases as usual, without a word, when it has a waitUntil", async () => {
    const logger = recordingLogger();
    const tasks: Promise<unknown>[] = [];
    const cache = workerdLike({ logger, waitUntil: (task) => void tasks.push(task), globalStats: false });
    await cache.wrap(async (n: number) => n, { name: "report" })(1);
    expect(cache.stats().leases.acquired).toBe(1);
    expect(logger.lines).toEqual([]);
    await Promise.all(tasks);
  });
});

describe("a long lease wait", () => {
  it("is logged once per key, with the function's name", async () => {
    const store = memoryStore();
    const logger = recordingLogger();
    const cache = createCache({ store, prefix: "lw", logger, lease: { ttl: "5s", wait: "10s" }, globalStats: false });
    const report = cache.wrap(async (n: number) => n * 2, { name: "report", namespace: "reports" });
    const hash = await keyHash("lw", "reports", { kind: "call", fn: "report", args: [1] });
    // An orphaned lease (its owner exited): it expires after 1.3 s.
    const orphan = () => store.run([{ type: "set", key: leaseKey("lw", hash), value: "gone", ttlMs: 1_300 }]);
    await orphan();
    expect(await report(1)).toBe(2);
    expect(cache.stats().leases).toMatchObject({ takenOver: 1 });
    expect(logger.lines).toEqual([{
      level: "warn",
      message: `larder: reports/report: waited over 1 s for key ${
        hash.slice(0, 12)
      }, leased by another instance (still computing it, or gone: a process that exited with its write pending leaves a lease that expires within lease.ttl, 5 s)`,
    }]);
    // The same key waits as long again: not logged twice.
    await cache.flush();
    await cache.invalidateNamespace("reports");
    await orphan();
    expect(await report(1)).toBe(2);
    expect(cache.stats().leases).toMatchObject({ takenOver: 2 });
    expect(logger.lines).toHaveLength(1);
    await cache.flush();
  }, 15_000);
});

describe("a script that exits with background writes pending", () => {
  const CHILD = "test/helpers/exit_warning_child.ts";
  const WARNING = "larder: 1 background write lost: await cache.flush() before exiting\n";
  const runtimes: [string, string, string[]][] = [
    ["node", process.execPath, ["--import", "tsx", CHILD]],
    ["bun", "node_modules/bun/bin/bun.exe", [CHILD]],
    ["deno", "node_modules/.bin/deno", ["run", "-A", CHILD]],
  ];

  for (const [name, command, args] of runtimes) {
    it(`says so on ${name}, and says nothing after cache.flush()`, () => {
      const lost = spawnSync(command, args, { encoding: "utf8" });
      expect(lost.stdout).toBe("pending 1\n");
      expect(lost.stderr).toContain(WARNING);
      const flushed = spawnSync(command, [...args, "flush"], { encoding: "utf8" });
      expect(flushed.stdout).toBe("pending 0\n");
      expect(flushed.stderr).not.toContain("lost");
    }, 60_000);
  }
});
