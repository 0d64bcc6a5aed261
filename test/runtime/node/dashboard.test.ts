// The dashboard scenarios on Node (vitest), and the dashboard served by @hono/node-server in each
// of the ways the README gives: app.all() in a Hono app, app.mount(), hono/mount's mount(), and
// as the server's own fetch. Against the local services.
import type { AddressInfo } from "node:net";
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { mount } from "hono/mount";
import { describe, it } from "vitest";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { type Dashboard, dashboard } from "larder/dashboard";
import { checkAnswers, dashboardScenarios } from "../_dashboard_scenarios.ts";
import { servicesCache, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);
const lib = { createCache, upstashStore, s3BlobStore, dashboard };

type Fetch = (request: Request) => Response | Promise<Response>;

/** The README's ways of serving a dashboard on Node, each under `/_larder`. */
const MOUNTS: Record<string, (board: Dashboard) => Fetch> = {
  "app.all": (board) => new Hono().all("/_larder/*", (c) => board.fetch(c.req.raw)).fetch,
  "app.mount": (board) => new Hono().mount("/_larder", board.fetch).fetch,
  "hono/mount": (board) => new Hono().all("/_larder/*", mount(board.fetch)).fetch,
  "its own server": (board) => board.fetch,
};

describe("dashboard scenarios: node", () => {
  for (const scenario of dashboardScenarios) {
    it(scenario.name, () => scenario.run({ lib, services, runtime: "node" }));
  }

  for (const [how, handler] of Object.entries(MOUNTS)) {
    it(`node: served by @hono/node-server, ${how}`, async () => {
      const cache = servicesCache({ lib, services, runtime: "node" }, `rt-node-dash-serve-${crypto.randomUUID()}`);
      const board = dashboard(cache, {
        authorize: (request) => request.headers.get("authorization") === "Bearer operator",
        challenge: 'Basic realm="larder"',
      });
      const server = serve({ fetch: handler(board), hostname: "127.0.0.1", port: 0 });
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_larder`;
        await checkAnswers((headers, query = "") => fetch(`${base}${query}`, { headers }));
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});
