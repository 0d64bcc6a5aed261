/**
 * The store operations on a Redis Cluster, with entries spread over every shard.
 *
 * On one node, a lookup is one script that reads the record and the current generations of its
 * prefix, namespace and tags, and decides validity atomically. On a cluster a script may only
 * touch keys of one slot, and putting a whole prefix under one hash tag would put every entry on
 * one shard. So keys are laid out by slot (src/core/record/key_layout.ts: the record and its lease
 * share the entry's hash tag; a namespace's eviction keys share the namespace's; each generation
 * key is on its own slot), and a `read` becomes pieces sent together, in one wall-clock round trip:
 *
 * - `READ_RECORD` on the record's shard: the record, and the lease taken in the same script when
 *   there is no record, or when the record's stamps differ from the expire tokens this process saw
 *   last for those generations (it is invalid by what this process knows);
 * - `GENERATION_ONLY` on each generation key's shard: its current tokens (created when missing);
 * - the eviction touch (`ZADD XX`) on the namespace's shard (sent before validity is known: an
 *   invalidated entry still tracked may be marked used; its next write or eviction settles it).
 *
 * Validity is then decided here, by comparing the tokens stamped in the record with the current
 * ones, exactly as the one-node script does.
 *
 * **Why no call that starts after a completed invalidation is ever served a value computed
 * before it.** An invalidation replaces a generation's expire token on that key's master and
 * completes when the master has applied it. A value computed before the invalidation was computed
 * by a call whose lookup read the old token (tokens are random and never reused: a generation key
 * that disappears comes back with a fresh one), and its record is stamped with that old token. A
 * call that starts after the invalidation completed reads the generation from the same master
 * after that point, so it sees the new token (or a later one), whatever the record's shard holds
 * and whenever the record was written; the stamped token differs and the record is a miss.
 * Nothing here needs the record and the generations to be read atomically, nor the write to be
 * checked against the current tokens: the write-side check (refusing a value computed across an
 * invalidation) only saves storing a record no reader will accept. Here it compares with the
 * tokens this process saw last and costs nothing; a record it lets through is still refused by
 * every reader. (What the argument assumes: the master's write survives. Redis replicates
 * asynchronously, so a master that dies right after acknowledging an invalidation can lose it
 * in a failover, on one node with a replica as on a cluster.)
 *
 * Round trips, honestly: a hit is one. A miss is one, its lease taken in it, except when the
 * record is present, consistent with the tokens this process last saw, and invalid by the
 * current ones (an invalidation this process has not seen yet: once per generation change, per
 * process) — then taking the lease is a second round trip. A record stamped with a generation
 * the lookup did not name (an entry written with other tags) costs a second round trip to read
 * it. A lease taken needlessly (the record is valid, this process' tokens were older) is released
 * in the background. A write is one round trip when it carries the tokens its lookup saw
 * (`wrap`), two when it needs the current ones (`set`); evicting costs one more (the victims'
 * records live on their own shards). `clear()` scans every master.
 *
 * The ops of one batch run concurrently: a batch must not depend on the order between a
 * multi-step op (`read`, `write`, `del` with eviction bookkeeping) and later ops on the same keys
 * (plain one-key commands keep their order). The core sends no such batch.
 *
 * MOVED/ASK redirections and failovers are ioredis' job; a call that fails meanwhile fails the
 * batch, and the cache fails open.
 *
 * @module
 */
import { StoreError } from "../core/errors.ts";
import { type Stamp, stampRecord, storedStamps } from "../core/record/generations.ts";
import type {
  Generation,
  PublishOp,
  ReadOp,
  ReadResult,
  ScanResult,
  StoreOp,
  StoreResult,
  WriteOp,
  WriteResult,
} from "../core/types.ts";
import { authFix, type RedisClusterLike, type Reply, resultOf, runCommand } from "./_redis_client.ts";
import { type Arg, encodeOp, isStrings, leaseState, recordOrNull, type RedisCommand } from "./_redis_ops.ts";
import {
  EVICT,
  GENERATION_ONLY,
  loadShas,
  LRU_ADD,
  LRU_FORGET,
  READ_RECORD,
  RELEASE_LEASE,
  scriptSha,
} from "./_redis_scripts.ts";
import { keySlot } from "./_redis_slot.ts";

