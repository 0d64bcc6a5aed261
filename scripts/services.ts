/**
 * `npm run services`: starts redis-server, the Upstash REST bridge and S3 (s3rver behind the
 * counting proxy) on free loopback ports.
 *
 * - `npm run services` prints `export LARDER_TEST_…=…` lines and stays up until Ctrl-C / SIGTERM.
 * - `npm run services -- <cmd> [args…]` runs the command with those variables added to its
 *   environment, then stops everything and exits with the command's exit code.
 *
 * Whatever happens (errors, signals), it stops what it started.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { type Services, startServices } from "./services/index.ts";

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

function printEnv(services: Services): void {
  for (const [name, value] of Object.entries(services.env)) console.log(`export ${name}=${value}`);
  console.log("");
  console.log(`# redis-server  ${services.env.LARDER_TEST_REDIS_URL} (pid ${services.redis.pid})`);
  console.log(`# upstash REST  ${services.env.LARDER_TEST_UPSTASH_URL}  (log: GET /__larder/requests, Bearer token)`);
  console.log(`# S3 (proxy)    ${services.env.LARDER_TEST_S3_ENDPOINT}  bucket ${services.env.LARDER_TEST_S3_BUCKET}`);
  console.log(`# S3 (direct)   ${services.s3.directEndpoint}  (not counted)`);
}

/** Runs `command` with the services' env; resolves with its exit code (128+n when killed by signal n). */
function runCommand(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
    // Ctrl-C reaches the child through the terminal's process group; SIGTERM sent to us alone is
    // forwarded to the child (by its PID) so it can finish and we can still stop the services.
    const forward = (signal: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const onSignal = (signal: NodeJS.Signals): void => forward(signal);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
    const done = (code: number): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
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
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => resolve(signal));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--") argv.shift();
  const [command, ...args] = argv;

  // A signal while starting must still stop whatever has been started.
  let interrupted = false;
  const early = (): void => void (interrupted = true);
  process.once("SIGINT", early);
  process.once("SIGTERM", early);
  let services: Services;
  try {
    services = await startServices();
  } catch (error) {
    console.error(`[services] failed to start: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off("SIGINT", early);
    process.off("SIGTERM", early);
  }

  let code = 0;
  try {
    if (interrupted) code = 130;
    else if (command === undefined) {
      printEnv(services);
      console.log("# up; Ctrl-C to stop");
      const signal = await waitForSignal();
      console.log(`\n[services] ${signal}: stopping`);
    } else {
      console.error(`[services] up (upstash ${services.env.LARDER_TEST_UPSTASH_URL}, s3 ${services.env.LARDER_TEST_S3_ENDPOINT}); running: ${argv.join(" ")}`);
      code = await runCommand(command, args, services.env);
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
