/**
 * The `larder` operator command on Deno:
 *
 * ```sh
 * deno run -A jsr:@larder/larder/cli --help
 * deno run -A jsr:@larder/larder/cli cleanup --dry-run
 * ```
 *
 * It hands Deno's arguments, environment and output streams to the runtime-neutral CLI
 * (src/cli/main.ts; commands, environment variables and exit codes in the README's
 * "Operations" section) and exits with its code. Needs `--allow-env` and `--allow-net`.
 *
 * @module
 */
import { runCli } from "../cli/main.ts";

/** The parts of the `Deno` namespace used here (reached through `globalThis`, so tsc needs no Deno types). */
interface DenoNamespace {
  readonly args: string[];
  readonly env: { toObject(): Record<string, string> };
  readonly stdout: { writeSync(bytes: Uint8Array): number };
  readonly stderr: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  addSignalListener(signal: "SIGINT" | "SIGTERM", listener: () => void): void;
  exit(code: number): never;
}

const deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;
const encoder = new TextEncoder();

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  deno.addSignalListener(signal, () => {
    if (controller.signal.aborted) deno.exit(130);
    controller.abort(new Error(`interrupted by ${signal}`));
  });
}
deno.exit(
  await runCli({
    args: deno.args,
    env: deno.env.toObject(),
    stdout: (text) => writeAll(deno.stdout, text),
    stderr: (text) => writeAll(deno.stderr, text),
    isTTY: deno.stderr.isTerminal(),
    signal: controller.signal,
  }),
);
