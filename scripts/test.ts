/**
 * `npm test`: the whole check, as a list of steps. Each step is a command; steps that need the
 * local services get their `LARDER_TEST_*` variables (the services start once, before the first
 * such step, and stop at the end). Every step runs even when an earlier one failed, then a
 * summary is printed and the exit code is non-zero if any step failed.
 *
 * `npm test -- <step names…>` runs only those steps, e.g. `npm test -- vitest`; a step that uses
 * the built package (dist/) builds it first when no earlier step of the run did.
 *
 * To add a suite (deno, bun, workerd, lint…), add a step below.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import process from "node:process";
import { ensureChromium } from "./services/chromium.ts";
import { type Services, startServices } from "./services/index.ts";

/** One step of the check. */
interface Step {
  /** Short name, shown in the summary and accepted on the command line. */
  readonly name: string;
  /** The command and its arguments. */
  readonly command: readonly [string, ...string[]];
  /** Whether it needs the local services (their variables are added to its environment). */
  readonly services?: boolean;
  /** Whether it also needs the Redis Cluster (started before the first step that needs it). */
  readonly cluster?: boolean;
  /** Variables of its own, e.g. which store the parameterised suites run against. */
  readonly env?: Readonly<Record<string, string>>;
  /** Whether it uses the built package (dist/): built first when no earlier step of this run built it. */
  readonly dist?: boolean;
  /** Killed (by PID) after this long. */
  readonly timeoutMs: number;
  /** Run before the command (e.g. installing a tool it needs); a throw fails the step with its message. */
  readonly prepare?: () => void;
}

/** The integration suites that run once per store (LARDER_TEST_STORE). */
const BY_STORE = [
  "test/integration/cache.test.ts",
  "test/integration/invalidation.test.ts",
  "test/integration/stampede.test.ts",
  "test/integration/chaos.test.ts",
  "test/integration/cleanup.test.ts",
  "test/integration/cli.test.ts",
  "test/integration/write_side.test.ts",
];

