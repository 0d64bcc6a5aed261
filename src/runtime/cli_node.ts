#!/usr/bin/env node
/**
 * The `larder` command on Node: the npm package's `bin` (`npx larder --help`). It hands
 * the process' arguments, environment and output streams to the runtime-neutral CLI
 * (src/cli/main.ts) and exits with its code. Ctrl-C stops a running command; a second Ctrl-C
 * exits at once.
 *
 * @module
 */
import { runCli } from "../cli/main.ts";

/** The parts of Node's `process` used here (reached through `globalThis`: the library has no Node types). */
interface NodeProcess {
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  readonly stdout: { write(text: string): boolean };
  readonly stderr: { write(text: string): boolean; readonly isTTY?: boolean };
  exitCode?: number;
  on(signal: "SIGINT" | "SIGTERM", listener: () => void): void;
  exit(code: number): never;
}

const proc = (globalThis as unknown as { process: NodeProcess }).process;
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  proc.on(signal, () => {
    if (controller.signal.aborted) proc.exit(130);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
proc.exitCode = await runCli({
  args: proc.argv.slice(2),
  env: proc.env,
  stdout: (text) => void proc.stdout.write(text),
  stderr: (text) => void proc.stderr.write(text),
  isTTY: proc.stderr.isTTY === true,
  signal: controller.signal,
});
