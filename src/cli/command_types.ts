/**
 * The shape of an operator CLI command: what it declares (name, options, help, what a backend
 * failure stops it doing) and what its `run` receives. The commands themselves are listed in
 * commands.ts; the exit codes they return are in exit_codes.ts.
 *
 * @module
 */
import type { OptionSpec, ParsedArgs } from "./args.ts";
import type { CliConfig } from "./config.ts";
import type { FailureActions } from "./failure.ts";
import type { CliIo } from "./io.ts";

/** What a command's `run` receives. */
export interface CommandContext {
  /** The runtime's capabilities. */
  readonly io: CliIo;
  /** Parsed options. */
  readonly options: ParsedArgs["options"];
  /** Arguments that are not options. */
  readonly positionals: readonly string[];
  /** The cache from the environment; called once the arguments are known to be valid. */
  readonly config: (needs: { blobs: boolean }) => Promise<CliConfig>;
}

/** An option with its help text. */
export interface CommandOption extends OptionSpec {
  /** One line for `--help`. */
  readonly help: string;
  /** Placeholder of the value in `--help`, e.g. `<duration>`. */
  readonly value?: string;
}

/** One command. */
export interface Command {
  /** What follows `larder`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis, e.g. `inspect <key|hash> [options]`. */
  readonly usage: string;
  /** Paragraphs for `--help`. */
  readonly details: string;
  /** Options besides `--help`. */
  readonly options: Readonly<Record<string, CommandOption>>;
  /** What it could not do when a backend fails, for the error line ("cannot <action> the store at …"). */
  readonly failure: FailureActions;
  /** Runs it; resolves to the exit code. */
  readonly run: (context: CommandContext) => Promise<number>;
}
