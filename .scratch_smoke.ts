import { createCache } from "./mod.ts";
import { redisStore } from "./src/stores/redis.ts";
import { upstashStore } from "./src/stores/upstash.ts";
const env = process.env;
const kinds = {
  redis: () => redisStore({ url: env.LARDER_TEST_REDIS_URL! }),
  cluster: () => redisStore({ url: env.LARDER_TEST_REDIS_CLUSTER_URLS!.split(",") }),
  upstash: () => upstashStore({ url: env.LARDER_TEST_UPSTASH_URL!, token: env.LARDER_TEST_UPSTASH_TOKEN! }),
};
for (const [kind, make] of Object.entries(kinds)) {
  const prefix = `smoke-${crypto.randomUUID()}`;
  const s1 = make(), s2 = make();
  const reader = createCache({ store: s1, prefix, memory: true, globalStats: false });
  const writer = createCache({ store: s2, prefix, globalStats: false });
  await writer.set("k", "old", { tags: ["t"] });
  await reader.get("k"); await reader.flush(); await reader.get("k"); await reader.flush();
  const t0 = performance.now();
  await writer.set("k", "new", { tags: ["t"] });
  const t1 = performance.now();
  let v; let n = 0;
  do { v = await reader.get("k"); n++; if (v !== "new") await new Promise((r) => setTimeout(r, 1)); } while (v !== "new" && n < 2000);
  const t2 = performance.now();
  await writer.invalidateTag("t");
  const t3 = performance.now();
  do { v = await reader.get("k"); n++; if (v !== undefined) await new Promise((r) => setTimeout(r, 1)); } while (v !== undefined && n < 4000);
  const t4 = performance.now();
  console.log(kind, "set→fresh", (t2 - t1).toFixed(2), "ms", "invalidate→miss", (t4 - t3).toFixed(2), "ms", JSON.stringify(reader.stats().bus), JSON.stringify(writer.stats().bus));
  await (s1 as any).close?.(); await (s2 as any).close?.();
}
process.exit(0);
