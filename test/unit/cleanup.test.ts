/**
 * `cache.cleanup()` and `cache.inspect()` on the in-process adapters: options, adapters without
 * the optional blob methods, per-key failures, timeouts, and every field `inspect` reports. The
 * real-services behaviour (round trips, races, paging) is in test/integration/cleanup.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { toHex } from "../../src/core/util/bytes.ts";
import { RECORD_VERSION } from "../../src/core/record/entry.ts";
import {
  blobKey,
  leaseKey,
  namespaceGeneration,
  prefixGeneration,
  recordKey,
  tagGeneration,
} from "../../src/core/record/key_layout.ts";
import type { BlobStore, MetadataStore } from "../../src/core/types.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { recordingLogger } from "../helpers/chaos.ts";

const HOUR = 3_600_000;
const big = (label: string): string => `${label}:${"x".repeat(300)}`;

function setup(blobsOverride?: (inner: BlobStore) => BlobStore) {
  let time = 1_700_000_000_000;
  const clock = { now: () => time, advance: (ms: number) => void (time += ms) };
  const inner = memoryBlobStore({ now: clock.now });
  const store: MetadataStore = memoryStore({ now: clock.now });
  const blobs = blobsOverride ? blobsOverride(inner) : inner;
  const logger = recordingLogger();
  const cache = createCache({
    store,
    blobs,
    prefix: "t",
    now: clock.now,
    maxInlineBytes: 64,
    compression: "none",
    logger,
    lease: false,
  });
  return { cache, store, blobs: inner, clock, logger };
}

/** Leaves one orphan (an entry whose record was deleted behind the cache's back) and one live entry. */
async function orphanAndLive(context: ReturnType<typeof setup>): Promise<{ orphan: string; live: string }> {
  const { cache, store } = context;
  await cache.set("orphan", big("orphan"), { ttl: "1d" });
  await cache.set("live", big("live"), { ttl: "1d" });
  const orphan = (await cache.inspect("orphan")).hash;
  await store.run([{ type: "del", key: recordKey("t", orphan) }]);
  return { orphan: blobKey("t", orphan), live: blobKey("t", (await cache.inspect("live")).hash) };
}

const keysOf = async (blobs: BlobStore): Promise<string[]> => (await blobs.list!("t/")).objects.map((o) => o.key);

