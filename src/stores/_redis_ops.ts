/**
 * How each store operation becomes one Redis command, and how its reply comes back: shared by
 * the Upstash adapter (which sends scripts with `EVAL` over HTTP) and the TCP adapter on one
 * Redis node (which sends them with `EVALSHA`). A command is data, so each adapter only says how
 * it puts commands on its wire. Replies are accepted in RESP2 and RESP3 shapes (a Lua `false`
 * arrives as `null` or `false`, a hash as a flat array or an object).
 *
 * @module
 */
import { StoreError } from "../core/errors.ts";
import type { Generation, ReadOp, ReadResult, StoreOp, StoreResult, WriteOp, WriteResult } from "../core/types.ts";
import {
  FORGET,
  type LuaScript,
  PUBLISH_LOG,
  READ,
  READ_LOG,
  RELEASE_LEASE,
  RENEW_LEASE,
  WRITE,
} from "./_redis_scripts.ts";

/**
 * How long a channel's log (a polled bus: Upstash) is sure to keep a message, ms: a reader idle
 * longer than this sees a gap and empties its tier (which its TTL has mostly emptied by then).
 */
export const BUS_LOG_KEEP_MS = 60_000;

/** A command argument. */
export type Arg = string | number;

/** One Redis command: a plain one (`["GET", key]`), or a script with its keys and arguments. */
export type RedisCommand =
  | { readonly kind: "call"; readonly args: readonly [string, ...Arg[]] }
  | {
    readonly kind: "script";
    readonly script: LuaScript;
    readonly keys: readonly string[];
    readonly args: readonly Arg[];
  };

const call = (...args: [string, ...Arg[]]): RedisCommand => ({ kind: "call", args });
const script = (s: LuaScript, keys: readonly string[], args: readonly Arg[]): RedisCommand => ({
  kind: "script",
  script: s,
  keys,
  args,
});

/**
 * The command that runs `op` on one Redis node. `bus` says how its bus works: `push` sends a
 * `publish` as `PUBLISH`; `poll` appends it to the channel's log (a stream) and reads the log for
 * `readBus`.
 */
export function encodeOp(op: StoreOp, bus: "push" | "poll" = "push"): RedisCommand {
  switch (op.type) {
    case "publish":
      return bus === "push"
        ? call("PUBLISH", op.channel, op.message)
        : script(PUBLISH_LOG, [op.channel], [op.message, BUS_LOG_KEEP_MS]);
    case "readBus":
      return script(READ_LOG, [op.channel], [op.after ?? "", op.recentMs, op.max, BUS_LOG_KEEP_MS]);
    case "get":
      return call("GET", op.key);
    case "set":
      return op.ifAbsent
        ? call("SET", op.key, op.value, "PX", op.ttlMs, "NX")
        : call("SET", op.key, op.value, "PX", op.ttlMs);
    case "del":
      if (op.lru) {
        const { lru } = op;
        return script(FORGET, [lru.key, lru.sizes, lru.expiries, op.key, ...op.more ?? []], [lru.member]);
      }
      return call("DEL", op.key, ...op.more ?? []);
    case "exists":
      return call("EXISTS", op.key);
    case "read":
      return encodeRead(op);
    case "write":
      return encodeWrite(op);
    case "renewLease":
      return script(RENEW_LEASE, [op.key], [op.token, op.ttlMs]);
    case "releaseLease":
      return script(RELEASE_LEASE, [op.key], [op.token]);
    case "setGeneration":
      return call("HSET", op.key, op.field, op.token);
    case "hincr":
      return call("HINCRBY", op.key, op.field, op.by);
    case "hgetall":
      return call("HGETALL", op.key);
    case "scan":
      return call("SCAN", op.cursor, "MATCH", op.match, "COUNT", op.count);
  }
}

function encodeRead(op: ReadOp): RedisCommand {
  const { lease, touch } = op;
  return script(READ, [op.key, lease?.key ?? op.key, touch?.key ?? op.key, ...op.gens], [
    op.token,
    lease ? "1" : "0",
    lease?.token ?? "",
    lease?.ttlMs ?? 0,
    touch ? "1" : "0",
    touch?.score ?? 0,
    touch?.member ?? "",
  ]);
}

function encodeWrite(op: WriteOp): RedisCommand {
  const { lru } = op;
  const keys = [op.key, lru?.key ?? op.key, lru?.sizes ?? op.key, lru?.expiries ?? op.key];
  return script(WRITE, [...keys, ...op.gens.map((g) => g.key)], [
    op.token,
    op.record,
    op.ttlMs,
    lru ? "1" : "0",
    lru?.member ?? "",
    lru?.score ?? 0,
    lru?.bytes ?? 0,
    lru?.maxEntries ?? 0,
    lru?.maxBytes ?? 0,
    lru?.recordPrefix ?? "",
    lru?.recordSuffix ?? "",
    ...op.gens.flatMap((g) => [g.x ?? "", g.s ?? ""]),
  ]);
}

