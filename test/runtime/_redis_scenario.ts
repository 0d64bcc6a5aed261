/**
 * The TCP store on each runtime (Node, Bun, Deno; not workerd: no TCP client there): a miss
 * then a hit through `redisStore({ url })` against the local redis-server, a value whose types
 * survive, and `close()` letting the process end. Imports nothing at run time: each harness
 * passes in the library.
 *
 * @module
 */
import type { Cache, CacheOptions } from "../../mod.ts";
import type { RedisStore, RedisStoreOptions } from "../../src/stores/redis.ts";

/** What a harness passes in. */
export interface RedisLibrary {
  createCache(options?: CacheOptions): Cache;
  redisStore(options: RedisStoreOptions): RedisStore;
}

/** Runs the scenario; throws on the first wrong result. */
export async function redisScenario(lib: RedisLibrary, redisUrl: string, runtime: string): Promise<void> {
  const store = lib.redisStore({ url: `${redisUrl}/0` });
  try {
    const cache = lib.createCache({ store, prefix: `rt-redis-${runtime}-${crypto.randomUUID()}`, globalStats: false });
    let runs = 0;
    const report = cache.wrap(async (year: number) => {
      runs++;
      return { year, at: new Date(Date.UTC(year, 0, 1)), rows: new Map([["eu", 1n]]) };
    }, { name: "report" });
    const first = await report(2024);
    await cache.flush();
    const second = await report(2024);
    const stats = cache.stats();
    if (runs !== 1 || stats.misses !== 1 || stats.hits.inline !== 1) {
      throw new Error(
        `${runtime}: expected a miss then an inline hit, got ${runs} runs, ${JSON.stringify(stats.hits)}`,
      );
    }
    if (!(second.at instanceof Date) || second.at.getTime() !== first.at.getTime() || second.rows.get("eu") !== 1n) {
      throw new Error(`${runtime}: the hit did not return the value that was stored`);
    }
  } finally {
    await store.close();
  }
}
