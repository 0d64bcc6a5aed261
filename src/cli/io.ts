/**
 * What the operator CLI gets from its runtime, injected by the per-runtime entry points
 * (src/runtime/cli_node.ts, src/runtime/cli_deno.ts) so the CLI itself runs anywhere and tests
 * can run it in-process.
 *
 * @module
 */
import type { Env } from "./config.ts";

/** The CLI's capabilities. */
export interface CliIo {
  /** The arguments after the program name. */
  readonly args: readonly string[];
  /** Environment variables. */
  readonly env: Env;
  /** Writes to standard output (results). */
  readonly stdout: (text: string) => void;
  /** Writes to standard error (progress, warnings, errors). */
  readonly stderr: (text: string) => void;
  /** Whether standard error is a terminal: progress then updates one line in place. */
  readonly isTTY: boolean;
  /** Fires on Ctrl-C: a running command stops and the CLI exits with code 130. */
  readonly signal?: AbortSignal;
  /** Clock in ms, for progress pacing. @default Date.now */
  readonly now?: () => number;
}
