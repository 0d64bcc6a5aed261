/**
 * Why `upstashStore` speaks the Upstash REST protocol with `fetch` itself: the same calls through
 * the adapter as it was (`@upstash/redis` 1.39, a client per call because it takes its abort
 * signal at construction only), through the adapter as it is, and the floor (a bare `fetch` of
 * `/pipeline`), interleaved on the same bridge. Not part of `npm run bench`:
 * `npx tsx bench/upstash_client.ts [--quick]`.
 *
 * Series, each with a per-call `AbortSignal` as the core passes one: a store `get` and a store
 * `read` (the Lua script an inline hit runs); a 1 KB inline hit through `wrap` on a cache built
 * on each adapter; the bare GET of the same record, and the `read` script by EVALSHA with a bare
 * `fetch` (what sending the script's source with every EVAL costs); and the script-free read an
 * inline hit could make instead, a bare `fetch` of `GET` record + `HMGET` of each generation in one
 * pipeline (one round trip too, but a billed command per generation on Upstash, and no lease on a
 * miss). Ratios are against the bare GET. Then the
 * client CPU per call of each (`process.cpuUsage`, the services run in another process).
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { Redis } from "@upstash/redis/cloudflare";
import { createCache } from "../mod.ts";
import { StoreError } from "../src/core/errors.ts";
import type { CallOptions, MetadataStore, StoreOp, StoreResult } from "../src/core/types.ts";
import { type Arg, decodeReply, encodeOp, type RedisCommand } from "../src/stores/_redis_ops.ts";
import { upstashStore } from "../src/stores/upstash.ts";
import { makeRows } from "./_data.ts";
import { baseOptions, entryKeys } from "./_fixtures.ts";
import { floors } from "./_floors.ts";
import { measure, ms, ratio } from "./_measure.ts";
import { startBenchServices } from "./_services.ts";

const quick = process.argv.includes("--quick");

/**
 * The adapter before it spoke REST itself, reduced to what these calls use: a `@upstash/redis`
 * client per call (its signal is a constructor option), a pipeline, `exec({ keepErrors })`.
 */
function perCallClientStore(url: string, token: string): MetadataStore {
  let syncToken = "";
  return {
    name: "upstash (@upstash/redis per call)",
    async run(ops: readonly StoreOp[], options?: CallOptions): Promise<StoreResult[]> {
      const signal = options?.signal;
      const redis = new Redis({
        url,
        token,
        retry: { retries: 0 },
        automaticDeserialization: false,
        enableTelemetry: false,
        enableAutoPipelining: false,
        responseEncoding: false,
        keepAlive: false,
        readYourWrites: true,
        ...(signal ? { signal: () => signal } : {}),
      });
      redis.readYourWritesSyncToken = syncToken;
      const pipeline = redis.pipeline();
      for (const op of ops) enqueue(pipeline as unknown as Pipeline, encodeOp(op));
      const replies = await pipeline.exec<unknown[]>({ keepErrors: true }) as { result?: unknown; error?: string }[];
      syncToken = redis.readYourWritesSyncToken ?? syncToken;
      return ops.map((op, i) => {
        const result = decodeReply(op, replies[i]?.result);
        if (replies[i]?.error || result === undefined) throw new StoreError(`failed: ${replies[i]?.error}`);
        return result;
      });
    },
  };
}

/** The part of an `@upstash/redis` pipeline the adapter used. */
interface Pipeline {
  get(key: string): unknown;
  set(key: string, value: string, options: { nx?: true; px: number }): unknown;
  del(...keys: string[]): unknown;
  exists(key: string): unknown;
  eval(script: string, keys: string[], args: Arg[]): unknown;
  hset(key: string, fields: Record<string, string>): unknown;
  hincrby(key: string, field: string, by: number): unknown;
  hgetall(key: string): unknown;
}

/** How the adapter put each command on an `@upstash/redis` pipeline. */
function enqueue(pipeline: Pipeline, command: RedisCommand): void {
  if (command.kind === "script") {
    pipeline.eval(command.script.source, [...command.keys], [...command.args]);
    return;
  }
  const [name, ...args] = command.args;
  const text = args.map(String);
  switch (name) {
    case "GET":
      return void pipeline.get(text[0]!);
    case "SET":
      return void pipeline.set(text[0]!, text[1]!, { px: Number(text[3]), ...(text[4] === "NX" ? { nx: true } : {}) });
    case "DEL":
      return void pipeline.del(...text);
    case "EXISTS":
      return void pipeline.exists(text[0]!);
    case "HSET":
      return void pipeline.hset(text[0]!, { [text[1]!]: text[2]! });
    case "HINCRBY":
      return void pipeline.hincrby(text[0]!, text[1]!, Number(text[2]));
    case "HGETALL":
      return void pipeline.hgetall(text[0]!);
    default:
      throw new Error(`not in this benchmark: ${name}`);
  }
}

