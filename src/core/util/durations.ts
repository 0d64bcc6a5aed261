/**
 * Durations: milliseconds as a number, or a string such as `"250ms"`, `"90s"`, `"15m"`, `"1h"`,
 * `"7d"`. Anything else is a {@link ConfigError} at configuration time.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** A duration: milliseconds, or a number followed by `ms`, `s`, `m`, `h` or `d`. */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h" | "d"}`;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
/** Redis PX takes a signed 64-bit integer, but anything past ~10 years is a typo, not a TTL. */
const MAX_MS = 10 * 365 * 86_400_000;

/**
 * Converts a duration to whole milliseconds. `what` names the option in the error message.
 * Zero and negative durations are rejected: a TTL or timeout of zero is always a mistake here.
 */
export function toMs(value: unknown, what: string): number {
  let ms: number;
  if (typeof value === "number") {
    ms = value;
  } else if (typeof value === "string") {
    const match = PATTERN.exec(value.trim());
    if (!match) {
      throw new ConfigError(
        `${what}: invalid duration ${
          JSON.stringify(value)
        }; use milliseconds or a string like "90s", "15m", "1h", "7d"`,
      );
    }
    ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  } else {
    throw new ConfigError(`${what}: expected a duration (number of ms or a string like "15m"), got ${typeof value}`);
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigError(`${what}: duration must be positive and finite, got ${String(value)}`);
  }
  if (ms > MAX_MS) {
    throw new ConfigError(`${what}: duration ${String(value)} exceeds the 10-year maximum`);
  }
  return Math.max(1, Math.round(ms));
}
