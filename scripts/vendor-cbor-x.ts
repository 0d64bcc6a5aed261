/**
 * Vendors cbor-x's no-eval build into `src/codec/_cbor_x/` (ES modules, types, licence).
 *
 * Why: cbor-x declares an optional dependency on `cbor-extract@^2.2.3`, whose own optional
 * platform packages (`@cbor-extract/cbor-extract-<os>-<cpu>@2.2.3`) were never published. npm
 * tolerates that; Deno's `npm:` resolver does not ("Could not find npm package
 * '@cbor-extract/cbor-extract-darwin-arm64' matching '2.2.3'"), so any Deno or JSR user of a
 * package that depends on cbor-x fails before running a line — and no `overrides` in our
 * package.json can reach a user's resolution. Shipping the two pure-JS modules we use removes the
 * dependency for every user (npm users no longer attempt the native add-on build either).
 *
 * The transformation is cbor-x's own for `dist/index-no-eval.cjs` (its rollup config replaces
 * the identifier `Function` with an undeclared `BlockedFunction`, so feature detection finds no
 * code generation), applied to its ES module sources instead of the UMD bundle.
 *
 *   npx tsx scripts/vendor-cbor-x.ts           rewrite the vendored files from node_modules/cbor-x
 *   npx tsx scripts/vendor-cbor-x.ts --check   fail when they differ from what would be written
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";

/** The cbor-x release vendored; package.json pins the devDependency to it. */
const VERSION = "1.6.9";
const SOURCE = "node_modules/cbor-x";
const TARGET = "src/codec/_cbor_x";

function header(file: string): string {
  return `// cbor-x ${VERSION} ${file}, vendored by scripts/vendor-cbor-x.ts (do not edit; see LICENSE).\n` +
    "// Change from upstream, as in cbor-x's own no-eval build: `Function` is replaced by an undeclared\n" +
    "// `BlockedFunction`, so the decoder never generates code (Cloudflare Workers forbid it).\n";
}

/** @rollup/plugin-replace `{ Function: "BlockedFunction " }` with its default delimiters. */
function blockEval(source: string): string {
  return source.replace(/\bFunction\b(?!\.)/g, "BlockedFunction ");
}

const MOD_JS = `// @ts-self-types="./mod.d.ts"
// The part of cbor-x ${VERSION} that Larder uses, vendored by scripts/vendor-cbor-x.ts (do not edit).
export { addExtension, Encoder } from "./encode.js";
export { Decoder } from "./decode.js";
`;

const MOD_DTS = `// Types of the part of cbor-x ${VERSION} that Larder uses (from its index.d.ts, without Node's
// Buffer and stream types), written by scripts/vendor-cbor-x.ts (do not edit).

/** cbor-x encoder and decoder options. */
export interface Options {
  alwaysUseFloat?: boolean;
  /** 0: never, 1: always, 3: decimal round, 4: decimal fit. */
  useFloat32?: 0 | 1 | 3 | 4;
  useRecords?: boolean;
  structures?: object[];
  structuredClone?: boolean;
  mapsAsObjects?: boolean;
  variableMapSize?: boolean;
  copyBuffers?: boolean;
  bundleStrings?: boolean;
  useTimestamp32?: boolean;
  largeBigIntToFloat?: boolean;
  encodeUndefinedAsNil?: boolean;
  maxSharedStructures?: number;
  maxOwnStructures?: number;
  useSelfDescribedHeader?: boolean;
  useToJSON?: boolean;
  keyMap?: object;
  shouldShareStructure?: (keys: string[]) => boolean;
  getStructures?(): object[];
  saveStructures?(structures: object[]): boolean | void;
  onInvalidDate?: () => unknown;
  tagUint8Array?: boolean;
  pack?: boolean;
  sequential?: boolean;
}

/** A tag extension. */
export interface Extension<T, R> {
  Class: new (...args: never[]) => T;
  tag: number;
  encode(value: T, encodeFn: (data: R) => Uint8Array): Uint8Array;
  decode(item: R): T;
}

/** Decodes CBOR. */
export declare class Decoder {
  constructor(options?: Options);
  // deno-lint-ignore no-explicit-any
  decode(bytes: Uint8Array): any;
}

/** Encodes CBOR. */
export declare class Encoder extends Decoder {
  encode(value: unknown): Uint8Array;
}

/** Registers a tag extension (global to this copy of cbor-x). */
export declare function addExtension<T, R>(extension: Extension<T, R>): void;
`;

async function expected(): Promise<Map<string, string>> {
  const pkg = JSON.parse(await readFile(join(SOURCE, "package.json"), "utf8")) as { version: string };
  if (pkg.version !== VERSION) {
    throw new Error(`node_modules has cbor-x ${pkg.version}, but ${VERSION} is vendored: pin the devDependency`);
  }
  const files = new Map<string, string>();
  for (const name of ["decode.js", "encode.js"]) {
    const source = await readFile(join(SOURCE, name), "utf8");
    files.set(name, header(name) + blockEval(source));
  }
  files.set("mod.js", MOD_JS);
  files.set("mod.d.ts", MOD_DTS);
  files.set("LICENSE", await readFile(join(SOURCE, "LICENSE"), "utf8"));
  return files;
}

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const files = await expected();
  const stale: string[] = [];
  for (const [name, text] of files) {
    const path = join(TARGET, name);
    if (check) {
      const actual = await readFile(path, "utf8").catch(() => null);
      if (actual !== text) stale.push(path);
    } else {
      await writeFile(path, text);
    }
  }
  // The vendored decoder must not be able to generate code: no `new Function` left anywhere.
  for (const name of ["decode.js", "encode.js"]) {
    if (/new Function\b/.test(files.get(name) ?? "")) throw new Error(`${name} still calls new Function`);
  }
  if (stale.length > 0) {
    console.error(`vendored cbor-x is out of date: ${stale.join(", ")}\nrun: npx tsx scripts/vendor-cbor-x.ts`);
    return 1;
  }
  console.log(check ? `vendored cbor-x ${VERSION}: up to date` : `vendored cbor-x ${VERSION} into ${TARGET}`);
  return 0;
}

process.exit(await main());
