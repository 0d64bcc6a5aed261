// The shared runtime scenarios on Bun (`bun test`), against the local services.
import process from "node:process";
import { describe, test } from "bun:test";
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { scenarios, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);

describe("runtime scenarios: bun", () => {
  for (const scenario of scenarios) {
    test(
      scenario.name,
      () => scenario.run({ lib: { createCache, upstashStore, s3BlobStore }, services, runtime: "bun" }),
      30_000,
    );
  }
});
