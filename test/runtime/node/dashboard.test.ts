// The dashboard scenarios on Node (vitest), and the dashboard mounted in a Hono app served by
// @hono/node-server, against the local services.
import type { AddressInfo } from "node:net";
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { describe, it } from "vitest";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { dashboard } from "larder/dashboard";
import { checkAnswers, dashboardScenarios } from "../_dashboard_scenarios.ts";
import { servicesCache, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);
const lib = { createCache, upstashStore, s3BlobStore, dashboard };

describe("dashboard scenarios: node", () => {
  for (const scenario of dashboardScenarios) {
    it(scenario.name, () => scenario.run({ lib, services, runtime: "node" }));
  }

  it("node: mounted with app.all() in a Hono app on @hono/node-server", async () => {
    const cache = servicesCache({ lib, services, runtime: "node" }, `rt-node-dash-serve-${crypto.randomUUID()}`);
    const board = dashboard(cache, {
      authorize: (request) => request.headers.get("authorization") === "Bearer operator",
      challenge: 'Basic realm="larder"',
    });
    const app = new Hono();
    app.all("/_larder/*", (c) => board.fetch(c.req.raw));
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_larder`;
      await checkAnswers((headers, query = "") => fetch(`${base}${query}`, { headers }));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
