/**
 * `npm run build`: the npm package's contents in `dist/`. tsc compiles the entry points and what
 * they import (tsconfig.build.json: `.ts` imports rewritten to `.js`, one `.d.ts` per module),
 * then the one file tsc does not emit is copied next to its importer: `zstd.wasm` for
 * `larder/workers`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { installedZstdWasm } from "./zstd_wasm.ts";

const DIST = "dist";

async function write(to: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await writeFile(to, bytes);
}

async function main(): Promise<number> {
  await rm(DIST, { recursive: true, force: true });
  const tsc = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  if (tsc.status !== 0) return tsc.status ?? 1;

  // The package's zstd.wasm, after checking its version and digest (the glue binds that build).
  let wasm: Uint8Array;
  try {
    wasm = installedZstdWasm();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  await write(join(DIST, "src/runtime/zstd.wasm"), wasm);
  console.log(`built ${DIST}/`);
  return 0;
}

process.exit(await main());
