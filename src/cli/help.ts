/**
 * The operator CLI's `--help` texts.
 *
 * @module
 */
import type { Command } from "./command_types.ts";
import { ENVIRONMENT } from "./config.ts";
import { table } from "./format.ts";

/** The top-level help: commands, environment, exit codes. */
export function mainHelp(commands: readonly Command[]): string {
  return "Usage: larder <command> [options]\n\n" +
    "Operate a Larder cache: inspect entries, invalidate, clean up the bucket.\n\n" +
    "Commands:\n" +
    table([...commands.map((c): [string, string] => [c.name, c.summary]), [
      "help [command]",
      "this text, or a command's",
    ]], "  ") +
    "\n" +
    "Environment:\n" + table(ENVIRONMENT.map(([name, text]) => [name, text]), "  ") +
    "\nExit codes: 0 done, 1 a backend failed or work was left undone, 2 usage or configuration error,\n" +
    "130 interrupted.\n" +
    'Run "larder <command> --help" for a command\'s options.\n';
}

/** One command's help. */
export function commandHelp(command: Command): string {
  const rows: [string, string][] = Object.entries(command.options).map((
    [name, option],
  ) => [`--${name}${option.value ? ` ${option.value}` : ""}`, option.help]);
  rows.push(["-h, --help", "show this help"]);
  return `Usage: larder ${command.usage}\n\n${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.\n\n` +
    `${command.details}\n\nOptions:\n${table(rows, "  ")}`;
}
