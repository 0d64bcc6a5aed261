/**
 * Fails when the two manifests drift apart: `deno.json` (JSR) and `package.json` (npm) must have
 * the same version and licence, the same subpaths pointing at the same source files (npm's
 * `types`/`default` being that file's build output in `dist/`; every adapter of src/stores and
 * src/blobs is one), and the same dependencies with
 * the same version ranges (but those in {@link DENO_RANGES}, which Deno cannot express). The only subpaths allowed on one side are listed in
 * {@link NPM_ONLY} and {@link DENO_ONLY}, each with its reason. Packages in {@link NOT_AT_RUN_TIME}
 * must not be runtime dependencies at all. The operator CLI is the one entry shipped differently:
 * the `larder` bin on npm (its Node entry, built into dist/) and the `./cli` export on JSR (its Deno
 * entry); both entries must exist. The zstd.wasm embedded in `src/codec/_zstd_wasm_gzip.ts` must be
 * the one of the `@bokuweb/zstd-wasm` devDependency, pinned to the version the glue binds
 * (scripts/zstd_wasm.ts).
 *
 *   npx tsx scripts/check_manifests.ts
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { checkEmbedded, ZSTD_PACKAGE } from "./zstd_wasm.ts";

/** Subpaths published on npm only, and why. */
const NPM_ONLY: Readonly<Record<string, string>> = {
  "./workers":
    "imports zstd.wasm as a compiled module and `cloudflare:workers`, which only Workers bundlers (wrangler) resolve; Deno and JSR cannot",
};

/** Subpaths published on JSR only, and why. */
const DENO_ONLY: Readonly<Record<string, string>> = {
  "./cli":
    "the operator CLI's Deno entry (`deno run -A jsr:@larder/larder/cli`); npm users run the `larder` bin, which is the Node entry",
};

/** The operator CLI: the npm bin's source, and the Deno entry that JSR exports as `./cli`. */
const CLI = { bin: "larder", node: "./src/runtime/cli_node.ts", deno: "./src/runtime/cli_deno.ts" } as const;

/**
 * Dependencies whose npm range Deno's `npm:` specifiers cannot express (they take no `>=`), with
 * the range deno.json maps them to instead, and why. A change of the npm range must be reviewed here.
 */
const DENO_RANGES: Readonly<Record<string, { readonly npm: string; readonly deno: string; readonly why: string }>> = {
  "apache-arrow": {
    npm: ">=17.0.0",
    deno: "*",
    why:
      "larder/arrow recognises tables by instanceof Table, so it must share the application's copy, whichever major (17 on): `*` lets Deno resolve to the one already in the graph",
  },
};

/** Packages that must never be runtime dependencies, and why. */
const NOT_AT_RUN_TIME: Readonly<Record<string, string>> = {
  "cbor-x":
    "its optional cbor-extract@^2.2.3 names platform packages that were never published, so Deno's npm resolver (JSR installs) fails; src/codec has its own CBOR code, and cbor-x is a devDependency for the cross-tests",
  "cbor-extract": "see cbor-x",
  "@bokuweb/zstd-wasm":
    "Larder embeds the package's zstd.wasm (scripts/zstd_wasm.ts) and runs it with its own glue, never through the package's process-wide init(): at run time the package would only be a second, unused copy",
};

interface PackageJson {
  name: string;
  version: string;
  license: string;
  type: string;
  sideEffects: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports: Record<string, Record<string, string>>;
  bin?: Record<string, string>;
  files: string[];
}

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  publish: { include: string[]; exclude?: string[] };
}

const problems: string[] = [];
const problem = (text: string): void => void problems.push(text);

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as PackageJson;
const deno = JSON.parse(readFileSync("deno.json", "utf8")) as DenoJson;

if (pkg.version !== deno.version) problem(`version: package.json ${pkg.version}, deno.json ${deno.version}`);
if (pkg.license !== deno.license) problem(`license: package.json ${pkg.license}, deno.json ${deno.license}`);
if (pkg.type !== "module") problem(`package.json: "type" must be "module"`);
if (pkg.sideEffects !== false) problem(`package.json: "sideEffects" must be false`);

/** `./src/stores/upstash.ts` → `./dist/src/stores/upstash` (without extension). */
const built = (source: string): string => `./dist/${source.replace(/^\.\//, "").replace(/\.ts$/, "")}`;

