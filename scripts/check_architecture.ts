/**
 * Fails when the code drifts from the architecture ARCHITECTURE.md describes. It parses every
 * module of `src/` with the TypeScript compiler (imports and exports, type-only ones included)
 * and checks:
 *
 * 1. **Layers of `src/core`**: a folder imports only from folders below it
 *    (util ← record ← backend ← stats ← flow ← ops ← api); `types.ts`, `errors.ts` and
 *    `defaults.ts` import nothing of the core's folders (every layer may use them); `context.ts`,
 *    the shared state's type, imports their types only (`import type`). Outside `src/`'s other
 *    folders, the core may use `src/codec/` (the codecs), and `api/` the in-process adapters
 *    (`createCache()`'s embedded default). Anything else reaching out of the core fails.
 * 2. **No import cycles**: none between the core's folders, and none between any two modules of
 *    the core (type-only imports count).
 * 3. **One backend facade**: in `src/core`, an adapter's methods (`store.run`, `blobs.get`, `put`,
 *    `delete`, `list`, `deleteMany`) are called only inside a callback handed to the facade
 *    (`backend/backend_call.ts`: `ctx.backend.store`/`blob`, `operatorCall`), or in that module.
 * 4. **Key layout in one module**: no string or template literal in `src/` spells a Redis key shape
 *    (`:e:`, `:l:`, `:v:`, `:lru:`, `:lrs:`, `:lrx:`, `:stats`) outside `record/key_layout.ts`.
 * 5. **Options objects**: no function in `src/` takes more than three positional parameters.
 * 6. **ARCHITECTURE.md stays true**: every `src/…ts` path it names exists, and its hit path lists
 *    at most six core modules.
 * 7. **Dumb adapters**: `src/stores/` and `src/blobs/` use of the core only the adapter contract
 *    (`types.ts`), the errors and `util/` (bytes, durations, the LRU, the options checker), plus
 *    the few modules listed in `ADAPTER_CORE_ALLOWED` with the reason; nothing else of `src/`.
 *
 *   npx tsx scripts/check_architecture.ts
 *
 * @module
 */
import { execSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import process from "node:process";
import ts from "typescript";

/** The core's folders, lowest first: a folder may import from the folders before it. */
const LAYERS = ["util", "record", "backend", "stats", "flow", "ops", "api"] as const;
/** Modules at the core's root that every layer may import, and that import none of the core's folders. */
const SHARED = ["src/core/types.ts", "src/core/errors.ts", "src/core/defaults.ts"];
/** The shared state's type: it may import the folders' types, and only types. */
const CONTEXT = "src/core/context.ts";
/** What the core may import from the rest of `src/`, by importing folder (`*`: any of them). */
const OUTSIDE_ALLOWED: readonly { readonly from: string; readonly to: RegExp; readonly why: string }[] = [
  { from: "*", to: /^src\/codec\//, why: "the value codecs and compressors" },
  {
    from: "api",
    to: /^src\/(stores|blobs)\/memory\.ts$/,
    why: "createCache()'s embedded default (in-process store and blobs)",
  },
];
/** The adapters' folders. */
const ADAPTERS = /^src\/(stores|blobs)\//;
/** What adapters may import of the core besides `types.ts`, `errors.ts` and `util/`, and why. */
const ADAPTER_CORE_ALLOWED: readonly { readonly to: string; readonly why: string }[] = [
  {
    to: "src/core/record/generations.ts",
    why: "the stamped record's stored form (stampRecord, storedStamps): a store that decides validity " +
      "itself — the in-process store, the cluster's read path — writes and reads it as the Lua scripts do",
  },
];
/** The facade module, and the calls whose callbacks may reach an adapter. */
const FACADE = "src/core/backend/backend_call.ts";
const FACADE_CALLS = /(^|\.)(operatorCall|backend\.store|backend\.blob|#guarded)$/;
const ADAPTER_METHODS: Readonly<Record<string, ReadonlySet<string>>> = {
  store: new Set(["run"]),
  blobs: new Set(["get", "put", "delete", "list", "deleteMany"]),
};
const KEY_LAYOUT = "src/core/record/key_layout.ts";
const KEY_SHAPE = /:(e|l|v|lru|lrs|lrx):|:stats(?![\w-])/;
const MAX_POSITIONAL = 3;
const MAX_HIT_PATH = 6;

const problems: string[] = [];
const problem = (text: string): void => void problems.push(text);

const files = execSync("git ls-files --cached --others --exclude-standard 'src/*.ts'", { encoding: "utf8" })
  .trim().split("\n").filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && existsSync(file));
const sources = new Map(files.map((file) => [file, parse(file)]));

interface Import {
  readonly target: string;
  readonly typeOnly: boolean;
  readonly line: number;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
}

/** The relative imports and re-exports of `sf`, resolved to repository paths. */
function importsOf(sf: ts.SourceFile): Import[] {
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean, node: ts.Node): void => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) return;
    const target = normalize(join(dirname(sf.fileName), specifier.text));
    found.push({ target, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypes = clause?.isTypeOnly === true ||
        (clause !== undefined && clause.name === undefined && named !== undefined && ts.isNamedImports(named) &&
          named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, allTypes, node);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause;
      const allTypes = node.isTypeOnly ||
        (named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 &&
          named.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, allTypes, node);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The core folder of a module (`undefined` for the core's root modules and anything outside the core). */
function layerOf(file: string): (typeof LAYERS)[number] | undefined {
  const match = /^src\/core\/([^/]+)\//.exec(file);
  return match && (LAYERS as readonly string[]).includes(match[1]!) ? match[1] as (typeof LAYERS)[number] : undefined;
}

// 1 and 2: layers, and cycles.
const graph = new Map<string, string[]>();
const folderEdges = new Map<string, Set<string>>();
for (const [file, sf] of sources) {
  if (!file.startsWith("src/core/")) continue;
  const from = layerOf(file);
  const edges: string[] = [];
  for (const { target, typeOnly, line } of importsOf(sf)) {
    const at = `${file}:${line}`;
    if (!target.startsWith("src/core/")) {
      const allowed = OUTSIDE_ALLOWED.some((rule) => (rule.from === "*" || rule.from === from) && rule.to.test(target));
      if (!allowed) problem(`${at}: the core imports ${target}, outside what it may use`);
      continue;
    }
    edges.push(target);
    const to = layerOf(target);
    if (SHARED.includes(file) && to !== undefined) {
      problem(`${at}: ${file} is shared by every layer, so it imports no folder (${target})`);
    }
    if (file === CONTEXT && to !== undefined && !typeOnly) {
      problem(`${at}: ${CONTEXT} may import the folders' types only (import type), not ${target}`);
    }
    if (from !== undefined && to !== undefined && to !== from) {
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) {
        problem(`${at}: core/${from}/ imports core/${to}/ (${target}), a layer above it (${LAYERS.join(" ← ")})`);
      }
      if (!folderEdges.has(from)) folderEdges.set(from, new Set());
      folderEdges.get(from)!.add(to);
    }
  }
  graph.set(file, edges);
}
for (const cycle of cyclesOf(graph)) problem(`import cycle between core modules: ${cycle.join(" → ")}`);
const folderGraph = new Map([...folderEdges].map(([from, to]) => [from, [...to]]));
for (const cycle of cyclesOf(folderGraph)) problem(`import cycle between core folders: ${cycle.join(" → ")}`);

// 7: what the adapters import.
for (const [file, sf] of sources) {
  if (!ADAPTERS.test(file)) continue;
  for (const { target, line } of importsOf(sf)) {
    if (ADAPTERS.test(target)) continue;
    const allowed = target === "src/core/types.ts" || target === "src/core/errors.ts" ||
      target.startsWith("src/core/util/") || ADAPTER_CORE_ALLOWED.some((rule) => rule.to === target);
    if (!allowed) {
      problem(`${file}:${line}: an adapter imports ${target}; adapters use the core's types, errors and util/ only`);
    }
  }
}

/** The cycles of a directed graph (one per strongly connected component of more than one node, or a self-loop). */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const connect = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) out.push(component.reverse());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) connect(node);
  return out;
}

