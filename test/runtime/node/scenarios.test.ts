// The shared runtime scenarios on Node (vitest), against the local services.
import process from "node:process";
import { describe, it } from "vitest";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { scenarios, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);

describe("runtime scenarios: node", () => {
  for (const scenario of scenarios) {
    it(
      scenario.name,
      () => scenario.run({ lib: { createCache, upstashStore, s3BlobStore }, services, runtime: "node" }),
    );
  }
});
