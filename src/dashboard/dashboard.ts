/**
 * An operator page for a Larder cache, mounted in your own app the way job-queue dashboards
 * are: hit rates of this instance and of every instance sharing the prefix, hits by tier,
 * misses, lookup latency, each backend's breaker and errors, background writes and the
 * configuration in force, refreshed every few seconds; and, for an authorised operator, entry
 * inspection, tag and namespace invalidation, and a cleanup dry run.
 *
 * One server-rendered page with inline SVG charts and one small inline script: no build step,
 * no CDN, no request leaves the origin (it works air-gapped and inside a Worker), and a strict
 * Content-Security-Policy. The dashboard is a fetch handler, `(request) => Promise<Response>`:
 * it answers the same page, its JSON (`?format=json`, or `Accept: application/json`) and its
 * actions (POST) at whatever path it is mounted, so it needs no base path and no framework.
 *
 * - An `authorize` function is required: every request it does not accept gets 401/403 and one
 *   fixed body (or, with `public: "counters"`, the counters alone, read-only).
 * - Actions are POSTs that must come from the page itself: same origin (`Sec-Fetch-Site`,
 *   `Origin`), a `SameSite=Strict` session cookie, and a form token (HMAC of that session).
 *
 * @example Hono (any runtime)
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createCache } from "larder";
 * import { dashboard } from "larder/dashboard";
 *
 * const cache = createCache({ prefix: "myapp" });
 * const board = dashboard(cache, { authorize: (request) => isOperator(request) });
 * const app = new Hono();
 * app.all("/_larder/*", (c) => board.fetch(c.req.raw));
 * ```
 *
 * @example A plain fetch handler (Workers, Deno.serve, Bun.serve)
 * ```ts ignore
 * const board = dashboard(cache, { authorize: (request) => isOperator(request) });
 * Deno.serve((request) =>
 *   new URL(request.url).pathname.startsWith("/_larder") ? board.fetch(request) : app(request)
 * );
 * ```
 *
 * @module
 */
import { accessOf, refusal } from "./_auth.ts";
import { type ActionResult, runAction } from "./_actions.ts";
import { readFields } from "./_body.ts";
import { type Cache, contextOf, type Logger } from "./_core.ts";
import { CsrfGuard } from "./_csrf.ts";
import { baseHeaders, pageSecurityPolicy } from "./_headers.ts";
import { GlobalCounters, Ring, type Sample } from "./_history.ts";
import { buildModel, type DashboardState } from "./_model.ts";
import { type DashboardOptions, resolveDashboardOptions } from "./_options.ts";
import { renderPage } from "./_page.ts";

export type { DashboardOptions } from "./_options.ts";
export type { CounterFigures, DashboardModel, GlobalFigures, RecentFigures } from "./_model.ts";
export type { BackendsView, BackendView, LastError } from "./_health.ts";
export type { ConfigView } from "./_config.ts";
export type { ActionResult } from "./_actions.ts";

/** A mounted dashboard: a fetch handler. */
export interface Dashboard {
  /**
   * Answers one request: the page (GET), its JSON (GET `?format=json` or `Accept:
   * application/json`) or an action (POST), at any path routed to it. Usable unbound, e.g.
   * `Bun.serve({ fetch: board.fetch })`; extra arguments (env, ctx, info) are ignored.
   */
  readonly fetch: (request: Request) => Promise<Response>;
}

/** JSON for `?format=json`, for `Accept: application/json` first, and for an action posted as JSON. */
function wantsJson(request: Request): boolean {
  if (new URL(request.url).searchParams.get("format") === "json") return true;
  if (request.method === "POST" && /^application\/json\b/i.test(request.headers.get("content-type") ?? "")) return true;
  const first = (request.headers.get("accept") ?? "").split(",")[0] ?? "";
  return first.trim().toLowerCase().startsWith("application/json");
}

