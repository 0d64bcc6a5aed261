/**
 * The dashboard part of the workerd suite's Worker, with `larder/dashboard` from the packed
 * package:
 *
 * - `GET /dashboard-scenarios` and `GET /dashboard-scenario?name=…`: the shared dashboard
 *   scenarios (test/runtime/_dashboard_scenarios.ts), run inside workerd;
 * - `/_larder…`: a dashboard as this Worker's fetch handler, on a cache of the local services,
 *   for the operator `Bearer operator` (401 with a Basic challenge for anyone else).
 */
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { type Dashboard, dashboard } from "larder/dashboard";
import { dashboardScenarios } from "../../../_dashboard_scenarios.ts";
import { servicesFromEnv } from "../../../_scenarios.ts";

type Env = Record<string, string>;
const lib = { createCache, upstashStore, s3BlobStore, dashboard };
const json = (body: unknown, status = 200): Response => Response.json(body, { status });

/** Made on the first request: Workers allow no I/O or random values in global scope. */
let board: Dashboard | undefined;
function boardFor(env: Env): Dashboard {
  if (!board) {
    const services = servicesFromEnv(env);
    const cache = createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix: `workerd-dashboard-${crypto.randomUUID()}`,
    });
    board = dashboard(cache, {
      authorize: (request) => request.headers.get("authorization") === "Bearer operator",
      challenge: 'Basic realm="larder"',
    });
  }
  return board;
}

/** Answers the dashboard routes; undefined for other paths. */
export async function handleDashboard(request: Request, env: Env): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (url.pathname === "/dashboard-scenarios") return json(dashboardScenarios.map((s) => s.name));
  if (url.pathname === "/dashboard-scenario") {
    const name = url.searchParams.get("name");
    const found = dashboardScenarios.find((s) => s.name === name);
    if (!found) return json({ error: `no scenario ${name}` }, 404);
    await found.run({ lib, services: servicesFromEnv(env), runtime: "workerd" });
    return json({ ok: true });
  }
  if (url.pathname === "/_larder" || url.pathname.startsWith("/_larder/")) return await boardFor(env).fetch(request);
  return undefined;
}
