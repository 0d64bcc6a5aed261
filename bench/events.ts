/**
 * What events cost the hit path. 1 KB hits of one wrapped function, inline from the store (one
 * request to the Upstash bridge) and from the in-process tier (no request: where a CPU cost would
 * show most), in four series:
 *
 * - **before events**: the library as it was before events existed (the parent of the commit
 *   that added src/core/stats/events.ts, extracted with `git archive` into the temp directory),
 *   and **before events, again**, a second one of it: the pair's ratio is the noise of the run;
 * - **no listener**: this build, nobody subscribed;
 * - **one listener**: this build, a listener of every event (it counts them).
 *
 * Each series runs in a process of its own (`_events_child.ts`: one build per process, see why
 * there), and the parent interleaves them: a few samples of each per round, in a new random order
 * every round, so drift lands on every series alike. The ratios (p50 and mean) say what nobody
 * listening costs (`no listener / before events`, target ≤ 1.02×, read against the noise `again /
 * before`) and what one listener costs. In-process samples time 50 calls each (one call is a few
 * µs). Without git (or that commit), the "before" series are left out.
 *
 *   npx tsx bench/events.ts [--quick]     (starts its own services, prints JSON and markdown)
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ServicesEnv } from "../scripts/services/index.ts";
import type { ChildSpec } from "./_events_child.ts";
import { type Budget, ms, summarize, type Summary } from "./_measure.ts";

/** One tier's series and ratios. */
export interface EventsTier {
  /** By series name: before events, before events again, no listener, one listener. */
  readonly series: Record<string, Summary>;
  /** `no listener / before`, `one listener / no listener`, `again / before` (the noise), by p50 and mean. */
  readonly ratios: Record<string, { readonly p50: number; readonly mean: number }>;
}

/** What bench/events.ts measured. */
export interface EventsOverhead {
  /** The commit the "before events" series ran (undefined: not found, those series left out). */
  readonly baseline: string | undefined;
  /** Calls per in-process sample. */
  readonly memoryBatch: number;
  /** Events the listener received (so it did listen). */
  readonly eventsHeard: number;
  /** `inline` and `memory`. */
  readonly tiers: Record<string, EventsTier>;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./_events_child.ts", import.meta.url));
const MEMORY_BATCH = 50;
/** Samples of each series per round. */
const PER_ROUND = 4;
const BEFORE = "before events";
const AGAIN = "before events, again";
const NONE = "no listener";
const ONE = "one listener";

function git(args: readonly string[]): string {
  return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

/** The sources before events, extracted once per commit into the temp directory, or undefined. */
function extractBeforeEvents(): { commit: string; dir: string } | undefined {
  let commit: string;
  try {
    const added = git(["log", "--diff-filter=A", "--format=%H", "--", "src/core/stats/events.ts"]).split("\n").at(-1);
    if (!added) return undefined;
    // LARDER_BENCH_BASELINE=<ref> compares with another build (HEAD: this build against itself).
    commit = git(["rev-parse", process.env.LARDER_BENCH_BASELINE ?? `${added}^`]);
  } catch {
    return undefined;
  }
  const dir = path.join(os.tmpdir(), `larder-bench-before-events-${commit.slice(0, 12)}`);
  if (!existsSync(path.join(dir, "mod.ts"))) {
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync("git", ["archive", commit, "mod.ts", "src"], { cwd: ROOT, maxBuffer: 1 << 30 });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    // Its imports of aws4fetch & co. resolve to this checkout's packages.
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  }
  // Loaded as this checkout is, as ES modules: without `"type": "module"` tsx compiles the sources
  // to CommonJS, whose imports are getters (the same code ran ~10 % slower on in-process hits).
  writeFileSync(path.join(dir, "package.json"), `{ "type": "module" }\n`);
  return { commit, dir };
}

/** A running {@link ChildSpec} child: ask it for samples, then stop it (resolves to the events it heard). */
interface Child {
  readonly samples: (n: number) => Promise<number[]>;
  readonly stop: () => Promise<number>;
}

async function startChild(spec: ChildSpec): Promise<Child> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, LARDER_BENCH_CHILD: JSON.stringify(spec) },
  });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let waiting: ((message: Record<string, unknown>) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  child.on("message", (message) => waiting?.(message as Record<string, unknown>));
  child.once("exit", (code) => failed?.(new Error(`bench/events child ${spec.prefix} exited (${code})`)));
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      waiting = resolve;
      failed = reject;
    });
  await next(); // ready
  return {
    samples: async (n) => {
      const reply = next();
      child.send({ samples: n });
      return (await reply).times as number[];
    },
    stop: async () => {
      const reply = next();
      child.send("stop");
      const heard = (await reply).heard as number;
      process.off("exit", killOnExit);
      return heard;
    },
  };
}

