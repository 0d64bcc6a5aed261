// larder/blobs/fs on Node, from the built package (as users import it), each scenario in a fresh directory.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { describe, it } from "vitest";
import { createCache } from "larder";
import { memoryStore } from "larder/stores/memory";
import { fsBlobStore } from "larder/blobs/fs";
import { fsScenarios } from "../_fs_scenarios.ts";

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

describe("larder/blobs/fs: node", () => {
  for (const scenario of fsScenarios) {
    it(scenario.name, async () => {
      const dir = await mkdtemp(join(tmpdir(), "larder-fs-node-"));
      try {
        await scenario.run({ lib: { createCache, memoryStore, fsBlobStore }, dir, files, writeFile });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
