/**
 * The TCP stores: plain Redis (one node) and the Redis Cluster (3 masters), each against floors
 * measured through the same ioredis client in the same rounds: an inline hit against a bare GET
 * of the same record, a blob hit against max(GET record, S3 GET) + decode, a miss's overhead
 * against a bare GET of a missing key, and 64 callers' throughput (hits and bare GETs). Network
 * distance is a proxy in front of every Redis node that holds each reply back (each request pays
 * the delay once, like a round trip; the cluster's client reaches the proxies through natMap),
 * plus the S3 proxy's latency rules.
 *
 *   npx tsx bench/tcp.ts [--quick]     (starts its own services, prints JSON and markdown)
 *
 * @module
 */
import process from "node:process";
import { Cluster } from "ioredis";
import { type Cache, createCache } from "../mod.ts";
import { s3BlobStore } from "../src/blobs/s3.ts";
import { cborCodec } from "../src/codec/cbor.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { redisStore } from "../src/stores/redis.ts";
import type { RedisClientLike } from "../src/stores/_redis_client.ts";
import type { ServicesEnv } from "../scripts/services/index.ts";
import { type CountingProxy, countingProxy, ProxyLog } from "../test/helpers/tcp_proxy.ts";
import { type Dataset, entryKeys, makeDatasets, sameRows } from "./_fixtures.ts";
import type { Floors } from "./_floors.ts";
import { applyLatency, type Latency, SCENARIOS } from "./_latency.ts";
import { type Budget, measure, ms, summarize, type Summary } from "./_measure.ts";

/** Per target (`redis`, `redis-cluster`), per scenario. */
export type TcpResults = Record<string, Record<string, TcpScenario>>;

/** One target under one scenario. */
export interface TcpScenario {
  /** Per size: `inline`, `get inline record`, `s3`, `get s3 record`, `get s3 object` (and `decode` on loopback). */
  readonly hits: Record<string, Record<string, Summary>>;
  /** Per size: the miss's own overhead (wait − the function's time) and the bare GET of a missing key. */
  readonly misses: Record<string, { readonly overhead: Summary; readonly floor: Summary }>;
  /** 64 concurrent callers, 1 KB inline hits and bare GETs: completed calls per second (loopback only). */
  readonly throughput?: { readonly hitsPerS: number; readonly getsPerS: number };
}

const CALLERS = 64;