/** Measures the series above for the 1 KB dataset; `quick` shrinks the budgets to a smoke test. */
export async function runEventsOverhead(
  env: ServicesEnv,
  run: { readonly runId: string; readonly jsonBytes: number; readonly quick: boolean },
): Promise<EventsOverhead> {
  const { runId, quick } = run;
  const before = extractBeforeEvents();
  let heard = 0;
  const tiers: Record<string, EventsTier> = {};
  for (const tier of ["inline", "memory"] as const) {
    const specs: (readonly [string, { readonly dir: string; readonly listen: boolean }])[] = [
      ...before
        ? [[BEFORE, { dir: before.dir, listen: false }], [AGAIN, { dir: before.dir, listen: false }]] as const
        : [],
      [NONE, { dir: ROOT, listen: false }],
      [ONE, { dir: ROOT, listen: true }],
    ];
    const children = new Map<string, Child>();
    for (const [name, { dir, listen }] of specs) {
      children.set(
        name,
        await startChild({
          dir,
          listen,
          tier,
          upstash: { url: env.LARDER_TEST_UPSTASH_URL, token: env.LARDER_TEST_UPSTASH_TOKEN },
          prefix: `${runId}-ev-${tier}-${name.replaceAll(/\W+/g, "-")}`,
          jsonBytes: run.jsonBytes,
          batch: tier === "memory" ? MEMORY_BATCH : 1,
        }),
      );
    }
    const budget: Budget = quick
      ? { warmup: 5, min: 20, max: 20, ms: 0 }
      : tier === "inline"
      ? { warmup: 300, min: 3000, max: 20_000, ms: 8000 }
      : { warmup: 300, min: 2000, max: 50_000, ms: 6000 };
    const samples = await interleaved(children, budget);
    for (const [name, child] of children) {
      const n = await child.stop();
      if (name === ONE) heard += n;
    }
    const summaries = Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
    const ratios: EventsTier["ratios"] = {};
    for (
      const [label, a, b] of [
        [`${NONE} / ${BEFORE}`, NONE, BEFORE],
        [`${ONE} / ${NONE}`, ONE, NONE],
        [`${AGAIN} / ${BEFORE} (noise)`, AGAIN, BEFORE],
      ] as const
    ) {
      const x = summaries[a];
      const y = summaries[b];
      if (x && y) ratios[label] = { p50: x.p50 / y.p50, mean: x.mean / y.mean };
    }
    tiers[tier] = { series: summaries, ratios };
  }
  return { baseline: before?.commit.slice(0, 12), memoryBatch: MEMORY_BATCH, eventsHeard: heard, tiers };
}

/**
 * Samples every child in rounds, in a new random order each round (a fixed rotation would keep
 * each series right behind the same other one), `PER_ROUND` samples each per round.
 */
async function interleaved(children: ReadonlyMap<string, Child>, budget: Budget): Promise<Map<string, number[]>> {
  const names = [...children.keys()];
  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  for (const child of children.values()) await child.samples(budget.warmup);
  let seed = 0x9e3779b9;
  const random = (n: number): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
  const started = performance.now();
  for (let taken = 0; taken < budget.max; taken += PER_ROUND) {
    if (taken >= budget.min && performance.now() - started > budget.ms) break;
    const order = [...names];
    for (let i = order.length - 1; i > 0; i--) {
      const j = random(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const name of order) samples.get(name)!.push(...await children.get(name)!.samples(PER_ROUND));
  }
  return samples;
}

/** The markdown section. */
export function renderEvents(r: EventsOverhead): string {
  const lines = [
    "## Events: the hit path with no listener",
    "",
    r.baseline
      ? `1 KB hits, interleaved: "before events" is commit ${r.baseline} (the library before events); each series runs in a process of its own.`
      : '1 KB hits, interleaved (no "before events" build: git or its commit was not available).',
    `In-process samples time ${r.memoryBatch} calls. The listener heard ${r.eventsHeard} events.`,
    "",
    "| tier | series | p50 | p95 | mean | n |",
    "|---|---|---|---|---|---|",
  ];
  for (const [tier, t] of Object.entries(r.tiers)) {
    for (const [name, s] of Object.entries(t.series)) {
      lines.push(`| ${tier} | ${name} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.mean)} | ${s.n} |`);
    }
  }
  lines.push("", "| tier | ratio | p50 | mean |", "|---|---|---|---|");
  for (const [tier, t] of Object.entries(r.tiers)) {
    for (const [name, v] of Object.entries(t.ratios)) {
      lines.push(`| ${tier} | ${name} | ${v.p50.toFixed(3)}× | ${v.mean.toFixed(3)}× |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

// Run alone: `npx tsx bench/events.ts [--quick]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { startBenchServices } = await import("./_services.ts");
  const { SIZES } = await import("./_data.ts");
  const services = await startBenchServices();
  try {
    const quick = process.argv.includes("--quick");
    const runId = `ev-${Date.now().toString(36)}`;
    const results = await runEventsOverhead(services.env, { runId, jsonBytes: SIZES[0]!.bytes, quick });
    console.log(JSON.stringify(results));
    console.log(renderEvents(results));
  } finally {
    await services.stop();
  }
  process.exit(0);
}
