/**
 * Human-readable numbers for the CLI's output: sizes, counts, times and durations.
 *
 * @module
 */

/** `1234567` → `1.2 MB` (powers of 1000, as disks and buckets are billed). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `1234567` → `1,234,567`; fractions are shown as they are (`0.25`). */
export function count(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n);
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `93_000` → `1m 33s`; `-5000` → `-5s`. */
export function duration(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  let s = Math.round(Math.abs(ms) / 1000);
  if (s === 0) return `${sign}${Math.round(Math.abs(ms))}ms`;
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return sign + parts.slice(0, 2).join(" ");
}

/** An instant as ISO 8601 with its distance from `now`: `2024-05-01T12:00:00.000Z (5m ago)`. */
export function instant(ms: number, now: number): string {
  const delta = ms - now;
  return `${new Date(ms).toISOString()} (${delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`})`;
}

/** Aligned `name  value` lines. */
export function table(rows: readonly (readonly [string, string])[], indent = ""): string {
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${indent}${name.padEnd(width)}  ${value}\n`).join("");
}

/** Any JSON-like value as `a.b.c  value` rows, for results whose shape the CLI does not know. */
export function flatten(value: unknown, path = ""): [string, string][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return path ? [[path, "{}"]] : [];
    return entries.flatMap(([key, inner]) => flatten(inner, path ? `${path}.${key}` : key));
  }
  const text = typeof value === "number" ? count(value) : typeof value === "string" ? value : JSON.stringify(value);
  return [[path || "value", text ?? String(value)]];
}