for (const [subpath, source] of Object.entries(deno.exports)) {
  if (!existsSync(source)) problem(`deno.json exports ${subpath}: ${source} does not exist`);
  const entry = pkg.exports[subpath];
  if (entry === undefined && subpath in DENO_ONLY) continue;
  if (entry === undefined) {
    problem(
      `subpath ${subpath} is in deno.json but not in package.json exports (or list it in DENO_ONLY with a reason)`,
    );
    continue;
  }
  const keys = Object.keys(entry);
  if (keys[0] !== "types" || keys.at(-1) !== "default") {
    problem(`package.json exports ${subpath}: "types" must come first and "default" last (got ${keys.join(", ")})`);
  }
  if (entry["larder-source"] !== source) {
    problem(`package.json exports ${subpath}: "larder-source" is ${entry["larder-source"]}, deno.json says ${source}`);
  }
  if (entry.types !== `${built(source)}.d.ts`) {
    problem(`package.json exports ${subpath}: "types" is ${entry.types}, expected ${built(source)}.d.ts`);
  }
  if (entry.default !== `${built(source)}.js`) {
    problem(`package.json exports ${subpath}: "default" is ${entry.default}, expected ${built(source)}.js`);
  }
}
for (const [subpath, entry] of Object.entries(pkg.exports)) {
  if (subpath in deno.exports) continue;
  if (!(subpath in NPM_ONLY)) {
    problem(
      `subpath ${subpath} is in package.json but not in deno.json exports (or list it in NPM_ONLY with a reason)`,
    );
    continue;
  }
  if (!entry.types?.startsWith("./dist/") || !entry.default?.startsWith("./dist/")) {
    problem(`package.json exports ${subpath}: "types" and "default" must point into ./dist/`);
  }
}
for (const subpath of Object.keys(NPM_ONLY)) {
  if (!(subpath in pkg.exports)) problem(`NPM_ONLY lists ${subpath}, which package.json does not export`);
}
for (const subpath of Object.keys(DENO_ONLY)) {
  if (!(subpath in deno.exports)) problem(`DENO_ONLY lists ${subpath}, which deno.json does not export`);
  if (subpath in pkg.exports) problem(`DENO_ONLY lists ${subpath}, which package.json exports too`);
}

// Every adapter (a file of src/stores or src/blobs not starting with `_`) is its own subpath, so
// that users load only the adapters they import.
for (const role of ["stores", "blobs"]) {
  for (const file of readdirSync(`src/${role}`).filter((f) => f.endsWith(".ts") && !f.startsWith("_"))) {
    const subpath = `./${role}/${file.slice(0, -3)}`;
    if (deno.exports[subpath] !== `./src/${role}/${file}`) {
      problem(`adapter src/${role}/${file} must be exported as ${subpath} in deno.json and package.json`);
    }
  }
}

// The CLI: JSR's ./cli is the Deno entry, npm's bin is the Node entry's build output.
if (deno.exports["./cli"] !== CLI.deno) problem(`deno.json exports ./cli must be ${CLI.deno}`);
for (const source of [CLI.node, CLI.deno]) if (!existsSync(source)) problem(`CLI entry ${source} does not exist`);
if (pkg.bin?.[CLI.bin] !== `${built(CLI.node)}.js`) {
  problem(`package.json bin.${CLI.bin} must be ${built(CLI.node)}.js (got ${pkg.bin?.[CLI.bin]})`);
}
if (!readFileSync(CLI.node, "utf8").startsWith("#!/usr/bin/env node\n")) {
  problem(`${CLI.node} must start with a "#!/usr/bin/env node" line (it becomes the bin)`);
}

// Every runtime dependency is mapped in deno.json as npm:<name>@<same range>, and nothing else.
const npmDeps: Record<string, string> = {
  ...pkg.dependencies,
  ...pkg.optionalDependencies,
  ...pkg.peerDependencies,
};
for (const [name, range] of Object.entries(npmDeps)) {
  const mapped = deno.imports[name];
  const special = DENO_RANGES[name];
  const denoRange = special?.npm === range ? special.deno : range;
  if (mapped !== `npm:${name}@${denoRange}`) {
    problem(`dependency ${name}@${range}: deno.json imports maps it to ${mapped ?? "nothing"}`);
  }
}
for (const [name, target] of Object.entries(deno.imports)) {
  if (!(name in npmDeps)) problem(`deno.json imports ${name} (${target}) is not a dependency in package.json`);
}
for (const [name, reason] of Object.entries(NOT_AT_RUN_TIME)) {
  if (name in npmDeps || Object.values(deno.imports).some((target) => target.startsWith(`npm:${name}@`))) {
    problem(`${name} is a runtime dependency: ${reason}`);
  }
}

// The embedded zstd.wasm comes from the pinned devDependency, byte for byte.
if (pkg.devDependencies?.[ZSTD_PACKAGE.name] !== ZSTD_PACKAGE.version) {
  problem(
    `${ZSTD_PACKAGE.name} must be a devDependency pinned to exactly ${ZSTD_PACKAGE.version} (the build the glue binds); ` +
      `got ${pkg.devDependencies?.[ZSTD_PACKAGE.name] ?? "none"}`,
  );
}
for (const text of checkEmbedded()) problem(`embedded zstd.wasm: ${text}`);

for (const file of ["README.md", "LICENSE"]) {
  if (!existsSync(file)) problem(`${file} is missing`);
  if (!pkg.files.includes(file)) problem(`package.json files does not include ${file}`);
  if (!deno.publish.include.includes(file)) problem(`deno.json publish.include does not include ${file}`);
}

if (problems.length > 0) {
  console.error(`manifests: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `manifests: ${pkg.name}@${pkg.version} and ${deno.name}@${deno.version} agree on ${
    Object.keys(deno.exports).length
  } subpaths (npm only: ${Object.keys(NPM_ONLY).join(", ")}; JSR only: ${
    Object.keys(DENO_ONLY).join(", ")
  }; bin: ${CLI.bin}) and ${
    Object.keys(npmDeps).length
  } dependencies; the embedded zstd.wasm is ${ZSTD_PACKAGE.name}@${ZSTD_PACKAGE.version}'s`,
);
