/**
 * The Lua scripts behind the atomic store operations, shared by every Redis adapter (Upstash over
 * HTTP, plain Redis and Redis Cluster over TCP) and mirrored by the memory store. A record keeps
 * the tokens of its generations at its front (`{"g":[["key","x","s"],…],…`, see
 * src/core/record/generations.ts), so a script compares them without parsing the rest.
 *
 * `READ`, `WRITE` and `FORGET` touch keys of several slots (generations, eviction bookkeeping,
 * victims' records): they serve one Redis node. On a cluster, `_redis_cluster.ts` runs the same
 * operations as per-slot pieces (`GENERATION_ONLY`, `READ_RECORD`, `LRU_ADD`, `EVICT`, `LRU_FORGET`)
 * and decides validity in the client.
 *
 * @module
 */

/** A script and its SHA-1 (what `EVALSHA` names it by; computed once, see {@link scriptSha}). */
export interface LuaScript {
  /** Short name, for messages. */
  readonly name: string;
  /** The script's text. */
  readonly source: string;
}

// Generations: create missing ones with the caller's token (both fields), so a record never
// holds an empty token.
const GENERATION = `local function generation(k, token)
  local v = redis.call("HMGET", k, "x", "s")
  local x, s = v[1], v[2]
  if not x then x = token; redis.call("HSET", k, "x", x) end
  if not s then s = token; redis.call("HSET", k, "s", s) end
  return x, s
end`;

/**
 * A namespace's eviction bookkeeping, shared by the write script (one node) and the cluster's
 * bookkeeping script (the namespace's shard). The first call of next_victim records the member's
 * use, size and expiry, after dropping up to 100 members that expired before now (they stop
 * counting; their records expire on their own, so they are neither deleted nor reported); each
 * call then returns, forgotten, the least recently used member other than the one being written
 * while a bound is exceeded, or nil. A write never evicts its own member.
 */
const LRU_FUNCTIONS = `  local function forget(lru, sizes, expiries, m)
    redis.call("ZREM", lru, m)
    redis.call("ZREM", expiries, m)
    local b = redis.call("HGET", sizes, m)
    if b then
      redis.call("HDEL", sizes, m)
      redis.call("HINCRBY", sizes, "#", -tonumber(b))
    end
  end
  local tracked = false
  local function next_victim(lru, sizes, expiries, member, now, ttl, bytes, maxEntries, maxBytes)
    if not tracked then
      tracked = true
      for _, m in ipairs(redis.call("ZRANGEBYSCORE", expiries, "-inf", "(" .. now, "LIMIT", 0, 100)) do
        forget(lru, sizes, expiries, m)
      end
      local old = tonumber(redis.call("HGET", sizes, member) or "0")
      redis.call("ZADD", lru, now, member)
      redis.call("ZADD", expiries, tonumber(now) + tonumber(ttl), member)
      redis.call("HSET", sizes, member, bytes)
      redis.call("HINCRBY", sizes, "#", tonumber(bytes) - old)
    end
    local me, mb = tonumber(maxEntries), tonumber(maxBytes)
    if (me > 0 and redis.call("ZCARD", lru) > me) or
        (mb > 0 and tonumber(redis.call("HGET", sizes, "#") or "0") > mb) then
      local first = redis.call("ZRANGE", lru, 0, 1)
      local m = first[1]
      if m == member then m = first[2] end
      if m then forget(lru, sizes, expiries, m) end
      return m
    end
    return nil
  end`;

// The stamps at the front of a stored record, as "key","x" pairs for string.gmatch.
const STAMPS = `local function stamps(v)
  local list = string.match(v, '^{"g":%[(%[.-)%]%]')
  if not list then return function() return nil end end
  return string.gmatch(list, '%["([^"]*)","([^"]*)","[^"]*"')
end`;

/**
 * KEYS: record, lease (or record), touched sorted set (or record), generation keys…
 * ARGV: token, lease?, lease token, lease ttl, touch?, touch score, touch member.
 * Returns {record or false, invalidated 0/1, lease -1/0/1, {key, x, s, …}}.
 */
export const READ: LuaScript = {
  name: "read",
  source: `${GENERATION}
${STAMPS}
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
  for k, x in stamps(v) do
    if gen(k)[1] ~= x then invalidated = 1 end
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
return {v, invalidated, lease, flat}`,
};

/**
 * KEYS: record, last-use sorted set, sizes hash, expiry sorted set (each the record without lru),
 * generation keys… ARGV: token, record, ttl, lru?, member, score (the writer's now), bytes,
 * max entries, max bytes, record prefix, record suffix, then the expected x and s of each
 * generation key ("" when not given). Returns {written 0/1, {evicted members whose record pointed
 * to a blob}}. Expiry is the writer's clock, not Redis TIME, so instances (and tests moving their
 * clock) agree with each other and with the memory store.
 */