/** An answer to send: who sees it, its status, and the action's result when it answers one. */
interface Answer {
  readonly scope: "operator" | "counters";
  readonly status: number;
  readonly result?: ActionResult | undefined;
}

async function respond(state: DashboardState, request: Request, answer: Answer): Promise<Response> {
  const { scope, status, result } = answer;
  const issued = scope === "operator" ? await state.csrf.issue(request) : undefined;
  const json = wantsJson(request);
  let body: string;
  if (json && result) {
    body = JSON.stringify(result);
  } else {
    const model = await buildModel(state, scope, issued?.token);
    body = json ? JSON.stringify(model) : renderPage(model, result);
  }
  const headers = json
    ? baseHeaders("application/json; charset=utf-8")
    : baseHeaders("text/html; charset=utf-8", await pageSecurityPolicy());
  headers.set("vary", "accept");
  if (issued?.setCookie !== undefined) headers.append("set-cookie", issued.setCookie);
  return new Response(request.method === "HEAD" ? null : body, { status, headers });
}

async function act(state: DashboardState, request: Request, logger: Logger): Promise<Response> {
  const read = await readFields(request);
  if (!read.ok) {
    return respond(state, request, {
      scope: "operator",
      status: read.status,
      result: failed("", read.status, read.message),
    });
  }
  const fields = read.fields;
  const action = fields.action ?? "";
  const refused = await state.csrf.refuse(request, request.headers.get("x-larder-csrf") ?? fields.csrf);
  if (refused !== undefined) {
    return respond(state, request, { scope: "operator", status: 403, result: failed(action, 403, refused) });
  }
  const result = await runAction(
    { cache: state.cache, prefix: state.options.prefix, showPayload: state.settings.showPayload, logger },
    fields,
  );
  return respond(state, request, { scope: "operator", status: result.status, result });
}

function failed(action: string, status: number, summary: string): ActionResult {
  return { action: action.slice(0, 40), ok: false, status, summary };
}

/**
 * A dashboard for `cache`. Throws a `ConfigError` without an `authorize` function (unless
 * `public: "counters"`), or when `cache` is not a cache made by `createCache`.
 *
 * @example
 * ```ts ignore
 * const board = dashboard(cache, {
 *   authorize: (request) => request.headers.get("authorization") === `Bearer ${ADMIN_TOKEN}`,
 * });
 * app.all("/_larder/*", (c) => board.fetch(c.req.raw)); // Hono
 * ```
 */
export function dashboard(cache: Cache, options: DashboardOptions): Dashboard {
  const ctx = contextOf(cache, "dashboard");
  const settings = resolveDashboardOptions(options);
  const logger = ctx.options.logger;
  const state: DashboardState = {
    cache,
    options: ctx.options,
    settings,
    history: new Ring<Sample>(settings.history),
    global: new GlobalCounters(cache, settings.refreshMs),
    csrf: new CsrfGuard(settings.secret, settings.origins, ctx.options.now),
  };
  const fetch = async (request: Request): Promise<Response> => {
    try {
      const access = await accessOf(settings, request, logger);
      if (access === "refused") return refusal(settings, request.method);
      if (request.method === "GET" || request.method === "HEAD") {
        return await respond(state, request, { scope: access, status: 200 });
      }
      if (request.method !== "POST") {
        const headers = baseHeaders("text/plain; charset=utf-8");
        headers.set("allow", "GET, HEAD, POST");
        return new Response("Method Not Allowed\n", { status: 405, headers });
      }
      // The public counters are read-only: a refused request learns nothing more by posting.
      if (access !== "operator") return refusal(settings, request.method);
      return await act(state, request, logger);
    } catch (error) {
      logger.error("larder dashboard: request failed", {
        error: error instanceof Error ? error.message : String(error),
      });
      return new Response("Internal Server Error\n", {
        status: 500,
        headers: baseHeaders("text/plain; charset=utf-8"),
      });
    }
  };
  return { fetch };
}