const STEPS: readonly Step[] = [
  { name: "typecheck", command: ["npm", "run", "--silent", "typecheck"], timeoutMs: 5 * 60_000 },
  // The library alone, with web-standard types only: Buffer, process or node: imports fail here.
  { name: "typecheck-core", command: ["npx", "tsc", "-p", "tsconfig.core.json"], timeoutMs: 5 * 60_000 },
  { name: "lint", command: ["npx", "deno", "lint"], timeoutMs: 5 * 60_000 },
  { name: "fmt", command: ["npx", "deno", "fmt", "--check"], timeoutMs: 5 * 60_000 },
  // deno.json and package.json agree (version, subpaths, dependencies).
  { name: "manifests", command: ["npx", "tsx", "scripts/check_manifests.ts"], timeoutMs: 2 * 60_000 },
  // src/core's layers, no import cycles, one backend facade, key shapes in one module (ARCHITECTURE.md).
  { name: "architecture", command: ["npx", "tsx", "scripts/check_architecture.ts"], timeoutMs: 2 * 60_000 },
  // The npm tarball (contents, publint, attw) and the JSR dry run (slow types, deno doc --lint).
  { name: "package", command: ["npx", "tsx", "scripts/check_package.ts"], timeoutMs: 5 * 60_000 },
  // The release workflow (actionlint, what it publishes), versions against CHANGELOG.md, npm publish --dry-run.
  { name: "release", command: ["npx", "tsx", "scripts/check_release.ts"], timeoutMs: 5 * 60_000 },
  // The suites that need the Redis Cluster are among them (it starts in a few seconds). The
  // dashboard's browser test drives Debian's chromium: installed here (as root) when missing.
  {
    name: "vitest",
    command: ["npx", "vitest", "run"],
    services: true,
    cluster: true,
    timeoutMs: 20 * 60_000,
    prepare: () => void ensureChromium(),
  },
  // The integration suites again, on plain Redis over TCP and on the Redis Cluster
  // (test/helpers/stores.ts; the cluster run adds a master's failover during chaos).
  {
    name: "vitest-redis",
    command: ["npx", "vitest", "run", ...BY_STORE],
    services: true,
    env: { LARDER_TEST_STORE: "redis" },
    timeoutMs: 10 * 60_000,
  },
  {
    name: "vitest-cluster",
    command: ["npx", "vitest", "run", ...BY_STORE],
    services: true,
    cluster: true,
    env: { LARDER_TEST_STORE: "cluster" },
    timeoutMs: 10 * 60_000,
  },
  // The shared runtime scenarios (test/runtime/_scenarios.ts) on each runtime, against the services.
  {
    name: "node",
    command: ["npx", "vitest", "run", "--config", "test/runtime/vitest.config.ts", "test/runtime/node"],
    services: true,
    dist: true,
    timeoutMs: 5 * 60_000,
  },
  { name: "deno", command: ["npx", "deno", "test", "-A", "test/runtime/deno/"], services: true, timeoutMs: 5 * 60_000 },
  {
    name: "bun",
    command: ["npx", "tsx", "scripts/bun.ts", "test", "test/runtime/bun/"],
    services: true,
    timeoutMs: 5 * 60_000,
  },
  // A Worker built by wrangler from the packed package, run in workerd by Miniflare.
  {
    name: "workerd",
    command: ["npx", "vitest", "run", "--config", "test/runtime/vitest.config.ts", "test/runtime/workerd"],
    services: true,
    dist: true,
    timeoutMs: 10 * 60_000,
  },
  // examples/: a Worker (wrangler + Miniflare), a Deno script (as from JSR), a Bun server and a
  // Node script, each using the package as its users install it, each asserting a miss then a hit.
  {
    name: "examples",
    command: ["npx", "tsx", "scripts/run_examples.ts"],
    services: true,
    dist: true,
    timeoutMs: 10 * 60_000,
  },
  // The README's first command must keep working on the embedded default, with no services.
  { name: "demo", command: ["npm", "run", "--silent", "demo"], timeoutMs: 2 * 60_000 },
];

interface Outcome {
  readonly step: Step;
  readonly code: number;
  readonly ms: number;
  readonly note?: string;
}

let current: ReturnType<typeof spawn> | null = null;
let interrupted: NodeJS.Signals | null = null;

function run(step: Step, env: Record<string, string>): Promise<{ code: number; note?: string }> {
  return new Promise((resolve) => {
    const [command, ...args] = step.command;
    const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    }, step.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      current = null;
      resolve({ code: 127, note: `could not start: ${error.message}` });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (timedOut) resolve({ code: 124, note: `timed out after ${step.timeoutMs / 1000} s` });
      else resolve({ code: code ?? 1, ...(signal ? { note: `killed by ${signal}` } : {}) });
    });
  });
}

function summary(outcomes: readonly Outcome[], skipped: readonly Step[]): void {
  const line = "─".repeat(60);
  console.log(`\n${line}\nlarder: test summary`);
  for (const { step, code, ms, note } of outcomes) {
    const status = code === 0 ? "PASS" : "FAIL";
    console.log(
      `  ${status}  ${step.name.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(6)} s${
        code === 0 ? "" : `  exit ${code}`
      }${note ? `  (${note})` : ""}`,
    );
  }
  for (const step of skipped) {
    console.log(`  SKIP  ${step.name.padEnd(12)} (not run${interrupted ? `: ${interrupted}` : ""})`);
  }
  const failed = outcomes.filter((o) => o.code !== 0).length + (interrupted ? 1 : 0);
  console.log(failed === 0 ? "  all steps passed" : `  ${failed} step(s) failed`);
  console.log(line);
  // The plain closing line CI reads: steps passed and failed (a skipped step counts as failed).
  const passed = outcomes.filter((o) => o.code === 0).length;
  console.log(`steps: ${passed} passed, ${failed + skipped.length - (interrupted ? 1 : 0)} failed`);
}

