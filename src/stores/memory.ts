/**
 * An in-process metadata store with Redis semantics: `SET … PX` (with `NX` when `ifAbsent`),
 * `GET`, `DEL`, `EXISTS`, expired keys that behave as absent, small hashes (generations,
 * counters) and the atomic `read`/`write` operations exactly as the Upstash adapter's scripts run
 * them. Its string keys are bounded by an entry count and an estimate of memory use, evicting the
 * least recently used entries, and it needs no timers. It is what `createCache()` uses when given no store, and a test double that behaves
 * like the real thing.
 *
 * It carries the tiers' bus too (`MetadataStore.bus`), in-process: `"push"` by default (a
 * `publish` reaches every subscriber synchronously, once the ops before it in its batch are
 * applied), or `"poll"` (`bus: "poll"`: a capped log per channel that `readBus` reads, with gaps
 * reported as the Upstash store's stream reports them), so that the core's handling of either can
 * be tested without servers. Caches sharing one memory store are like instances sharing a Redis.
 *
 * @example
 * ```ts
 * import { memoryStore } from "larder/stores/memory";
 *
 * const store = memoryStore({ maxEntries: 1000 });
 * const results = await store.run([
 *   { type: "set", key: "lease", value: "owner-1", ttlMs: 5_000, ifAbsent: true },
 *   { type: "set", key: "lease", value: "owner-2", ttlMs: 5_000, ifAbsent: true },
 *   { type: "get", key: "lease" },
 * ]);
 * console.log(results); // [true, false, "owner-1"]
 * ```
 *
 * @module
 */
import { StoreError, TooLargeError } from "../core/errors.ts";
import { type Stamp, stampRecord, storedStamps } from "../core/record/generations.ts";
import type {
  CallOptions,
  Generation,
  LruRef,
  MetadataStore,
  ReadOp,
  ReadResult,
  StoreOp,
  StoreResult,
  WriteOp,
  WriteResult,
} from "../core/types.ts";
import { Lru } from "../core/util/lru.ts";
import { SortedSet } from "./_sorted_set.ts";
import { memoryBus } from "./_memory_bus.ts";
import * as opt from "../core/util/check_options.ts";

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Entries kept at most; past it the least recently used are evicted. @default 10000 */
  maxEntries?: number;
  /**
   * Estimated memory kept at most, counted as 2 bytes per UTF-16 code unit of keys and values;
   * past it the least recently used entries are evicted. @default 33554432 (32 MiB)
   */
  maxBytes?: number;
  /** Clock in ms since the epoch, so tests can move time instead of sleeping. @default Date.now */
  now?: () => number;
  /** The bus between the caches sharing this store: pushed to subscribers, a log to poll, or none. @default "push" */
  bus?: "push" | "poll" | false;
  /** Messages a channel's log keeps (`bus: "poll"`); older ones are trimmed (readers see a gap). @default 1000 */
  busLogMax?: number;
}

const OPTIONS = {
  maxEntries: opt.withDefault(opt.positiveInteger, 10_000),
  maxBytes: opt.withDefault(opt.positiveInteger, 32 * 1024 * 1024),
  now: opt.optional(opt.fn<() => number>()),
  bus: opt.withDefault(
    opt.satisfying<"push" | "poll" | false>(
      (v) => v === "push" || v === "poll" || v === false,
      `"push", "poll" or false`,
    ),
    "push",
  ),
  busLogMax: opt.withDefault(opt.positiveInteger, 1000),
} satisfies opt.OptionChecks<MemoryStoreOptions>;

