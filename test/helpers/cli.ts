/**
 * Runs the operator CLI for tests: in-process through `runCli` with captured output (fast, and
 * the only way to inject a terminal or a clock), or as the real Node bin in a child process.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { runCli } from "../../src/cli/main.ts";
import type { TestServices } from "./services.ts";
import { storeEnv } from "./stores.ts";

/** What a CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `runCli` in this process. */
export async function runInProcess(
  args: string[],
  env: Record<string, string | undefined>,
  extra: { isTTY?: boolean; now?: () => number; signal?: AbortSignal } = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli({
    args,
    env,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    isTTY: extra.isTTY ?? false,
    ...(extra.now ? { now: extra.now } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
  });
  return { code, stdout, stderr };
}

/** Runs the Node bin (src/runtime/cli_node.ts, through tsx) with exactly `env` (plus PATH). */
export function spawnCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/runtime/cli_node.ts", ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The CLI's environment variables for the local services (the store of `LARDER_TEST_STORE`) and `prefix`. */
export function cliEnv(services: TestServices, prefix: string): Record<string, string> {
  return {
    ...storeEnv(),
    LARDER_PREFIX: prefix,
    LARDER_S3_ENDPOINT: services.s3.endpoint,
    LARDER_S3_BUCKET: services.s3.bucket,
    LARDER_S3_REGION: services.s3.region,
    LARDER_S3_ACCESS_KEY_ID: services.s3.accessKeyId,
    LARDER_S3_SECRET_ACCESS_KEY: services.s3.secretAccessKey,
  };
}
