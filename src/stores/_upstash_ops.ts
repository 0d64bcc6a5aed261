/**
 * How each store operation becomes Redis commands on the Upstash REST API, and how replies come
 * back. The atomic operations are Lua scripts, sent with EVAL (not EVALSHA) so that every call is
 * one round trip even on a server that has never seen the script.
 *
 * @module
 */
import type { Generation, ReadOp, ReadResult, StoreOp, StoreResult, WriteOp, WriteResult } from "../core/types.ts";

/** The part of an `@upstash/redis` pipeline the adapter uses. */
export interface Pipeline {
  get(key: string): unknown;
  set(key: string, value: string, options: { nx?: true; px: number }): unknown;
  del(...keys: string[]): unknown;
  exists(key: string): unknown;
  eval(script: string, keys: string[], args: (string | number)[]): unknown;
  hset(key: string, fields: Record<string, string>): unknown;
  hincrby(key: string, field: string, by: number): unknown;
  hgetall(key: string): unknown;
  scan(cursor: string | number, options: { match: string; count: number }): unknown;
}

// Generations: create missing ones with the caller's token (both fields), so a record never
// holds an empty token. Shared by READ and WRITE.
const GENERATION = `local function generation(k, token)
  local v = redis.call("HMGET", k, "x", "s")
  local x, s = v[1], v[2]
  if not x then x = token; redis.call("HSET", k, "x", x) end
  if not s then s = token; redis.call("HSET", k, "s", s) end
  return x, s
end`;

// KEYS: record, lease (or record), touched sorted set (or record), generation keys…
// ARGV: token, lease?, lease token, lease ttl, touch?, touch score, touch member.
// The record's own stamps sit at its front: {"g":[["key","x","s"],…],…
const READ = `${GENERATION}
local token, gens, order = ARGV[1], {}, {}
local function gen(k)
  if not gens[k] then
    local x, s = generation(k, token)
    gens[k] = {x, s}
    table.insert(order, k)
  end
  return gens[k]
end
for i = 4, #KEYS do gen(KEYS[i]) end
local v = redis.call("GET", KEYS[1])
local invalidated = 0
if v then
  local stamps = string.match(v, '^{"g":%[(%[.-)%]%]')
  if stamps then
    for k, x in string.gmatch(stamps, '%["([^"]*)","([^"]*)","[^"]*"') do
      if gen(k)[1] ~= x then invalidated = 1 end
    end
  end
  if invalidated == 1 then v = false end
end
local lease = -1
if not v and ARGV[2] == "1" then
  if redis.call("SET", KEYS[2], ARGV[3], "NX", "PX", ARGV[4]) then lease = 1 else lease = 0 end
end
if v and ARGV[5] == "1" then redis.call("ZADD", KEYS[3], "XX", ARGV[6], ARGV[7]) end
local flat = {}
for _, k in ipairs(order) do
  table.insert(flat, k); table.insert(flat, gens[k][1]); table.insert(flat, gens[k][2])
end
return {v, invalidated, lease, flat}`;

// KEYS: record, last-use sorted set, sizes hash, expiry sorted set (each the record without lru),
// generation keys… ARGV: token, record, ttl, lru?, member, score (the writer's now), bytes,
// max entries, max bytes, record prefix, then the expected x and s of each generation key ("" when
// not given). Expiry is the writer's clock, not Redis TIME, so instances (and tests moving their
// clock) agree with each other and with the memory store.
const WRITE = `${GENERATION}
local token, parts = ARGV[1], {}
for i = 5, #KEYS do
  local x, s = generation(KEYS[i], token)
  local j = 2 * (i - 4)
  local wx, ws = ARGV[9 + j], ARGV[10 + j]
  if wx ~= "" and wx ~= x then return {0, {}} end
  if wx == "" then wx = x end
  if ws == "" then ws = s end
  table.insert(parts, '["' .. KEYS[i] .. '","' .. wx .. '","' .. ws .. '"]')
end
redis.call("SET", KEYS[1], '{"g":[' .. table.concat(parts, ",") .. '],' .. string.sub(ARGV[2], 2), "PX", ARGV[3])
local evicted = {}
if ARGV[4] == "1" then
  local lru, sizes, expiries, member = KEYS[2], KEYS[3], KEYS[4], ARGV[5]
  local function forget(m)
    redis.call("ZREM", lru, m)
    redis.call("ZREM", expiries, m)
    local b = redis.call("HGET", sizes, m)
    if b then
      redis.call("HDEL", sizes, m)
      redis.call("HINCRBY", sizes, "#", -tonumber(b))
    end
  end
  -- Expired members stop counting; their records go on their own (not deleted, not reported).
  -- At most 100 per write: the rest go with the next writes.
  for _, m in ipairs(redis.call("ZRANGEBYSCORE", expiries, "-inf", "(" .. ARGV[6], "LIMIT", 0, 100)) do
    forget(m)
  end
  local old = tonumber(redis.call("HGET", sizes, member) or "0")
  redis.call("ZADD", lru, ARGV[6], member)
  redis.call("ZADD", expiries, tonumber(ARGV[6]) + tonumber(ARGV[3]), member)
  redis.call("HSET", sizes, member, ARGV[7])
  redis.call("HINCRBY", sizes, "#", tonumber(ARGV[7]) - old)
  local maxEntries, maxBytes = tonumber(ARGV[8]), tonumber(ARGV[9])
  while (maxEntries > 0 and redis.call("ZCARD", lru) > maxEntries) or
      (maxBytes > 0 and tonumber(redis.call("HGET", sizes, "#") or "0") > maxBytes) do
    -- The least recently used member other than this one: a write never evicts itself.
    local first = redis.call("ZRANGE", lru, 0, 1)
    local m = first[1]
    if m == member then m = first[2] end
    if not m then break end
    forget(m)
    local rec = redis.call("GET", ARGV[10] .. m)
    if rec then
      redis.call("DEL", ARGV[10] .. m)
      if string.find(rec, '"b":"', 1, true) then table.insert(evicted, m) end
    end
  end
end
return {1, evicted}`;

