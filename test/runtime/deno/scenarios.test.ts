/// <reference lib="deno.ns" />
// The shared runtime scenarios on Deno (`deno test`), against the local services. Imports the
// library's source through deno.json's exports, as `deno publish` ships it.
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { scenarios, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(Deno.env.toObject());

for (const scenario of scenarios) {
  Deno.test({
    name: `deno: ${scenario.name}`,
    fn: () => scenario.run({ lib: { createCache, upstashStore, s3BlobStore }, services, runtime: "deno" }),
  });
}