/** Creates an in-process {@link MetadataStore} (name `"memory"`) with Redis semantics and bounded size. */
export function memoryStore(options?: MemoryStoreOptions): MetadataStore {
  const checked = opt.checkOptions("memoryStore", options, OPTIONS);
  const { maxEntries, maxBytes } = checked;
  const now = checked.now ?? Date.now;
  const entries = new Lru<string>({ maxEntries, maxBytes });
  // Hashes (generations, eviction sizes, counters) and sorted sets (eviction order, expiries)
  // have no expiry; their number is bounded by the tags and tracked entries in use. An emptied
  // sorted set is removed, as Redis removes it.
  const hashes = new Map<string, Map<string, string>>();
  const sets = new Map<string, SortedSet>();
  const bus = memoryBus(checked.bus, checked.busLogMax);

  const hash = (key: string): Map<string, string> => {
    let found = hashes.get(key);
    if (!found) hashes.set(key, found = new Map());
    return found;
  };
  const generation = (key: string, token: string): Generation => {
    const fields = hash(key);
    if (!fields.has("x")) fields.set("x", token);
    if (!fields.has("s")) fields.set("s", token);
    return { x: fields.get("x")!, s: fields.get("s")! };
  };
  const sortedSet = (key: string): SortedSet => {
    let found = sets.get(key);
    if (!found) sets.set(key, found = new SortedSet());
    return found;
  };
  const removeFrom = (key: string, member: string): void => {
    const set = sets.get(key);
    if (set?.remove(member) && set.size === 0) sets.delete(key);
  };
  const forget = (ref: LruRef): void => {
    removeFrom(ref.key, ref.member);
    removeFrom(ref.expiries, ref.member);
    const sizes = hashes.get(ref.sizes);
    const bytes = Number(sizes?.get(ref.member) ?? 0);
    if (!sizes || !sizes.delete(ref.member)) return;
    sizes.set("#", String(Number(sizes.get("#") ?? 0) - bytes));
  };

  function read(op: ReadOp, at: number): ReadResult {
    const gens: Record<string, Generation> = {};
    for (const key of op.gens) gens[key] = generation(key, op.token);
    let value = entries.get(op.key, at) ?? null;
    let invalidated = false;
    if (value !== null) {
      for (const [key, x] of storedStamps(value)) {
        gens[key] = generation(key, op.token);
        if (gens[key].x !== x) invalidated = true;
      }
      if (invalidated) value = null;
    }
    let lease: ReadResult["lease"] = "none";
    if (value === null && op.lease) {
      const { key, token, ttlMs } = op.lease;
      if (entries.has(key, at)) lease = "held";
      else {
        entries.set(key, { value: token, bytes: sizeOf(key, token), expiresAt: at + ttlMs }, at);
        lease = "acquired";
      }
    }
    const touched = op.touch && sets.get(op.touch.key);
    if (value !== null && op.touch && touched?.has(op.touch.member)) touched.add(op.touch.member, op.touch.score);
    return { value, invalidated, lease, gens };
  }

  function write(op: WriteOp, at: number): WriteResult {
    const stamps: Stamp[] = [];
    for (const stamp of op.gens) {
      const now = generation(stamp.key, op.token);
      if (stamp.x !== undefined && stamp.x !== now.x) return { written: false, evicted: [] };
      stamps.push([stamp.key, stamp.x ?? now.x, stamp.s ?? now.s]);
    }
    const value = stampRecord(stamps, op.record);
    entries.set(op.key, { value, bytes: sizeOf(op.key, value), expiresAt: at + op.ttlMs }, at);
    const evicted: string[] = [];
    const lru = op.lru;
    if (lru) {
      const other = (member: string): LruRef => ({ ...lru, member });
      // Expired members (the writer's clock, as the script does) stop counting; at most 100 per write.
      for (const member of sets.get(lru.expiries)?.below(lru.score, 100) ?? []) forget(other(member));
      forget(lru);
      const order = sortedSet(lru.key);
      order.add(lru.member, lru.score);
      sortedSet(lru.expiries).add(lru.member, lru.score + op.ttlMs);
      const sizes = hash(lru.sizes);
      sizes.set(lru.member, String(lru.bytes));
      sizes.set("#", String(Number(sizes.get("#") ?? 0) + lru.bytes));
      while (
        (lru.maxEntries > 0 && order.size > lru.maxEntries) ||
        (lru.maxBytes > 0 && Number(sizes.get("#")) > lru.maxBytes)
      ) {
        // The least recently used member other than this one: a write never evicts itself.
        const [first, second] = order.first(2);
        const member = first === lru.member ? second : first;
        if (member === undefined) break;
        forget(other(member));
        const victim = lru.recordPrefix + member + (lru.recordSuffix ?? "");
        const record = entries.get(victim, at);
        entries.delete(victim, at);
        if (record?.includes('"b":"')) evicted.push(member);
      }
    }
    return { written: true, evicted };
  }

  function apply(op: StoreOp, at: number): StoreResult {
    switch (op.type) {
      case "get":
        return entries.get(op.key, at) ?? null;
      case "set":
        if (op.ifAbsent && entries.has(op.key, at)) return false;
        entries.set(op.key, { value: op.value, bytes: sizeOf(op.key, op.value), expiresAt: at + op.ttlMs }, at);
        return true;
      case "del": {
        let removed = 0;
        for (const key of [op.key, ...op.more ?? []]) {
          if (entries.delete(key, at) || hashes.delete(key) || sets.delete(key) || bus.deleteLog(key)) removed++;
        }
        if (op.lru) forget(op.lru);
        return removed;
      }
      case "exists":
        return entries.has(op.key, at) || hashes.has(op.key) || sets.has(op.key) || bus.hasLog(op.key);
      case "read":
        return read(op, at);
      case "write":
        return write(op, at);
      case "renewLease":
        if (entries.get(op.key, at) !== op.token) return false;
        entries.set(op.key, { value: op.token, bytes: sizeOf(op.key, op.token), expiresAt: at + op.ttlMs }, at);
        return true;
      case "releaseLease":
        return entries.get(op.key, at) === op.token && entries.delete(op.key, at);
      case "setGeneration":
        hash(op.key).set(op.field, op.token);
        return true;
      case "hincr": {
        const fields = hash(op.key);
        const value = Number(fields.get(op.field) ?? 0) + op.by;
        fields.set(op.field, String(value));
        return value;
      }
      case "hgetall":
        return Object.fromEntries(hashes.get(op.key) ?? []);
      case "scan": {
        // One step returns everything: the cursor protocol is kept, the batching is not needed.
        const pattern = globPattern(op.match);
        const keys = [...entries.keys(at), ...hashes.keys(), ...sets.keys(), ...bus.logKeys()].filter((key) =>
          pattern.test(key)
        );
        return { cursor: "0", keys };
      }
      case "publish":
        bus.publish(op.channel, op.message, at);
        return true;
      case "readBus":
        return bus.read(op, at);
    }
  }

  const store: MetadataStore = {
    name: "memory",
    async run(ops: readonly StoreOp[], callOptions?: CallOptions): Promise<StoreResult[]> {
      callOptions?.signal?.throwIfAborted();
      if (!Array.isArray(ops)) throw new StoreError("memory run: ops must be an array");
      // Every op is checked before any is applied, so a bad batch has no effect at all.
      ops.forEach((op, i) => checkOp(op, i, { maxBytes, bus: checked.bus }));
      const at = now();
      return ops.map((op) => apply(op, at));
    },
  };
  if (checked.bus === false) return store;
  if (checked.bus === "poll") return { ...store, bus: "poll" };
  return { ...store, bus: "push", subscribe: (channel, listener) => bus.subscribe(channel, listener) };
}

