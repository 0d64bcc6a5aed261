import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { mapBlobStore } from "../../examples/custom-blob-store/map_blob_store.ts";
import { describeBlobConformance } from "./blob.ts";

// The README's custom blob store, through the same suite as Larder's own adapters.
describeBlobConformance("custom (README's mapBlobStore)", () => mapBlobStore(), {
  additionalTests: () => {
    it("is the README's snippet, word for word", () => {
      const source = readFileSync("examples/custom-blob-store/map_blob_store.ts", "utf8");
      const readme = readFileSync("README.md", "utf8");
      const block = /<!-- snippet: examples\/custom-blob-store\/map_blob_store\.ts -->\n```ts\n([\s\S]*?)```/.exec(
        readme,
      );
      expect(block?.[1]).toBe(source.slice(source.indexOf("import ")));
    });
  },
});