/** The `read` op sent as EVALSHA (the script loaded first) with a bare `fetch`: what EVAL's source costs. */
async function evalshaRead(url: string, token: string, key: string): Promise<() => Promise<unknown>> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const post = async (commands: unknown[]): Promise<{ result?: unknown; error?: string }[]> => {
    const response = await fetch(`${url}/pipeline`, { method: "POST", headers, body: JSON.stringify(commands) });
    return await response.json() as { result?: unknown; error?: string }[];
  };
  const command = encodeOp({ type: "read", key, gens: [], token: "t" });
  if (command.kind !== "script") throw new Error("read is a script");
  const [loaded] = await post([["SCRIPT", "LOAD", command.script.source]]);
  const sha = loaded?.result;
  if (typeof sha !== "string") throw new Error(`SCRIPT LOAD failed: ${loaded?.error}`);
  const body = [["EVALSHA", sha, command.keys.length, ...command.keys, ...command.args]];
  return async () => {
    const [reply] = await post(body);
    if (reply?.error !== undefined) throw new Error(reply.error);
    return reply?.result;
  };
}

/** A bare `fetch` of `GET key` and `HMGET gen x s` for each generation, in one pipeline. */
function pipelinedRead(url: string, token: string, key: string, gens: readonly string[]): () => Promise<unknown> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const body = JSON.stringify([["GET", key], ...gens.map((gen) => ["HMGET", gen, "x", "s"])]);
  return async () => {
    const response = await fetch(`${url}/pipeline`, { method: "POST", headers, body });
    const replies = await response.json() as { result?: unknown; error?: string }[];
    if (replies.length !== gens.length + 1 || typeof replies[0]?.result !== "string") {
      throw new Error(`pipelined read failed: ${JSON.stringify(replies).slice(0, 200)}`);
    }
    return replies;
  };
}

const services = await startBenchServices();
try {
  const env = services.env;
  const bare = floors(env);
  const url = env.LARDER_TEST_UPSTASH_URL;
  const token = env.LARDER_TEST_UPSTASH_TOKEN;
  const prefix = `upstash-client-${Date.now().toString(36)}`;
  const rows = makeRows(1024);
  const stores = { fetch: upstashStore({ url, token }), "@upstash/redis": perCallClientStore(url, token) };
  const caches = Object.fromEntries(
    Object.entries(stores).map(([name, store]) => {
      const cache = createCache({ ...baseOptions(env, prefix), store });
      return [name, { cache, rows: cache.wrap(async (_label: string, _i: number) => rows, { name: "rows" }) }];
    }),
  );
  await caches.fetch!.rows("1 KB", 0);
  await caches.fetch!.cache.flush();
  const keys = await entryKeys(prefix, "1 KB");
  const record = keys.record;
  const pipelined = pipelinedRead(url, token, record, keys.gens);
  const readOp: StoreOp = { type: "read", key: record, gens: [], token: "t" };
  const signal = (): AbortSignal => new AbortController().signal;
  const evalsha = await evalshaRead(url, token, record);
  const loadBefore = os.loadavg()[0]!;
  const results = await measure([
    { name: "bare store GET", run: () => bare.storeGet(record) },
    { name: "bare read (Lua) by EVALSHA", run: evalsha },
    { name: "bare GET + HMGET per generation", run: pipelined },
    ...Object.entries(stores).flatMap(([name, store]) => [
      { name: `${name}: get`, run: () => store.run([{ type: "get", key: record }], { signal: signal() }) },
      { name: `${name}: read (Lua)`, run: () => store.run([readOp], { signal: signal() }) },
      { name: `${name}: 1 KB inline hit`, run: () => caches[name]!.rows("1 KB", 0) },
    ]),
  ], quick ? { warmup: 5, min: 20, max: 20, ms: 0 } : { warmup: 200, min: 1500, max: 4000, ms: 20_000 });
  for (const { cache } of Object.values(caches)) {
    const s = cache.stats();
    if (s.errors.total > 0) throw new Error(`errors during the run: ${JSON.stringify(s.errors)}`);
  }
  // Client CPU per call (this process only: the bridge and Redis run in another), calls one after
  // another, the same order for each: less sensitive to other load on the machine than latency.
  const cpu: Record<string, number> = {};
  const calls = quick ? 50 : 3000;
  const cpuSeries: [string, () => Promise<unknown>][] = [
    ["bare store GET", () => bare.storeGet(record)],
    ["bare read (Lua) by EVALSHA", evalsha],
    ["bare GET + HMGET per generation", pipelined],
    ...Object.entries(stores).flatMap(([name, store]): [string, () => Promise<unknown>][] => [
      [`${name}: get`, () => store.run([{ type: "get", key: record }], { signal: signal() })],
      [`${name}: read (Lua)`, () => store.run([readOp], { signal: signal() })],
      [`${name}: 1 KB inline hit`, () => caches[name]!.rows("1 KB", 0)],
    ]),
  ];
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of cpuSeries) {
      const before = process.cpuUsage();
      for (let i = 0; i < calls; i++) await run();
      const used = process.cpuUsage(before);
      const perCall = (used.user + used.system) / 1000 / calls;
      cpu[name] = Math.min(cpu[name] ?? Infinity, perCall); // the least disturbed of three rounds
    }
  }
  const floor = results["bare store GET"]!.p50;
  console.log(`loopback, load average ${loadBefore.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)} (1 min, 2 cores)`);
  console.log(
    `${"series".padEnd(34)} ${"p50".padStart(9)} ${"p95".padStart(9)}  p50 / bare GET  ${"client CPU".padStart(10)}`,
  );
  for (const [name, s] of Object.entries(results)) {
    console.log(
      `${name.padEnd(34)} ${ms(s.p50).padStart(9)} ${ms(s.p95).padStart(9)}  ${ratio(s.p50 / floor).padStart(14)}  ${
        ms(cpu[name]).padStart(10)
      }`,
    );
  }
} finally {
  await services.stop();
}
