import { describe, expect, it } from "vitest";
import { toMs } from "../../src/core/util/durations.ts";
import { ConfigError } from "../../src/core/errors.ts";

describe("toMs", () => {
  it.each([
    [1500, 1500],
    ["250ms", 250],
    ["90s", 90_000],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["7d", 604_800_000],
    ["1.5h", 5_400_000],
    [" 2m ", 120_000],
  ])("%j → %i ms", (input, expected) => {
    expect(toMs(input, "ttl")).toBe(expected);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, "", "15", "15 minutes", "1w", "-1h", "h", null, {}, "11000d"])(
    "rejects %j with a ConfigError naming the option",
    (input) => {
      expect(() => toMs(input, "wrap(report): ttl")).toThrow(ConfigError);
      expect(() => toMs(input, "wrap(report): ttl")).toThrow(/wrap\(report\): ttl/);
    },
  );
});
