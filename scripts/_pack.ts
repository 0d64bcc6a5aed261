/**
 * Builds the package and packs it the way `npm publish` would, into `.pack/`. Suites and examples
 * that must use Larder as its users install it (the workerd suite, examples/) install this
 * tarball rather than importing `src/`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

/** Where tarballs go (git-ignored). */
export const PACK_DIR: string = resolve(".pack");

/** What `npm pack` reports for the tarball. */
export interface Packed {
  /** Absolute path of the tarball. */
  readonly tarball: string;
  /** Paths inside the package, e.g. `dist/mod.js`. */
  readonly files: readonly string[];
}

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status})`);
  return result.stdout;
}

/** `npm run build`, then `npm pack` into {@link PACK_DIR} (scripts off: the build just ran). */
export function buildAndPack(): Packed {
  run("npm", ["run", "--silent", "build"]);
  mkdirSync(PACK_DIR, { recursive: true });
  const out = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", PACK_DIR]);
  const [report] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (report === undefined) throw new Error("npm pack reported nothing");
  return { tarball: resolve(PACK_DIR, report.filename), files: report.files.map((f) => f.path) };
}
