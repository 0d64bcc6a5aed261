/**
 * The packages as users receive them, checked the way registries and type checkers will see them:
 *
 * - npm: the packed tarball holds only `dist/` (JS, `.d.ts`, `zstd.wasm`),
 *   README, LICENSE and package.json; every export target is in it; no built module imports a
 *   `node:` module but those in {@link NODE_IMPORTS_ALLOWED} (larder/blobs/fs), which no other
 *   entry point imports; `larder` itself imports no adapter but the in-process ones;
 *   `publint --strict` and `@arethetypeswrong/cli` (ESM profile) report nothing; the `larder`
 *   bin is in it and answers `--help` when run by plain `node`; ioredis, `@opentelemetry/api` and
 *   apache-arrow are optional peers that no entry but their own (`larder/stores/redis` and
 *   `larder/env`; `larder/otel`; `larder/arrow`) can load.
 * - JSR: `deno publish --dry-run` (type-check and slow types of the public API) and
 *   `deno doc --lint` on every entry point of deno.json.
 *
 *   npx tsx scripts/check_package.ts
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { buildAndPack } from "./_pack.ts";

const problems: string[] = [];

/**
 * Built modules that may import `node:` modules, each with its reason. Every other module must
 * run on every runtime, and no other entry point may import these.
 */
const NODE_IMPORTS_ALLOWED: Readonly<Record<string, string>> = {
  "dist/src/blobs/fs.js":
    "larder/blobs/fs stores blobs in a local directory through node:fs, which Node, Bun and Deno all run (Workers have no file system); it is its own entry point, loaded only by those who import it",
};

/** The relative imports `file` (a path in the tarball) reaches, transitively, itself included. */
function importGraph(file: string, seen: Set<string> = new Set()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, "utf8");
  // Statements at the start of a line (tsc's output), not the examples in doc comments.
  const specifiers =
    /^(?:import|export)\b[^;]*?["'](\.{1,2}\/[^"']+)["'];|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/gm;
  for (const match of text.matchAll(specifiers)) {
    importGraph(join(dirname(file), (match[1] ?? match[2])!), seen);
  }
  return seen;
}

