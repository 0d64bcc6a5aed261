/**
 * The dashboard's scenarios, run on every runtime (vitest on Node, `deno test`, `bun test`, and
 * inside a Worker in workerd) against the real local services: an operator gets the page with
 * its Content-Security-Policy and JSON figures equal to `cache.stats()`; anyone else a 401; and
 * an action posted the way the page posts it invalidates a tag for another instance. Like
 * _scenarios.ts, this module imports nothing at run time: the harness passes the library in.
 *
 * @module
 */
import type { dashboard as Dashboard } from "../../src/dashboard/dashboard.ts";
import { assert, assertDeepEqual, type Library, type ScenarioContext, servicesCache } from "./_scenarios.ts";

/** What the dashboard scenarios need on top of the core library. */
export interface DashboardLibrary extends Library {
  dashboard: typeof Dashboard;
}

/** A scenario context whose library has `dashboard`. */
export interface DashboardScenarioContext extends ScenarioContext {
  readonly lib: DashboardLibrary;
}

/** One dashboard scenario. */
export interface DashboardScenario {
  readonly name: string;
  run(ctx: DashboardScenarioContext): Promise<void>;
}

const ORIGIN = "https://app.example";
const OPERATOR = { authorization: "Bearer operator" };
const authorize = (request: Request): boolean => request.headers.get("authorization") === OPERATOR.authorization;

function prefixFor(ctx: ScenarioContext, label: string): string {
  return `rt-${ctx.runtime}-dash-${label}-${crypto.randomUUID()}`;
}

/** Checks what an operator and a stranger get, through `fetchPage` (any transport: a direct call or a real server). */
export async function checkAnswers(
  fetchPage: (headers: Record<string, string>, query?: string) => Promise<Response>,
): Promise<{ html: string; model: Record<string, unknown> }> {
  const page = await fetchPage(OPERATOR);
  const html = await page.text();
  assert(page.status === 200, `the operator gets the page (${page.status})`);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]{43}='; style-src 'sha256-/.test(csp), `CSP: ${csp}`);
  assert(csp.includes("connect-src 'self'") && csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
  assert(html.startsWith("<!doctype html>") && html.includes('<svg class="line-chart"'), "an HTML page with charts");
  const json = await fetchPage(OPERATOR, "?format=json");
  assert(json.headers.get("content-type") === "application/json; charset=utf-8", "JSON for ?format=json");
  const model = await json.json() as Record<string, unknown>;
  const refused = await fetchPage({});
  assert(refused.status === 401, `a stranger gets 401 (${refused.status})`);
  assert(refused.headers.get("www-authenticate") === 'Basic realm="larder"', "with the challenge");
  assert(await refused.text() === "Unauthorized\n", "and nothing else");
  return { html, model };
}

const pageAndRefusal: DashboardScenario = {
  name: "dashboard: the operator gets the page with its CSP and JSON equal to stats(); a stranger 401",
  async run(ctx) {
    const cache = servicesCache(ctx, prefixFor(ctx, "page"));
    assert(await cache.set("k", { v: 1 }) === true, "stored");
    await cache.get("k");
    await cache.get("absent");
    const board = ctx.lib.dashboard(cache, { authorize, challenge: 'Basic realm="larder"' });
    const { html, model } = await checkAnswers((headers, query = "") =>
      board.fetch(new Request(`${ORIGIN}/_larder${query}`, { headers }))
    );
    assert(html.includes('data-f="instance.hits.inline" data-fmt="int">1<'), "the page shows the inline hit");
    assertDeepEqual(model.instance, JSON.parse(JSON.stringify(cache.stats())), "the JSON's figures are stats()");
  },
};

const invalidateFromPage: DashboardScenario = {
  name: "dashboard: a post with the page's cookie and token invalidates a tag for another instance",
  async run(ctx) {
    const prefix = prefixFor(ctx, "act");
    const other = servicesCache(ctx, prefix);
    let runs = 0;
    const price = other.wrap(async (sku: string) => ({ sku, run: ++runs }), { name: "price", tags: ["prices"] });
    const count = (): number => runs; // read through a call: assertions narrow a plain variable
    await price("a");
    await other.flush();
    await price("a");
    assert(count() === 1, `a hit before (${runs})`);
    const board = ctx.lib.dashboard(servicesCache(ctx, prefix), { authorize });
    const page = await board.fetch(new Request(`${ORIGIN}/_larder`, { headers: OPERATOR }));
    const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const token = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const send = (csrf: string): Promise<Response> =>
      board.fetch(
        new Request(`${ORIGIN}/_larder`, {
          method: "POST",
          headers: {
            ...OPERATOR,
            cookie,
            origin: ORIGIN,
            "sec-fetch-site": "same-origin",
            "content-type": "application/x-www-form-urlencoded",
          },
          body: new URLSearchParams({ action: "invalidate", kind: "tag", name: "prices", csrf }),
        }),
      );
    const forged = await send(`${token.split(".")[0]}.AAAA`);
    assert(forged.status === 403, `a forged token is refused (${forged.status})`);
    await price("a");
    assert(count() === 1, `still a hit after the refused post (${runs})`);
    const done = await send(token);
    assert(done.status === 200, `the page's post is done (${done.status})`);
    assert((await done.text()).includes("Tag &quot;prices&quot; expired"), "and says so");
    await price("a");
    assert(count() === 2, `the other instance missed (${runs})`);
  },
};

/** Every dashboard scenario, in order. */
export const dashboardScenarios: readonly DashboardScenario[] = [pageAndRefusal, invalidateFromPage];
