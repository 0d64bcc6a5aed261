/**
 * Runs the Bun that npm installed (`node_modules/bun`): `npx tsx scripts/bun.ts test …`.
 *
 * The `bun` package puts a placeholder at `bin/bun.exe` and replaces it with the real binary (from
 * its optional platform package) in a postinstall script. When scripts did not run, this runs
 * that script once; when Bun still cannot start, it fails loudly instead of skipping.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import process from "node:process";

const BUN = "node_modules/bun/bin/bun.exe";

function version(): string | null {
  const result = spawnSync(BUN, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

if (version() === null) {
  console.error("bun: the binary is not installed (postinstall did not run?); running node_modules/bun/install.js");
  spawnSync(process.execPath, ["install.js"], { cwd: "node_modules/bun", stdio: "inherit" });
}
const found = version();
if (found === null) {
  console.error(`bun: ${BUN} does not run; reinstall with scripts enabled (npm ci)`);
  process.exit(1);
}
console.error(`bun ${found}`);
const result = spawnSync(BUN, process.argv.slice(2), { stdio: "inherit" });
process.exit(result.status ?? 1);