// 3, 4 and 5: walks over every module of src/.
for (const [file, sf] of sources) {
  const inCore = file.startsWith("src/core/");
  const visit = (node: ts.Node): void => {
    const line = (): number => sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    if (inCore && file !== FACADE && ts.isCallExpression(node) && adapterCall(node) && !insideFacadeCall(node)) {
      problem(`${file}:${line()}: ${node.expression.getText()}() outside the backend facade (${FACADE})`);
    }
    if (
      file !== KEY_LAYOUT && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node))
    ) {
      if (KEY_SHAPE.test(node.text)) {
        problem(`${file}:${line()}: a key shape (${node.getText()}) outside ${KEY_LAYOUT}`);
      }
    }
    if (
      ts.isFunctionLike(node) && !ts.isFunctionTypeNode(node) && !ts.isMethodSignature(node) &&
      !ts.isCallSignatureDeclaration(node) && !ts.isConstructSignatureDeclaration(node) &&
      node.parameters.length > MAX_POSITIONAL
    ) {
      problem(
        `${file}:${line()}: a function with ${node.parameters.length} positional parameters (take an options object)`,
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/** Whether `call` is `<…store>.run(…)` or `<…blobs>.get(…)`, `put`, `delete`, `list`, `deleteMany`. */
function adapterCall(call: ts.CallExpression): boolean {
  let callee: ts.Expression = call.expression;
  if (ts.isNonNullExpression(callee)) callee = callee.expression;
  if (!ts.isPropertyAccessExpression(callee)) return false;
  let owner: ts.Expression = callee.expression;
  if (ts.isNonNullExpression(owner)) owner = owner.expression;
  const name = ts.isIdentifier(owner) ? owner.text : ts.isPropertyAccessExpression(owner) ? owner.name.text : "";
  return ADAPTER_METHODS[name]?.has(callee.name.text) === true;
}

/** Whether `node` sits inside a callback given to the facade (`ctx.backend.store/blob(…)`, `operatorCall(…)`). */
function insideFacadeCall(node: ts.Node): boolean {
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    if (ts.isCallExpression(at) && FACADE_CALLS.test(at.expression.getText())) return true;
  }
  return false;
}

// 6: ARCHITECTURE.md.
const doc = existsSync("ARCHITECTURE.md") ? readFileSync("ARCHITECTURE.md", "utf8") : "";
if (doc === "") problem("ARCHITECTURE.md is missing");
for (const [, path] of doc.matchAll(/`(src\/[\w/.-]+\.ts)`/g)) {
  if (!existsSync(path!)) problem(`ARCHITECTURE.md names ${path}, which does not exist`);
}
const hitPath = /## The hit path\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? "";
const hitModules = [...hitPath.matchAll(/^\d+\. `(src\/core\/[\w/.-]+\.ts)`/gm)].map((m) => m[1]);
if (hitModules.length === 0) problem("ARCHITECTURE.md: the hit path section lists no modules (`1. \\`src/core/…\\``)");
if (hitModules.length > MAX_HIT_PATH) {
  problem(`ARCHITECTURE.md: the hit path goes through ${hitModules.length} core modules, more than ${MAX_HIT_PATH}`);
}

if (problems.length > 0) {
  console.error(`architecture: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
const coreModules = [...sources.keys()].filter((file) => file.startsWith("src/core/")).length;
console.log(
  `architecture: ${coreModules} core modules in ${LAYERS.length} layers (${LAYERS.join(" ← ")}), no cycles; ` +
    `adapters called only through ${relative("src/core", FACADE)}; key shapes only in ${
      relative("src/core", KEY_LAYOUT)
    }; ` +
    `no function over ${MAX_POSITIONAL} positional parameters in ${sources.size} modules; hit path: ${hitModules.length} core modules`,
);
