/** `createCache({ rowShapes })`: what is written, and that reading never depends on it. */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import { fromBase64, toHex } from "../../src/core/util/bytes.ts";
import { memoryStore } from "../../src/stores/memory.ts";

const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, name: `n${i}`, at: new Date(i) }));
/** cbor-x's record tag 57343 (a shape definition) as CBOR writes it: 0xd9 0xdf 0xff. */
const SHAPE_TAG = "d9dfff";

async function storedPayload(options: { rowShapes?: boolean }) {
  const shared = { store: memoryStore(), blobs: memoryBlobStore(), prefix: "t", compression: "none" as const };
  await createCache({ ...shared, ...options }).set("rows", rows);
  const hash = await keyHash("t", "default", { kind: "key", key: "rows" });
  const [text] = await shared.store.run([{ type: "get", key: recordKey("t", hash) }]);
  return { shared, hex: toHex(fromBase64(parseRecord(text as string).p!)) };
}

describe("createCache({ rowShapes })", () => {
  it("writes row shapes by default, and none with rowShapes: false", async () => {
    expect((await storedPayload({})).hex).toContain(SHAPE_TAG);
    expect((await storedPayload({ rowShapes: true })).hex).toContain(SHAPE_TAG);
    expect((await storedPayload({ rowShapes: false })).hex).not.toContain(SHAPE_TAG);
  });

  it("reads entries written either way, whatever its own setting", async () => {
    for (const written of [true, false]) {
      const { shared } = await storedPayload({ rowShapes: written });
      for (const reading of [true, false]) {
        expect(await createCache({ ...shared, rowShapes: reading }).get("rows")).toEqual(rows);
      }
    }
  });

  it("refuses a value that is not a boolean, naming the option", () => {
    expect(() => createCache({ rowShapes: "off" as never })).toThrow(/rowShapes/);
  });
});