/** Runs every target × scenario; `datasets` are the sizes (their rows are what the functions return). */
export async function runTcp(
  env: ServicesEnv,
  bare: Floors,
  runId: string,
  datasets: readonly Dataset[],
  quick: boolean,
): Promise<TcpResults> {
  const seeds = env.LARDER_TEST_REDIS_CLUSTER_URLS?.split(",") ?? [];
  if (seeds.length === 0) throw new Error("bench/tcp: the services were started without the cluster");
  const results: TcpResults = {};
  for (const target of ["redis", "redis-cluster"] as const) {
    results[target] = {};
    for (const scenario of SCENARIOS) {
      process.stderr.write(`[bench] tcp ${target}, ${scenario.name}…`);
      const started = performance.now();
      const nodes = target === "redis" ? [env.LARDER_TEST_REDIS_URL] : seeds;
      results[target]![scenario.name] = await runScenario(
        env,
        bare,
        `${runId}-${target}`,
        nodes,
        target,
        scenario,
        datasets,
        quick,
      );
      process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  return results;
}

async function runScenario(
  env: ServicesEnv,
  bare: Floors,
  runId: string,
  urls: readonly string[],
  target: "redis" | "redis-cluster",
  latency: Latency,
  datasets: readonly Dataset[],
  quick: boolean,
): Promise<TcpScenario> {
  const proxies: CountingProxy[] = [];
  const addresses = urls.map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }));
  if (latency.storeMs > 0) {
    for (const a of addresses) {
      proxies.push(await countingProxy(a, new ProxyLog(), { delayMs: latency.storeMs, log: false }));
    }
  }
  const via = (i: number): { host: string; port: number } =>
    proxies[i] ? { host: "127.0.0.1", port: proxies[i]!.port } : addresses[i]!;
  const cluster = target === "redis-cluster"
    ? new Cluster([via(0)], {
      enableAutoPipelining: true,
      scaleReads: "master",
      ...(proxies.length > 0
        ? { natMap: Object.fromEntries(addresses.map((a, i) => [`${a.host}:${a.port}`, via(i)])) }
        : {}),
    })
    : undefined;
  const store = cluster ? redisStore({ client: cluster }) : redisStore({ url: `redis://127.0.0.1:${via(0).port}` });
  const client: RedisClientLike = await store.client();
  const prefix = `${runId}-${latency.storeMs}`;
  const blobs = s3BlobStore({
    endpoint: env.LARDER_TEST_S3_ENDPOINT,
    region: env.LARDER_TEST_S3_REGION,
    bucket: env.LARDER_TEST_S3_BUCKET,
    accessKeyId: env.LARDER_TEST_S3_ACCESS_KEY_ID,
    secretAccessKey: env.LARDER_TEST_S3_SECRET_ACCESS_KEY,
  });
  const make = (p: string, maxInlineBytes?: number): Cache =>
    createCache({
      store,
      blobs,
      prefix: p,
      ttl: "1h",
      timeout: { store: "10s", blob: "30s" },
      globalStats: false,
      ...(maxInlineBytes === undefined ? {} : { maxInlineBytes }),
    });
  const byLabel = new Map(datasets.map((d) => [d.label, d.rows]));
  const rowsOf = async (label: string, _i: number): Promise<unknown> => byLabel.get(label);
  const inline = make(`${prefix}-in`, 64 * 1024 * 1024);
  const s3 = make(`${prefix}-s3`, 1);
  const inlineRows = inline.wrap(rowsOf, { name: "rows" });
  const s3Rows = s3.wrap(rowsOf, { name: "rows" });
  const removeLatency = await applyLatency(env, { ...latency, storeMs: 0 }, [`${prefix}-s3`, `${prefix}-miss`]);
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
  const cbor = cborCodec();
  const budget = (label: string): Budget => {
    const big = label === "10 MB" || label === "1 MB";
    if (quick) return { warmup: 2, min: big ? 3 : 10, max: big ? 5 : 40, ms: 300 };
    return latency.storeMs > 0
      ? { warmup: 3, min: big ? 5 : 30, max: big ? 15 : 150, ms: big ? 2_000 : 3_000 }
      : { warmup: 20, min: big ? 10 : 200, max: big ? 40 : 3_000, ms: big ? 3_000 : 4_000 };
  };
  const result: { -readonly [K in keyof TcpScenario]: TcpScenario[K] } = { hits: {}, misses: {} };
  try {
    for (const { label, rows } of datasets) {
      for (const wrapped of [inlineRows, s3Rows]) {
        await wrapped(label, 0);
        await Promise.all([inline.flush(), s3.flush()]);
        if (!sameRows(await wrapped(label, 0), rows)) throw new Error(`tcp ${label}: the hit did not return the rows`);
      }
      const inKeys = await entryKeys(`${prefix}-in`, label);
      const s3Keys = await entryKeys(`${prefix}-s3`, label);
      const record = JSON.parse(String(await client.call("GET", s3Keys.record))) as { n: number };
      const payload = await bare.s3Get(s3Keys.blob);
      const before = { inline: inline.stats().hits.inline, s3: s3.stats().hits.blob };
      result.hits[label] = await measure([
        { name: "inline", run: () => inlineRows(label, 0) },
        { name: "get inline record", run: () => client.call("GET", inKeys.record) },
        { name: "s3", run: () => s3Rows(label, 0) },
        { name: "get s3 record", run: () => client.call("GET", s3Keys.record) },
        { name: "get s3 object", run: () => bare.s3Get(s3Keys.blob) },
        ...latency.storeMs === 0
          ? [{ name: "decode", run: async () => cbor.decode(await zstd.decompress(payload, record.n)) }]
          : [],
      ], budget(label));
      const n = result.hits[label]!.inline!.n;
      if (inline.stats().hits.inline - before.inline < n || s3.stats().hits.blob - before.s3 < n) {
        throw new Error(`tcp ${label}: hits did not come from the tier under test`);
      }
      result.misses[label] = await misses(make(`${prefix}-miss`), client, label, rows, budget(label));
    }
    if (latency.storeMs === 0) {
      await inline.flush();
      result.throughput = await throughput(inlineRows, client, `${prefix}-in`, quick);
    }
  } finally {
    await removeLatency();
    await store.close();
    cluster?.disconnect();
    for (const proxy of proxies) await proxy.close();
  }
  return result;
}

