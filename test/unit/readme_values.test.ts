/**
 * Every snippet of the README's sections on values — "Arrow tables", "Encryption at rest",
 * "Schemas on read" — runs as written, on the embedded default (no services): each ```ts block is
 * written to a file inside the package (so `larder`, its subpaths and the devDependencies resolve
 * as an application's would) and run by Node through tsx; what each prints is checked.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";

const DIR = ".build/readme-values";

const readme = await readFile("README.md", "utf8");
const start = readme.indexOf("### Arrow tables (`larder/arrow`)");
const section = readme.slice(start, readme.indexOf("\n## ", start));
const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

afterAll(async () => {
  await rm(DIR, { recursive: true, force: true });
});

function run(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions", "larder-source", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => void (output += String(chunk)));
    child.stderr.on("data", (chunk) => void (output += String(chunk)));
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

describe("README: values (Arrow tables, encryption, schemas)", () => {
  it("has its three snippets", () => {
    expect(start).toBeGreaterThan(0);
    expect(snippets).toHaveLength(3);
  });

  const expected = [/^2 Int32 1$/m, /^\{ total: 42 \} k2$/m, /^42 EUR$/m];
  for (const [i, pattern] of expected.entries()) {
    it(`snippet ${i + 1} runs and prints what it says`, async () => {
      await mkdir(DIR, { recursive: true });
      const file = `${DIR}/snippet_${i + 1}.mts`;
      await writeFile(file, snippets[i]!);
      const { code, output } = await run(file);
      expect(code, output).toBe(0);
      expect(output).toMatch(pattern);
    });
  }
});
