/**
 * Each backend fault, through the cache, against the real services: the fault is injected at the
 * bridge or the S3 proxy (scoped to the test's prefix), and for each one the caller gets the
 * function's fresh result, the right error counter moves, nothing wrong is served, and once the
 * fault is gone the entry is served from the cache again without running the function, with
 * the record left intact where the fault prevented the rewrite (a transient error deletes
 * nothing). Then the store breaker's transitions, with requests counted at the bridge.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { recordingLogger } from "../helpers/chaos.ts";
import { recordKey as recordKeyOf } from "../../src/core/record/key_layout.ts";
import {
  addFaults,
  type FaultRule,
  getObject,
  listObjects,
  rawRedisGet,
  rawRedisKeys,
  rawRedisPttl,
  removeFaults,
  requestLogSnapshot,
  requireServices,
  scriptCommands,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Incompressible bytes, so the stored size is known: 600 stay inline, 8000 go to S3. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A cache on the real services with a wrapped function whose results say which run made them,
 * primed with its first result (`v1`) and the raw state of that entry.
 */
async function primed(size: "inline" | "blob", options: CacheOptions = {}) {
  const prefix = uniquePrefix(`res-${size}`);
  const logger = recordingLogger();
  const cache = createCache({
    store: upstashStore(services.upstash),
    blobs: s3BlobStore(services.s3),
    prefix,
    logger,
    maxInlineBytes: 1024,
    ...options,
  });
  let runs = 0;
  const report = cache.wrap(async (id: number) => {
    runs++;
    return { id, run: runs, data: noise(size === "inline" ? 600 : 8000, runs) };
  }, { name: "report" });
  const v1 = await report(1);
  await cache.flush();
  const [recordKey] = await rawRedisKeys(recordKeyOf(prefix, "*"));
  const record = await rawRedisGet(recordKey!);
  const objects = await listObjects(`${prefix}/`);
  expect(objects).toHaveLength(size === "blob" ? 1 : 0);
  const objectBytes = objects[0] === undefined ? null : await getObject(objects[0]);
  return {
    cache,
    prefix,
    logger,
    report,
    v1,
    runs: () => runs,
    recordKey: recordKey!,
    record: record!,
    object: objects[0],
    objectBytes,
    /** What a run `n` returned (the function is deterministic in its run number). */
    expected: (run: number) => ({ id: 1, run, data: noise(size === "inline" ? 600 : 8000, run) }),
  };
}

type Primed = Awaited<ReturnType<typeof primed>>;

/**
 * Calls the wrapped function once under `rules` (added to `service`, scoped by `match`), waits
 * for its background work, removes the rules, and returns what the call returned and how long it took.
 */
async function underFault(
  setup: Primed,
  service: "store" | "s3",
  rules: Omit<FaultRule, "match">[],
  match = service === "store" ? setup.prefix : `/${setup.prefix}/`,
) {
  const [base, token] = service === "store" ? [services.upstash.url, services.upstash.token] : [services.s3.endpoint];
  const hitsBefore = setup.cache.stats().hits.total;
  await addFaults(base, rules.map((rule) => ({ match, ...rule })), token);
  try {
    const started = performance.now();
    const value = await setup.report(1);
    const elapsedMs = performance.now() - started;
    await setup.cache.flush();
    return { value, elapsedMs, servedFromCache: setup.cache.stats().hits.total > hitsBefore };
  } finally {
    await removeFaults(base, match, token);
  }
}

/** After the fault: one more call, served from the cache, without running the function. */
async function servedAgain(setup: Primed, expectedRun: number): Promise<void> {
  const runs = setup.runs();
  const hits = setup.cache.stats().hits.total;
  expect(await setup.report(1)).toEqual(setup.expected(expectedRun));
  expect(setup.runs()).toBe(runs);
  expect(setup.cache.stats().hits.total).toBe(hits + 1);
}

/** The primed record is still in Redis, byte for byte, with its TTL (and its blob in the bucket). */
async function recordIntact(setup: Primed): Promise<void> {
  expect(await rawRedisGet(setup.recordKey)).toBe(setup.record);
  expect(await rawRedisPttl(setup.recordKey)).toBeGreaterThan(0);
  if (setup.object !== undefined) expect(await getObject(setup.object)).toEqual(setup.objectBytes);
}

