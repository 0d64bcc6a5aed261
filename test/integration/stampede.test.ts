/**
 * Cross-process stampede protection on the real services: separate Node processes (each its own
 * `createCache`, as separate instances of an application would be) ask for one cold key at once.
 * The function counts its executions in Redis (`INCR` through the bridge), so "once" is counted
 * where every process can see it, not inferred. Children: test/helpers/stampede_child.ts.
 */
import { type ChildProcess, fork } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { ChildConfig, ChildMessage } from "../helpers/stampede_child.ts";
import { redisCommand, requireServices, uniquePrefix } from "../helpers/services.ts";

requireServices();
const CHILD = fileURLToPath(new URL("../helpers/stampede_child.ts", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Message<T extends ChildMessage["type"]> = Extract<ChildMessage, { type: T }>;

/** A child process and its messages, in order. */
class Child {
  readonly proc: ChildProcess;
  readonly #queue: ChildMessage[] = [];
  readonly #waiters: (() => void)[] = [];
  #exited = false;

  constructor(readonly config: ChildConfig) {
    this.proc = fork(CHILD, [JSON.stringify(config)], {
      execArgv: ["--import", "tsx"],
      env: process.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (message: ChildMessage) => {
      this.#queue.push(message);
      this.#waiters.splice(0).forEach((wake) => wake());
    });
    this.proc.on("exit", () => {
      this.#exited = true;
      this.#waiters.splice(0).forEach((wake) => wake());
    });
  }

  /** The next message of `type` (earlier messages of other types are skipped); fails on `failed` or exit. */
  async next<T extends ChildMessage["type"]>(type: T): Promise<Message<T>> {
    for (;;) {
      const index = this.#queue.findIndex((m) => m.type === type || m.type === "failed");
      if (index >= 0) {
        const [message] = this.#queue.splice(index, 1);
        if (message!.type === "failed") throw new Error(`child ${this.config.id} failed: ${message!.error}`);
        return message as Message<T>;
      }
      if (this.#exited) throw new Error(`child ${this.config.id} exited before sending "${type}"`);
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }

  go(): void {
    this.proc.send("go");
  }
}

const started: Child[] = [];
function child(config: ChildConfig): Child {
  const c = new Child(config);
  started.push(c);
  return c;
}

afterEach(() => {
  for (const c of started.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
});

const executions = async (key: string): Promise<number> => Number(await redisCommand(["GET", key]) ?? 0);

describe("one execution across processes", () => {
  it(
    "4 processes × 50 concurrent calls of one cold key: the function runs once, all 200 callers get its value",
    async () => {
      const prefix = uniquePrefix("stampede");
      const counterKey = `${prefix}-executions`;
      const children = ["p1", "p2", "p3", "p4"].map((id) =>
        child({ id, prefix, counterKey, arg: "cold", calls: 50, workMs: 500, lease: { ttl: 5_000, wait: 20_000 } })
      );
      await Promise.all(children.map((c) => c.next("ready")));
      for (const c of children) c.go();
      const done = await Promise.all(children.map((c) => c.next("done")));

      expect(await executions(counterKey)).toBe(1);
      const results = done.flatMap((d) => d.results);
      expect(results).toHaveLength(200);
      expect(results[0]).toMatchObject({ arg: "cold", execution: 1 });
      for (const result of results) expect(result).toEqual(results[0]);
      // One process took the lease and computed; the three others waited for its entry; none gave up.
      const leases = done.map((d) => d.leases);
      expect(leases.reduce((n, l) => n + l.acquired, 0)).toBe(1);
      expect(leases.reduce((n, l) => n + l.waited, 0)).toBe(3);
      expect(leases.reduce((n, l) => n + l.givenUp, 0)).toBe(0);
      // Inside each process, the 49 other callers shared that process' one call.
      for (const d of done) expect(d.coalesced).toBe(49);
    },
    60_000,
  );

  it(
    "lease holder killed mid-computation: another process takes over once the lease expires, well within the wait",
    async () => {
      const prefix = uniquePrefix("stampede-dies");
      const counterKey = `${prefix}-executions`;
      const lease = { ttl: 1_000, wait: 20_000 };
      const holder = child({ id: "holder", prefix, counterKey, arg: "k", calls: 5, workMs: 120_000, lease });
      const waiters = ["w1", "w2"].map((id) =>
        child({ id, prefix, counterKey, arg: "k", calls: 10, workMs: 300, lease })
      );
      await Promise.all([holder, ...waiters].map((c) => c.next("ready")));
      holder.go();
      expect((await holder.next("computing")).execution).toBe(1);
      for (const w of waiters) w.go();

      // Twice the lease TTL: only the holder's renewals keep the others waiting this long.
      await sleep(2 * lease.ttl);
      expect(await executions(counterKey)).toBe(1);

      const killedAt = performance.now();
      holder.proc.kill("SIGKILL");
      const done = await Promise.all(waiters.map((w) => w.next("done")));
      const elapsedMs = performance.now() - killedAt;

      // Exactly one takeover: the dead holder's execution and one more.
      expect(await executions(counterKey)).toBe(2);
      const results = done.flatMap((d) => d.results);
      expect(results).toHaveLength(20);
      expect(["w1", "w2"]).toContain(results[0]!.by);
      expect(results[0]).toMatchObject({ arg: "k", execution: 2 });
      for (const result of results) expect(result).toEqual(results[0]);
      const leases = done.map((d) => d.leases);
      expect(leases.reduce((n, l) => n + l.acquired, 0)).toBe(1);
      expect(leases.reduce((n, l) => n + l.waited, 0)).toBe(1);
      expect(leases.reduce((n, l) => n + l.givenUp, 0)).toBe(0);
      // After the kill: at most the lease's TTL, one poll interval (≤ 500 ms), the work (300 ms)
      // and a margin for this loaded machine; far less than the bounded wait.
      expect(elapsedMs).toBeGreaterThan(300);
      expect(elapsedMs).toBeLessThan(lease.ttl + 500 + 300 + 1_500);
      for (const d of done) for (const ms of d.durationsMs) expect(ms).toBeLessThan(lease.wait);
    },
    60_000,
  );
});
