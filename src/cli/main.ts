/**
 * The operator CLI, runtime-neutral: `larder <command> [options]` over injected arguments,
 * environment and output streams (see {@link CliIo}). Runtime entry points: the `larder` bin on
 * npm, `jsr:@larder/larder/cli` on Deno.
 *
 * Exit codes: 0 done; 1 a backend failed, or work was left undone; 2 a usage or configuration
 * error; 130 interrupted. Errors are one line on standard error, scrubbed of the tokens and
 * secrets found in the environment. A failing backend is reported by that line alone (what could
 * not be done, where, and what to check): the library's fail-open warnings about it are dropped.
 *
 * @module
 */
import { isCacheError } from "../core/errors.ts";
import type { Logger } from "../core/types.ts";
import { parseArgs, UsageError } from "./args.ts";
import type { Command } from "./command_types.ts";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit_codes.ts";
import { COMMANDS } from "./commands.ts";
import { backendFailureLine } from "./failure.ts";
import { type CliConfig, configure, secretsOf } from "./config.ts";
import { commandHelp, mainHelp } from "./help.ts";
import type { CliIo } from "./io.ts";

export type { CliIo } from "./io.ts";

/** Runs the CLI; resolves to the process' exit code. Never rejects. */
export async function runCli(io: CliIo): Promise<number> {
  const secrets = secretsOf(io.env);
  const scrub = (text: string): string => secrets.reduce((out, secret) => out.split(secret).join("***"), text);
  const fail = (text: string): void => io.stderr(`${scrub(text.replace(/\s*\n\s*/g, " "))}\n`);
  const [name, ...rest] = io.args;
  let command: Command | undefined;
  let configured: CliConfig | undefined;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" ? rest[0] : undefined;
      const found = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && found === undefined) throw new UsageError(`unknown command "${topic}"`);
      if (name === undefined) {
        io.stderr(mainHelp(COMMANDS));
        return EXIT_USAGE;
      }
      io.stdout(found ? commandHelp(found) : mainHelp(COMMANDS));
      return EXIT_OK;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        name.startsWith("-") ? `unknown option ${name}; a command comes first` : `unknown command "${name}"`,
      );
    }
    const parsed = parseArgs(rest, { ...command.options, help: { type: "boolean", short: "h" } }, command.name);
    if (parsed.options.help === true) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    const write = (text: string): void => io.stderr(`${scrub(text)}\n`);
    const held: string[] = [];
    const logger = stderrLogger(write, held);
    try {
      const code = await command.run({
        io,
        options: parsed.options,
        positionals: parsed.positionals,
        config: async (needs): Promise<CliConfig> => (configured = await configure(io.env, logger, needs)),
      });
      // The command finished despite them: they are worth seeing.
      for (const line of held) write(line);
      return code;
    } finally {
      // A TCP store's connection would keep the process alive.
      await configured?.close().catch(() => {});
    }
  } catch (error) {
    if (error instanceof UsageError || (isCacheError(error) && error.code === "E_CONFIG")) {
      const about = error instanceof UsageError ? error.command : command?.name;
      fail(`larder: ${(error as Error).message}`);
      io.stderr(`Run "larder ${about ? `${about} ` : ""}--help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (io.signal?.aborted) {
      fail(`larder: ${command?.name ?? "command"} interrupted`);
      return EXIT_INTERRUPTED;
    }
    const line = backendFailureLine(error, command?.failure, io.env);
    if (line !== undefined) {
      fail(line);
      return EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    fail(`larder: ${command?.name ?? "command"} failed: ${message}`);
    return EXIT_FAILURE;
  }
}

/**
 * The library's log lines, as one line each on standard error (warnings and errors only). A
 * backend's fail-open line ("serving without cache": unavailable, or misconfigured) is held in
 * `held`: when the command then fails, its own error line says it better; when it finishes
 * anyway, the line is shown.
 */
function stderrLogger(write: (text: string) => void, held: string[]): Logger {
  const line = (level: "warning" | "error") => (message: string, fields?: Record<string, unknown>): void => {
    if (typeof fields?.backend === "string") held.push(`${level}: ${message}`);
    else write(`${level}: ${message}`);
  };
  return { debug() {}, info() {}, warn: line("warning"), error: line("error") };
}
