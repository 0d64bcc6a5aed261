/**
 * The whole page: header, the answer to an action when there is one, the counter cards, the
 * operator's cards for operators, the style sheet and the script. Server-rendered and complete
 * without the script (forms post without it); the script only keeps the figures fresh.
 *
 * @module
 */
import type { ActionResult } from "./_actions.ts";
import { counterCards } from "./_figures.ts";
import { html, raw } from "./_html.ts";
import type { DashboardModel } from "./_model.ts";
import { actionCard, operatorCards } from "./_operator.ts";
import { CLIENT_SCRIPT } from "./_script.ts";
import { STYLE } from "./_style.ts";

// Built apart from the template, which the formatter reflows: the policy's hashes are of these
// elements' exact contents.
const STYLE_ELEMENT = raw(`<style>${STYLE}</style>`);
const SCRIPT_ELEMENT = raw(`<script>${CLIENT_SCRIPT}</script>`);

/** The page for `model`, with `result` at the top after an action. */
export function renderPage(model: DashboardModel, result?: ActionResult): string {
  const operator = model.scope === "operator";
  const prefix = model.config?.prefix;
  const title = prefix === undefined ? "Larder cache" : `Larder cache — ${prefix}`;
  const page = html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex, nofollow">
        <title>${title}</title>
        <link rel="icon" href="data:,">
        ${STYLE_ELEMENT}
      </head>
      <body data-refresh="${model.refreshMs}" data-scope="${model.scope}">
        <header><h1>${title}</h1>
    <span class="meta">refreshes every ${Math.round(model.refreshMs / 1000)} s · <span id="status">as of ${new Date(
      model.at,
    ).toISOString()}</span></span>
    <span class="meta scope">${operator ? "operator view" : "public counters (read-only)"}</span></header>
        <main>
    ${result ? actionCard(result) : ""}
    ${counterCards(model)}
    ${operator ? operatorCards(model) : ""}
        </main>
        ${SCRIPT_ELEMENT}
      </body>
    </html>
  `;
  return page.text.trimStart();
}
