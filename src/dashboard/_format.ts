/**
 * How figures are written on the page. The page's script (`_script.ts`) has the same formats
 * under the same names, so a figure reads the same before and after a refresh: change both.
 *
 * @module
 */

/** Formats by name, as `data-fmt` names them. */
export const FORMATS: Readonly<Record<string, (value: unknown) => string>> = {
  /** A count, as it is (no separators: what the JSON says). */
  int: (v) => typeof v === "number" ? String(v) : "–",
  /** A ratio as a percentage with one decimal. */
  pct: (v) => typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "–",
  /** Milliseconds. */
  ms: (v) => typeof v === "number" ? `${v} ms` : "–",
  /** A time span in whole seconds. */
  span: (v) => typeof v === "number" ? `${Math.round(v / 1000)} s` : "–",
  /** Text, a dash when empty. */
  text: (v) => v === null || v === undefined || v === "" ? "–" : String(v),
  /** Text, nothing when empty. */
  opt: (v) => v === null || v === undefined ? "" : String(v),
};

/** `value` in the format `name`. */
export function format(name: string, value: unknown): string {
  return (FORMATS[name] ?? FORMATS.int!)(value);
}

/** A duration in ms as people write it: `250ms`, `15s`, `1h 30m`, `7d`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000], ["ms", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

/** Bytes with a readable size beside: `32768 B (32.8 kB)`. */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${n} B (${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]})`;
}
