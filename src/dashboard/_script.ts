/**
 * The page's only script, inline and allowed by its hash in the Content-Security-Policy. Every
 * refresh period it fetches the JSON endpoint (this page's URL with `?format=json`, so it works
 * wherever the dashboard is mounted) and updates each figure (`data-f`, in the format `data-fmt`:
 * the same formats as `_format.ts`), each bar and each line (the geometry of `_charts.ts`). It
 * builds no markup from data: figures are set with `textContent`, charts with attributes.
 *
 * @module
 */

/** The script's source. */
export const CLIENT_SCRIPT: string = `
(() => {
  "use strict";
  const body = document.body;
  const every = Number(body.dataset.refresh) || 5000;
  const status = document.getElementById("status");
  const pick = (model, path) =>
    path.split(".").reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), model);
  const formats = {
    int: (v) => (typeof v === "number" ? String(v) : "\\u2013"),
    pct: (v) => (typeof v === "number" ? (v * 100).toFixed(1) + "%" : "\\u2013"),
    ms: (v) => (typeof v === "number" ? v + " ms" : "\\u2013"),
    span: (v) => (typeof v === "number" ? Math.round(v / 1000) + " s" : "\\u2013"),
    text: (v) => (v === null || v === undefined || v === "" ? "\\u2013" : String(v)),
    opt: (v) => (v === null || v === undefined ? "" : String(v)),
  };
  const points = (values, width, height) => {
    const n = values.length;
    const out = [];
    values.forEach((v, i) => {
      if (typeof v !== "number") return;
      const x = n < 2 ? width : (i * width) / (n - 1);
      out.push(x.toFixed(1) + "," + (height - v * height).toFixed(1));
    });
    return out.join(" ");
  };
  const apply = (model) => {
    for (const el of document.querySelectorAll("[data-f]")) {
      el.textContent = (formats[el.dataset.fmt] || formats.int)(pick(model, el.dataset.f));
    }
    const bars = document.querySelectorAll("rect[data-bar]");
    const max = {};
    for (const bar of bars) {
      max[bar.dataset.group] = Math.max(max[bar.dataset.group] || 0, Number(pick(model, bar.dataset.bar)) || 0);
    }
    for (const bar of bars) {
      const value = Number(pick(model, bar.dataset.bar)) || 0;
      const top = max[bar.dataset.group];
      bar.setAttribute("width", top > 0 ? ((value / top) * 100).toFixed(2) : "0");
    }
    for (const line of document.querySelectorAll("polyline[data-series]")) {
      const chart = line.ownerSVGElement.dataset;
      const values = pick(model, line.dataset.series);
      line.setAttribute("points", points(Array.isArray(values) ? values : [], Number(chart.w), Number(chart.h)));
    }
    body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
    status.textContent = "updated " + new Date(model.at).toLocaleTimeString();
  };
  const tick = async () => {
    try {
      const response = await fetch("?format=json", {
        headers: { accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      apply(await response.json());
    } catch (error) {
      status.textContent = "refresh failed: " + (error && error.message ? error.message : String(error));
    }
    setTimeout(tick, every);
  };
  body.dataset.script = "running";
  setTimeout(tick, every);
})();
`;
