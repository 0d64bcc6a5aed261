/**
 * Starts a throwaway `redis-server` on a free loopback port (no persistence, temp directory)
 * and stops it by PID. Installs it with apt-get when missing and running as root (CI).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { RespPool, RespStatus } from "./resp.ts";

/** A running redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** PID of the redis-server process. */
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago (the OS picks it; callers retry if it is taken since). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not determine a free port"));
      });
    });
  });
}

function onPath(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

/** Makes sure `redis-server` is installed, installing it with apt-get when we are root. */
export function ensureRedisServer(): void {
  if (onPath("redis-server")) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && onPath("apt-get")) {
    console.error(
      "[services] redis-server not found; installing it: apt-get update && apt-get install -y redis-server",
    );
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update"], ["install", "-y", "--no-install-recommends", "redis-server"]]) {
      const result = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env });
      if (result.status !== 0) throw new Error(`[services] apt-get ${args.join(" ")} failed (exit ${result.status})`);
    }
    if (onPath("redis-server")) return;
  }
  throw new Error(
    "[services] redis-server is not installed (tests need a real Redis 6.2+). Install it, e.g.\n" +
      "  Debian/Ubuntu: sudo apt-get install -y redis-server\n" +
      "  macOS:         brew install redis\n" +
      "and make sure `redis-server` is on PATH.",
  );
}

export async function waitForPing(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    const pool = new RespPool({ host: "127.0.0.1", port, maxConnections: 1 });
    try {
      const reply = await pool.command("PING");
      if (reply instanceof RespStatus && reply.value === "PONG") return;
    } catch {
      // not listening yet
    } finally {
      pool.close();
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * Starts redis-server on a free port; retries with another port if the first one was taken. With
 * `port`, on that port only (a test restarting "the same" server).
 */
export async function startRedis(options: { readonly port?: number } = {}): Promise<RedisServer> {
  ensureRedisServer();
  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port === undefined ? 5 : 1); attempt++) {
    const port = options.port ?? await freePort();
    const dir = await mkdtemp(join(tmpdir(), "larder-redis-"));
    const child = spawn("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--protected-mode",
      "yes",
      "--loglevel",
      "warning",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      if (output.length < 10_000) output += chunk.toString();
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    try {
      await spawned;
      await waitForPing(port, child, () => output);
      const pid = child.pid ?? -1;
      return {
        url: `redis://127.0.0.1:${port}`,
        host: "127.0.0.1",
        port,
        pid,
        async stop() {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}
