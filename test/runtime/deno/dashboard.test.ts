/// <reference lib="deno.ns" />
// The dashboard scenarios on Deno, and the dashboard served by Deno.serve, against the local services.
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { dashboard } from "../../../src/dashboard/dashboard.ts";
import { checkAnswers, dashboardScenarios } from "../_dashboard_scenarios.ts";
import { servicesCache, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(Deno.env.toObject());
const lib = { createCache, upstashStore, s3BlobStore, dashboard };

for (const scenario of dashboardScenarios) {
  Deno.test({ name: `deno: ${scenario.name}`, fn: () => scenario.run({ lib, services, runtime: "deno" }) });
}

Deno.test("deno: the dashboard as Deno.serve's handler", async () => {
  const cache = servicesCache({ lib, services, runtime: "deno" }, `rt-deno-dash-serve-${crypto.randomUUID()}`);
  const board = dashboard(cache, {
    authorize: (request) => request.headers.get("authorization") === "Bearer operator",
    challenge: 'Basic realm="larder"',
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, board.fetch);
  try {
    const base = `http://127.0.0.1:${server.addr.port}/_larder`;
    await checkAnswers((headers, query = "") => fetch(`${base}${query}`, { headers }));
  } finally {
    await server.shutdown();
  }
});