export const WRITE: LuaScript = {
  name: "write",
  source: `${GENERATION}
local token, parts = ARGV[1], {}
for i = 5, #KEYS do
  local x, s = generation(KEYS[i], token)
  local j = 2 * (i - 4)
  local wx, ws = ARGV[10 + j], ARGV[11 + j]
  if wx ~= "" and wx ~= x then return {0, {}} end
  if wx == "" then wx = x end
  if ws == "" then ws = s end
  table.insert(parts, '["' .. KEYS[i] .. '","' .. wx .. '","' .. ws .. '"]')
end
redis.call("SET", KEYS[1], '{"g":[' .. table.concat(parts, ",") .. '],' .. string.sub(ARGV[2], 2), "PX", ARGV[3])
local evicted = {}
if ARGV[4] == "1" then
  local lru, sizes, expiries, member = KEYS[2], KEYS[3], KEYS[4], ARGV[5]
${LRU_FUNCTIONS}
  local m
  repeat
    m = next_victim(lru, sizes, expiries, member, ARGV[6], ARGV[3], ARGV[7], ARGV[8], ARGV[9])
    if m then
      local key = ARGV[10] .. m .. ARGV[11]
      local rec = redis.call("GET", key)
      if rec then
        redis.call("DEL", key)
        if string.find(rec, '"b":"', 1, true) then table.insert(evicted, m) end
      end
    end
  until not m
end
return {1, evicted}`,
};

// Forgets ARGV[1] in a namespace's bookkeeping (KEYS 1-3: last use, sizes, expiries): shared by
// FORGET (one node) and LRU_FORGET (the namespace's shard of a cluster).
const LRU_FORGET_MEMBER = `redis.call("ZREM", KEYS[1], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
local b = redis.call("HGET", KEYS[2], ARGV[1])
if b then
  redis.call("HDEL", KEYS[2], ARGV[1])
  redis.call("HINCRBY", KEYS[2], "#", -tonumber(b))
end`;

/** KEYS: last-use sorted set, sizes hash, expiry sorted set, keys to delete… ARGV: member. Returns the number of keys deleted. */
export const FORGET: LuaScript = {
  name: "forget",
  source: `local n = 0
for i = 4, #KEYS do n = n + redis.call("DEL", KEYS[i]) end
${LRU_FORGET_MEMBER}
return n`,
};

/** KEYS: lease. ARGV: token, ttl. Returns 1 when still the owner (expiry reset), else 0. */
export const RENEW_LEASE: LuaScript = {
  name: "renewLease",
  source: `if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
return 0`,
};

/** KEYS: lease. ARGV: token. Returns 1 when deleted (the token owned it), else 0. */
export const RELEASE_LEASE: LuaScript = {
  name: "releaseLease",
  source: `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`,
};

// ---- Cluster pieces: each touches the keys of one slot only. ----

/** KEYS: one generation key. ARGV: token. Returns {x, s} (created from the token when missing). */
export const GENERATION_ONLY: LuaScript = {
  name: "generation",
  source: `${GENERATION}
local x, s = generation(KEYS[1], ARGV[1])
return {x, s}`,
};

/**
 * The record's half of a cluster read. KEYS: record, lease (same slot; or record).
 * ARGV: lease?, lease token, lease ttl, then `key, x` pairs: the expire tokens this process saw
 * last. The lease is taken when there is no record, or when one of its stamps differs from a
 * token given (it is invalid by what this process knows). Validity itself is decided by the
 * caller against the current tokens, read in the same round trip from their own slots.
 * Returns {record or false, lease -1/0/1}.
 */
export const READ_RECORD: LuaScript = {
  name: "readRecord",
  source: `${STAMPS}
local v = redis.call("GET", KEYS[1])
local known = {}
for i = 4, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end
local missing = not v
if v then
  for k, x in stamps(v) do
    if known[k] and known[k] ~= x then missing = true end
  end
end
local lease = -1
if missing and ARGV[1] == "1" then
  if redis.call("SET", KEYS[2], ARGV[2], "NX", "PX", ARGV[3]) then lease = 1 else lease = 0 end
end
return {v, lease}`,
};

/**
 * The cluster's bookkeeping step of a write, on the namespace's shard. KEYS: last-use sorted set,
 * sizes hash, expiry sorted set. ARGV: member, score (the writer's now), bytes, max entries, max
 * bytes, ttl. Returns the evicted members (their records are deleted on their own shards).
 */
export const LRU_ADD: LuaScript = {
  name: "lruAdd",
  source: `local lru, sizes, expiries, member = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
${LRU_FUNCTIONS}
local popped = {}
local m
repeat
  m = next_victim(lru, sizes, expiries, member, ARGV[2], ARGV[6], ARGV[3], ARGV[4], ARGV[5])
  if m then table.insert(popped, m) end
until not m
return popped`,
};

