// The TCP store on Node, from the built package (as users import it).
import process from "node:process";
import { it } from "vitest";
import { createCache } from "larder";
import { redisStore } from "larder/stores/redis";
import { redisScenario } from "../_redis_scenario.ts";

const redisUrl = process.env.LARDER_TEST_REDIS_URL;
if (!redisUrl) throw new Error("LARDER_TEST_REDIS_URL is not set: run through `npm test -- node`");

it("node: redisStore, miss then hit over TCP", () => redisScenario({ createCache, redisStore }, redisUrl, "node"));
