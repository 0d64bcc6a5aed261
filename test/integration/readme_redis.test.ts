/**
 * Every snippet of the README's "Plain Redis and Redis Cluster (TCP)" section runs as written:
 * each ```ts block is written to a file inside the package (so `larder` resolves to this
 * checkout, as `npm run demo` does) and run by Node through tsx, with `localhost` addresses
 * pointed at the local redis-server and Redis Cluster.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";
import { requireCluster, requireServices } from "../helpers/services.ts";

const { redisUrl } = requireServices();
const [clusterSeed] = requireCluster();
const DIR = ".build/readme-redis";

const readme = await readFile("README.md", "utf8");
const start = readme.indexOf("## Plain Redis and Redis Cluster (TCP)");
const section = readme.slice(start, readme.indexOf("\n## ", start + 10));
const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

afterAll(async () => {
  await rm(DIR, { recursive: true, force: true });
});

function run(file: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions", "larder-source", file], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => void (output += String(chunk)));
    child.stderr.on("data", (chunk) => void (output += String(chunk)));
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

describe("README: Plain Redis and Redis Cluster (TCP)", () => {
  it("has its snippets", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(4);
  });

  it.each(snippets.map((code, i) => [i, code] as const))("snippet %i runs as written", async (i, code) => {
    const local = code
      .replaceAll("redis://localhost:6379", redisUrl)
      .replaceAll("redis://localhost:7000", clusterSeed!);
    await mkdir(DIR, { recursive: true });
    const file = `${DIR}/snippet-${i}.ts`;
    await writeFile(file, local);
    const { code: exit, output } = await run(file, { CACHE_URL: `${redisUrl}/0`, LARDER_PREFIX: `readme-${i}` });
    expect(exit, output).toBe(0);
    expect(output).not.toMatch(/error|warning/i);
  }, 60_000);
});