/**
 * Treats the death of our parent (e.g. `tsx` killed with SIGKILL) as a SIGHUP, so the services
 * are still stopped. (`kill <npm pid>` does not reach us at all: npm signals its `sh -c` child,
 * which exits without passing it on. Use Ctrl-C, or signal the process group: `kill -- -PGID`.)
 */
function watchParent(): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGHUP");
  }, 1_000);
  timer.unref();
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((arg) => arg !== "--");
  const unknown = wanted.filter((name) => !STEPS.some((step) => step.name === name));
  if (unknown.length > 0) {
    console.error(`unknown step(s): ${unknown.join(", ")}; steps are: ${STEPS.map((s) => s.name).join(", ")}`);
    return 2;
  }
  const steps = wanted.length > 0 ? STEPS.filter((step) => wanted.includes(step.name)) : STEPS;

  // Installed for the whole run, so a signal never kills us before the services are stopped.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      interrupted ??= signal;
      if (current && current.exitCode === null) current.kill(signal);
    });
  }
  watchParent();

  // A dist/ left by an earlier run would shadow the source for "larder" imports (the export map
  // lists "types" first, as publishing requires); the package step builds a fresh one.
  rmSync("dist", { recursive: true, force: true });

  const outcomes: Outcome[] = [];
  let services: Services | null = null;
  let built = false;
  try {
    for (const step of steps) {
      if (interrupted) break;
      const started = performance.now();
      console.log(`\n▶ ${step.name}: ${step.command.join(" ")}`);
      let env: Record<string, string> = {};
      if (step.services) {
        if (!services) {
          try {
            services = await startServices();
            console.log(
              `  services up: upstash ${services.env.LARDER_TEST_UPSTASH_URL}, s3 ${services.env.LARDER_TEST_S3_ENDPOINT}, ${services.env.LARDER_TEST_REDIS_URL}`,
            );
          } catch (error) {
            outcomes.push({
              step,
              code: 1,
              ms: performance.now() - started,
              note: `services failed to start: ${(error as Error).message}`,
            });
            continue;
          }
        }
        if (step.cluster && !services.cluster) {
          try {
            const clusterStarted = performance.now();
            await services.addCluster();
            console.log(`  redis cluster up in ${((performance.now() - clusterStarted) / 1000).toFixed(1)} s`);
          } catch (error) {
            outcomes.push({
              step,
              code: 1,
              ms: performance.now() - started,
              note: `the Redis Cluster failed to start: ${(error as Error).message}`,
            });
            continue;
          }
        }
        env = services.env;
        if (interrupted) break;
      }
      if (step.dist && !built) {
        // `npm test -- node` alone: nothing has built dist/ yet (the package step does, via npm pack).
        const build = await run(
          { name: "build", command: ["npm", "run", "--silent", "build"], timeoutMs: 5 * 60_000 },
          {},
        );
        if (build.code !== 0) {
          outcomes.push({ step, code: build.code, ms: performance.now() - started, note: "the build of dist/ failed" });
          continue;
        }
        built = true;
      }
      if (step.prepare) {
        try {
          step.prepare();
        } catch (error) {
          outcomes.push({ step, code: 1, ms: performance.now() - started, note: (error as Error).message });
          continue;
        }
      }
      const { code, note } = await run(step, { ...env, ...step.env });
      if (step.name === "package" && code === 0) built = true;
      outcomes.push({ step, code, ms: performance.now() - started, ...(note ? { note } : {}) });
    }
  } finally {
    if (services) {
      try {
        await services.stop();
      } catch (error) {
        console.error(`stopping the services failed: ${(error as Error).message}`);
        outcomes.push({
          step: { name: "services", command: ["stop"], timeoutMs: 0 },
          code: 1,
          ms: 0,
          note: "did not stop cleanly",
        });
      }
    }
  }
  summary(outcomes, steps.filter((step) => !outcomes.some((o) => o.step === step)));
  return outcomes.some((o) => o.code !== 0) || interrupted ? 1 : 0;
}

// Exit explicitly: a library handle left open must not keep a finished run alive.
process.exit(await main());
