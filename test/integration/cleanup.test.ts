/**
 * `cache.cleanup()` against the real services: what it deletes and keeps (checked in Redis and
 * in the bucket), its store round trips counted at the bridge, its S3 requests counted by an
 * injected fetch, dry runs, and records or leases that land while it runs.
 *
 * Age is simulated with the cleanup cache's clock (`now` two hours ahead), never with sleeps:
 * the objects the test writes then look two hours old to the cleanup.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { toHex } from "../../src/core/util/bytes.ts";
import type { CleanupProgress } from "../../src/core/ops/cleanup.ts";
import { formatRecord, RECORD_VERSION } from "../../src/core/record/entry.ts";
import { blobKey, leaseKey, recordKey } from "../../src/core/record/key_layout.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { bridgeOnly, testStore } from "../helpers/stores.ts";
import {
  listObjects,
  putObject,
  redisCommand,
  type RequestLogEntry,
  requestLogSnapshot,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";
import { recordingLogger } from "../helpers/chaos.ts";

const services = requireServices();
const HOUR = 3_600_000;

/** A writer cache and a cleanup cache (clock two hours ahead, S3 requests recorded) on one fresh prefix. */
function setup(cleanupOptions: CacheOptions = {}) {
  const prefix = uniquePrefix("cleanup");
  const s3Requests: Request[] = [];
  const base = { store: testStore(), prefix, logger: recordingLogger(), lease: false } as const;
  const writer = createCache({ ...base, blobs: s3BlobStore(services.s3), maxInlineBytes: 64, compression: "none" });
  const cleaner = createCache({
    ...base,
    blobs: s3BlobStore({ ...services.s3, fetch: (r) => (s3Requests.push(r), fetch(r)) }),
    now: () => Date.now() + 2 * HOUR,
    ...cleanupOptions,
  });
  return { prefix, writer, cleaner, s3Requests };
}

const randomHash = (): string => toHex(crypto.getRandomValues(new Uint8Array(32)));
const big = (label: string): string => `${label}:${"x".repeat(500)}`;

/** Writes a record for `hash` directly (uncounted), pointing to `b` or inline, stamped as the store's write does. */
async function plantRecord(prefix: string, hash: string, b?: string): Promise<void> {
  const now = Date.now();
  const fields = {
    v: RECORD_VERSION,
    k: hash,
    c: "bytes",
    z: "none",
    t: now,
    e: now + HOUR,
    n: 1,
    s: 1,
    h: "0".repeat(64),
  } as const;
  const text = formatRecord(b === undefined ? { ...fields, p: "AA==" } : { ...fields, b });
  await redisCommand(["SET", recordKey(prefix, hash), `{"g":[],${text.slice(1)}`, "PX", HOUR]);
}

/** Puts `keys` directly into the bucket (uncounted), 16 at a time. */
async function plantObjects(keys: readonly string[], size = 10): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) await putObject(keys[next++]!, new Uint8Array(size));
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Store requests at the bridge that touch `prefix`, after sequence number `after`. */
async function storeRequests(prefix: string, after: number): Promise<RequestLogEntry[]> {
  const { requests } = await requestLogSnapshot(services.upstash.url, services.upstash.token);
  return requests.filter((e) => e.seq > after && e.keys.some((k) => k.startsWith(`${prefix}:`)));
}

async function lastSeq(): Promise<number> {
  const { requests } = await requestLogSnapshot(services.upstash.url, services.upstash.token);
  return requests.at(-1)?.seq ?? 0;
}