async function misses(
  cache: Cache,
  client: RedisClientLike,
  label: string,
  rows: unknown,
  budget: Budget,
): Promise<{ overhead: Summary; floor: Summary }> {
  let own = 0;
  let call = 0;
  const wrapped = cache.wrap(async (_label: string, _i: number) => {
    const t = performance.now();
    const value = rows;
    own = performance.now() - t;
    return value;
  }, { name: "rows" });
  const overhead: number[] = [];
  const floor: number[] = [];
  const started = performance.now();
  for (let round = 0; round < budget.warmup + budget.max; round++) {
    if (overhead.length >= budget.min && performance.now() - started > budget.ms) break;
    const t0 = performance.now();
    await wrapped(label, ++call);
    const wait = performance.now() - t0;
    await cache.flush();
    const f0 = performance.now();
    await client.call("GET", `${label}:missing`);
    const bare = performance.now() - f0;
    if (round < budget.warmup) continue;
    overhead.push(wait - own);
    floor.push(bare);
  }
  return { overhead: summarize(overhead), floor: summarize(floor) };
}

async function throughput(
  hit: (label: string, i: number) => Promise<unknown>,
  client: RedisClientLike,
  prefix: string,
  quick: boolean,
): Promise<{ hitsPerS: number; getsPerS: number }> {
  // Each caller on its own warm key, so in-process coalescing never merges two callers' calls.
  const records: string[] = [];
  for (let caller = 1; caller <= CALLERS; caller++) {
    await hit("1 KB", caller);
    records.push((await entryKeys(prefix, "1 KB", caller)).record);
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // the background writes land
  const run = async (call: (caller: number) => Promise<unknown>): Promise<number> => {
    const durationMs = quick ? 300 : 2_000;
    const until = performance.now() + durationMs;
    let done = 0;
    await Promise.all(Array.from({ length: CALLERS }, async (_, caller) => {
      while (performance.now() < until) {
        await call(caller);
        done++;
      }
    }));
    return Math.round(done / (durationMs / 1000));
  };
  return {
    hitsPerS: await run((caller) => hit("1 KB", caller + 1)),
    getsPerS: await run((caller) => client.call("GET", records[caller]!)),
  };
}

/** The markdown section of the TCP stores. */
export function renderTcp(results: TcpResults): string {
  const lines = ["## Redis over TCP: one node and a Redis Cluster (3 masters)", ""];
  lines.push(
    "Floors through the same ioredis client, in the same rounds. Inline hit target: ≤ 1.15 × a bare GET of the same record.",
    "",
    "| store | scenario | size | inline hit p50 | bare GET p50 | ratio | blob hit p50 | max(GET, S3 GET) + decode | miss overhead p50 | bare GET (miss) |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const [target, scenarios] of Object.entries(results)) {
    for (const [scenario, r] of Object.entries(scenarios)) {
      const loopback = Object.values(scenarios)[0]!;
      for (const [size, hits] of Object.entries(r.hits)) {
        const get = hits["get inline record"]!.p50;
        const floor = Math.max(hits["get s3 record"]!.p50, hits["get s3 object"]!.p50) +
          (loopback.hits[size]?.decode?.p50 ?? 0);
        const miss = r.misses[size]!;
        lines.push(
          `| ${target} | ${scenario} | ${size} | ${ms(hits.inline!.p50)} | ${ms(get)} | ${
            (hits.inline!.p50 / get).toFixed(2)
          }× | ${ms(hits.s3!.p50)} | ${ms(floor)} | ${ms(miss.overhead.p50)} | ${ms(miss.floor.p50)} |`,
        );
      }
    }
  }
  lines.push("", `| store | ${CALLERS} callers: 1 KB hits/s | bare GETs/s |`, "|---|---|---|");
  for (const [target, scenarios] of Object.entries(results)) {
    const t = Object.values(scenarios)[0]!.throughput;
    if (t) lines.push(`| ${target} | ${t.hitsPerS} | ${t.getsPerS} |`);
  }
  return `${lines.join("\n")}\n`;
}

// Run alone: `npx tsx bench/tcp.ts [--quick]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { startServices } = await import("../scripts/services/index.ts");
  const { floors } = await import("./_floors.ts");
  const services = await startServices({ cluster: true });
  try {
    const quick = process.argv.includes("--quick");
    const datasets = makeDatasets(["rows"]);
    const results = await runTcp(services.env, floors(services.env), `tcp-${Date.now().toString(36)}`, datasets, quick);
    console.log(JSON.stringify(results));
    console.log(renderTcp(results));
  } finally {
    await services.stop();
  }
  process.exit(0);
}