/** KEYS: an evicted entry's record. Deletes it; returns 1 when it pointed to a blob, else 0. */
export const EVICT: LuaScript = {
  name: "evict",
  source: `local rec = redis.call("GET", KEYS[1])
if not rec then return 0 end
redis.call("DEL", KEYS[1])
if string.find(rec, '"b":"', 1, true) then return 1 end
return 0`,
};

/** KEYS: last-use sorted set, sizes hash, expiry sorted set (one slot). ARGV: member. Forgets the member; returns 0. */
export const LRU_FORGET: LuaScript = {
  name: "lruForget",
  source: `${LRU_FORGET_MEMBER}
return 0`,
};

// ---- The tiers' bus on a store that is polled (Upstash): a stream per channel. ----

// The server's clock, in ms: the log's times are the server's, never a client's.
const NOW_MS = `local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Appends a message to a channel's log. KEYS: the log (a stream). ARGV: message, keep ms. Entries
 * older than `keep` (the server's clock) are trimmed (`MINID ~`: never a newer one), and the log
 * expires `2 × keep` after its last message. Returns 1.
 */
export const PUBLISH_LOG: LuaScript = {
  name: "publishLog",
  source: `${NOW_MS}
redis.call("XADD", KEYS[1], "MINID", "~", tostring(now - tonumber(ARGV[2])), "*", "m", ARGV[1])
redis.call("PEXPIRE", KEYS[1], 2 * tonumber(ARGV[2]))
return 1`,
};

/**
 * Reads a channel's log. KEYS: the log. ARGV: cursor ("" on a first read), recent ms (a first
 * read's window), max messages, keep ms (what the log is sure to hold). The cursor is
 * \`e:<id>\` (the last entry read, or the log's last on a read that found nothing new) or
 * \`n:<id>\` (there was no log: the position just before the read). A gap, where messages may be
 * missing: the entry of an \`e:\` cursor is gone (trimmed, or the log deleted by \`clear()\`,
 * evicted or expired, whether or not it came back since), an \`n:\` cursor is older than \`keep\`,
 * or a first read's window reaches past \`keep\`. Returns {cursor, gap 0/1, message…}, oldest first.
 */
export const READ_LOG: LuaScript = {
  name: "readLog",
  source: `${NOW_MS}
local log, after, recent, max, keep = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local exists = redis.call("EXISTS", log) == 1
local function tail()
  local last = exists and redis.call("XREVRANGE", log, "+", "-", "COUNT", 1)[1]
  if last then return "e:" .. last[1] end
  return "n:" .. tostring(now - 1) .. "-18446744073709551615"
end
local gap = 0
local from
if after == "" then
  if recent > keep then gap = 1 end
  from = tostring(now - recent) .. "-0"
else
  local kind, id = string.match(after, "^(%a):(.+)$")
  local ms = id and tonumber(string.match(id, "^(%d+)"))
  if not ms then
    gap = 1
  elseif kind == "e" then
    if not exists or #redis.call("XRANGE", log, id, id) == 0 then gap = 1 end
  elseif ms < now - keep then
    gap = 1
  end
  from = id and ("(" .. id)
end
if gap == 1 or not exists then return {tail(), gap} end
local entries = redis.call("XRANGE", log, from, "+", "COUNT", max)
local out = {"", 0}
for i, entry in ipairs(entries) do out[i + 2] = entry[2][2] end
if #entries > 0 then
  out[1] = "e:" .. entries[#entries][1]
else
  out[1] = tail()
end
return out`,
};

/** Every script, for computing their SHA-1s once ({@link loadShas}). */
const ALL: readonly LuaScript[] = [
  READ,
  WRITE,
  FORGET,
  RENEW_LEASE,
  RELEASE_LEASE,
  GENERATION_ONLY,
  READ_RECORD,
  LRU_ADD,
  EVICT,
  LRU_FORGET,
  PUBLISH_LOG,
  READ_LOG,
];
const shas = new Map<LuaScript, string>();
let loading: Promise<void> | undefined;

/** Computes every script's SHA-1 (once per process: WebCrypto's digest is asynchronous). */
export function loadShas(): Promise<void> {
  loading ??= Promise.all(ALL.map(async (script) => {
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script.source));
    shas.set(script, [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""));
  })).then(() => {});
  return loading;
}

/**
 * The script's SHA-1 in lower-case hex, as `EVALSHA` names it. Synchronous, so a batch's commands
 * leave in order; {@link loadShas} must have resolved.
 */
export function scriptSha(script: LuaScript): string {
  const sha = shas.get(script);
  if (sha === undefined) throw new Error(`script ${script.name}: SHA-1 not computed (await loadShas() first)`);
  return sha;
}
