/**
 * Which metadata store the integration suites run against: `LARDER_TEST_STORE` = `upstash`
 * (default: redis-server behind the Upstash REST bridge), `redis` (the same redis-server over
 * TCP) or `cluster` (the local Redis Cluster over TCP). `npm test` runs the suites once per
 * store (steps `vitest`, `vitest-redis`, `vitest-cluster`). Tests that measure the bridge itself
 * (its request log, its fault rules) register for `upstash` only, through {@link bridgeOnly}.
 *
 * @module
 */
import process from "node:process";
import { afterAll, describe, it } from "vitest";
import type { MetadataStore } from "../../src/core/types.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { requireCluster, requireServices } from "./services.ts";

/** The stores the suites can run against. */
export type StoreKind = "upstash" | "redis" | "cluster";

/** This run's store, from `LARDER_TEST_STORE`. */
export const STORE_KIND: StoreKind = (() => {
  const value = process.env.LARDER_TEST_STORE ?? "upstash";
  if (value !== "upstash" && value !== "redis" && value !== "cluster") {
    throw new Error(`LARDER_TEST_STORE must be upstash, redis or cluster, got ${JSON.stringify(value)}`);
  }
  return value;
})();

const opened: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** A new store of this run's kind on the local services (TCP ones are closed after the file). */
export function testStore(): MetadataStore {
  const services = requireServices();
  if (STORE_KIND === "upstash") return upstashStore(services.upstash);
  const store = STORE_KIND === "redis" ? redisStore({ url: services.redisUrl }) : redisStore({ url: requireCluster() });
  opened.push(store);
  return store;
}

/** The CLI's variables for this run's store. */
export function storeEnv(): Record<string, string> {
  const services = requireServices();
  if (STORE_KIND === "upstash") {
    return { UPSTASH_REDIS_REST_URL: services.upstash.url, UPSTASH_REDIS_REST_TOKEN: services.upstash.token };
  }
  if (STORE_KIND === "redis") return { CACHE_URL: services.redisUrl };
  const [seed] = requireCluster();
  return { CACHE_URL: `${seed}?cluster=true` };
}

/** `it`, registered only when the store is Upstash (the test measures the REST bridge itself). */
export const bridgeOnly: typeof it = (STORE_KIND === "upstash" ? it : () => {}) as typeof it;

/** `describe`, registered only when the store is Upstash. */
export const describeBridgeOnly: typeof describe = (STORE_KIND === "upstash" ? describe : () => {}) as typeof describe;
