/**
 * What the tiers' bus costs a hit of the in-process tier. 1 KB hits from the tier (50 calls per
 * sample: one is a few µs), in five series, each in a process of its own (`_tier_bus_child.ts`),
 * interleaved a few samples at a time in a new random order every round (bench/events.ts' harness):
 *
 * - **before the bus**: the library before the bus existed (the parent of the commit that added
 *   src/core/flow/bus.ts, extracted with `git archive`), on Redis over TCP, and **again**, a second
 *   one of it: the pair's ratio is the noise of the run;
 * - **bus off**: this build, `memory.bus: false`;
 * - **bus on, TCP**: this build, subscribed (pub/sub on its own connection);
 * - **bus on, Upstash**: this build, reading the log every 100 ms while hits go on (each read is a
 *   request on the same event loop: in the samples).
 *
 * The ratios (p50 and mean) against "before the bus" say what the bus costs a tier hit (target:
 * unchanged, read against the noise ratio).
 *
 *   npx tsx bench/tier_bus.ts [--quick]     (starts its own services, prints JSON and markdown)
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ServicesEnv } from "../scripts/services/index.ts";
import type { BusChildSpec } from "./_tier_bus_child.ts";
import { type Child, extractBefore, interleaved, startChild } from "./events.ts";
import { type Budget, ms, summarize, type Summary } from "./_measure.ts";

/** What bench/tier_bus.ts measured. */
export interface TierBusOverhead {
  /** The commit the "before the bus" series ran (undefined: not found, those series left out). */
  readonly baseline: string | undefined;
  /** Calls per sample. */
  readonly batch: number;
  /** By series name. */
  readonly series: Record<string, Summary>;
  /** Each series / before the bus (and again / before: the noise), by p50 and mean. */
  readonly ratios: Record<string, { readonly p50: number; readonly mean: number }>;
  /** Reads of the log the Upstash series made, and in how long (its rate). */
  readonly polls: { readonly count: number; readonly seconds: number };
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./_tier_bus_child.ts", import.meta.url));
const BATCH = 50;
const BEFORE = "before the bus (TCP)";
const AGAIN = "before the bus, again";
const OFF = "bus off (TCP)";
const PUSH = "bus on, TCP (subscribed)";
const POLL = "bus on, Upstash (polled)";

/** Measures the series above for the 1 KB dataset; `quick` shrinks the budgets to a smoke test. */
export async function runTierBusOverhead(
  env: ServicesEnv,
  run: { readonly runId: string; readonly jsonBytes: number; readonly quick: boolean },
): Promise<TierBusOverhead> {
  const before = extractBefore("src/core/flow/bus.ts");
  const specs: (readonly [string, Pick<BusChildSpec, "dir" | "store" | "bus">])[] = [
    ...before
      ? [
        [BEFORE, { dir: before.dir, store: "redis", bus: undefined }],
        [AGAIN, { dir: before.dir, store: "redis", bus: undefined }],
      ] as const
      : [],
    [OFF, { dir: ROOT, store: "redis", bus: false }],
    [PUSH, { dir: ROOT, store: "redis", bus: true }],
    [POLL, { dir: ROOT, store: "upstash", bus: true }],
  ];
  const children = new Map<string, Child>();
  for (const [name, spec] of specs) {
    const child: BusChildSpec = {
      ...spec,
      redisUrl: env.LARDER_TEST_REDIS_URL,
      upstash: { url: env.LARDER_TEST_UPSTASH_URL, token: env.LARDER_TEST_UPSTASH_TOKEN },
      prefix: `${run.runId}-bus-${name.replaceAll(/\W+/g, "-")}`,
      jsonBytes: run.jsonBytes,
      batch: BATCH,
    };
    children.set(name, await startChild(child, CHILD));
  }
  const budget: Budget = run.quick
    ? { warmup: 5, min: 20, max: 20, ms: 0 }
    : { warmup: 300, min: 2000, max: 50_000, ms: 8000 };
  const started = performance.now();
  const samples = await interleaved(children, budget);
  const seconds = (performance.now() - started) / 1000;
  let polls = 0;
  for (const [name, child] of children) {
    const n = await child.stop();
    if (name === POLL) polls = n;
  }
  const series = Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
  const ratios: TierBusOverhead["ratios"] = {};
  for (const name of [OFF, PUSH, POLL, AGAIN]) {
    const x = series[name];
    const y = series[BEFORE];
    if (x && y) {
      ratios[`${name} / ${BEFORE}${name === AGAIN ? " (noise)" : ""}`] = { p50: x.p50 / y.p50, mean: x.mean / y.mean };
    }
  }
  return { baseline: before?.commit.slice(0, 12), batch: BATCH, series, ratios, polls: { count: polls, seconds } };
}

/** The markdown section. */
export function renderTierBus(r: TierBusOverhead): string {
  const lines = [
    "## The tiers' bus: a tier hit with the bus on",
    "",
    r.baseline
      ? `1 KB hits from the in-process tier, ${r.batch} calls per sample, interleaved; "before the bus" is commit ${r.baseline}; each series runs in a process of its own.`
      : `1 KB hits from the in-process tier, ${r.batch} calls per sample, interleaved (no "before the bus" build: git or its commit was not available).`,
    `The Upstash series read the log ${r.polls.count} times (the whole run took ${r.polls.seconds.toFixed(1)} s).`,
    "",
    "| series | p50 | p95 | mean | n |",
    "|---|---|---|---|---|",
  ];
  for (const [name, s] of Object.entries(r.series)) {
    lines.push(`| ${name} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.mean)} | ${s.n} |`);
  }
  lines.push("", "| ratio | p50 | mean |", "|---|---|---|");
  for (const [name, v] of Object.entries(r.ratios)) {
    lines.push(`| ${name} | ${v.p50.toFixed(3)}× | ${v.mean.toFixed(3)}× |`);
  }
  return `${lines.join("\n")}\n`;
}

// Run alone: `npx tsx bench/tier_bus.ts [--quick]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { startBenchServices } = await import("./_services.ts");
  const { SIZES } = await import("./_data.ts");
  const services = await startBenchServices();
  try {
    const quick = process.argv.includes("--quick");
    const runId = `bus-${Date.now().toString(36)}`;
    const results = await runTierBusOverhead(services.env, { runId, jsonBytes: SIZES[0]!.bytes, quick });
    console.log(JSON.stringify(results));
    console.log(renderTierBus(results));
  } finally {
    await services.stop();
  }
  process.exit(0);
}