function sizeOf(key: string, value: string): number {
  return 2 * (key.length + value.length);
}

function checkOp(op: StoreOp, index: number, limits: { maxBytes: number; bus: "push" | "poll" | false }): void {
  const { maxBytes } = limits;
  const where = `memory run: ops[${index}]`;
  if (typeof op !== "object" || op === null) throw new StoreError(`${where} must be an object`);
  if (op.type === "publish" || op.type === "readBus") {
    if (limits.bus === false || (op.type === "readBus" && limits.bus !== "poll")) {
      throw new StoreError(
        `${where}: ${op.type} needs a bus${op.type === "readBus" ? ` that is polled (bus: "poll")` : ""}`,
      );
    }
    if (typeof op.channel !== "string" || op.channel === "") throw new StoreError(`${where}.channel must be a string`);
    if (op.type === "publish" && typeof op.message !== "string") {
      throw new StoreError(`${where}.message must be a string`);
    }
    if (op.type === "readBus" && (!Number.isSafeInteger(op.max) || op.max < 1 || !(op.recentMs >= 0))) {
      throw new StoreError(`${where}: readBus needs a positive integer max and recentMs >= 0`);
    }
    return;
  }
  if (op.type !== "scan" && typeof op.key !== "string") throw new StoreError(`${where}.key must be a string`);
  const token = (value: unknown, name: string): void => {
    if (typeof value !== "string" || value === "") throw new StoreError(`${where}.${name} must be a non-empty string`);
  };
  const ttl = (value: unknown, name: string): void => {
    // Redis answers "ERR invalid expire time" for these; the store refuses them the same way.
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new StoreError(`${where}.${name} must be a positive integer, got ${opt.describe(value)}`);
    }
  };
  const fits = (key: string, value: string): void => {
    if (sizeOf(key, value) > maxBytes) {
      throw new TooLargeError(`${where}: entry of ~${sizeOf(key, value)} bytes exceeds maxBytes ${maxBytes}`);
    }
  };
  switch (op.type) {
    case "get":
    case "exists":
    case "hgetall":
      return;
    case "del":
      if (op.more !== undefined && !(Array.isArray(op.more) && op.more.every((k) => typeof k === "string"))) {
        throw new StoreError(`${where}.more must be an array of strings`);
      }
      return;
    case "renewLease":
    case "releaseLease":
      token(op.token, "token");
      if (op.type === "renewLease") ttl(op.ttlMs, "ttlMs");
      return;
    case "read":
      token(op.token, "token");
      if (!Array.isArray(op.gens)) throw new StoreError(`${where}.gens must be an array`);
      if (op.lease) {
        token(op.lease.token, "lease.token");
        ttl(op.lease.ttlMs, "lease.ttlMs");
      }
      return;
    case "write":
      token(op.token, "token");
      ttl(op.ttlMs, "ttlMs");
      if (typeof op.record !== "string" || !op.record.startsWith("{") || op.record.length < 3) {
        throw new StoreError(`${where}.record must be a JSON object text with at least one field`);
      }
      if (!Array.isArray(op.gens)) throw new StoreError(`${where}.gens must be an array`);
      fits(op.key, op.record);
      return;
    case "set":
      if (typeof op.value !== "string") throw new StoreError(`${where}.value must be a string`);
      ttl(op.ttlMs, "ttlMs");
      fits(op.key, op.value);
      return;
    case "setGeneration":
      token(op.token, "token");
      if (op.field !== "x" && op.field !== "s") throw new StoreError(`${where}.field must be "x" or "s"`);
      return;
    case "hincr":
      token(op.field, "field");
      if (!Number.isSafeInteger(op.by)) throw new StoreError(`${where}.by must be an integer`);
      return;
    case "scan":
      if (typeof op.match !== "string" || typeof op.cursor !== "string") {
        throw new StoreError(`${where}: scan needs a string cursor and match`);
      }
      return;
    default:
      throw new StoreError(`${where}.type ${JSON.stringify((op as { type: unknown }).type)} is not a store operation`);
  }
}

/** A Redis glob (`*`, `?`; everything else literal) as a regular expression. */
function globPattern(glob: string): RegExp {
  const body = [...glob].map((c) => c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
    .join("");
  return new RegExp(`^${body}$`, "s");
}
