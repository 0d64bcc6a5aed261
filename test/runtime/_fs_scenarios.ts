/**
 * `larder/blobs/fs` on each runtime that runs `node:fs` (Node, Bun, Deno): the store's contract in
 * brief (round trip, replace, missing, hostile keys kept under the directory, expected sizes,
 * listing in pages, batch deletes, temporary files ignored) and a cache whose large entries live
 * in the directory, miss then hit. The full conformance suite runs on Node under vitest
 * (test/conformance/fs_blob.test.ts); these check that the same code behaves the same elsewhere.
 *
 * Imports nothing at run time, like _scenarios.ts: the harness passes the library and a fresh
 * directory, and lists the files with its own runtime's API.
 *
 * @module
 */
import type { Cache, CacheOptions } from "../../mod.ts";
import type { FsBlobStoreOptions } from "../../src/blobs/fs.ts";
import type { BlobStore, MetadataStore } from "../../src/core/types.ts";
import { assert, assertDeepEqual, largeValue } from "./_scenarios.ts";

/** What a harness passes in. */
export interface FsScenarioContext {
  readonly lib: {
    createCache(options?: CacheOptions): Cache;
    memoryStore(): MetadataStore;
    fsBlobStore(options: FsBlobStoreOptions): BlobStore;
  };
  /** A fresh, empty directory for this scenario. */
  readonly dir: string;
  /** Every file under `dir`, as paths relative to it with `/` separators. */
  readonly files: (dir: string) => Promise<string[]>;
  /** Writes a file (creating nothing else), to plant what a crashed writer leaves. */
  readonly writeFile: (path: string, text: string) => Promise<void>;
}

/** One scenario. */
export interface FsScenario {
  readonly name: string;
  run(ctx: FsScenarioContext): Promise<void>;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** The scenarios. */
export const fsScenarios: readonly FsScenario[] = [
  {
    name: "fs: stores, replaces, reads and deletes (3 MiB and empty objects), null when missing",
    async run({ lib, dir }) {
      const blobs = lib.fsBlobStore({ dir });
      const large = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
      await blobs.put("a/large", large);
      const got = await blobs.get("a/large");
      assert(got !== null && got.byteLength === large.byteLength, "the large object's size");
      assert(got.every((b, i) => b === large[i]), "the large object's bytes");
      await blobs.put("a/large", bytes("replaced"));
      assert(text(await blobs.get("a/large")) === "replaced", "replaced");
      await blobs.put("a/empty", new Uint8Array(0));
      assert((await blobs.get("a/empty"))?.byteLength === 0, "an empty object is empty bytes");
      assert(await blobs.get("a/missing") === null, "missing is null");
      await blobs.delete("a/large");
      await blobs.delete("a/large");
      assert(await blobs.get("a/large") === null, "deleted");
    },
  },
  {
    name: "fs: hostile keys stay under the directory, each its own file",
    async run({ lib, dir, files }) {
      const store = `${dir}/store`;
      const blobs = lib.fsBlobStore({ dir: store });
      const keys = [
        "..",
        "../x",
        "/abs",
        "a/../../x",
        "C:\\x",
        "nul\0",
        "A",
        "a",
        "e\u0301",
        "\u00e9",
        "%2E%2E",
        "x.blob",
      ];
      for (const key of keys) await blobs.put(key, bytes(key));
      assertDeepEqual(await files(dir), (await files(store)).map((f) => `store/${f}`), "nothing outside the store");
      assert((await files(store)).length === keys.length, "one file per key");
      for (const key of keys) assert(text(await blobs.get(key)) === key, `reads back ${JSON.stringify(key)}`);
    },
  },
  {
    name: "fs: honours the expected size (E_INTEGRITY when larger, known at once or later)",
    async run({ lib, dir }) {
      const blobs = lib.fsBlobStore({ dir });
      await blobs.put("sized", new Uint8Array(300_000));
      const later = (n: number): Promise<number> => new Promise((resolve) => setTimeout(() => resolve(n), 20));
      assert((await blobs.get("sized", { expectedBytes: later(300_000) }))?.byteLength === 300_000, "the size");
      assert(await code(blobs.get("sized", { expectedBytes: later(1_000) })) === "E_INTEGRITY", "larger, later");
      assert(await code(blobs.get("sized", { expectedBytes: Promise.resolve(1) })) === "E_INTEGRITY", "larger");
    },
  },
  {
    name: "fs: lists in key order with pages, deletes in a batch, ignores temporary files",
    async run({ lib, dir, writeFile }) {
      const blobs = lib.fsBlobStore({ dir });
      const keys = ["p/b", "p/a", "p/a/c", "p/a0", "p/\u00e9", "p/z", "px/other"];
      for (const key of keys) await blobs.put(key, bytes(key));
      await writeFile(`${dir}/p/c.blob.tmp-0123456789abcdef0123456789abcdef`, "a crashed writer's");
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await blobs.list!("p/", { limit: 2, ...(cursor ? { cursor } : {}) });
        listed.push(...page.objects.map((o) => o.key));
        cursor = page.cursor;
      } while (cursor);
      assertDeepEqual(listed, ["p/a", "p/a/c", "p/a0", "p/b", "p/z", "p/\u00e9"], "key order");
      assert(await blobs.get("p/c") === null, "a temporary file is no object");
      assertDeepEqual((await blobs.deleteMany!(listed)).failed, [], "batch delete");
      assertDeepEqual((await blobs.list!("p")).objects.map((o) => o.key), ["px/other"], "what is left");
    },
  },
  {
    name: "fs: a cache's large entries live in the directory: miss, then hit",
    async run({ lib, dir, files }) {
      const cache = lib.createCache({ store: lib.memoryStore(), blobs: lib.fsBlobStore({ dir }), prefix: "rt-fs" });
      let runs = 0;
      const report = cache.wrap(async (id: string) => (runs++, largeValue(id)), { name: "report" });
      assertDeepEqual(await report("r1"), largeValue("r1"), "miss");
      await cache.flush();
      assertDeepEqual(await report("r1"), largeValue("r1"), "hit");
      assert(runs === 1, "the hit did not run the function");
      assert(cache.stats().hits.blob === 1, "the hit came from a blob");
      assert((await files(dir)).some((f) => f.startsWith("rt-fs/") && f.endsWith(".blob")), "the blob is a file");
    },
  },
];
