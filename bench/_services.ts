/**
 * The benchmark's services: `startServices()` run in a child process (see `_services_child.ts`),
 * and a `stop()` that leaves nothing behind, also when the run fails or is interrupted.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { ServicesEnv } from "../scripts/services/index.ts";

/** Running services. */
export interface BenchServices {
  /** The `LARDER_TEST_*` variables describing them. */
  readonly env: ServicesEnv;
  /** Stops them; safe to call more than once. */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./_services_child.ts", import.meta.url));

/** Starts the services in a child process and waits until they are up. */
export async function startBenchServices(): Promise<BenchServices> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Every redis-server the child started (the standalone one and the cluster's nodes).
  let redisPids: number[] = [];
  const ready = new Promise<ServicesEnv>((resolve, reject) => {
    child.once("message", (message) => {
      const up = message as { env: ServicesEnv; redisPids: number[] };
      redisPids = up.redisPids;
      resolve(up.env);
    });
    child.once("exit", (code, signal) => reject(new Error(`services exited early (${code ?? signal})`)));
    child.once("error", reject);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited, () => redisPids);
    return stopping;
  };
  // Whatever ends this process, the services go with it.
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n[bench] ${signal}: stopping the services`);
    void stop().finally(() => process.exit(130));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, onSignal);
  process.once("exit", () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    redisPids.forEach(killIfAlive);
  });
  try {
    return { env: await ready, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>, redisPids: () => number[]): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    if (child.connected) child.send("stop");
    else child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
  // A child that did not exit cleanly may have left redis-server running: stop it by its PID.
  if (child.exitCode !== 0) redisPids().forEach(killIfAlive);
}

function killIfAlive(pid: number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, 0);
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