function check(label: string, command: string, args: readonly string[], forbidden?: RegExp): void {
  console.log(`\n● ${label}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const output = `${result.stdout}${result.stderr}`
    .replace(/^npm warn Unknown user config.*\n/gm, "")
    // deno doc follows @types/node's triple-slash references in node_modules and cannot resolve
    // them; harmless (our entry points do not use Node types), and 60 lines of noise.
    .replace(/^.*Warning.*Failed resolving types.*@types\/node.*\n.*\n/gm, "");
  process.stdout.write(output);
  if (result.status !== 0) problems.push(`${label}: exit ${result.status}`);
  // Not in the file lists (deno publish names every file: src/runtime/exit_warning.ts is no warning).
  else if (forbidden?.test(output.replace(/^\s*file:\/\/\S+.*$/gm, ""))) {
    problems.push(`${label}: output matches ${forbidden}`);
  }
}

const { tarball, files } = buildAndPack();
console.log(`packed ${tarball}: ${files.length} files`);

const ALLOWED = /^(dist\/.+\.(js|d\.ts|wasm)|README\.md|LICENSE|package\.json)$/;
for (const file of files) if (!ALLOWED.test(file)) problems.push(`npm pack: unexpected file ${file}`);
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  exports: Record<string, Record<string, string>>;
  bin?: Record<string, string>;
};
for (const [subpath, conditions] of Object.entries(pkg.exports)) {
  for (const condition of ["types", "default"]) {
    const target = conditions[condition]?.replace(/^\.\//, "");
    if (target === undefined || !files.includes(target)) {
      problems.push(`npm pack: exports ${subpath} ${condition} (${target}) is not in the tarball`);
    }
  }
}
for (const file of files.filter((f) => f.endsWith(".js"))) {
  if (file in NODE_IMPORTS_ALLOWED) continue;
  if (/\bfrom\s*["']node:|import\(\s*["']node:/.test(readFileSync(join("dist", "..", file), "utf8"))) {
    problems.push(`npm pack: ${file} imports a node: module (the library must run on every runtime)`);
  }
}
// `larder` itself loads no adapter but the in-process ones (its embedded default): an application
// pays only for the adapters it imports.
const mainGraph = importGraph(pkg.exports["."]!.default!.replace(/^\.\//, ""));
for (const [subpath, conditions] of Object.entries(pkg.exports)) {
  if (!/^\.\/(stores|blobs)\//.test(subpath) || subpath.endsWith("/memory")) continue;
  const target = conditions.default?.replace(/^\.\//, "");
  if (target !== undefined && mainGraph.has(target)) problems.push(`npm pack: "larder" imports ${subpath} (${target})`);
}
// An allowed module must stay out of every other entry's imports: only its own users load it.
for (const [subpath, conditions] of Object.entries(pkg.exports)) {
  const entry = conditions.default?.replace(/^\.\//, "");
  if (entry === undefined || entry in NODE_IMPORTS_ALLOWED) continue;
  for (const reached of importGraph(entry)) {
    if (reached in NODE_IMPORTS_ALLOWED) problems.push(`npm pack: exports ${subpath} imports ${reached}`);
  }
}

// Optional peers, and the only entry points that may reach each, statically or by a dynamic
// import: ioredis the TCP store (and what configures it from the environment), @opentelemetry/api
// larder/otel, apache-arrow its codec. `larder` alone must never load any of them.
const OPTIONAL_PEERS: Readonly<Record<string, ReadonlySet<string>>> = {
  ioredis: new Set(["./stores/redis", "./env"]),
  "@opentelemetry/api": new Set(["./otel"]),
  "apache-arrow": new Set(["./arrow"]),
};
const manifest = pkg as unknown as {
  dependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
for (const [peer, mayLoad] of Object.entries(OPTIONAL_PEERS)) {
  if (manifest.dependencies?.[peer] !== undefined || manifest.peerDependenciesMeta?.[peer]?.optional !== true) {
    problems.push(`package.json: ${peer} must be an optional peer dependency, never a dependency`);
  }
  for (const [subpath, conditions] of Object.entries(pkg.exports)) {
    const entry = conditions.default?.replace(/^\.\//, "");
    if (entry === undefined || mayLoad.has(subpath)) continue;
    if (bareImports(entry).has(peer)) problems.push(`npm pack: ${subpath} (${entry}) can load ${peer}`);
  }
}

/** The bare specifiers reached from `file` (in dist/) through relative static and dynamic imports. */
function bareImports(file: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const queue = [file];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next) || !files.includes(next)) continue;
    seen.add(next);
    const text = readFileSync(next, "utf8");
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith(".")) queue.push(join(next, "..", specifier));
      else bare.add(specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"));
    }
  }
  return bare;
}

for (const [name, target] of Object.entries(pkg.bin ?? {})) {
  const file = target.replace(/^\.\//, "");
  if (!files.includes(file)) problems.push(`npm pack: bin ${name} (${file}) is not in the tarball`);
  else check(`bin ${name}`, "node", [file, "--help"]);
}

check("publint", "npx", ["publint", "run", tarball, "--strict"]);
check("attw", "npx", ["attw", tarball, "--profile", "esm-only"]);

const deno = JSON.parse(readFileSync("deno.json", "utf8")) as { exports: Record<string, string> };
check("deno publish", "npx", ["deno", "publish", "--dry-run", "--allow-dirty"], /warning/i);
check("deno doc --lint", "npx", ["deno", "doc", "--lint", ...Object.values(deno.exports)]);

if (problems.length > 0) {
  console.error(`\npackage: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("\npackage: npm tarball and JSR dry run are clean");
