import { describe, expect, it } from "vitest";
import { isCacheError } from "../../src/core/errors.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { describeBlobConformance } from "./blob.ts";

describeBlobConformance("memory", () => memoryBlobStore(), { additionalTests: memorySpecifics });

function memorySpecifics(): void {
  describe("memory specifics", () => {
    const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(n & 0xff);

    it("evicts the least recently used objects past maxBytes (get refreshes recency)", async () => {
      // Each object counts its length plus 2 bytes per key code unit: 40 + 2 = 42.
      const blobs = memoryBlobStore({ maxBytes: 130 });
      await blobs.put("a", bytes(40));
      await blobs.put("b", bytes(40));
      await blobs.put("c", bytes(40));
      await blobs.get("a");
      await blobs.put("d", bytes(40));
      expect(await blobs.get("b")).toBeNull();
      for (const key of ["a", "c", "d"]) expect(await blobs.get(key), key).not.toBeNull();
    });

    it("refuses an object larger than maxBytes with E_TOO_LARGE, keeping the others", async () => {
      const blobs = memoryBlobStore({ maxBytes: 100 });
      await blobs.put("small", bytes(10));
      await expect(blobs.put("big", bytes(100))).rejects.toMatchObject({ code: "E_TOO_LARGE" });
      expect(await blobs.get("small")).not.toBeNull();
    });

    it("frees the bytes of replaced and deleted objects", async () => {
      // "same": 60 + 8, "other": 20 + 10, "third": 60 + 10.
      const blobs = memoryBlobStore({ maxBytes: 100 });
      for (let i = 0; i < 10; i++) await blobs.put("same", bytes(60));
      await blobs.put("other", bytes(20));
      expect(await blobs.get("same")).not.toBeNull();
      await blobs.delete("same");
      await blobs.put("third", bytes(60));
      expect(await blobs.get("other")).not.toBeNull();
    });

    it.each([[{ maxBytes: 0 }], [{ maxBytes: 2.5 }], [{ maxBytes: "1mb" }], [null]])(
      "rejects invalid options %j with a ConfigError",
      (options) => {
        let error: unknown;
        try {
          memoryBlobStore(options as never);
        } catch (e) {
          error = e;
        }
        expect(isCacheError(error) && error.code).toBe("E_CONFIG");
      },
    );
  });
}
