/**
 * Inline SVG charts, drawn from the model: a hit-rate line chart and horizontal bars. Each
 * element says which figure it draws (`data-series`, `data-bar` with its `data-group`), so the
 * page's script redraws it from each JSON refresh with the same geometry: a line's points are
 * (i × width / (n − 1), height − rate × height), width and height being the
 * chart's `data-w` and `data-h` (its viewBox has some room around them); a bar's width is its share of its group's
 * largest value, in percent. Colours come from the style sheet (classes), not from attributes.
 *
 * @module
 */
import { type Html, html } from "./_html.ts";

/** Reads the figure at a dotted `path` of `model` (as the page's script does). */
export function pick(model: unknown, path: string): unknown {
  let value: unknown = model;
  for (const key of path.split(".")) {
    value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The points of a polyline for `values` (0–1; null values are left out). */
export function points(values: readonly unknown[], width: number, height: number): string {
  const n = values.length;
  const out: string[] = [];
  values.forEach((v, i) => {
    if (typeof v !== "number") return;
    const x = n < 2 ? width : (i * width) / (n - 1);
    out.push(`${x.toFixed(1)},${(height - v * height).toFixed(1)}`);
  });
  return out.join(" ");
}

const LINE_W = 600;
const LINE_H = 120;
/** Room above 100% and below 0%, so that a line there is not cut in half by the edge. */
const PAD = 6;

/** A line chart of the hit-rate series named by `series` paths (each with a CSS class). */
export function lineChart(model: unknown, series: readonly { path: string; css: string }[], label: string): Html {
  const grid = [0, 0.5, 1].map((r) =>
    html`
      <line class="grid" x1="0" x2="${LINE_W}" y1="${LINE_H - r * LINE_H}" y2="${LINE_H - r * LINE_H}" />
    `
  );
  const lines = series.map((s) => {
    const values = pick(model, s.path);
    return html`
      <polyline class="${s.css}" data-series="${s.path}" points="${points(
        Array.isArray(values) ? values : [],
        LINE_W,
        LINE_H,
      )}" />
    `;
  });
  return html`
    <svg class="line-chart" viewBox="0 ${-PAD} ${LINE_W} ${LINE_H + 2 * PAD}" data-w="${LINE_W}" data-h="${LINE_H}"
      preserveAspectRatio="none" role="img"
      aria-label="${label}">${grid}${lines}</svg>
  `;
}

/** The largest value of each bar group, as the script computes it. */
export function groupMaxima(model: unknown, bars: readonly { path: string; group: string }[]): Map<string, number> {
  const max = new Map<string, number>();
  for (const bar of bars) max.set(bar.group, Math.max(max.get(bar.group) ?? 0, Number(pick(model, bar.path)) || 0));
  return max;
}

/** One bar: the figure at `path`, its group, the group's largest value, and its CSS class. */
export interface BarSpec {
  readonly path: string;
  readonly group: string;
  readonly max: number;
  readonly css: string;
}

/** One horizontal bar for the figure at `spec.path`, scaled to `spec.max` (its group's largest value). */
export function bar(model: unknown, spec: BarSpec): Html {
  const { path, group, max, css } = spec;
  const value = Number(pick(model, path)) || 0;
  const width = max > 0 ? ((value / max) * 100).toFixed(2) : "0";
  return html`
    <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
      <rect class="${css}" data-bar="${path}" data-group="${group}" x="0" y="0" height="10"
        width="${width}" />
    </svg>
  `;
}
