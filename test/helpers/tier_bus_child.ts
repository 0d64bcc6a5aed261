/**
 * One "instance" of an application for the tiers' bus suite (test/integration/tier_bus.test.ts):
 * its own process, its own `createCache` with an in-process tier on the shared local services,
 * talking to the test over IPC.
 *
 * Its one argument is a JSON {@link BusChildConfig}. On `warm` it reads a key until its tier
 * serves it; on `watch` it reads the key every millisecond or so until it gets the fresh answer
 * (or `giveUpMs` passes), and reports when it last got the old value and when it first got the
 * fresh one, by the machine's wall clock (`performance.timeOrigin + performance.now()`, which the
 * test compares with the time its change returned). Before each read it lets its event loop handle
 * what arrived (a `setImmediate` after the timer), so a message already on its socket is applied
 * first: what is measured is the bus, not this process waiting for a CPU. It exits with the test.
 *
 * @module
 */
import process from "node:process";
import { performance } from "node:perf_hooks";
import { createCache } from "../../mod.ts";
import type { MetadataStore } from "../../src/core/types.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { recordingLogger } from "./chaos.ts";
import { requireCluster, requireServices } from "./services.ts";

/** What the test tells a child. */
export interface BusChildConfig {
  /** Name of this child in results. */
  readonly id: string;
  /** Which store: plain Redis over TCP, the Redis Cluster, or Upstash (the REST bridge). */
  readonly store: "redis" | "cluster" | "upstash";
  /** Cache prefix, shared with the test's own cache. */
  readonly prefix: string;
  /** The tier's TTL, ms (the bound without a bus). */
  readonly memoryTtlMs: number;
}

/** Messages to a child. */
export type BusChildCommand =
  | { readonly type: "warm"; readonly key: string }
  | { readonly type: "watch"; readonly key: string; readonly old: string; readonly giveUpMs: number }
  | { readonly type: "stats" };

/** Messages from a child. */
export type BusChildMessage =
  | { readonly type: "ready" }
  | { readonly type: "warmed"; readonly key: string }
  | { readonly type: "watching"; readonly key: string }
  | {
    readonly type: "watched";
    readonly key: string;
    /** When the last read that still got the old value started (wall clock, ms); null when none did. */
    readonly lastOldAt: number | null;
    /** When the first read that got the fresh answer started; null when it never came. */
    readonly freshAt: number | null;
    /** What the fresh answer was (the new value, or undefined for a delete or an invalidation). */
    readonly fresh: unknown;
    readonly reads: number;
  }
  | { readonly type: "stats"; readonly bus: unknown; readonly hits: unknown; readonly elapsedMs: number }
  | { readonly type: "failed"; readonly error: string };

const send = (message: BusChildMessage): Promise<void> =>
  new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
const wall = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const turn = () => new Promise((resolve) => setImmediate(resolve));

function storeOf(kind: BusChildConfig["store"]): MetadataStore {
  const services = requireServices();
  if (kind === "redis") return redisStore({ url: services.redisUrl });
  if (kind === "cluster") return redisStore({ url: requireCluster() });
  return upstashStore(services.upstash);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as BusChildConfig;
  const cache = createCache({
    store: storeOf(config.store),
    prefix: config.prefix,
    memory: { ttl: config.memoryTtlMs },
    logger: recordingLogger(),
    globalStats: false,
  });
  const started = performance.now();
  process.on("message", (command: BusChildCommand) => {
    void handle(command).catch((error) => send({ type: "failed", error: String(error) }));
  });
  process.on("disconnect", () => process.exit(0));

  async function handle(command: BusChildCommand): Promise<void> {
    if (command.type === "warm") {
      // Until this tier serves it (a store hit keeps it; the first read of a polled bus may not).
      for (let i = 0; i < 200; i++) {
        const before = cache.stats().hits.memory;
        await cache.get(command.key);
        if (cache.stats().hits.memory > before) return send({ type: "warmed", key: command.key });
        await sleep(5);
      }
      throw new Error(`${command.key} never reached the tier`);
    }
    if (command.type === "watch") {
      await send({ type: "watching", key: command.key });
      const until = wall() + command.giveUpMs;
      let lastOldAt: number | null = null;
      let reads = 0;
      while (wall() < until) {
        await sleep(1);
        await turn();
        const at = wall();
        const value = await cache.get(command.key);
        reads++;
        if (value !== command.old) {
          return send({ type: "watched", key: command.key, lastOldAt, freshAt: at, fresh: value, reads });
        }
        lastOldAt = at;
      }
      return send({ type: "watched", key: command.key, lastOldAt, freshAt: null, fresh: command.old, reads });
    }
    const stats = cache.stats();
    await send({ type: "stats", bus: stats.bus, hits: stats.hits, elapsedMs: performance.now() - started });
  }

  await send({ type: "ready" });
}

main().catch(async (error) => {
  await send({ type: "failed", error: String((error as Error).stack ?? error) });
  process.exit(1);
});
