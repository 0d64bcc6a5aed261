/**
 * Every snippet of the README's "Observability" section runs as written, on the embedded default
 * (no services): each ```ts block is written to a file inside the package (so `larder` and its
 * subpaths resolve to this checkout's sources, as `npm run demo` does) and run by Node through
 * tsx; what a snippet prints is checked where it says what it prints.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readmeSnippets, removeSnippets, runSnippet } from "../helpers/readme_snippets.ts";

const DIR = ".build/readme-observability";

const { found, snippets } = await readmeSnippets("## Observability");

afterAll(async () => {
  await removeSnippets(DIR);
});

describe("README: Observability", () => {
  it("has its three snippets: events, OpenTelemetry, Prometheus", () => {
    expect(found).toBe(true);
    expect(snippets).toHaveLength(3);
  });

  // What each prints (the OpenTelemetry one prints nothing: its spans go to the global no-op provider).
  const expected = [/default\/report: stored \d+ bytes inline/, undefined, /^200 200$/m];
  for (const [i, pattern] of expected.entries()) {
    it(`snippet ${i + 1} runs`, async () => {
      const { code, output } = await runSnippet(DIR, `snippet_${i + 1}`, snippets[i]!);
      expect(code, output).toBe(0);
      if (pattern) expect(output).toMatch(pattern);
    }, 60_000);
  }
});
