/**
 * The page's style sheet, inline (no request leaves the page) and allowed by its hash in the
 * Content-Security-Policy: any change here changes the hash, computed at run time.
 *
 * @module
 */

/** The style sheet. */
export const STYLE: string = `
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa;
  --inst: #2563eb; --glob: #d97706; --miss: #9aa5b1; --ok: #0f766e; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; padding: 14px 20px; background: #102a43; color: #f0f4f8; }
header h1 { margin: 0; font-size: 18px; }
header .meta { color: #bcccdc; }
header .scope { margin-left: auto; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 14px; padding: 14px 20px 24px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 8px; font-size: 15px; }
h3 { margin: 10px 0 4px; font-size: 13px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
tbody th { white-space: nowrap; }
th.num { text-align: right; }
thead th { color: var(--muted); font-weight: 500; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.barcell { width: 30%; }
table.kv th { width: 38%; font-weight: 500; color: var(--muted); white-space: normal; }
table.kv td { overflow-wrap: anywhere; }
svg.bar { display: block; width: 100%; height: 12px; background: var(--bg); }
.hit-i { fill: var(--inst); } .hit-g { fill: var(--glob); } .miss { fill: var(--miss); }
.stats { display: flex; flex-wrap: wrap; gap: 10px 40px; margin-bottom: 8px; }
.stat .big { font-size: 30px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat.inst .big { color: var(--inst); } .stat.glob .big { color: var(--glob); }
.stat .label, .stat .sub, .legend, .note { color: var(--muted); }
svg.line-chart { display: block; width: 100%; height: 140px; background: var(--bg); border-radius: 4px; }
svg.line-chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
svg.line-chart .grid { stroke: var(--line); vector-effect: non-scaling-stroke; }
.line-i { stroke: var(--inst); } .line-g { stroke: var(--glob); stroke-dasharray: 6 4; }
.key-i { color: var(--inst); } .key-g { color: var(--glob); }
td.error, .sub.error { color: var(--bad); } .fix { color: var(--ink); }
form { margin: 0 0 10px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
label { display: inline-block; margin: 2px 10px 4px 0; color: var(--muted); }
input, select, button { font: inherit; padding: 3px 6px; }
button { background: #102a43; color: #fff; border: 0; border-radius: 4px; padding: 4px 12px; cursor: pointer; }
.result.ok { border-left: 4px solid var(--ok); } .result.failed { border-left: 4px solid var(--bad); }
.summary { font-weight: 600; overflow-wrap: anywhere; }
pre.value { max-height: 320px; overflow: auto; background: var(--bg); padding: 8px; }
code { font-size: 12px; }
`;
