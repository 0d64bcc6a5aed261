// The TCP store on Bun.
import process from "node:process";
import { test } from "bun:test";
import { createCache } from "../../../mod.ts";
import { redisStore } from "../../../src/stores/redis.ts";
import { redisScenario } from "../_redis_scenario.ts";

const redisUrl = process.env.LARDER_TEST_REDIS_URL;
if (!redisUrl) throw new Error("LARDER_TEST_REDIS_URL is not set: run through `npm test -- bun`");

test(
  "bun: redisStore, miss then hit over TCP",
  () => redisScenario({ createCache, redisStore }, redisUrl, "bun"),
  30_000,
);