// KEYS: last-use sorted set, sizes hash, expiry sorted set, keys to delete… ARGV: member.
const FORGET = `local n = 0
for i = 4, #KEYS do n = n + redis.call("DEL", KEYS[i]) end
redis.call("ZREM", KEYS[1], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
local b = redis.call("HGET", KEYS[2], ARGV[1])
if b then
  redis.call("HDEL", KEYS[2], ARGV[1])
  redis.call("HINCRBY", KEYS[2], "#", -tonumber(b))
end
return n`;

const RENEW_LEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
return 0`;
const RELEASE_LEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/** Adds the commands of `op` to `pipeline`. */
export function enqueue(pipeline: Pipeline, op: StoreOp): void {
  switch (op.type) {
    case "get":
      return void pipeline.get(op.key);
    case "set":
      return void pipeline.set(op.key, op.value, op.ifAbsent ? { nx: true, px: op.ttlMs } : { px: op.ttlMs });
    case "del":
      if (op.lru) {
        const { lru } = op;
        return void pipeline.eval(FORGET, [lru.key, lru.sizes, lru.expiries, op.key, ...op.more ?? []], [lru.member]);
      }
      return void pipeline.del(op.key, ...op.more ?? []);
    case "exists":
      return void pipeline.exists(op.key);
    case "read":
      return void enqueueRead(pipeline, op);
    case "write":
      return void enqueueWrite(pipeline, op);
    case "renewLease":
      return void pipeline.eval(RENEW_LEASE, [op.key], [op.token, op.ttlMs]);
    case "releaseLease":
      return void pipeline.eval(RELEASE_LEASE, [op.key], [op.token]);
    case "setGeneration":
      return void pipeline.hset(op.key, { [op.field]: op.token });
    case "hincr":
      return void pipeline.hincrby(op.key, op.field, op.by);
    case "hgetall":
      return void pipeline.hgetall(op.key);
    case "scan":
      return void pipeline.scan(op.cursor, { match: op.match, count: op.count });
  }
}

function enqueueRead(pipeline: Pipeline, op: ReadOp): void {
  const { lease, touch } = op;
  pipeline.eval(READ, [op.key, lease?.key ?? op.key, touch?.key ?? op.key, ...op.gens], [
    op.token,
    lease ? "1" : "0",
    lease?.token ?? "",
    lease?.ttlMs ?? 0,
    touch ? "1" : "0",
    touch?.score ?? 0,
    touch?.member ?? "",
  ]);
}

function enqueueWrite(pipeline: Pipeline, op: WriteOp): void {
  const { lru } = op;
  const keys = [op.key, lru?.key ?? op.key, lru?.sizes ?? op.key, lru?.expiries ?? op.key];
  pipeline.eval(WRITE, [...keys, ...op.gens.map((g) => g.key)], [
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
    case "scan": {
      if (!Array.isArray(result) || result.length !== 2) return undefined;
      const [cursor, keys] = result as unknown[];
      if (!(typeof cursor === "string" || typeof cursor === "number") || !isStrings(keys)) return undefined;
      return { cursor: String(cursor), keys };
    }
  }
}

function decodeRead(result: unknown): ReadResult | undefined {
  if (!Array.isArray(result) || result.length !== 4) return undefined;
  const [value, invalidated, lease, flat] = result as unknown[];
  if (!(value === null || typeof value === "string") || !isStrings(flat) || flat.length % 3 !== 0) return undefined;
  if ((invalidated !== 0 && invalidated !== 1) || (lease !== -1 && lease !== 0 && lease !== 1)) return undefined;
  const gens: Record<string, Generation> = {};
  for (let i = 0; i < flat.length; i += 3) gens[flat[i]!] = { x: flat[i + 1]!, s: flat[i + 2]! };
  return {
    value,
    invalidated: invalidated === 1,
    lease: lease === 1 ? "acquired" : lease === 0 ? "held" : "none",
    gens,
  };
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
  if (typeof result === "object" && !Array.isArray(result)) {
    const entries = Object.entries(result as Record<string, unknown>);
    if (entries.every(([, v]) => typeof v === "string")) return Object.fromEntries(entries) as Record<string, string>;
  }
  return undefined;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
