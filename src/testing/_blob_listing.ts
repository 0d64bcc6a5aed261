/**
 * The optional part of the blob store contract: `list` (pages in key order, cursors, sizes and
 * times) and `deleteMany` (up to 1000 keys, missing keys are fine). Registered by
 * {@link describeBlobConformance} for every adapter that has them; cleanup depends on both.
 *
 * @module
 */
import type { BlobObject, BlobStore } from "../core/types.ts";
import { expect } from "./_expect.ts";
import { abortedSignal, randomPrefix } from "./_helpers.ts";
import type { TestRunner } from "./_runner.ts";

/** Keys the suite writes under its own prefixes; includes characters XML must escape. */
export interface ListingContext {
  /** The test runner. */
  readonly runner: TestRunner;
  /** The adapter under test. */
  readonly blobs: () => BlobStore;
  /** Keys that need encoding on the wire (from the main suite). */
  readonly oddKeys: readonly string[];
}

/** Every object under `prefix`, following cursors; also returns the page sizes. */
export async function listAll(
  blobs: BlobStore,
  prefix: string,
  limit?: number,
): Promise<{ objects: BlobObject[]; pages: number[] }> {
  const objects: BlobObject[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await blobs.list!(prefix, { ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) });
    objects.push(...page.objects);
    pages.push(page.objects.length);
    cursor = page.cursor;
    if (pages.length > 10_000) throw new Error("listing does not end");
  } while (cursor !== undefined);
  return { objects, pages };
}

/** Puts `count` small objects `${prefix}/${name(i)}`, a few at a time. */
async function putMany(blobs: BlobStore, keys: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await blobs.put(key, new TextEncoder().encode(key.slice(-4)));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Registers the listing and batch-delete tests. */
export function listingTests(context: ListingContext): void {
  const { describe, it } = context.runner;
  describe("list and deleteMany", () => {
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    const blobs = (): BlobStore => context.blobs();

    it("has both (cleanup needs them)", () => {
      expect(typeof blobs().list).toBe("function");
      expect(typeof blobs().deleteMany).toBe("function");
    });

    it("lists the objects under a prefix in key order, with sizes and times, and nothing beside it", async () => {
      const prefix = randomPrefix("list");
      const before = Date.now();
      for (const name of ["b", "a", "c/d", "a0"]) await blobs().put(`${prefix}/${name}`, bytes(`body of ${name}`));
      // A sibling whose key starts with the same characters but not with the prefix's slash.
      await blobs().put(`${prefix}x/a`, bytes("sibling"));
      const after = Date.now();
      const page = await blobs().list!(`${prefix}/`);
      expect(page.cursor).toBeUndefined();
      expect(page.objects.map((o) => o.key)).toStrictEqual(["a", "a0", "b", "c/d"].map((n) => `${prefix}/${n}`));
      for (const object of page.objects) {
        expect(object.size).toBe(`body of ${object.key.slice(prefix.length + 1)}`.length);
        // S3 lists times to the second.
        expect(object.lastModified).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 2_000);
        expect(object.lastModified).toBeLessThanOrEqual(after + 2_000);
      }
      expect((await blobs().list!(`${prefix}/zzz`)).objects).toStrictEqual([]);
    });

    it("pages with limit and cursor: every object exactly once, no cursor on the last page", async () => {
      const prefix = randomPrefix("pages");
      const keys = Array.from({ length: 7 }, (_, i) => `${prefix}/k${i}`);
      await putMany(blobs(), keys);
      const { objects, pages } = await listAll(blobs(), `${prefix}/`, 3);
      expect(pages).toStrictEqual([3, 3, 1]);
      expect(objects.map((o) => o.key)).toStrictEqual(keys);
    });

    it("lists and batch-deletes keys that need escaping, each exactly", async () => {
      const prefix = randomPrefix("odd-list");
      const keys = context.oddKeys.map((k) => `${prefix}/${k}`);
      for (const key of keys) await blobs().put(key, bytes("x"));
      const listed = (await listAll(blobs(), `${prefix}/`)).objects.map((o) => o.key);
      expect([...listed].sort()).toStrictEqual([...keys].sort());
      const result = await blobs().deleteMany!(keys);
      expect(result.failed).toStrictEqual([]);
      expect((await blobs().list!(`${prefix}/`)).objects).toStrictEqual([]);
    });

    it("deleteMany removes exactly the given objects; missing keys and an empty list are fine", async () => {
      const prefix = randomPrefix("delmany");
      const keys = Array.from({ length: 5 }, (_, i) => `${prefix}/k${i}`);
      await putMany(blobs(), keys);
      const result = await blobs().deleteMany!([keys[0]!, keys[2]!, `${prefix}/never-existed`]);
      expect(result.failed).toStrictEqual([]);
      expect((await listAll(blobs(), `${prefix}/`)).objects.map((o) => o.key)).toStrictEqual([
        keys[1],
        keys[3],
        keys[4],
      ]);
      expect(await blobs().get(keys[0]!)).toBeNull();
      expect((await blobs().deleteMany!([])).failed).toStrictEqual([]);
    });

    it("refuses more than 1000 keys per deleteMany, and a limit outside 1-1000", async () => {
      const keys = Array.from({ length: 1001 }, (_, i) => `${randomPrefix("too-many")}/k${i}`);
      await expect(blobs().deleteMany!(keys)).rejects.toMatchObject({ code: "E_BLOB" });
      for (const limit of [0, 1001, 2.5]) {
        await expect(blobs().list!("x/", { limit })).rejects.toMatchObject({ code: "E_BLOB" });
      }
    });

    it("rejects with the reason when the signal is already aborted", async () => {
      const { signal, reason } = abortedSignal();
      await expect(blobs().list!("x/", { signal })).rejects.toBe(reason);
      await expect(blobs().deleteMany!(["x/a"], { signal })).rejects.toBe(reason);
    });

    it("pages past 1000 objects (1000, then the rest) and batch-deletes them 1000 at a time", async () => {
      const prefix = randomPrefix("many");
      const keys = Array.from({ length: 1100 }, (_, i) => `${prefix}/${String(i).padStart(5, "0")}`);
      await putMany(blobs(), keys);
      const { objects, pages } = await listAll(blobs(), `${prefix}/`);
      expect(pages).toStrictEqual([1000, 100]);
      expect(objects.map((o) => o.key)).toStrictEqual(keys);
      for (const chunk of [keys.slice(0, 1000), keys.slice(1000)]) {
        expect((await blobs().deleteMany!(chunk)).failed).toStrictEqual([]);
      }
      expect((await blobs().list!(`${prefix}/`)).objects).toStrictEqual([]);
    }, 120_000);
  });
}
