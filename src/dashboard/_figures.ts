/**
 * The counter cards of the page, shown to operators and to the public counters scope alike:
 * hit rate (this instance and every instance, recent and since start, with its chart), hits by
 * tier and misses, lookup latency, and background writes. Every figure is an element that names
 * its place in the model (`data-f`) and its format (`data-fmt`), so the script can refresh it.
 *
 * @module
 */
import { bar, groupMaxima, lineChart, pick } from "./_charts.ts";
import { format } from "./_format.ts";
import { type Html, html } from "./_html.ts";
import type { DashboardModel } from "./_model.ts";

/** A figure of the model, refreshed by the script. */
export function fig(model: DashboardModel, path: string, fmt = "int"): Html {
  return html`<span data-f="${path}" data-fmt="${fmt}">${format(fmt, pick(model, path))}</span>`;
}

function hitRateCard(m: DashboardModel): Html {
  return html`<section class="card wide" id="hit-rate">
<h2>Hit rate</h2>
<div class="stats">
<div class="stat inst"><div class="label">This instance, last ${fig(m, "recent.spanMs", "span")}</div>
<div class="big">${fig(m, "recent.instance.hitRate", "pct")}</div>
<div class="sub">${fig(m, "recent.instance.lookups")} lookups; since start ${
    fig(m, "instance.hitRate", "pct")
  }</div></div>
<div class="stat glob"><div class="label">All instances, last ${fig(m, "recent.spanMs", "span")}</div>
<div class="big">${fig(m, "recent.global.hitRate", "pct")}</div>
<div class="sub">${fig(m, "recent.global.lookups")} lookups; since start ${fig(m, "global.hitRate", "pct")}</div>
${m.scope === "operator" ? html`<div class="sub error">${fig(m, "global.error", "opt")}</div>` : ""}</div>
</div>
${
    lineChart(
      m,
      [{ path: "series.global", css: "line-g" }, { path: "series.instance", css: "line-i" }],
      "Hit rate per refresh period",
    )
  }
<p class="legend"><span class="key-i">■</span> this instance <span class="key-g">■</span> all instances (shared counters, published every interval) — one point per refresh period, 0–100%</p>
</section>`;
}

const TIERS = [
  ["memory", "hits.memory"],
  ["inline", "hits.inline"],
  ["blob", "hits.blob"],
  ["misses", "misses"],
] as const;

function tiersCard(m: DashboardModel): Html {
  const bars = TIERS.flatMap(([, path]) => [
    { path: `instance.${path}`, group: "tiers-i" },
    { path: `global.${path}`, group: "tiers-g" },
  ]);
  const max = groupMaxima(m, bars);
  const rows = TIERS.map(([label, path]) =>
    html`
      <tr>
        <th>${label}</th>
        <td class="barcell">${bar(m, {
          path: `instance.${path}`,
          group: "tiers-i",
          max: max.get("tiers-i") ?? 0,
          css: label === "misses" ? "miss" : "hit-i",
        })}</td>
        <td class="num">${fig(m, `instance.${path}`)}</td>
        <td class="barcell">${bar(m, {
          path: `global.${path}`,
          group: "tiers-g",
          max: max.get("tiers-g") ?? 0,
          css: label === "misses" ? "miss" : "hit-g",
        })}</td>
        <td class="num">${fig(m, `global.${path}`)}</td>
      </tr>
    `
  );
  return html`
    <section class="card" id="tiers">
      <h2>Hits by tier, and misses</h2>
      <table class="bars">
        <thead>
          <tr>
            <th></th>
            <th colspan="2">this instance</th>
            <th colspan="2">all instances</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </section>
  `;
}

function latencyCard(m: DashboardModel): Html {
  const quantiles = ["p50", "p95", "p99", "max"] as const;
  const bars = quantiles.flatMap((q) => [
    { path: `instance.latency.hit.${q}`, group: "lat" },
    { path: `instance.latency.miss.${q}`, group: "lat" },
  ]);
  const max = groupMaxima(m, bars).get("lat") ?? 0;
  const rows = quantiles.map((q) =>
    html`
      <tr>
        <th>${q}</th>
        <td class="barcell">${bar(m, { path: `instance.latency.hit.${q}`, group: "lat", max, css: "hit-i" })}</td>
        <td class="num">${fig(m, `instance.latency.hit.${q}`, "ms")}</td>
        <td class="barcell">${bar(m, { path: `instance.latency.miss.${q}`, group: "lat", max, css: "miss" })}</td>
        <td class="num">${fig(m, `instance.latency.miss.${q}`, "ms")}</td>
      </tr>
    `
  );
  return html`
    <section class="card" id="latency">
      <h2>Lookup latency, this instance</h2>
      <table class="bars">
        <thead>
          <tr>
            <th></th>
            <th colspan="2">hits (${fig(m, "instance.latency.hit.count")})</th>
            <th colspan="2">misses (${fig(m, "instance.latency.miss.count")})</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </section>
  `;
}

function writesCard(m: DashboardModel): Html {
  const row = (label: string, inst: string, glob: string | null): Html =>
    html`
      <tr>
        <th>${label}</th>
        <td class="num">${fig(m, inst)}</td>
        <td class="num">${glob === null ? "" : fig(m, glob)}</td>
      </tr>
    `;
  return html`
    <section class="card" id="writes">
      <h2>Background writes</h2>
      <table>
        <thead>
          <tr>
            <th></th>
            <th class="num">this instance</th>
            <th class="num">all instances</th>
          </tr>
        </thead>
        <tbody>
    ${row("stored", "instance.writes.ok", "global.writes.ok")}
    ${row("failed", "instance.writes.failed", "global.writes.failed")}
    ${row("skipped", "instance.writes.skipped", "global.writes.skipped")}
    ${row("discarded", "instance.writes.discarded", "global.writes.discarded")}
    ${row("pending", "instance.writes.pending", null)}
        </tbody>
      </table>
    </section>
  `;
}

/** The counter cards. */
export function counterCards(m: DashboardModel): Html {
  return html`${hitRateCard(m)}${tiersCard(m)}${latencyCard(m)}${writesCard(m)}`;
}
