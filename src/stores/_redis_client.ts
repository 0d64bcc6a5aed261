/**
 * The part of an ioredis client (`Redis` or `Cluster`; iovalkey's are the same) that the TCP
 * store uses, described structurally so that the library's types stay web-standard, and how
 * commands go over it: scripts by `EVALSHA`, re-sent with `EVAL` only when a node answers
 * `NOSCRIPT` (its script cache was flushed, it restarted, or it is a replica just promoted), so
 * the normal case is one round trip and the rare one two.
 *
 * A NOSCRIPT re-send runs the script after the commands that followed it in the same pipeline
 * (only after the server lost its scripts); the core never sends a batch whose later commands
 * depend on an earlier script.
 *
 * @module
 */
import { ConfigError, StoreError } from "../core/errors.ts";
import type { StoreOp, StoreResult } from "../core/types.ts";
import { type Arg, decodeReply, type RedisCommand } from "./_redis_ops.ts";
import { loadShas, scriptSha } from "./_redis_scripts.ts";

/** A pipeline of an ioredis client: commands queued with `call`, sent by `exec`. */
export interface RedisPipelineLike {
  /** Queues a command. */
  call(command: string, ...args: Arg[]): unknown;
  /** Sends the queued commands at once; one `[error, reply]` per command. */
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** An ioredis `Redis` (one node) or `Cluster`, as far as the store uses it. */
export interface RedisClientLike {
  /** `true` for a `Cluster`. */
  readonly isCluster: boolean;
  /** Connection state: `wait` (lazy, connects on first command), `connecting`, `ready`, … `end`. */
  readonly status: string;
  /** Sends one command (a cluster routes it by its key). */
  call(command: string, ...args: Arg[]): Promise<unknown>;
  /** A pipeline (on one node; a cluster's must hold keys of one node only). */
  pipeline(): RedisPipelineLike;
  /** Closes the connection(s) once pending replies are in. */
  quit(): Promise<unknown>;
  /** Closes at once. */
  disconnect(): void;
}

/** A cluster client: its master nodes, for operations that walk every shard (SCAN). */
export interface RedisClusterLike extends RedisClientLike {
  /** The nodes of a role, each a one-node client. */
  nodes(role?: "master" | "slave" | "all"): RedisClientLike[];
  /** ioredis' slot map: for each slot, the `host:port` of its master first. */
  readonly slots?: readonly (readonly string[] | undefined)[];
}

/** A command's outcome: its reply, or the error the server (or the connection) gave. */
export type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/** Checks that `client` looks like an ioredis client that is not closed for good. */
export function checkClient(client: unknown, where: string): RedisClientLike {
  const candidate = client as Partial<RedisClientLike> | null;
  const looksRight = typeof candidate === "object" && candidate !== null &&
    typeof candidate.call === "function" && typeof candidate.pipeline === "function" &&
    typeof candidate.quit === "function" && typeof candidate.status === "string" &&
    typeof candidate.isCluster === "boolean";
  if (!looksRight) {
    throw new ConfigError(
      `${where} is not an ioredis client: pass \`new Redis(…)\` or \`new Cluster(…)\` from "ioredis" (or "iovalkey"), or a \`url\` instead`,
    );
  }
  const found = candidate as RedisClientLike;
  if (found.status === "end" || found.status === "disconnecting") {
    throw new ConfigError(
      `${where} has been closed (status "${found.status}"): pass a client that is connected or connecting, or a \`url\``,
    );
  }
  if (found.isCluster && typeof (found as Partial<RedisClusterLike>).nodes !== "function") {
    throw new ConfigError(`${where} claims to be a cluster client but has no nodes() method`);
  }
  return found;
}

/** Whether `error` is a server's NOSCRIPT answer. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** The `EVALSHA` (or, with `load`, `EVAL`) arguments of a script command; the command's own for others. */
export function wireArgs(command: RedisCommand, load = false): [string, ...Arg[]] {
  if (command.kind === "call") return [...command.args];
  const { keys, args } = command;
  const head = load ? command.script.source : scriptSha(command.script);
  return [load ? "EVAL" : "EVALSHA", head, keys.length, ...keys, ...args];
}

/** Scripts each one-node client is known to have loaded (by SHA-1). */
const loadedScripts = new WeakMap<RedisClientLike, Set<string>>();

/**
 * Runs `commands` on one node in one pipeline: one round trip. A script this client has not
 * loaded yet is preceded by `SCRIPT LOAD` in the same pipeline (bytes, not a round trip; once per
 * script and client), so the batch keeps its order. A script the server no longer knows
 * (`NOSCRIPT`: flushed, restarted) is re-sent with `EVAL`: a second round trip, only then. Rejects
 * only when the pipeline as a whole failed; a command's own error is in its {@link Reply}.
 */
export async function runPipeline(client: RedisClientLike, commands: readonly RedisCommand[]): Promise<Reply[]> {
  let loaded = loadedScripts.get(client);
  if (!loaded) loadedScripts.set(client, loaded = new Set());
  const wire: [string, ...Arg[]][] = [];
  const positions: number[] = [];
  const loading = new Map<string, number>();
  await loadShas();
  for (const command of commands) {
    if (command.kind === "script") {
      const sha = scriptSha(command.script);
      if (!loaded.has(sha) && !loading.has(sha)) {
        loading.set(sha, wire.length);
        wire.push(["SCRIPT", "LOAD", command.script.source]);
      }
    }
    positions.push(wire.length);
    wire.push(wireArgs(command));
  }
  const all = await execute(client, wire);
  for (const [sha, at] of loading) if (all[at]?.ok) loaded.add(sha);
  const replies = positions.map((at) => all[at]!);
  const unknown = replies.flatMap((reply, i) => !reply.ok && isNoScript(reply.error) ? [i] : []);
  if (unknown.length === 0) return replies;
  const again = await execute(client, unknown.map((i) => wireArgs(commands[i]!, true)));
  unknown.forEach((index, j) => (replies[index] = again[j]!));
  return replies;
}

async function execute(client: RedisClientLike, wire: readonly [string, ...Arg[]][]): Promise<Reply[]> {
  const pipeline = client.pipeline();
  for (const [name, ...args] of wire) pipeline.call(name, ...args);
  const results = await pipeline.exec();
  if (!results || results.length !== wire.length) {
    throw new Error(`pipeline returned ${results ? results.length : "no"} replies for ${wire.length} commands`);
  }
  return results.map(([error, value]): Reply => error ? { ok: false, error } : { ok: true, value });
}

/**
 * Runs one command with `call` (a cluster routes it). A script goes by `EVAL` when `load` (its
 * node is not known to have it: that loads it there), else by `EVALSHA`, re-sent with `EVAL` on
 * NOSCRIPT.
 */
export function runCommand(client: RedisClientLike, command: RedisCommand, load = false): Promise<Reply> {
  // Issued before returning (no await first), so commands leave in the order they were run.
  const loadNow = (): Promise<Reply> =>
    client.call(...wireArgs(command, true)).then((value): Reply => ({ ok: true, value }), failed);
  if (load && command.kind === "script") return loadNow();
  return client.call(...wireArgs(command)).then(
    (value): Reply => ({ ok: true, value }),
    (error: unknown) => command.kind === "script" && isNoScript(error) ? loadNow() : failed(error),
  );
}

function failed(error: unknown): Reply {
  return { ok: false, error: asError(error) };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The result of `op` from its reply; a `StoreError` (naming `name` and the operation) for an error or a reply of the wrong shape. */
export function resultOf(name: string, op: StoreOp, reply: Reply | undefined): StoreResult {
  if (reply === undefined) throw new StoreError(`${name} ${op.type} failed: no reply`);
  // A message the server refused is not the change's failure (the bus is best effort): `false`.
  if (op.type === "publish" && !reply.ok) return false;
  if (!reply.ok) {
    throw new StoreError(`${name} ${op.type} failed: ${errorMessage(reply.error)}`, {
      cause: reply.error,
      fix: authFix(reply.error),
    });
  }
  const result = decodeReply(op, reply.value);
  if (result === undefined) {
    throw new StoreError(`${name} ${op.type} failed: unexpected reply ${JSON.stringify(reply.value)?.slice(0, 80)}`);
  }
  return result;
}

/**
 * What to change when Redis refused the credentials (`WRONGPASS`, `NOAUTH`, an `AUTH` the server
 * has no password for): a misconfiguration, not an outage. Undefined for any other error.
 */
export function authFix(cause: unknown): string | undefined {
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/^(WRONGPASS|NOAUTH)\b|AUTH\b.*without any password|invalid (username-)?password/i.test(text)) {
    return "check the user name and password in the redis:// URL (CACHE_URL / REDIS_URL), or the client's `username`/`password`";
  }
  if (/^NOPERM\b/.test(text)) {
    return "the Redis user may not run this command: grant it +@read +@write +@scripting (EVAL, EVALSHA) on the prefix's keys";
  }
  return undefined;
}

/** An error's message, capped (Redis errors quote no values; connection errors name host:port only). */
export function errorMessage(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
