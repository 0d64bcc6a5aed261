/// <reference lib="deno.ns" />
// larder/blobs/fs under Deno (its node:fs), each scenario in a fresh directory from Deno.makeTempDir.
import { createCache } from "../../../mod.ts";
import { memoryStore } from "../../../src/stores/memory.ts";
import { fsBlobStore } from "../../../src/blobs/fs.ts";
import { fsScenarios } from "../_fs_scenarios.ts";

async function files(dir: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${under}`)) {
    const path = under === "" ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory) out.push(...await files(dir, path));
    else out.push(path);
  }
  return out.sort();
}

for (const scenario of fsScenarios) {
  Deno.test(`deno: ${scenario.name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "larder-fs-deno-" });
    try {
      await scenario.run({
        lib: { createCache, memoryStore, fsBlobStore },
        dir,
        files,
        writeFile: (path, text) => Deno.writeTextFile(path, text),
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
