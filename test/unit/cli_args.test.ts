import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "../../src/cli/args.ts";

const spec = {
  "dry-run": { type: "boolean" },
  grace: { type: "string" },
  tag: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

const usage = (args: string[]): UsageError => {
  try {
    parseArgs(args, spec, "cmd");
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).command).toBe("cmd");
    return error as UsageError;
  }
  throw new Error(`${args.join(" ")} parsed`);
};

describe("CLI argument parser", () => {
  it("reads flags, values in both forms, repeated options and positionals in order", () => {
    expect(parseArgs(["a", "--dry-run", "--grace", "2h", "--tag=x", "b", "--tag", "y=z", "-h"], spec, "cmd"))
      .toStrictEqual({
        options: { "dry-run": true, grace: "2h", tag: ["x", "y=z"], help: true },
        positionals: ["a", "b"],
      });
  });

  it("takes everything after -- as positionals, and a lone - or a negative number as a positional", () => {
    expect(parseArgs(["--", "--grace", "-h"], spec, "cmd").positionals).toStrictEqual(["--grace", "-h"]);
    expect(parseArgs(["-", "-5"], spec, "cmd").positionals).toStrictEqual(["-", "-5"]);
  });

  it("accepts values that start with a single dash", () => {
    expect(parseArgs(["--tag", "-x"], spec, "cmd").options).toStrictEqual({ tag: ["-x"] });
  });

  it("refuses unknown options, missing or empty values, values on flags and repeated single options", () => {
    expect(usage(["--bogus"]).message).toBe('unknown option --bogus for "cmd"');
    expect(usage(["-x"]).message).toBe('unknown option -x for "cmd"');
    expect(usage(["-xyz"]).message).toBe('unknown option -xyz for "cmd"');
    expect(usage(["--grace"]).message).toBe("option --grace needs a value");
    expect(usage(["--grace", "--dry-run"]).message).toBe("option --grace needs a value");
    expect(usage(["--grace="]).message).toBe("option --grace needs a value");
    expect(usage(["--dry-run=yes"]).message).toBe("option --dry-run does not take a value");
    expect(usage(["--grace", "1h", "--grace=2h"]).message).toBe("option --grace is given more than once");
    expect(usage(["--constructor"]).message).toBe('unknown option --constructor for "cmd"');
  });
});
