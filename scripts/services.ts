/**
 * `npm run services`: starts redis-server, the Upstash REST bridge and S3 (s3rver behind the
 * counting proxy) on free loopback ports.
 *
 * - `npm run services` prints `export …=…` lines and stays up until Ctrl-C / SIGTERM: first the
 *   names the README's snippets read (`UPSTASH_REDIS_REST_URL`, `S3_ENDPOINT`, `S3_REGION`,
 *   `AWS_ACCESS_KEY_ID`…, and the CLI's `LARDER_S3_*`), so a snippet pasted into a shell with
 *   them runs as written; then the `LARDER_TEST_*` ones the test suites read.
 * - `npm run services -- <cmd> [args…]` runs the command with both sets added to its
 *   environment (variables it already has are kept), then stops everything and exits with the
 *   command's exit code.
 *
 * S3 requests are signed for `eu-central-1` and their signatures are checked (a wrong region,
 * secret or key id is refused as AWS refuses it), so a local run catches what production would.
 * - `--cluster` first (`npm run services -- --cluster <cmd>`) also starts a Redis Cluster
 *   (3 masters, 3 replicas) and sets `LARDER_TEST_REDIS_CLUSTER_URLS`.
 *
 * Whatever happens (errors, signals, our parent dying), it stops what it started.
 * Note: `kill <npm pid>` does not reach this process (npm signals its `sh -c` child, which exits
 * without passing it on); use Ctrl-C, signal the process group (`kill -- -PGID`), or run
 * `npx tsx scripts/services.ts` directly.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { type Services, startServices } from "./services/index.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The first stop signal received, the child to pass signals to, and who waits for a signal. */
const state: {
  signal: NodeJS.Signals | null;
  child: ChildProcess | null;
  waiter: ((signal: NodeJS.Signals) => void) | null;
} = { signal: null, child: null, waiter: null };

/**
 * Installed once, for the whole run, so a signal never kills us with the default action while
 * services are up. Ctrl-C reaches a running command through the terminal's process group; a
 * signal sent to us alone is forwarded to it (by its PID) so it can finish first.
 */
function installSignalHandlers(): void {
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      state.signal ??= signal;
      const child = state.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      state.waiter?.(signal);
    });
  }
  // If our parent dies (e.g. `tsx` killed with SIGKILL) we are reparented: treat it as SIGHUP.
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGHUP");
  }, 1_000);
  timer.unref();
}

function printEnv(services: Services): void {
  console.log("# the names the README's snippets and examples read (and the operator CLI's LARDER_S3_*):");
  for (const [name, value] of Object.entries(services.userEnv)) console.log(`export ${name}=${value}`);
  console.log("# the test suites' names:");
  for (const [name, value] of Object.entries(services.env)) console.log(`export ${name}=${value}`);
  console.log("");
  console.log(`# redis-server  ${services.env.LARDER_TEST_REDIS_URL} (pid ${services.redis.pid})`);
  console.log(`# upstash REST  ${services.env.LARDER_TEST_UPSTASH_URL}  (log: GET /__larder/requests, Bearer token)`);
  console.log(
    `# S3 (proxy)    ${services.env.LARDER_TEST_S3_ENDPOINT}  bucket ${services.env.LARDER_TEST_S3_BUCKET}, ` +
      `region ${services.s3.region} (SigV4 signatures checked)`,
  );
  console.log(`# S3 (direct)   ${services.s3.directEndpoint}  (not counted, signatures not checked)`);
  if (services.cluster) {
    console.log(`# cluster       ${services.cluster.nodes.map((n) => `${n.port} (pid ${n.pid})`).join(", ")}`);
  }
  console.log(`# process ${process.pid}; Ctrl-C or SIGTERM stops everything`);
}

/**
 * Runs `command` with the services' env added (the `LARDER_TEST_*` ones replace any inherited; the
 * README's names only fill in what is not set); resolves with its exit code (128+n when killed by
 * signal n).
 */
function runCommand(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const own = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith("LARDER_TEST_")));
    const child = spawn(command, args, { stdio: "inherit", env: { ...env, ...process.env, ...own } });
    state.child = child;
    const done = (code: number): void => {
      state.child = null;
      resolve(code);
    };
    child.once("error", (error) => {
      console.error(`[services] could not run ${command}: ${error.message}`);
      done(127);
    });
    child.once("exit", (code, signal) => done(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 1)));
  });
}

function waitForSignal(): Promise<NodeJS.Signals> {
  if (state.signal) return Promise.resolve(state.signal);
  return new Promise((resolve) => (state.waiter = resolve));
}

async function main(): Promise<number> {
  installSignalHandlers();
  const argv = process.argv.slice(2);
  if (argv[0] === "--") argv.shift();
  const cluster = argv[0] === "--cluster";
  if (cluster) argv.shift();
  const [command, ...args] = argv;

  let services: Services;
  try {
    services = await startServices({ cluster });
  } catch (error) {
    console.error(`[services] failed to start: ${(error as Error).message}`);
    return 1;
  }

  let code = 0;
  try {
    if (state.signal) {
      code = 128 + (SIGNAL_NUMBERS[state.signal] ?? 1);
    } else if (command === undefined) {
      printEnv(services);
      const signal = await waitForSignal();
      console.log(`\n[services] ${signal}: stopping`);
    } else {
      const up = `upstash ${services.env.LARDER_TEST_UPSTASH_URL}, s3 ${services.env.LARDER_TEST_S3_ENDPOINT}`;
      console.error(`[services] up (${up}); running: ${argv.join(" ")}`);
      code = await runCommand(command, args, { ...services.userEnv, ...services.env });
    }
  } catch (error) {
    console.error(`[services] ${(error as Error).stack ?? String(error)}`);
    code = 1;
  } finally {
    try {
      await services.stop();
    } catch (error) {
      console.error(`[services] stopping: ${(error as Error).message}`);
      code ||= 1;
    }
  }
  return code;
}

// Exit explicitly: a library handle left open must not keep a finished run alive.
process.exit(await main());
