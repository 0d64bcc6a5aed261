/**
 * Starts a throwaway Redis Cluster on loopback: 3 masters and 3 replicas, each a Debian
 * `redis-server` with `--cluster-enabled yes` on a free port (and a free cluster-bus port),
 * joined by `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`. A short node
 * timeout makes a failover take about a second. Every process is stopped by its PID; a node can
 * be killed alone (`kill`) to make its replica take over.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ensureRedisServer, freePort, stopChild, waitForPing } from "./redis.ts";
import { RespPool } from "./resp.ts";

/** One node of the cluster. */
export interface ClusterNode {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** PID of its redis-server process. */
  readonly pid: number;
  /** The process, to wait for its exit. */
  readonly child: ChildProcess;
}

/** A running cluster. */
export interface RedisCluster {
  /** `redis://127.0.0.1:PORT` of every node (any of them is a seed). */
  readonly urls: string[];
  /** The nodes, in start order (the first three were created as masters). */
  readonly nodes: readonly ClusterNode[];
  /** The ports of the current masters (asks the cluster). */
  masters(): Promise<number[]>;
  /** Kills one node by PID (SIGKILL), as a crash would. */
  kill(port: number): Promise<void>;
  /** Stops every node (SIGTERM, then SIGKILL) and removes their directories. */
  stop(): Promise<void>;
}

/** Node timeout: how long a silent master takes to be failed over (ms). */
const NODE_TIMEOUT_MS = 1_000;

/** Starts 6 nodes and creates the cluster; stops what it started when a step fails. */
export async function startCluster(): Promise<RedisCluster> {
  ensureRedisServer();
  const dir = await mkdtemp(join(tmpdir(), "larder-cluster-"));
  const nodes: ClusterNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => stopChild(node.child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = new Set<number>();
    while (ports.size < 12) ports.add(await freePort());
    const [nodePorts, busPorts] = [[...ports].slice(0, 6), [...ports].slice(6)];
    await Promise.all(nodePorts.map(async (port, i) => {
      const child = spawn("redis-server", [
        "--port",
        String(port),
        "--cluster-port",
        String(busPorts[i]),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        String(NODE_TIMEOUT_MS),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--loglevel",
        "warning",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      const collect = (chunk: Buffer): void => {
        if (output.length < 10_000) output += chunk.toString();
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
      nodes.push({ port, pid: child.pid ?? -1, child });
      await waitForPing(port, child, () => output);
    }));
    nodes.sort((a, b) => nodePorts.indexOf(a.port) - nodePorts.indexOf(b.port));
    const create = spawnSync("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ], { encoding: "utf8" });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await waitUntilReady(nodes.map((n) => n.port));
    return {
      urls: nodes.map((n) => `redis://127.0.0.1:${n.port}`),
      nodes,
      masters: () => masterPorts(nodes.find((n) => n.child.exitCode === null && n.child.signalCode === null)!.port),
      async kill(port: number): Promise<void> {
        const node = nodes.find((n) => n.port === port);
        if (!node) throw new Error(`no cluster node on port ${port}`);
        const exited = new Promise((resolve) => node.child.once("exit", resolve));
        process.kill(node.pid, "SIGKILL");
        await exited;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function command(port: number, ...args: string[]): Promise<string> {
  const pool = new RespPool({ host: "127.0.0.1", port, maxConnections: 1 });
  try {
    const reply = await pool.command(...args);
    return Buffer.isBuffer(reply) ? reply.toString() : String((reply as { value?: unknown })?.value ?? reply);
  } finally {
    pool.close();
  }
}

/** Waits until every node reports the cluster ok and every replica's link to its master is up. */
async function waitUntilReady(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(ports.map(async (port) => {
      const info = await command(port, "CLUSTER", "INFO");
      const replication = await command(port, "INFO", "replication");
      return info.includes("cluster_state:ok") &&
        (replication.includes("role:master") || replication.includes("master_link_status:up"));
    }));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error("the Redis Cluster did not become ready within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The ports of the masters that hold slots, as `port` sees the cluster. */
async function masterPorts(port: number): Promise<number[]> {
  const nodes = await command(port, "CLUSTER", "NODES");
  return nodes.split("\n").filter((line) =>
    /\bmaster\b/.test(line) && !/\bfail\b/.test(line) && line.split(" ").length > 8
  )
    .map((line) => Number(/:(\d+)@/.exec(line)?.[1])).sort((a, b) => a - b);
}
