/**
 * Every snippet of the README's sections on values — "Arrow tables", "Encryption at rest",
 * "Schemas on read" — runs as written, on the embedded default (no services): each ```ts block is
 * written to a file inside the package (so `larder`, its subpaths and the devDependencies resolve
 * as an application's would) and run by Node through tsx; what each prints is checked.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readmeSnippets, removeSnippets, runSnippet } from "../helpers/readme_snippets.ts";

const DIR = ".build/readme-values";

const { found, snippets } = await readmeSnippets("### Arrow tables (`larder/arrow`)");

afterAll(async () => {
  await removeSnippets(DIR);
});

describe("README: values (Arrow tables, encryption, schemas)", () => {
  it("has its three snippets", () => {
    expect(found).toBe(true);
    expect(snippets).toHaveLength(3);
  });

  const expected = [/^2 Int32 1$/m, /^\{ total: 42 \} k2$/m, /^42 EUR$/m];
  for (const [i, pattern] of expected.entries()) {
    it(`snippet ${i + 1} runs and prints what it says`, async () => {
      const { code, output } = await runSnippet(DIR, `snippet_${i + 1}`, snippets[i]!);
      expect(code, output).toBe(0);
      expect(output).toMatch(pattern);
    });
  }
});
