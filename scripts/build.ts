/**
 * `npm run build`: the npm package's contents in `dist/`. tsc compiles the entry points and what
 * they import (tsconfig.build.json: `.ts` imports rewritten to `.js`, one `.d.ts` per module),
 * then the one file tsc does not emit is copied next to its importer: `zstd.wasm` for
 * `larder/workers`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";

const DIST = "dist";
/** zstd.wasm of @bokuweb/zstd-wasm 0.0.27: src/codec/_zstd_wasm.ts binds its minified exports. */
const ZSTD_WASM = "node_modules/@bokuweb/zstd-wasm/dist/web/zstd.wasm";
const ZSTD_WASM_SHA256 = "80260eee5795ee8072bb5821e203730c74dca3909938f5ac1128da67f96223df";

async function copy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}

async function main(): Promise<number> {
  await rm(DIST, { recursive: true, force: true });
  const tsc = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  if (tsc.status !== 0) return tsc.status ?? 1;

  const wasm = await readFile(ZSTD_WASM);
  const sha256 = createHash("sha256").update(wasm).digest("hex");
  if (sha256 !== ZSTD_WASM_SHA256) {
    console.error(`${ZSTD_WASM} is not the zstd.wasm of @bokuweb/zstd-wasm 0.0.27 (sha256 ${sha256})`);
    return 1;
  }
  await copy(ZSTD_WASM, join(DIST, "src/runtime/zstd.wasm"));
  console.log(`built ${DIST}/`);
  return 0;
}

process.exit(await main());