describe("cache.cleanup() on the real services", () => {
  it("deletes the blobs of expired and replaced entries and keeps live, recent and foreign objects", async () => {
    const { prefix, writer, cleaner } = setup();
    const live = ["a", "b", "c"];
    for (const key of live) expect(await writer.set(key, big(key))).toBe(true);
    for (const key of ["gone1", "gone2"]) expect(await writer.set(key, big(key), { ttl: 50 })).toBe(true);
    expect(await writer.set("shrunk", big("shrunk"))).toBe(true);
    const shrunk = (await writer.inspect("shrunk")).hash;
    expect(await writer.set("shrunk", "small")).toBe(true); // now inline: its old blob is an orphan
    const foreign = [`${prefix}/notes.txt`, `${prefix}/${"f".repeat(63)}`];
    await plantObjects(foreign);
    // Another cache whose prefix starts with this one's: never listed.
    const sibling = `${prefix}x/${randomHash()}`;
    await plantObjects([sibling]);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the 50 ms records expire

    const liveKeys = await Promise.all(live.map(async (k) => blobKey(prefix, (await writer.inspect(k)).hash)));
    const before = await listObjects(`${prefix}/`);
    expect(before).toHaveLength(8);
    const summary = await cleaner.cleanup();
    const after = await listObjects(`${prefix}/`);
    expect(after).toStrictEqual([...liveKeys, ...foreign].sort());
    expect(await listObjects(`${prefix}x/`)).toStrictEqual([sibling]);
    expect(after).not.toContain(blobKey(prefix, shrunk));
    expect(summary).toMatchObject({
      pages: 1,
      scanned: 8,
      live: 3,
      recent: 0,
      foreign: 2,
      orphans: 3,
      rescued: 0,
      deleted: 3,
      failed: 0,
      dryRun: false,
      graceMs: HOUR,
    });
    expect(summary.deletedBytes).toBe(summary.orphanBytes);
    expect(summary.deletedBytes).toBeGreaterThan(3 * 500);
    // The live entries still read back.
    for (const key of live) expect(await writer.get(key)).toBe(big(key));
  });

  it("leaves objects younger than the grace period alone, and deletes nothing in a dry run", async () => {
    const { prefix, cleaner, s3Requests } = setup();
    const orphans = Array.from({ length: 5 }, () => blobKey(prefix, randomHash()));
    await plantObjects(orphans, 100);
    const recent = await cleaner.cleanup({ grace: "3h" });
    expect(recent).toMatchObject({ scanned: 5, recent: 5, orphans: 0, deleted: 0 });

    s3Requests.length = 0;
    const progress: CleanupProgress[] = [];
    const dry = await cleaner.cleanup({ dryRun: true, onProgress: (p) => void progress.push(p) });
    expect(dry).toMatchObject({ dryRun: true, scanned: 5, orphans: 5, orphanBytes: 500, deleted: 0, deletedBytes: 0 });
    expect(progress.map((p) => p.phase)).toStrictEqual(["listed", "checked", "done"]);
    expect(s3Requests.map((r) => r.method)).toStrictEqual(["GET"]);
    expect(await listObjects(`${prefix}/`)).toStrictEqual([...orphans].sort());
  });

  bridgeOnly(
    "pages past 1000 objects with a constant number of round trips per page, counted at the bridge",
    async () => {
      const { prefix, cleaner, s3Requests } = setup();
      const liveHashes = Array.from({ length: 50 }, randomHash);
      const orphanKeys = Array.from({ length: 1100 }, () => blobKey(prefix, randomHash()));
      await plantObjects([...liveHashes.map((h) => blobKey(prefix, h)), ...orphanKeys]);
      for (const hash of liveHashes) await plantRecord(prefix, hash, blobKey(prefix, hash));

      const seq = await lastSeq();
      const pages: CleanupProgress[] = [];
      const summary = await cleaner.cleanup({
        batchSize: 1000,
        onProgress: (p) => void (p.phase === "deleted" && pages.push(p)),
      });
      expect(summary).toMatchObject({ pages: 2, scanned: 1150, live: 50, orphans: 1100, deleted: 1100, failed: 0 });
      // Per page: one pipeline reading the records, one reading them again (with leases) before deleting.
      const store = await storeRequests(prefix, seq);
      expect(store.map((e) => e.path)).toStrictEqual(["/pipeline", "/pipeline", "/pipeline", "/pipeline"]);
      expect(store.map((e) => e.commands.length)).toStrictEqual([
        1000,
        2 * pages[0]!.orphans,
        150,
        2 * (1100 - pages[0]!.orphans),
      ]);
      // Per page: one listing, one batch delete.
      expect(s3Requests.map((r) => `${r.method} ${new URL(r.url).search.startsWith("?delete") ? "delete" : "list"}`))
        .toStrictEqual(["GET list", "POST delete", "GET list", "POST delete"]);
      expect(await listObjects(`${prefix}/`)).toStrictEqual(liveHashes.map((h) => blobKey(prefix, h)).sort());

      // With the default batch of 250 records: still a fixed number per page (4 + 4, then 1 + 1).
      await plantObjects(orphanKeys);
      const seq2 = await lastSeq();
      await cleaner.cleanup();
      const pipelines = (await storeRequests(prefix, seq2)).map((e) => e.commands.length);
      expect(pipelines.length).toBeLessThanOrEqual(10);
      expect(pipelines.reduce((a, b) => a + b, 0)).toBe(1150 + 2 * 1100);
    },
    180_000,
  );

  it("keeps an orphan whose record or lease lands between the check and the deletion", async () => {
    const { prefix, cleaner } = setup();
    const [rescuedByRecord, rescuedByLease, doomed, earlyRecord] = [
      randomHash(),
      randomHash(),
      randomHash(),
      randomHash(),
    ];
    await plantObjects([rescuedByRecord, rescuedByLease, doomed, earlyRecord].map((h) => blobKey(prefix, h)));
    const summary = await cleaner.cleanup({
      async onProgress(progress) {
        if (progress.phase === "listed") {
          // Lands before the first check: counted live.
          await plantRecord(prefix, earlyRecord, blobKey(prefix, earlyRecord));
        }
        if (progress.phase === "checked") {
          // All three are orphans now; a writer finishes its entry, another one takes a lease.
          expect(progress.orphans).toBe(3);
          await plantRecord(prefix, rescuedByRecord, blobKey(prefix, rescuedByRecord));
          await redisCommand(["SET", leaseKey(prefix, rescuedByLease), "owner", "PX", 60_000]);
        }
      },
    });
    expect(summary).toMatchObject({ live: 1, orphans: 3, rescued: 2, deleted: 1 });
    expect(await listObjects(`${prefix}/`)).toStrictEqual(
      [rescuedByRecord, rescuedByLease, earlyRecord].map((h) => blobKey(prefix, h)).sort(),
    );
  });

  it("keeps blobs whose record it cannot read, deletes those whose record points elsewhere", async () => {
    const { prefix, cleaner } = setup();
    const [future, inline, elsewhere] = [randomHash(), randomHash(), randomHash()];
    await plantObjects([future, inline, elsewhere].map((h) => blobKey(prefix, h)));
    await redisCommand([
      "SET",
      recordKey(prefix, future),
      JSON.stringify({ v: RECORD_VERSION + 1, b: "?" }),
      "PX",
      HOUR,
    ]);
    await plantRecord(prefix, inline);
    await plantRecord(prefix, elsewhere, `${prefix}/${elsewhere}.v2`);
    const summary = await cleaner.cleanup();
    expect(summary).toMatchObject({ live: 1, orphans: 2, deleted: 2 });
    expect(await listObjects(`${prefix}/`)).toStrictEqual([blobKey(prefix, future)]);
  });

  it("stops when its signal aborts, rejecting with the reason", async () => {
    const { prefix, cleaner } = setup();
    await plantObjects(Array.from({ length: 3 }, () => blobKey(prefix, randomHash())));
    const controller = new AbortController();
    const reason = new Error("operator pressed Ctrl-C");
    await expect(cleaner.cleanup({
      signal: controller.signal,
      onProgress: (p) => void (p.phase === "listed" && controller.abort(reason)),
    })).rejects.toBe(reason);
    expect(await listObjects(`${prefix}/`)).toHaveLength(3);
  });
});