const NAME = "redis-cluster";
/** Generation keys whose last-seen tokens are kept per process. */
const SEEN_MAX = 10_000;

/** Runs batches on `cluster`; see the module documentation. */
export function clusterRunner(cluster: RedisClusterLike): (ops: readonly StoreOp[]) => Promise<StoreResult[]> {
  const seen = new SeenTokens(SEEN_MAX);
  // Scripts each node (by host:port) is known to have: the first time on a node a script goes by
  // EVAL, which loads it, so a batch never meets NOSCRIPT in the normal case and keeps its order.
  const loaded = new Map<string, Set<string>>();
  // Sends at once (no await before the call), so a batch's commands leave in order.
  const send = (command: RedisCommand): Promise<Reply> => {
    if (command.kind !== "script") return runCommand(cluster, command);
    const node = cluster.slots?.[keySlot(command.keys[0] ?? "")]?.[0];
    const sha = scriptSha(command.script);
    const known = node !== undefined && loaded.get(node)?.has(sha) === true;
    return runCommand(cluster, command, !known).then((reply) => {
      if (reply.ok && node !== undefined && !known) {
        let set = loaded.get(node);
        if (!set) loaded.set(node, set = new Set());
        set.add(sha);
      }
      return reply;
    });
  };
  const script = (s: typeof READ_RECORD, keys: string[], args: Arg[]): RedisCommand => ({
    kind: "script",
    script: s,
    keys,
    args,
  });
  /** The value of a reply, or a StoreError naming the operation. */
  const value = (reply: Reply, what: string): unknown => {
    if (!reply.ok) {
      throw new StoreError(`${NAME} ${what} failed: ${reply.error.message.slice(0, 200)}`, {
        cause: reply.error,
        fix: authFix(reply.error),
      });
    }
    return reply.value;
  };

  async function generations(keys: readonly string[], token: string): Promise<Record<string, Generation>> {
    const replies = await Promise.all(keys.map((key) => send(script(GENERATION_ONLY, [key], [token]))));
    const gens: Record<string, Generation> = {};
    keys.forEach((key, i) => {
      const pair = value(replies[i]!, "read");
      if (!isStrings(pair) || pair.length !== 2) {
        throw new StoreError(`${NAME} read failed: unexpected generation reply`);
      }
      gens[key] = { x: pair[0]!, s: pair[1]! };
      seen.set(key, gens[key]);
    });
    return gens;
  }

  async function read(op: ReadOp): Promise<ReadResult> {
    const { lease, touch } = op;
    const together = lease !== undefined && keySlot(op.key) === keySlot(lease.key);
    const known = op.gens.flatMap((key) => {
      const x = seen.get(key)?.x;
      return x === undefined ? [] : [key, x];
    });
    const record = send(script(READ_RECORD, together ? [op.key, lease.key] : [op.key], [
      together ? "1" : "0",
      lease?.token ?? "",
      lease?.ttlMs ?? 0,
      ...known,
    ]));
    const current = generations(op.gens, op.token);
    // Bookkeeping only: a failure here must not fail the lookup.
    const touched = touch
      ? send({ kind: "call", args: ["ZADD", touch.key, "XX", touch.score, touch.member] })
      : undefined;
    const [recordReply, gens] = await Promise.all([record, current, touched]);
    const reply = value(recordReply, "read");
    if (!Array.isArray(reply) || reply.length !== 2) throw new StoreError(`${NAME} read failed: unexpected reply`);
    let stored = recordOrNull(reply[0]);
    const code = reply[1];
    if (stored === undefined || (code !== -1 && code !== 0 && code !== 1)) {
      throw new StoreError(`${NAME} read failed: unexpected reply`);
    }
    const stamps: Stamp[] = stored === null ? [] : storedStamps(stored);
    // Stamped with generations the lookup did not name: a second round trip to read them.
    const others = [...new Set(stamps.map(([key]) => key).filter((key) => gens[key] === undefined))];
    if (others.length > 0) Object.assign(gens, await generations(others, op.token));
    const invalidated = stored !== null && stamps.some(([key, x]) => gens[key]!.x !== x);
    if (invalidated) stored = null;
    let leased: ReadResult["lease"] = "none";
    if (lease && stored !== null) {
      // Taken because this process' tokens were older than the record's: give it back.
      if (code === 1) void send(script(RELEASE_LEASE, [lease.key], [lease.token])).catch(() => {});
    } else if (lease && code !== -1) {
      leased = leaseState(code);
    } else if (lease) {
      // Invalid by tokens this process had not seen yet (or the lease is on another slot).
      const taken = value(
        await send({ kind: "call", args: ["SET", lease.key, lease.token, "PX", lease.ttlMs, "NX"] }),
        "read",
      );
      leased = taken === "OK" ? "acquired" : "held";
    }
    return { value: stored, invalidated, lease: leased, gens };
  }

  async function write(op: WriteOp): Promise<WriteResult> {
    // The write-side check, against the tokens this process saw last (see the module doc).
    for (const stamp of op.gens) {
      const last = stamp.x === undefined ? undefined : seen.get(stamp.key)?.x;
      if (last !== undefined && last !== stamp.x) return { written: false, evicted: [] };
    }
    const unstamped = op.gens.filter((g) => g.x === undefined || g.s === undefined).map((g) => g.key);
    const current = unstamped.length > 0 ? await generations(unstamped, op.token) : {};
    const stamps = op.gens.map((g): Stamp => [g.key, g.x ?? current[g.key]!.x, g.s ?? current[g.key]!.s]);
    const { lru } = op;
    if (lru && !oneSlot(lru)) {
      throw new StoreError(
        `${NAME} write failed: eviction keys must share a hash tag (src/core/record/key_layout.ts lruKeys)`,
      );
    }
    const [setReply, lruReply] = await Promise.all([
      send({ kind: "call", args: ["SET", op.key, stampRecord(stamps, op.record), "PX", op.ttlMs] }),
      lru
        ? send(script(LRU_ADD, [lru.key, lru.sizes, lru.expiries], [
          lru.member,
          lru.score,
          lru.bytes,
          lru.maxEntries,
          lru.maxBytes,
          op.ttlMs,
        ]))
        : undefined,
    ]);
    if (value(setReply, "write") !== "OK") throw new StoreError(`${NAME} write failed: unexpected reply`);
    if (!lru || !lruReply) return { written: true, evicted: [] };
    const popped = value(lruReply, "write");
    if (!isStrings(popped)) throw new StoreError(`${NAME} write failed: unexpected eviction reply`);
    const suffix = lru.recordSuffix ?? "";
    const victims = await Promise.all(
      popped.map((member) => send(script(EVICT, [lru.recordPrefix + member + suffix], []))),
    );
    return { written: true, evicted: popped.filter((_, i) => value(victims[i]!, "write") === 1) };
  }

  async function del(op: StoreOp & { type: "del" }): Promise<number> {
    const keys = [op.key, ...op.more ?? []];
    if (op.lru && !oneSlot(op.lru)) {
      throw new StoreError(
        `${NAME} del failed: eviction keys must share a hash tag (src/core/record/key_layout.ts lruKeys)`,
      );
    }
    const forget = op.lru
      ? send(script(LRU_FORGET, [op.lru.key, op.lru.sizes, op.lru.expiries], [op.lru.member]))
      : undefined;
    const [removed, forgot] = await Promise.all([
      Promise.all(keys.map((key) => send({ kind: "call", args: ["DEL", key] }))),
      forget,
    ]);
    if (forgot) value(forgot, "del");
    return removed.reduce((sum, reply) => sum + Number(value(reply, "del")), 0);
  }

  /** One step of a scan over every master: the cursor is `<master index>:<its cursor>`. */
  async function scan(op: StoreOp & { type: "scan" }): Promise<ScanResult> {
    let masters = cluster.nodes("master");
    if (masters.length === 0) {
      await cluster.call("PING");
      masters = cluster.nodes("master");
    }
    const [at, inner] = op.cursor === "0" ? [0, "0"] : op.cursor.split(":");
    const index = Number(at);
    const node = masters[index];
    if (!node) return { cursor: "0", keys: [] };
    const reply = await node.call("SCAN", inner ?? "0", "MATCH", op.match, "COUNT", op.count);
    if (!Array.isArray(reply) || reply.length !== 2 || !isStrings(reply[1])) {
      throw new StoreError(`${NAME} scan failed: unexpected reply`);
    }
    const next = String(reply[0]);
    const cursor = next !== "0" ? `${index}:${next}` : index + 1 < masters.length ? `${index + 1}:0` : "0";
    return { cursor, keys: reply[1] };
  }

  async function one(op: StoreOp): Promise<StoreResult> {
    switch (op.type) {
      case "read":
        return await read(op);
      case "write":
        return await write(op);
      case "del":
        return await del(op);
      case "scan":
        return await scan(op);
      case "setGeneration": {
        const result = resultOf(NAME, op, await send(encodeOp(op)));
        seen.update(op.key, op.field, op.token);
        return result;
      }
      default:
        return resultOf(NAME, op, await send(encodeOp(op)));
    }
  }

  // Sharded pub/sub (Redis 7): the message goes to the channel's shard only (_redis_bus.ts says why).
  let sharded = true;
  /** A bus message: `SPUBLISH`, or `PUBLISH` on servers without it; false when it could not be sent. */
  async function publish(op: PublishOp): Promise<boolean> {
    if (sharded) {
      const reply = await runCommand(cluster, { kind: "call", args: ["SPUBLISH", op.channel, op.message] });
      if (reply.ok) return true;
      if (!/unknown command/i.test(reply.error.message)) return false;
      sharded = false;
    }
    return (await runCommand(cluster, { kind: "call", args: ["PUBLISH", op.channel, op.message] })).ok;
  }

  return async (ops) => {
    await loadShas();
    // A batch's ops run concurrently; a message goes once they have completed, so that nobody
    // hears of a change before its shard shows it (the one-node pipeline keeps that by its order).
    const results: StoreResult[] = await Promise.all(ops.map((op) => op.type === "publish" ? false : one(op)));
    for (const [i, op] of ops.entries()) if (op.type === "publish") results[i] = await publish(op);
    return results;
  };
}

/** The generation tokens this process saw last, for the lease decision and the write-side check. */
class SeenTokens {
  readonly #tokens = new Map<string, Partial<Generation>>();
  constructor(readonly max: number) {}

  get(key: string): Partial<Generation> | undefined {
    return this.#tokens.get(key);
  }

  set(key: string, gen: Partial<Generation>): void {
    this.#tokens.delete(key);
    this.#tokens.set(key, gen);
    if (this.#tokens.size > this.max) this.#tokens.delete(this.#tokens.keys().next().value!);
  }

  /** One field replaced by this process' own invalidation. */
  update(key: string, field: "x" | "s", token: string): void {
    this.set(key, { ...this.#tokens.get(key), [field]: token });
  }
}

/** Whether a namespace's bookkeeping keys share one slot (one script must update them together). */
function oneSlot(lru: { readonly key: string; readonly sizes: string; readonly expiries: string }): boolean {
  const slot = keySlot(lru.key);
  return keySlot(lru.sizes) === slot && keySlot(lru.expiries) === slot;
}