describe("store faults, through the cache", () => {
  it("5xx: the function's result; E_STORE counted; the record survives and is served afterwards", async () => {
    const setup = await primed("inline");
    const { value, servedFromCache } = await underFault(setup, "store", [{ status: 500 }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    const stats = setup.cache.stats();
    // The lookup failed, so the new value is not written (its generations are unknown); nothing
    // else was counted.
    expect(stats.errors).toMatchObject({ store: 1, blob: 0, integrity: 0, codec: 0, byCode: { E_STORE: 1 } });
    expect(stats.writes).toMatchObject({ ok: 1, failed: 0, discarded: 1 });
    await recordIntact(setup);
    await servedAgain(setup, 1);
  });

  it("reset: the function's result; E_STORE counted; the record survives and is served afterwards", async () => {
    const setup = await primed("inline");
    const { value, servedFromCache } = await underFault(setup, "store", [{ reset: true }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    expect(setup.cache.stats().errors).toMatchObject({ store: 1, integrity: 0, byCode: { E_STORE: 1 } });
    expect(setup.cache.stats().writes).toMatchObject({ failed: 0, discarded: 1 });
    await recordIntact(setup);
    await servedAgain(setup, 1);
  });

  it("slow beyond the timeout: the function's result after the store timeout, not the store's delay", async () => {
    const setup = await primed("inline", { timeout: { store: 150 } });
    // Only the lookup (it names the lease key) is slow; the write that follows is not.
    const { value, elapsedMs } = await underFault(setup, "store", [{ latencyMs: 2_000 }], `${setup.prefix}:l:`);
    expect(value).toEqual(setup.expected(2));
    expect(elapsedMs).toBeGreaterThanOrEqual(140);
    expect(elapsedMs).toBeLessThan(1_000);
    expect(setup.cache.stats().errors).toMatchObject({ store: 1, byCode: { E_TIMEOUT: 1 } });
    // The lookup timed out, so the fresh result was not written; the stored entry is served.
    expect(setup.cache.stats().writes).toMatchObject({ discarded: 1 });
    await servedAgain(setup, 1);
  });

  it("corrupted answer: not served (integrity), the function's result instead", async () => {
    const setup = await primed("inline");
    // The middle byte of the lookup's answer lies in the record's inline payload.
    const { value, servedFromCache } = await underFault(setup, "store", [{ corrupt: true, count: 1 }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    expect(setup.cache.stats().errors).toMatchObject({ integrity: 1, store: 0, byCode: { E_INTEGRITY: 1 } });
    await servedAgain(setup, 2);
  });

  it("corrupted answer anywhere (seeded positions): never served, whatever byte it hits", async () => {
    const setup = await primed("inline");
    for (let seed = 1; seed <= 20; seed++) {
      const before = setup.runs();
      const { value } = await underFault(setup, "store", [{ corrupt: 3, seed, count: 1 }]);
      // Either the corruption was detected and the function ran, or it missed the record's
      // verified content and the hit is the entry as stored: never anything else.
      if (setup.runs() > before) expect(value).toEqual(setup.expected(setup.runs()));
      else expect(value).toEqual(setup.expected(before));
    }
    expect(setup.cache.stats().errors.integrity + setup.cache.stats().errors.store).toBeGreaterThan(0);
  });

  it("truncated answer: the function's result; E_STORE counted", async () => {
    const setup = await primed("inline");
    const { value, servedFromCache } = await underFault(setup, "store", [{ truncate: "half", count: 1 }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    expect(setup.cache.stats().errors).toMatchObject({ store: 1, integrity: 0, byCode: { E_STORE: 1 } });
    // The store's answer was lost, so the new value is not written; the stored entry is served.
    expect(setup.cache.stats().writes).toMatchObject({ discarded: 1 });
    await servedAgain(setup, 1);
  });
});

describe("S3 faults, through the cache", () => {
  it("5xx: the function's result; E_BLOB counted; record and blob survive and are served afterwards", async () => {
    const setup = await primed("blob");
    const { value, servedFromCache } = await underFault(setup, "s3", [{ status: 503 }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    const stats = setup.cache.stats();
    // The blob GET and the new value's upload failed; the record was never touched.
    expect(stats.errors).toMatchObject({ blob: 2, store: 0, integrity: 0, byCode: { E_BLOB: 2 } });
    expect(stats.writes).toMatchObject({ ok: 1, failed: 1 });
    await recordIntact(setup);
    await servedAgain(setup, 1);
  });

  it("reset: the function's result; E_BLOB counted; record and blob survive and are served afterwards", async () => {
    const setup = await primed("blob");
    const { value } = await underFault(setup, "s3", [{ reset: true }]);
    expect(value).toEqual(setup.expected(2));
    expect(setup.cache.stats().errors).toMatchObject({ blob: 2, store: 0, byCode: { E_BLOB: 2 } });
    await recordIntact(setup);
    await servedAgain(setup, 1);
  });

  it("truncated body: not served, the function's result instead; E_BLOB counted", async () => {
    const setup = await primed("blob");
    const { value, servedFromCache } = await underFault(setup, "s3", [{ method: "GET", truncate: "half" }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    expect(setup.cache.stats().errors).toMatchObject({ blob: 1, integrity: 0, byCode: { E_BLOB: 1 } });
    await servedAgain(setup, 2);
  });

  it("corrupted body: not served (checksum), the function's result instead", async () => {
    const setup = await primed("blob");
    const { value, servedFromCache } = await underFault(setup, "s3", [{ method: "GET", corrupt: true }]);
    expect(value).toEqual(setup.expected(2));
    expect(servedFromCache).toBe(false);
    expect(setup.cache.stats().errors).toMatchObject({ integrity: 1, blob: 0, byCode: { E_INTEGRITY: 1 } });
    await servedAgain(setup, 2);
  });

  it("slow beyond the timeout: the function's result after the blob timeout; the entry survives", async () => {
    const setup = await primed("blob", { timeout: { blob: 200 } });
    const { value, elapsedMs } = await underFault(setup, "s3", [{ latencyMs: 1_500 }]);
    expect(value).toEqual(setup.expected(2));
    expect(elapsedMs).toBeGreaterThanOrEqual(190);
    expect(elapsedMs).toBeLessThan(1_000);
    // The GET and the upload timed out (the proxy drops the upload: its client is gone).
    expect(setup.cache.stats().errors).toMatchObject({ blob: 2, byCode: { E_TIMEOUT: 2 } });
    await sleep(1_500);
    await recordIntact(setup);
    await servedAgain(setup, 1);
  });
});

describe("one failure, one count", () => {
  /** A blob entry and an inline entry written by a cache with the default limits, under a new prefix. */
  async function written() {
    const prefix = uniquePrefix("res-count");
    const writer = createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix,
      maxInlineBytes: 1024,
      compression: "none",
    });
    expect(await writer.set("blob", noise(8000, 1))).toBe(true);
    expect(await writer.set("inline", noise(600, 2))).toBe(true);
    expect(await listObjects(`${prefix}/`)).toHaveLength(1);
    return prefix;
  }
  const reader = (prefix: string, options: CacheOptions = {}) =>
    createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix,
      maxInlineBytes: 1024,
      logger: recordingLogger(),
      ...options,
    });

  it("an S3 object over the blob store's maxObjectBytes under a valid record: one blob error", async () => {
    const prefix = await written();
    const cache = reader(prefix, { blobs: s3BlobStore({ ...services.s3, maxObjectBytes: 1000 }) });
    expect(await cache.get("blob")).toBeUndefined();
    expect(cache.stats().errors).toStrictEqual({
      total: 1,
      store: 0,
      blob: 1,
      codec: 0,
      integrity: 0,
      key: 0,
      schema: 0,
      byCode: { E_TOO_LARGE: 1 },
    });
    expect(cache.stats().misses).toBe(1);
  });

  it("a record whose value is over maxValueBytes: one codec error, inline or blob", async () => {
    const prefix = await written();
    const cache = reader(prefix, { maxValueBytes: 500 });
    expect(await cache.get("inline")).toBeUndefined();
    expect(await cache.get("blob")).toBeUndefined();
    expect(cache.stats().errors).toStrictEqual({
      total: 2,
      store: 0,
      blob: 0,
      codec: 2,
      integrity: 0,
      key: 0,
      schema: 0,
      byCode: { E_TOO_LARGE: 2 },
    });
  });
});

describe("store breaker against the real services", () => {
  it("opens after the threshold of 5xx, sends nothing while open, half-opens after the cooldown, closes on success", async () => {
    const prefix = uniquePrefix("res-breaker");
    // The breaker's cooldown runs on the cache's clock: moved by hand, so a slow machine cannot
    // let it lapse while the test is still counting what the open breaker refused.
    let clock = Date.now();
    const cache = createCache({
      store: upstashStore(services.upstash),
      prefix,
      logger: recordingLogger(),
      breaker: { threshold: 3, cooldown: 400 },
      now: () => clock,
    });
    let runs = 0;
    const w = cache.wrap(async (n: number) => (runs++, { n }), { name: "w" });
    const bridgeRequests = async () =>
      (await requestLogSnapshot(services.upstash.url, services.upstash.token)).requests
        .filter((e) => e.keys.some((k) => k.startsWith(`${prefix}:`)));
    const state = () => cache.stats().breakers.store!;

    await addFaults(services.upstash.url, [{ match: prefix, status: 500 }], services.upstash.token);
    try {
      // Calls 1-3: each lookup fails (and its value is not written: its generations are
      // unknown); the third failure opens the breaker.
      for (let n = 1; n <= 3; n++) {
        expect(state()).toMatchObject({ state: "closed", opened: 0 });
        expect(await w(n)).toEqual({ n });
        await cache.flush();
      }
      expect(state()).toMatchObject({ state: "open", opened: 1 });
      expect(cache.stats().writes).toMatchObject({ failed: 0, discarded: 3 });
      const atOpen = (await bridgeRequests()).length;
      expect(atOpen).toBe(3);
      expect((await bridgeRequests()).every((e) => e.status === 500 && e.faults.includes("status"))).toBe(true);

      // Open: calls still get the function's result, and not one request reaches the bridge.
      for (let n = 4; n < 13; n++) expect(await w(n)).toEqual({ n });
      expect(await cache.set("k", 1)).toBe(false);
      await cache.flush();
      expect((await bridgeRequests()).length).toBe(atOpen);
      // The 9 calls' lookups and the set's write were refused.
      expect(state()).toMatchObject({ state: "open", rejected: 10 });

      // After the cooldown: half-open; the probe fails (the fault is still there) and it opens again.
      clock += 450;
      expect(state().state).toBe("half-open");
      expect(await w(13)).toEqual({ n: 13 });
      await cache.flush();
      expect((await bridgeRequests()).length).toBe(atOpen + 1);
      expect(state()).toMatchObject({ state: "open", opened: 2 });
    } finally {
      await removeFaults(services.upstash.url, prefix, services.upstash.token);
    }

    // The store is healthy again: after the cooldown the probe succeeds and the breaker closes.
    clock += 450;
    expect(state().state).toBe("half-open");
    const before = (await bridgeRequests()).length;
    expect(await w(14)).toEqual({ n: 14 });
    await cache.flush();
    expect(state().state).toBe("closed");
    const after = await bridgeRequests();
    // The probe (lookup), the write, and the lease release all reached Redis and succeeded.
    expect(after.slice(before).map((e) => [scriptCommands(e).join(","), e.status])).toEqual([
      ["EVAL", 200],
      ["EVAL", 200],
      ["EVAL", 200],
    ]);
    // And the entry written after the recovery is served.
    expect(await w(14)).toEqual({ n: 14 });
    expect(runs).toBe(14);
    expect(cache.stats().hits.total).toBe(1);
  });

  it("the blob breaker opens on S3 5xx and spares S3 while open; small entries keep being cached", async () => {
    const prefix = uniquePrefix("res-blob-breaker");
    const cache = createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix,
      logger: recordingLogger(),
      maxInlineBytes: 1024,
      breaker: { threshold: 2, cooldown: "1m" },
    });
    const large = cache.wrap(async (n: number) => noise(5000, n), { name: "large" });
    const small = cache.wrap(async (n: number) => ({ n }), { name: "small" });
    const s3Requests = async () =>
      (await requestLogSnapshot(services.s3.endpoint)).requests.filter((e) => e.path.includes(`/${prefix}/`));
    await addFaults(services.s3.endpoint, [{ match: `/${prefix}/`, status: 500 }]);
    try {
      for (let n = 0; n < 6; n++) {
        expect(await large(n)).toEqual(noise(5000, n));
        await cache.flush();
      }
      const blob = cache.stats().breakers.blob!;
      expect(blob.state).toBe("open");
      // Two uploads failed, then the breaker refused the rest without a request.
      expect(await s3Requests()).toHaveLength(2);
      expect(blob.rejected).toBeGreaterThanOrEqual(4);
      // The store breaker is unaffected, and inline entries still round-trip.
      expect(cache.stats().breakers.store!.state).toBe("closed");
      await small(1);
      await cache.flush();
      expect(await small(1)).toEqual({ n: 1 });
      expect(cache.stats().hits.inline).toBe(1);
    } finally {
      await removeFaults(services.s3.endpoint, `/${prefix}/`);
    }
  });
});
