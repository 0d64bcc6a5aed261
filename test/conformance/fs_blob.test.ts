import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsBlobStore } from "../../src/blobs/fs.ts";
import { describeBlobConformance } from "./blob.ts";
import { fsSpecifics } from "./_fs_specifics.ts";

const dir = mkdtempSync(join(tmpdir(), "larder-fs-conformance-"));
describeBlobConformance("fs", () => fsBlobStore({ dir }), {
  additionalTests: fsSpecifics,
  teardown: () => rmSync(dir, { recursive: true, force: true }),
});
