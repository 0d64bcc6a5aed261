// The dashboard scenarios on Bun, and the dashboard served by Bun.serve, against the local services.
import process from "node:process";
import { describe, test } from "bun:test";
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { dashboard } from "../../../src/dashboard/dashboard.ts";
import { checkAnswers, dashboardScenarios } from "../_dashboard_scenarios.ts";
import { servicesCache, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);
const lib = { createCache, upstashStore, s3BlobStore, dashboard };

describe("dashboard scenarios: bun", () => {
  for (const scenario of dashboardScenarios) {
    test(scenario.name, () => scenario.run({ lib, services, runtime: "bun" }), 30_000);
  }

  test("bun: the dashboard as Bun.serve's fetch", async () => {
    const cache = servicesCache({ lib, services, runtime: "bun" }, `rt-bun-dash-serve-${crypto.randomUUID()}`);
    const board = dashboard(cache, {
      authorize: (request) => request.headers.get("authorization") === "Bearer operator",
      challenge: 'Basic realm="larder"',
    });
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: board.fetch });
    try {
      const base = `http://127.0.0.1:${server.port}/_larder`;
      await checkAnswers((headers, query = "") => fetch(`${base}${query}`, { headers }));
    } finally {
      server.stop(true);
    }
  }, 30_000);
});