/** The result of `op` from its reply, or `undefined` when the reply has an unexpected shape. */
export function decodeReply(op: StoreOp, result: unknown): StoreResult | undefined {
  switch (op.type) {
    case "get":
      return result === null || typeof result === "string" ? result : undefined;
    case "set":
      if (result === "OK") return true;
      return result === null && op.ifAbsent ? false : undefined;
    case "del":
    case "hincr":
      return typeof result === "number" ? result : undefined;
    case "exists":
      return typeof result === "number" ? result > 0 : undefined;
    case "read":
      return decodeRead(result);
    case "write":
      return decodeWrite(result);
    case "renewLease":
    case "releaseLease":
      return result === 1 || result === 0 ? result === 1 : undefined;
    case "setGeneration":
      return typeof result === "number" ? true : undefined;
    case "hgetall":
      return decodeHash(result);
    case "publish":
      return typeof result === "number" ? true : undefined;
    case "readBus": {
      if (!Array.isArray(result) || result.length < 2) return undefined;
      const [cursor, gap, ...messages] = result as unknown[];
      if (typeof cursor !== "string" || (gap !== 0 && gap !== 1) || !isStrings(messages)) return undefined;
      return { cursor, gap: gap === 1, messages };
    }
    case "scan": {
      if (!Array.isArray(result) || result.length !== 2) return undefined;
      const [cursor, keys] = result as unknown[];
      if (!(typeof cursor === "string" || typeof cursor === "number") || !isStrings(keys)) return undefined;
      return { cursor: String(cursor), keys };
    }
  }
}

/** A script's "no record": `false` in Lua, `null` in RESP2, `false` in RESP3. */
export function recordOrNull(value: unknown): string | null | undefined {
  if (value === null || value === false) return null;
  return typeof value === "string" ? value : undefined;
}

function decodeRead(result: unknown): ReadResult | undefined {
  if (!Array.isArray(result) || result.length !== 4) return undefined;
  const [stored, invalidated, lease, flat] = result as unknown[];
  const value = recordOrNull(stored);
  if (value === undefined || !isStrings(flat) || flat.length % 3 !== 0) return undefined;
  if ((invalidated !== 0 && invalidated !== 1) || (lease !== -1 && lease !== 0 && lease !== 1)) return undefined;
  const gens: Record<string, Generation> = {};
  for (let i = 0; i < flat.length; i += 3) gens[flat[i]!] = { x: flat[i + 1]!, s: flat[i + 2]! };
  return {
    value,
    invalidated: invalidated === 1,
    lease: leaseState(lease),
    gens,
  };
}

/** A script's lease outcome: 1 taken, 0 held by another owner, -1 not asked for. */
export function leaseState(code: -1 | 0 | 1): ReadResult["lease"] {
  return code === 1 ? "acquired" : code === 0 ? "held" : "none";
}

function decodeWrite(result: unknown): WriteResult | undefined {
  if (!Array.isArray(result) || result.length !== 2) return undefined;
  const [written, evicted] = result as unknown[];
  if ((written !== 0 && written !== 1) || !isStrings(evicted)) return undefined;
  return { written: written === 1, evicted };
}

function decodeHash(result: unknown): Record<string, string> | undefined {
  if (result === null) return {};
  if (isStrings(result) && result.length % 2 === 0) {
    const fields: Record<string, string> = {};
    for (let i = 0; i < result.length; i += 2) fields[result[i]!] = result[i + 1]!;
    return fields;
  }
  if (result instanceof Map) result = Object.fromEntries(result);
  if (typeof result === "object" && result !== null && !Array.isArray(result)) {
    const entries = Object.entries(result as Record<string, unknown>);
    if (entries.every(([, v]) => typeof v === "string")) return Object.fromEntries(entries) as Record<string, string>;
  }
  return undefined;
}

/** Whether `value` is an array of strings. */
export function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** The operation names of a batch, for messages: `run [get]`, `run [set, get]`. */
export function describeOps(ops: readonly StoreOp[]): string {
  const names = ops.slice(0, 5).map((op) => op.type);
  return `run [${names.join(", ")}${ops.length > 5 ? `, … ${ops.length} ops` : ""}]`;
}

/** Redis `TIME`'s reply (`[seconds, microseconds]`, as strings or numbers) in ms since the epoch. */
export function redisTime(reply: unknown, name: string): number {
  const [seconds, micros] = Array.isArray(reply) ? reply.map(Number) : [];
  if (seconds === undefined || micros === undefined || !Number.isFinite(seconds) || !Number.isFinite(micros)) {
    throw new StoreError(`${name} time failed: unexpected reply ${JSON.stringify(reply)?.slice(0, 80)}`);
  }
  return seconds * 1000 + micros / 1000;
}
