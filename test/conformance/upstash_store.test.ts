import { upstashStore } from "../../src/stores/upstash.ts";
import { requireServices } from "../helpers/services.ts";
import { describeStoreConformance } from "./store.ts";

// The store contract against the real thing: redis-server behind the Upstash REST bridge.
// Adapter specifics (one request per batch, TTL in the SET, abort, errors) are in
// test/integration/upstash_store.test.ts.
const { upstash } = requireServices();
describeStoreConformance("upstash", () => upstashStore({ url: upstash.url, token: upstash.token }));
