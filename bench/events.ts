/**
 * What events cost the hit path. Interleaved in the same rounds (so drift and GC land on every
 * series alike), 1 KB hits of one wrapped function, inline from the store (one request to the
 * Upstash bridge) and from the in-process tier (no request: where a CPU cost would show most):
 *
 * - **before events**: the library as it was before events existed (the parent of the commit
 *   that added src/core/stats/events.ts, extracted with `git archive` and imported as a module of
 *   its own), and **before events, again**, a second cache of that build: the pair's ratio is the
 *   noise of the run;
 * - **no listener**: this build, nobody subscribed;
 * - **one listener**: this build, a listener of every event (it counts them).
 *
 * The ratios (p50 and mean) say what nobody listening costs (`no listener / before events`,
 * target ≤ 1.02×, against the noise `again / before`) and what one listener costs. In-process
 * samples time 50 calls each (one call is a few µs). "no listener" shares its code with "one
 * listener" (the same module), so its call sites see both cases: if anything, that makes it slower.
 * Without git (or that commit), the "before" series are left out.
 *
 *   npx tsx bench/events.ts [--quick]     (starts its own services, prints JSON and markdown)
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ServicesEnv } from "../scripts/services/index.ts";
import { type Dataset, sameRows } from "./_fixtures.ts";
import { type Budget, measure, ms, type Summary } from "./_measure.ts";

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
const MEMORY_BATCH = 50;
const BEFORE = "before events";
const AGAIN = "before events, again";
const NONE = "no listener";
const ONE = "one listener";

/** The public API both builds share, as far as this benchmark uses it. */
interface Build {
  createCache(options: Record<string, unknown>): {
    wrap<A extends unknown[], R>(fn: (...args: A) => R, options: { name: string }): (...args: A) => Promise<R>;
    flush(): Promise<void>;
    stats(): { hits: { memory: number; inline: number } };
    on?(type: "*", listener: (event: unknown) => void): () => void;
  };
  upstashStore(options: { url: string; token: string }): unknown;
}

function git(args: readonly string[]): string {
  return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

/** The build before events, extracted once per commit into the temp directory, or undefined. */
async function buildBeforeEvents(): Promise<{ commit: string; build: Build } | undefined> {
  let commit: string;
  try {
    const added = git(["log", "--diff-filter=A", "--format=%H", "--", "src/core/stats/events.ts"]).split("\n").at(-1);
    if (!added) return undefined;
    commit = git(["rev-parse", `${added}^`]);
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
  const mod = await import(pathToFileURL(path.join(dir, "mod.ts")).href);
  const stores = await import(pathToFileURL(path.join(dir, "src/stores/upstash.ts")).href);
  return { commit, build: { createCache: mod.createCache, upstashStore: stores.upstashStore } };
}

/** Measures the series above for the 1 KB dataset; `quick` shrinks the budgets to a smoke test. */
export async function runEventsOverhead(
  env: ServicesEnv,
  run: { readonly runId: string; readonly dataset: Dataset; readonly quick: boolean },
): Promise<EventsOverhead> {
  const { dataset, runId, quick } = run;
  const now: Build = {
    createCache: (await import("../mod.ts")).createCache as unknown as Build["createCache"],
    upstashStore: (await import("../src/stores/upstash.ts")).upstashStore,
  };
  const before = await buildBeforeEvents();
  let heard = 0;
  const tiers: Record<string, EventsTier> = {};
  for (const tier of ["inline", "memory"] as const) {
    const wrapped = async (name: string, build: Build, listen = false): Promise<() => Promise<unknown>> => {
      const cache = build.createCache({
        store: build.upstashStore({ url: env.LARDER_TEST_UPSTASH_URL, token: env.LARDER_TEST_UPSTASH_TOKEN }),
        prefix: `${runId}-ev-${tier}-${name.replaceAll(/\W+/g, "-")}`,
        globalStats: false,
        ...(tier === "memory" ? { memory: { ttl: "1h" } } : {}),
      });
      if (listen) cache.on!("*", () => void heard++);
      const rows = cache.wrap(async (_i: number) => dataset.rows, { name: "rows" });
      await rows(0);
      await cache.flush();
      if (!sameRows(await rows(0), dataset.rows)) throw new Error(`${name}: the hit did not return the rows`);
      const hits = cache.stats().hits;
      if (hits[tier] !== 1) throw new Error(`${name}: the hit did not come from the ${tier} tier`);
      if (tier === "inline") return () => rows(0);
      return async () => {
        for (let i = 0; i < MEMORY_BATCH; i++) await rows(0);
      };
    };
    const series = [
      ...before
        ? [
          { name: BEFORE, run: await wrapped(BEFORE, before.build) },
          { name: AGAIN, run: await wrapped(AGAIN, before.build) },
        ]
        : [],
      { name: NONE, run: await wrapped(NONE, now) },
      { name: ONE, run: await wrapped(ONE, now, true) },
    ];
    const budget: Budget = quick
      ? { warmup: 5, min: 20, max: 20, ms: 0 }
      : tier === "inline"
      ? { warmup: 300, min: 3000, max: 20_000, ms: 8000 }
      : { warmup: 300, min: 2000, max: 50_000, ms: 6000 };
    const summaries = await measure(series, budget);
    const ratio = (a: string, b: string) =>
      summaries[a] && summaries[b]
        ? { p50: summaries[a].p50 / summaries[b].p50, mean: summaries[a].mean / summaries[b].mean }
        : undefined;
    const ratios: EventsTier["ratios"] = {};
    for (
      const [name, a, b] of [[`${NONE} / ${BEFORE}`, NONE, BEFORE], [`${ONE} / ${NONE}`, ONE, NONE], [
        `${AGAIN} / ${BEFORE} (noise)`,
        AGAIN,
        BEFORE,
      ]] as const
    ) {
      const r = ratio(a, b);
      if (r) ratios[name] = r;
    }
    tiers[tier] = { series: summaries, ratios };
  }
  return { baseline: before?.commit.slice(0, 12), memoryBatch: MEMORY_BATCH, eventsHeard: heard, tiers };
}

/** The markdown section. */
export function renderEvents(r: EventsOverhead): string {
  const lines = [
    "## Events: the hit path with no listener",
    "",
    r.baseline
      ? `1 KB hits, interleaved: "before events" is commit ${r.baseline} (the library before events), imported beside this build.`
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
  const { makeRows, SIZES } = await import("./_data.ts");
  const services = await startBenchServices();
  try {
    const size = SIZES[0]!;
    const dataset = { label: size.label, jsonBytes: size.bytes, rows: makeRows(size.bytes) };
    const quick = process.argv.includes("--quick");
    const results = await runEventsOverhead(services.env, { runId: `ev-${Date.now().toString(36)}`, dataset, quick });
    console.log(JSON.stringify(results));
    console.log(renderEvents(results));
  } finally {
    await services.stop();
  }
  process.exit(0);
}
