/**
 * One "instance" of an application for the multi-process stampede suite: its own process, its
 * own `createCache` on the shared local services, talking to the test over IPC.
 *
 * Started by test/integration/stampede.test.ts with `fork()` and the test's `LARDER_TEST_*`
 * environment; its one argument is a JSON {@link ChildConfig}. It says `ready` once its cache
 * exists, and on `go` makes `calls` concurrent calls of one wrapped function with one argument.
 * The function counts each of its executions in Redis (`INCR`), says `computing`, works for
 * `workMs` and returns a value unique to this execution. Then the child reports every caller's
 * result and its cache's stats, and exits. It exits too if the test goes away.
 *
 * @module
 */
import process from "node:process";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { recordingLogger } from "./chaos.ts";
import { redisCommand, requireCluster, requireServices } from "./services.ts";

/** What the test tells a child. */
export interface ChildConfig {
  /** Name of this child in results. */
  readonly id: string;
  /** Cache prefix, shared by all children of one test. */
  readonly prefix: string;
  /** Redis key counting the function's executions. */
  readonly counterKey: string;
  /** The wrapped function's argument (the key every caller asks for). */
  readonly arg: string;
  /** Concurrent calls to make on `go`. */
  readonly calls: number;
  /** How long each execution works, ms. */
  readonly workMs: number;
  /** The cache's lease options. */
  readonly lease: { readonly ttl: number; readonly wait: number };
}

/** What a child's function returns: unique to one execution. */
export interface Produced {
  readonly arg: string;
  readonly execution: number;
  readonly by: string;
  readonly nonce: string;
}

/** Messages from a child. */
export type ChildMessage =
  | { readonly type: "ready" }
  | { readonly type: "computing"; readonly execution: number }
  | {
    readonly type: "done";
    readonly results: Produced[];
    readonly durationsMs: number[];
    readonly leases: { acquired: number; waited: number; givenUp: number };
    readonly coalesced: number;
  }
  | { readonly type: "failed"; readonly error: string };

const send = (message: ChildMessage): Promise<void> =>
  new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
  const services = requireServices();
  // The store of LARDER_TEST_STORE (test/helpers/stores.ts; that module needs vitest, this is a child process).
  const kind = process.env.LARDER_TEST_STORE ?? "upstash";
  const store = kind === "redis"
    ? redisStore({ url: services.redisUrl })
    : kind === "cluster"
    ? redisStore({ url: requireCluster() })
    : upstashStore(services.upstash);
  const cache = createCache({
    store,
    blobs: s3BlobStore(services.s3),
    prefix: config.prefix,
    lease: config.lease,
    logger: recordingLogger(),
  });
  const report = cache.wrap(async (arg: string): Promise<Produced> => {
    const execution = await redisCommand(["INCR", config.counterKey]) as number;
    await send({ type: "computing", execution });
    await new Promise((resolve) => setTimeout(resolve, config.workMs));
    return { arg, execution, by: config.id, nonce: crypto.randomUUID() };
  }, { name: "report" });

  process.once("message", async (message) => {
    if (message !== "go") return;
    try {
      const durationsMs: number[] = [];
      const results = await Promise.all(Array.from({ length: config.calls }, async () => {
        const started = performance.now();
        const result = await report(config.arg);
        durationsMs.push(performance.now() - started);
        return result;
      }));
      await cache.flush();
      const stats = cache.stats();
      await send({ type: "done", results, durationsMs, leases: { ...stats.leases }, coalesced: stats.coalesced });
    } catch (error) {
      await send({ type: "failed", error: String((error as Error)?.stack ?? error) });
    }
    process.exit(0);
  });
  await send({ type: "ready" });
}

// The test went away (it failed, or was interrupted): do not linger.
process.once("disconnect", () => process.exit(0));
main().catch(async (error) => {
  await send({ type: "failed", error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
