/**
 * The operator CLI's argument parser: `--name value`, `--name=value`, boolean `--flag`, repeated
 * options, `-h`, and `--` to end options. Anything it does not know is a {@link UsageError}, so a
 * typo never runs a command with a default in its place.
 *
 * @module
 */

/** A command-line mistake: the CLI prints it with a pointer to `--help` and exits with code 2. */
export class UsageError extends Error {
  /** The command whose help to point to, if any. */
  readonly command: string | undefined;
  /** A usage error; `command` names the command whose `--help` applies. */
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** One option a command accepts. */
export interface OptionSpec {
  /** `boolean` flags take no value; `string` options take one. */
  readonly type: "boolean" | "string";
  /** May be given more than once (values collected in order). */
  readonly multiple?: boolean;
  /** One-letter alias, e.g. `h` for `-h`. */
  readonly short?: string;
}

/** What {@link parseArgs} returns. */
export interface ParsedArgs {
  /** Option values by name: `true` for flags, the string (or strings, with `multiple`) for the others. */
  readonly options: Readonly<Record<string, boolean | string | string[]>>;
  /** The arguments that are not options, in order. */
  readonly positionals: readonly string[];
}

/** Parses `args` against `spec`; throws a {@link UsageError} naming `command` for anything unknown or incomplete. */
export function parseArgs(
  args: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
  command: string,
): ParsedArgs {
  const options: Record<string, boolean | string | string[]> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      const long = byShort.get(arg.slice(1));
      if (long === undefined) throw new UsageError(`unknown option ${arg} for "${command}"`, command);
      name = long;
    } else if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      throw new UsageError(`unknown option ${arg} for "${command}"`, command);
    } else {
      positionals.push(arg);
      continue;
    }
    const option = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (option === undefined) throw new UsageError(`unknown option --${name} for "${command}"`, command);
    let value: boolean | string;
    if (option.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`option --${name} does not take a value`, command);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new UsageError(`option --${name} needs a value`, command);
      }
      value = next;
      i++;
    }
    if (option.type === "string" && value === "") throw new UsageError(`option --${name} needs a value`, command);
    const previous = options[name];
    if (previous !== undefined && !option.multiple) {
      throw new UsageError(`option --${name} is given more than once`, command);
    }
    options[name] = option.multiple ? [...((previous as string[] | undefined) ?? []), value as string] : value;
  }
  return { options, positionals };
}
