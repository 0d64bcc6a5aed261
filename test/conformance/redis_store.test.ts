import { redisStore } from "../../src/stores/redis.ts";
import { requireServices } from "../helpers/services.ts";
import { describeStoreConformance } from "./store.ts";

// The store contract against a real redis-server over TCP (one node). Adapter specifics (round
// trips, NOSCRIPT, URLs and clients, errors) are in test/integration/redis_store.test.ts.
const { redisUrl } = requireServices();
describeStoreConformance("redis", () => redisStore({ url: redisUrl }), {
  teardown: (store) => (store as ReturnType<typeof redisStore>).close(),
});
