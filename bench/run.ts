/**
 * `npm run bench`: Larder's performance against floors measured in the same run, on local
 * services it starts (and stops) itself. Writes bench/results/bench.{md,json} and
 * bench/results/hit-latency.svg. See bench/README.md for what each figure means.
 *
 * `npm run bench -- --quick` runs every part with small budgets (a smoke test, not figures).
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import process from "node:process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SHAPES, SIZES } from "./_data.ts";
import { type Dataset, makeDatasets } from "./_fixtures.ts";
import { floors } from "./_floors.ts";
import { SCENARIOS } from "./_latency.ts";
import type { Budget } from "./_measure.ts";
import { renderPlot } from "./_plot.ts";
import { renderMarkdown } from "./_report.ts";
import type { BenchResults } from "./_targets.ts";
import { startBenchServices } from "./_services.ts";
import { runCodecs } from "./codec.ts";
import { runConcurrency } from "./concurrency.ts";
import { type HitResults, runHits, runMemoryHits, setupHits } from "./hits.ts";
import { type MissResult, runMisses } from "./miss.ts";
import { renderTcp, runTcp } from "./tcp.ts";
import { renderEvents, runEventsOverhead } from "./events.ts";
import type { PeakMemory } from "./peak_memory.ts";

const quick = process.argv.includes("--quick");
// A quick run checks the harness; its figures mean nothing, so they never land in bench/results.
const RESULTS = quick
  ? pathToFileURL(path.join(os.tmpdir(), "larder-bench-quick") + path.sep)
  : new URL("./results/", import.meta.url);
const loadBefore = os.loadavg()[0]!;

/** Budgets by size: [1 KB, 100 KB, 1 MB, 10 MB], for a size's label or a dataset's (`1 MB orders`). */
function budgets(list: readonly Budget[]): (label: string) => Budget {
  return (label) => {
    const size = label.split(" ").slice(0, 2).join(" ");
    const budget = list[SIZES.findIndex((s) => s.label === size)] as Budget;
    return quick ? { warmup: 1, min: 3, max: 3, ms: 0 } : budget;
  };
}

const CODEC = budgets([
  { warmup: 50, min: 200, max: 5000, ms: 1500 },
  { warmup: 10, min: 50, max: 1000, ms: 2000 },
  { warmup: 3, min: 15, max: 200, ms: 3000 },
  { warmup: 1, min: 7, max: 20, ms: 6000 },
]);
const HITS = budgets([
  { warmup: 50, min: 300, max: 3000, ms: 4000 },
  { warmup: 20, min: 200, max: 3000, ms: 4000 },
  { warmup: 5, min: 40, max: 400, ms: 5000 },
  { warmup: 2, min: 16, max: 40, ms: 10000 },
]);
const MEMORY = budgets([
  { warmup: 1000, min: 5000, max: 50_000, ms: 1500 },
  { warmup: 50, min: 300, max: 5000, ms: 1500 },
  { warmup: 5, min: 40, max: 500, ms: 1500 },
  { warmup: 2, min: 10, max: 50, ms: 2000 },
]);
const LATENCY = budgets([
  { warmup: 3, min: 25, max: 100, ms: 3000 },
  { warmup: 3, min: 25, max: 100, ms: 3000 },
  { warmup: 2, min: 20, max: 100, ms: 3000 },
  { warmup: 1, min: 10, max: 30, ms: 6000 },
]);
const MISSES = budgets([
  { warmup: 20, min: 100, max: 1000, ms: 2000 },
  { warmup: 10, min: 60, max: 1000, ms: 2000 },
  { warmup: 3, min: 25, max: 200, ms: 2500 },
  { warmup: 1, min: 8, max: 20, ms: 4000 },
]);
const MISSES_FAR = budgets([
  { warmup: 2, min: 12, max: 100, ms: 1000 },
  { warmup: 2, min: 12, max: 100, ms: 1000 },
  { warmup: 1, min: 10, max: 100, ms: 1500 },
  { warmup: 1, min: 5, max: 20, ms: 3000 },
]);

function machine(): BenchResults["machine"] {
  const cpus = os.cpus();
  const git = (args: string[]): string => {
    try {
      return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "";
    }
  };
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 1024 ** 3),
    commit: git(["rev-parse", "--short", "HEAD"]),
    // Uncommitted library changes make a run irreproducible from the commit alone: say so.
    dirty: git(["status", "--porcelain", "--", "src", "mod.ts"]) !== "",
    date: new Date().toISOString(),
    // Other work on the machine skews the figures: the 1-minute load average before and after.
    load: [loadBefore, os.loadavg()[0]!],
    quick,
  };
}

