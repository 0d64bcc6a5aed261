// larder/blobs/fs under Bun, each scenario in a fresh directory.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "bun:test";
import { createCache } from "../../../mod.ts";
import { memoryStore } from "../../../src/stores/memory.ts";
import { fsBlobStore } from "../../../src/blobs/fs.ts";
import { fsScenarios } from "../_fs_scenarios.ts";

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe("larder/blobs/fs: bun", () => {
  for (const scenario of fsScenarios) {
    test(scenario.name, async () => {
      const dir = await mkdtemp(join(tmpdir(), "larder-fs-bun-"));
      try {
        await scenario.run({
          lib: { createCache, memoryStore, fsBlobStore },
          dir,
          files,
          writeFile: async (path, text) => void await Bun.write(path, text),
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 30_000);
  }
});
