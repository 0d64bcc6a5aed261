/**
 * The README's figure, as a self-contained SVG drawn here (no browser, no plotting library):
 * hit latency per size and tier (query rows) against its floor on loopback (log scale), and the S3 hit
 * against the sequential record-then-blob path under the farthest latency scenario.
 *
 * @module
 */
import type { BenchResults } from "./_targets.ts";

interface Bar {
  readonly value: number;
  readonly color: string;
  /** A floor drawn as a tick across the bar. */
  readonly floor?: number;
}

interface Panel {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly groups: readonly { readonly label: string; readonly bars: readonly Bar[] }[];
  readonly log: boolean;
  readonly legend: readonly { readonly label: string; readonly color: string }[];
}

const FONT = `font-family="system-ui, -apple-system, Segoe UI, sans-serif"`;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function label(value: number): string {
  if (value === 0) return "0";
  if (value < 1) return `${+(value * 1000).toPrecision(2)} µs`;
  return `${+value.toPrecision(3)} ms`;
}

function panel(p: Panel): string {
  const values = p.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.floor ?? b.value])).filter((v) => v > 0);
  const top = Math.max(...values);
  const plot = { x: p.x + 56, y: p.y + 40, w: p.width - 70, h: p.height - 100 };
  let ticks: number[];
  let scale: (v: number) => number;
  if (p.log) {
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(top));
    ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    scale = (v) => plot.y + plot.h - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plot.h;
  } else {
    const step = 10 ** Math.floor(Math.log10(top / 2));
    const max = Math.ceil(top / step) * step;
    ticks = Array.from({ length: Math.round(max / step) + 1 }, (_, i) => i * step);
    scale = (v) => plot.y + plot.h - (v / max) * plot.h;
  }
  const out: string[] = [
    `<text x="${p.x + p.width / 2}" y="${p.y + 20}" text-anchor="middle" font-size="15" font-weight="600" ${FONT}>${
      esc(p.title)
    }</text>`,
  ];
  for (const t of ticks) {
    const y = scale(t).toFixed(1);
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(
      `<text x="${plot.x - 6}" y="${y}" dy="4" text-anchor="end" font-size="11" fill="#555" ${FONT}>${
        esc(label(t))
      }</text>`,
    );
  }
  const groupWidth = plot.w / p.groups.length;
  p.groups.forEach((group, gi) => {
    const barWidth = Math.min(34, (groupWidth - 20) / group.bars.length);
    const start = plot.x + gi * groupWidth + (groupWidth - barWidth * group.bars.length) / 2;
    group.bars.forEach((bar, bi) => {
      if (!(bar.value > 0)) return;
      const x = start + bi * barWidth;
      const y = scale(bar.value);
      out.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${
          (plot.y + plot.h - y).toFixed(1)
        }" fill="${bar.color}"><title>${esc(label(bar.value))}</title></rect>`,
      );
      if (bar.floor !== undefined && bar.floor > 0) {
        const fy = scale(bar.floor).toFixed(1);
        out.push(`<line x1="${x}" x2="${x + barWidth}" y1="${fy}" y2="${fy}" stroke="#111" stroke-width="2.5"/>`);
      }
    });
    out.push(
      `<text x="${plot.x + (gi + 0.5) * groupWidth}" y="${
        plot.y + plot.h + 18
      }" text-anchor="middle" font-size="12" ${FONT}>${esc(group.label)}</text>`,
    );
  });
  out.push(
    `<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h}" stroke="#333"/>`,
  );
  let lx = plot.x;
  const ly = p.y + p.height - 28;
  for (const item of p.legend) {
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${item.color}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly + 10}" font-size="11" ${FONT}>${esc(item.label)}</text>`);
    lx += 24 + item.label.length * 6.2;
  }
  return out.join("\n");
}

const COLORS = {
  memory: "#2a9d8f",
  shared: "#8ab17d",
  inline: "#457b9d",
  s3: "#e76f51",
  fresh: "#f4a261",
  sequential: "#9e9e9e",
};

/** The figure for `r`. */
export function renderPlot(r: BenchResults): string {
  const loop = r.hits[r.scenarios[0]!.name]!;
  const far = r.scenarios[r.scenarios.length - 1]!;
  const farHits = r.hits[far.name]!;
  const decode = (size: string): number => loop[size]!.decode?.p50 ?? 0;
  // The query rows (the order records are in the tables).
  const rows = r.sizes.filter((s) => s.shape === "rows");
  const left = panel({
    x: 0,
    y: 0,
    width: 560,
    height: 380,
    title: "Hit latency p50, loopback (log scale)",
    log: true,
    groups: rows.map(({ label: size }) => {
      const h = loop[size]!;
      return {
        label: size,
        bars: [
          { value: r.memory[size]!.memory!.p50, color: COLORS.memory, floor: r.memory[size]!["decode raw"]!.p50 },
          ...r.memory[size]!.shared ? [{ value: r.memory[size]!.shared!.p50, color: COLORS.shared }] : [],
          { value: h.inline!.p50, color: COLORS.inline, floor: h["get inline record"]!.p50 + decode(size) },
          {
            value: h.s3!.p50,
            color: COLORS.s3,
            floor: Math.max(h["get s3 record"]!.p50, h["get s3 object"]!.p50) + decode(size),
          },
        ],
      };
    }),
    legend: [
      { label: "in-process", color: COLORS.memory },
      { label: "shared", color: COLORS.shared },
      { label: "inline (Redis)", color: COLORS.inline },
      { label: "S3", color: COLORS.s3 },
      { label: "— floor + decode", color: "#111" },
    ],
  });
  const right = panel({
    x: 580,
    y: 0,
    width: 560,
    height: 380,
    title: `S3 hit p50, ${far.name}`,
    log: false,
    groups: rows.map(({ label: size }) => {
      const h = farHits[size]!;
      const rec = h["get s3 record"]!.p50;
      const obj = h["get s3 object"]!.p50;
      return {
        label: size,
        bars: [
          { value: h.s3!.p50, color: COLORS.s3, floor: Math.max(rec, obj) + decode(size) },
          { value: h["s3 fresh"]!.p50, color: COLORS.fresh },
          { value: rec + obj + decode(size), color: COLORS.sequential },
        ],
      };
    }),
    legend: [
      { label: "Larder (concurrent)", color: COLORS.s3 },
      { label: "new instance (sequential)", color: COLORS.fresh },
      { label: "record then blob, computed", color: COLORS.sequential },
    ],
  });
  const m = r.machine;
  const caption = `Larder ${m.commit}${m.dirty ? "+" : ""} · Node ${m.node} · ${m.cpu} · ${m.cores} cores · ${
    m.date.slice(0, 10)
  }`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1140" height="410" viewBox="0 0 1140 410">`,
    `<rect width="1140" height="410" fill="#fff"/>`,
    left,
    right,
    `<text x="570" y="402" text-anchor="middle" font-size="10" fill="#777" ${FONT}>${esc(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
