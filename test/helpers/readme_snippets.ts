/**
 * Running the README's snippets as written: the ```ts blocks of one section, each written to a
 * file inside the package (so `larder`, its subpaths and the devDependencies resolve as an
 * application's would, to this checkout's sources, as `npm run demo` does) and run by Node
 * through tsx. Shared by the README tests of each section.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";

/** The ```ts blocks of the README section that starts at `heading` (up to the next `## `); `found` is false without it. */
export async function readmeSnippets(heading: string): Promise<{ found: boolean; snippets: string[] }> {
  const readme = await readFile("README.md", "utf8");
  const start = readme.indexOf(heading);
  const section = readme.slice(start, readme.indexOf("\n## ", start + heading.length));
  return { found: start > 0, snippets: [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!) };
}

/** Writes `source` to `dir/name.mts` and runs it; its exit code and everything it printed. */
export async function runSnippet(dir: string, name: string, source: string): Promise<{ code: number; output: string }> {
  await mkdir(dir, { recursive: true });
  const file = `${dir}/${name}.mts`;
  await writeFile(file, source);
  return await new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions", "larder-source", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => void (output += String(chunk)));
    child.stderr.on("data", (chunk) => void (output += String(chunk)));
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Removes what {@link runSnippet} wrote under `dir`. */
export async function removeSnippets(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
