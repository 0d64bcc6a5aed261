// The response-cache scenarios on Node (vitest): a Hono app through app.request(), and a plain
// fetch handler, against the local services.
import process from "node:process";
import { Hono } from "hono";
import { describe, it } from "vitest";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { cacheHandler } from "larder/http";
import { cacheResponses } from "larder/hono";
import { httpScenarios } from "../_http_scenarios.ts";
import { servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);
const lib = { createCache, upstashStore, s3BlobStore, cacheHandler, cacheResponses, Hono };

describe("response cache scenarios: node", () => {
  for (const scenario of httpScenarios) {
    it(scenario.name, () => scenario.run({ lib, services, runtime: "node" }));
  }
});
