/**
 * The read path decodes while the payload's checksum is computed (WebCrypto, past 4 KiB) and lets
 * nothing out before it matches: no value, no tier entry, whatever the payload decodes to.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import { toBase64 } from "../../src/core/util/bytes.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosBlobs, ChaosStore } from "../helpers/chaos.ts";
import { cborCodec } from "../../src/codec/cbor.ts";

/** Two values whose encodings have the same length: one stored, the other swapped in. */
const STORED = "a".repeat(20_000);
const SWAPPED = "b".repeat(20_000);

/**
 * A cache whose entry "k" holds STORED's record with SWAPPED's payload (same size, decodes fine,
 * wrong checksum), inline or in a blob.
 */
async function swapped(options: { memory?: boolean | { shared: boolean }; blob?: boolean }) {
  const store = new ChaosStore(memoryStore());
  const blobs = new ChaosBlobs(memoryBlobStore());
  const shared = { store, blobs, prefix: "t", compression: "none" as const, maxInlineBytes: options.blob ? 1 : 1e6 };
  await createCache(shared).set("k", STORED);
  const hash = await keyHash("t", "default", { kind: "key", key: "k" });
  const other = cborCodec().encode(SWAPPED);
  if (options.blob) {
    await blobs.inner.put(`t/${hash}`, other);
  } else {
    const [text] = await store.inner.run([{ type: "get", key: recordKey("t", hash) }]);
    const forged = (text as string).replace(toBase64(cborCodec().encode(STORED)), toBase64(other));
    expect(forged).not.toBe(text);
    await store.inner.run([{ type: "set", key: recordKey("t", hash), value: forged, ttlMs: 60_000 }]);
  }
  const cache = createCache({ ...shared, memory: options.memory ?? false });
  return { cache, store };
}

describe("verified reads", () => {
  for (const blob of [false, true]) {
    const where = blob ? "a blob" : "an inline payload";
    it(`serves nothing from ${where} that decodes but does not match its checksum`, async () => {
      const { cache } = await swapped({ blob });
      expect(await cache.get("k")).toBeUndefined();
      expect(cache.stats().errors.integrity).toBe(1);
      expect(cache.stats().errors.codec).toBe(0);
    });
  }

  for (const memory of [true, { shared: true }]) {
    it(`keeps nothing unverified in the in-process tier (${JSON.stringify(memory)})`, async () => {
      const { cache, store } = await swapped({ memory });
      expect(await cache.get("k")).toBeUndefined();
      await cache.flush();
      const calls = store.calls;
      expect(await cache.get("k")).toBeUndefined(); // asked the store again: the tier holds nothing
      expect(store.calls).toBe(calls + 1);
      expect(cache.stats().errors.integrity).toBe(2);
      expect(cache.stats().hits.memory).toBe(0);
    });
  }

  it("serves verified payloads decoded where zstd wrote them, keeping nothing that aliases its memory", async () => {
    const shared = { store: memoryStore(), blobs: memoryBlobStore(), prefix: "t" };
    const rows = Array.from({ length: 2000 }, (_, i) => ({ id: i, at: new Date(i * 1000), tag: `t${i % 7}` }));
    const bytes = (seed: number) => Uint8Array.from({ length: 100_000 }, (_, i) => (i % 251) ^ seed);
    for (const maxInlineBytes of [1, 1e6]) {
      const writer = createCache({ ...shared, maxInlineBytes });
      await writer.set("rows", rows);
      await writer.set("one", bytes(1));
      await writer.set("two", bytes(2));
      const reader = createCache({ ...shared, maxInlineBytes });
      expect(await reader.get("rows")).toEqual(rows);
      const one = await reader.get<Uint8Array>("one");
      const two = await reader.get<Uint8Array>("two"); // decompressed into the same WASM memory
      expect(one).toEqual(bytes(1));
      expect(two).toEqual(bytes(2));
      expect(reader.stats().hits.total).toBe(3);
    }
  });
});