function step(name: string): () => void {
  const started = performance.now();
  process.stderr.write(`[bench] ${name}…`);
  return () => process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

/** Runs peak_memory.ts in a child process with --expose-gc. */
function peakMemory(env: Record<string, string>, prefix: string): Promise<PeakMemory> {
  const script = fileURLToPath(new URL("./peak_memory.ts", import.meta.url));
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", script], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, LARDER_BENCH_ENV: JSON.stringify(env), LARDER_BENCH_PREFIX: prefix },
  });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return new Promise<PeakMemory>((resolve, reject) => {
    let result: PeakMemory | undefined;
    child.once("message", (message) => (result = message as PeakMemory));
    child.once("error", reject);
    child.once("exit", (code) => {
      process.off("exit", killOnExit);
      if (result) resolve(result);
      else reject(new Error(`peak-memory exited with ${code} without a result`));
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const runId = `bench-${Date.now().toString(36)}`;
  let done = step("data");
  const datasets: Dataset[] = makeDatasets(SHAPES);
  done();

  done = step("codecs");
  const codecs = await runCodecs(
    datasets.map((d) => ({ shape: d.shape, label: d.size, jsonBytes: d.jsonBytes, value: d.rows })),
    CODEC,
  );
  done();

  done = step("services");
  const services = await startBenchServices();
  done();
  try {
    const env = services.env;
    const bare = floors(env);
    done = step("writing the fixtures");
    const fx = await setupHits(env, bare, runId, datasets);
    done();

    done = step("in-process hits");
    const memory = await runMemoryHits(fx, MEMORY);
    done();

    // The hit path with no event listener, against the build before events, in the same rounds.
    done = step("events: the hit path with no listener");
    const events = await runEventsOverhead(env, { runId, jsonBytes: datasets[0]!.jsonBytes, quick });
    done();

    const hits: Record<string, HitResults> = {};
    const misses: Record<string, Record<string, MissResult>> = {};
    for (const scenario of SCENARIOS) {
      const far = scenario.storeMs > 0;
      done = step(`hits, ${scenario.name}`);
      hits[scenario.name] = await runHits(fx, scenario, far ? LATENCY : HITS, { decode: !far });
      done();
      done = step(`misses, ${scenario.name}`);
      misses[scenario.name] = await runMisses(env, bare, runId, datasets, scenario, far ? MISSES_FAR : MISSES);
      done();
    }

    done = step("64 concurrent callers");
    const concurrency = await runConcurrency(fx, quick ? 300 : 2000);
    done();

    // The TCP stores (one node, the cluster), each against floors through its own client.
    const tcp = await runTcp(env, bare, runId, datasets.filter((d) => d.shape === "rows"), quick);

    done = step("peak memory, 50 MB value");
    const peak = await peakMemory(env, runId);
    done();

    const results: BenchResults = {
      machine: machine(),
      durationS: (performance.now() - started) / 1000,
      sizes: datasets.map((d) => ({
        label: d.label,
        size: d.size,
        shape: d.shape,
        jsonBytes: d.jsonBytes,
        rows: d.rows.length,
      })),
      scenarios: SCENARIOS,
      stored: Object.fromEntries(
        [...fx.entries].map((
          [label, e],
        ) => [label, {
          payloadBytes: e.payload.length,
          encodedBytes: e.rawBytes,
          recordBytes: e.recordBytes,
          redisBytes: e.redisBytes,
        }]),
      ),
      codecs,
      memory,
      hits,
      misses,
      concurrency,
      peak,
      tcp,
      events,
    };
    await mkdir(RESULTS, { recursive: true });
    await writeFile(new URL("bench.json", RESULTS), JSON.stringify(results, null, 2) + "\n");
    const markdown = `${renderMarkdown(results)}\n${renderTcp(tcp)}\n${renderEvents(events)}`;
    await writeFile(new URL("bench.md", RESULTS), markdown);
    await writeFile(new URL("hit-latency.svg", RESULTS), renderPlot(results));
    console.log(markdown);
    const seconds = results.durationS.toFixed(0);
    process.stderr.write(
      `[bench] done in ${seconds} s; wrote bench.{md,json}, hit-latency.svg to ${fileURLToPath(RESULTS)}\n`,
    );
  } finally {
    await services.stop();
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