describe("cleanup on in-process adapters", () => {
  it("grace: 0 turns the grace period off: an orphan written this very moment goes", async () => {
    const context = setup();
    const { live } = await orphanAndLive(context);
    expect(await context.cache.cleanup({ grace: 0 })).toMatchObject({ recent: 0, live: 1, orphans: 1, deleted: 1 });
    expect(await keysOf(context.blobs)).toStrictEqual([live]);
  });

  it("deletes orphans once they are older than the grace period", async () => {
    const context = setup();
    const { orphan, live } = await orphanAndLive(context);
    expect(await context.cache.cleanup()).toMatchObject({ recent: 2, orphans: 0, deleted: 0 });
    context.clock.advance(HOUR);
    expect(await context.cache.cleanup()).toMatchObject({ live: 1, orphans: 1, deleted: 1 });
    expect(await keysOf(context.blobs)).toStrictEqual([live]);
    expect(await keysOf(context.blobs)).not.toContain(orphan);
  });

  it("deletes one by one with a blob store that has no deleteMany", async () => {
    let singles = 0;
    const context = setup((inner) => ({
      name: "no-batch",
      put: (k, b, o) => inner.put(k, b, o),
      get: (k, o) => inner.get(k, o),
      delete: (k, o) => (singles++, inner.delete(k, o)),
      list: (p, o) => inner.list!(p, o),
    }));
    const { live } = await orphanAndLive(context);
    context.clock.advance(2 * HOUR);
    expect(await context.cache.cleanup()).toMatchObject({ orphans: 1, deleted: 1 });
    expect(singles).toBe(1);
    expect(await keysOf(context.blobs)).toStrictEqual([live]);
  });

  it("counts and logs the keys the blob store could not delete", async () => {
    const context = setup((inner) => ({
      ...inner,
      name: "stubborn",
      put: inner.put,
      get: inner.get,
      delete: inner.delete,
      list: inner.list!,
      deleteMany: async (keys) => ({ failed: keys.map((key) => ({ key, code: "AccessDenied" })) }),
    }));
    const { orphan } = await orphanAndLive(context);
    context.clock.advance(2 * HOUR);
    expect(await context.cache.cleanup()).toMatchObject({ orphans: 1, deleted: 0, deletedBytes: 0, failed: 1 });
    expect(await keysOf(context.blobs)).toContain(orphan);
    expect(context.logger.lines.some((l) => /could not delete 1 object/.test(l.message))).toBe(true);
  });

  it("times out a backend call that does not answer, with a TimeoutError", async () => {
    const context = setup((inner) => ({ ...inner, name: "hanging", list: () => new Promise(() => {}) }));
    const started = performance.now();
    await expect(context.cache.cleanup({ timeout: 100 })).rejects.toMatchObject({ code: "E_TIMEOUT" });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("refuses bad options and caches it cannot clean, with ConfigErrors", async () => {
    const { cache } = setup();
    for (
      const bad of [
        { graceMs: 5 },
        { grace: -5 },
        { grace: "soon" },
        { dryRun: "yes" },
        { onProgress: "print" },
        { signal: "stop" },
        { pageSize: 0 },
        { pageSize: 1001 },
        { batchSize: 2.5 },
        { timeout: -1 },
      ]
    ) {
      await expect(cache.cleanup(bad as never), JSON.stringify(bad)).rejects.toMatchObject({ code: "E_CONFIG" });
    }
    const storeOnly = createCache({ store: memoryStore() });
    await expect(storeOnly.cleanup()).rejects.toThrow(/no blob store/);
    const { list: _list, ...unlisted } = memoryBlobStore();
    await expect(createCache({ blobs: { ...unlisted, name: "plain" } }).cleanup()).rejects.toThrow(
      /"plain" cannot list objects/,
    );
  });
});

describe("inspect", () => {
  it("reports an inline entry field by field, and an orphan object at its blob key", async () => {
    const { cache, blobs, clock } = setup();
    await cache.set("k", "small", { ttl: "10m" });
    const hash = (await cache.inspect("k")).hash;
    await blobs.put(blobKey("t", hash), new Uint8Array(7)); // left by an earlier, larger value
    clock.advance(60_000);
    const found = await cache.inspect("k");
    expect(found).toMatchObject({
      hash,
      recordKey: recordKey("t", hash),
      blobKey: blobKey("t", hash),
      leased: false,
      record: {
        version: RECORD_VERSION,
        codec: "cbor",
        compression: "none",
        placement: "inline",
        ttlLeftMs: 9 * 60_000,
        payloadVerified: true,
        otherFields: {},
      },
      blob: { key: blobKey("t", hash), exists: true, size: 7, referenced: false },
    });
    expect(found.record!.expiresAt - found.record!.createdAt).toBe(10 * 60_000);
    expect(found.problem).toBeUndefined();
    expect(await cache.inspect({ hash })).toStrictEqual(found);
  });

  it("verifies a blob entry's payload and names what is wrong", async () => {
    const { cache, blobs, store } = setup();
    await cache.set("k", big("k"));
    const { hash, record, blob } = await cache.inspect("k");
    expect(record).toMatchObject({ placement: "blob", blobKey: blobKey("t", hash), payloadVerified: true });
    expect(blob).toMatchObject({ exists: true, referenced: true, size: record!.storedBytes });

    const bytes = (await blobs.get(blobKey("t", hash)))!;
    bytes[5]! ^= 1;
    await blobs.put(blobKey("t", hash), bytes);
    expect(await cache.inspect("k")).toMatchObject({
      record: { payloadVerified: false },
      problem: "the payload does not match the record's size and checksum",
    });
    await blobs.delete(blobKey("t", hash));
    expect(await cache.inspect("k")).toMatchObject({
      blob: { exists: false },
      problem: "the blob the record points to does not exist",
    });

    // Fields of a newer writer are shown, not refused.
    const [text] = await store.run([{ type: "get", key: recordKey("t", hash) }]);
    const withMore = JSON.stringify({ ...JSON.parse(text as string), q: [3, 7] });
    await store.run([{ type: "set", key: recordKey("t", hash), value: withMore, ttlMs: HOUR }]);
    expect((await cache.inspect("k")).record!.otherFields).toStrictEqual({ q: [3, 7] });
  });

  it("shows the entry's generations and how it stands after invalidations", async () => {
    const { cache } = setup();
    await cache.set("k", "v", { namespace: "reports", tags: ["eu", "2024"] });
    const fresh = await cache.inspect("k", { namespace: "reports" });
    expect(fresh.record).toMatchObject({
      standing: "valid",
      generations: [
        { key: prefixGeneration("t"), state: "current" },
        { key: namespaceGeneration("t", "reports"), state: "current" },
        { key: tagGeneration("t", "eu"), state: "current" },
        { key: tagGeneration("t", "2024"), state: "current" },
      ],
    });
    await cache.invalidateTag("2024", { mode: "stale" });
    expect((await cache.inspect("k", { namespace: "reports" })).record).toMatchObject({
      standing: "stale",
      generations: [{ state: "current" }, { state: "current" }, { state: "current" }, { state: "stale" }],
    });
    await cache.invalidateTag("eu");
    const invalid = await cache.inspect("k", { namespace: "reports" });
    expect(invalid.record!.standing).toBe("invalid");
    expect(invalid.problem).toBe(`the entry was invalidated (${tagGeneration("t", "eu")}): readers miss`);
  });

  it("reports a missing entry, an unreadable record and a held lease; refuses a malformed hash", async () => {
    const { cache, store } = setup();
    const hash = toHex(crypto.getRandomValues(new Uint8Array(32)));
    expect(await cache.inspect({ hash })).toMatchObject({ record: null, leased: false, blob: { exists: false } });
    await store.run([
      { type: "set", key: recordKey("t", hash), value: '{"v":9}', ttlMs: HOUR },
      { type: "set", key: leaseKey("t", hash), value: "owner", ttlMs: HOUR },
    ]);
    expect(await cache.inspect({ hash })).toMatchObject({
      record: null,
      leased: true,
      problem: expect.stringMatching(/^the record cannot be read: record version 9/),
    });
    for (const bad of ["abc", hash.toUpperCase(), 42]) {
      await expect(cache.inspect({ hash: bad } as never)).rejects.toMatchObject({ code: "E_CONFIG" });
    }
    await expect(cache.inspect("")).rejects.toMatchObject({ code: "E_CONFIG" });
  });
});
