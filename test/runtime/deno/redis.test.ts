/// <reference lib="deno.ns" />
// The TCP store on Deno (ioredis as npm:ioredis, through deno.json's imports).
import { createCache } from "../../../mod.ts";
import { redisStore } from "../../../src/stores/redis.ts";
import { redisScenario } from "../_redis_scenario.ts";

const redisUrl = Deno.env.get("LARDER_TEST_REDIS_URL");
if (!redisUrl) throw new Error("LARDER_TEST_REDIS_URL is not set: run through `npm test -- deno`");

Deno.test("deno: redisStore, miss then hit over TCP", () =>
  redisScenario({ createCache, redisStore }, redisUrl, "deno"));
