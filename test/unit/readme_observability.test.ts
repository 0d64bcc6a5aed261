/**
 * Every snippet of the README's "Observability" section runs as written, on the embedded default
 * (no services): each ```ts block is written to a file inside the package (so `larder` and its
 * subpaths resolve to this checkout's sources, as `npm run demo` does) and run by Node through
 * tsx; what a snippet prints is checked where it says what it prints.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";

const DIR = ".build/readme-observability";

const readme = await readFile("README.md", "utf8");
const start = readme.indexOf("## Observability");
const section = readme.slice(start, readme.indexOf("\n## ", start + 10));
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

describe("README: Observability", () => {
  it("has its three snippets: events, OpenTelemetry, Prometheus", () => {
    expect(start).toBeGreaterThan(0);
    expect(snippets).toHaveLength(3);
  });

  // What each prints (the OpenTelemetry one prints nothing: its spans go to the global no-op provider).
  const expected = [/default\/report: stored \d+ bytes inline/, undefined, /^200 200$/m];
  for (const [i, pattern] of expected.entries()) {
    it(`snippet ${i + 1} runs`, async () => {
      await mkdir(DIR, { recursive: true });
      const file = `${DIR}/snippet_${i + 1}.mts`;
      await writeFile(file, snippets[i]!);
      const { code, output } = await run(file);
      expect(code, output).toBe(0);
      if (pattern) expect(output).toMatch(pattern);
    }, 60_000);
  }
});
