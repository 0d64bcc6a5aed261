import { redisStore } from "../../src/stores/redis.ts";
import { requireCluster } from "../helpers/services.ts";
import { describeStoreConformance } from "./store.ts";

// The store contract against a real Redis Cluster (3 masters, 3 replicas): the suite's keys have
// no hash tags, so every multi-key operation here crosses slots. Cluster specifics (key spread,
// round trips across shards, failover) are in test/integration/redis_cluster.test.ts.
const urls = requireCluster();
describeStoreConformance("redis-cluster", () => redisStore({ url: urls, cluster: true }), {
  teardown: (store) => (store as ReturnType<typeof redisStore>).close(),
});
