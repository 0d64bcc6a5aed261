/**
 * Randomized chaos against the real services. Several cache instances (separate `createCache`s
 * sharing one prefix, as separate instances of an application would) make thousands of calls —
 * wrapped functions over a small key space with short TTLs, `set`, `get`, `delete`, and
 * invalidations of the functions' tags — while fault
 * rules (latency below and beyond the timeouts, 5xx, resets, truncated and corrupted answers)
 * come and go at random on the Upstash bridge and the S3 proxy.
 *
 * The oracle: every value returned is one the function (or a `set`) actually produced for those
 * arguments, byte for byte, and not older than its TTL allows (plus the stale windows, and
 * stale-if-error only when the function failed during that call); `get` never resurrects a value
 * a completed `delete` removed; a wrapped call that starts after an invalidation of its function's
 * tag has completed never gets a value produced before that invalidation began (client 0, with
 * the in-process tier, after that tier's TTL); every call returns within the timeouts, the lease wait, the
 * function's time and a margin; errors reaching callers are only the function's own; and no
 * promise rejection goes unhandled.
 *
 * The same run goes against each store of `LARDER_TEST_STORE` (test/helpers/stores.ts); store
 * faults come from the bridge, so over TCP only the S3 faults remain. On the Redis Cluster a
 * second run kills a master of a private cluster by PID a third of the way in: its replica takes
 * over while the calls go on, and the oracle stays the same.
 *
 * Reproduce a run with `LARDER_CHAOS_SEED=<seed>` (printed at the start and in every failure);
 * `LARDER_CHAOS_OPS` changes the number of operations (default 6000).
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { type Cache, createCache } from "../../mod.ts";
import { mulberry32 } from "../../scripts/_random.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import type { MetadataStore } from "../../src/core/types.ts";
import { redisStore } from "../../src/stores/redis.ts";
import { startCluster } from "../../scripts/services/cluster.ts";
import { recordingLogger } from "../helpers/chaos.ts";
import { STORE_KIND, testStore } from "../helpers/stores.ts";
import {
  addFaults,
  type FaultKind,
  type FaultRule,
  removeFaults,
  requestLogSnapshot,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();
const SEED = process.env.LARDER_CHAOS_SEED === undefined
  ? Math.floor(Math.random() * 2 ** 32)
  : Number(process.env.LARDER_CHAOS_SEED);
const OPS = Number(process.env.LARDER_CHAOS_OPS ?? 6_000);

const CLIENTS = 4;
const WORKERS_PER_CLIENT = 4;
const STORE_TIMEOUT_MS = 250;
const BLOB_TIMEOUT_MS = 500;
const LEASE = { ttl: 1_000, wait: 750 };
const MEMORY_TTL_MS = 300; // client 0 has the in-process tier
const FN_MAX_MS = 40;
/** Scheduling slack on a loaded 2-core machine, on top of every computed bound. */
const MARGIN_MS = 1_500;
const SET_TTL_MS = 1_000;
/** Keys of `set`/`get`/`delete`. */
const SET_KEYS = 5;

/**
 * The wrapped functions: TTLs short enough that entries expire many times during the run.
 * `sparse` has many keys, so its entries are read at every age, late in their stale windows too.
 */
const FUNCTIONS = {
  small: { keys: 5, ttl: 1_200, swr: 0, sie: 0, bytes: [50, 400], failRate: 0 },
  large: { keys: 5, ttl: 1_500, swr: 0, sie: 0, bytes: [1_500, 5_000], failRate: 0 },
  stale: { keys: 5, ttl: 800, swr: 600, sie: 1_500, bytes: [50, 3_000], failRate: 0.15 },
  sparse: { keys: 40, ttl: 600, swr: 400, sie: 1_200, bytes: [50, 2_500], failRate: 0.2 },
} as const;
type FnName = keyof typeof FUNCTIONS;
const FN_NAMES = Object.keys(FUNCTIONS) as FnName[];

/** A value the test produced: by a wrapped function (`fn`) or for a `set` (`fn: "set"`). */
interface Produced {
  readonly fn: string;
  readonly key: string;
  readonly version: number;
  readonly producedAt: number;
  readonly data: Uint8Array;
}

class ChaosFnError extends Error {}

function bytesFor(id: string, range: readonly [number, number]): Uint8Array {
  const random = mulberry32(hashString(id));
  const out = new Uint8Array(range[0] + Math.floor(random() * (range[1] - range[0])));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function hashString(text: string): number {
  let hash = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("chaos", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  afterAll(() => void process.off("unhandledRejection", onUnhandled));

  /** What a run goes against. */
  interface ChaosTarget {
    /** For the log line. */
    readonly label: string;
    /** A store per instance. */
    readonly store: () => MetadataStore;
    /** Whether the bridge's fault rules reach this store (Upstash only). */
    readonly storeFaults: boolean;
    /** Runs beside the operations (e.g. kills a node), given how many have been issued so far. */
    readonly during?: (issued: () => number) => Promise<void>;
    /** Operations. */
    readonly ops: number;
  }

  const chaosRun = async (target: ChaosTarget): Promise<void> => {
    const OPS = target.ops;
    console.log(`chaos (${target.label}): LARDER_CHAOS_SEED=${SEED} LARDER_CHAOS_OPS=${OPS}`);
    const prefix = uniquePrefix("chaos");
    const started = performance.now();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();

    // ---- what the test produced, and what happened, for the oracle --------------------------
    const produced = new Map<string, Produced>();
    const versions = new Map<string, number>();
    /** Per client, fn and key: when an execution of the function threw. */
    const throws = new Map<string, number[]>();
    /** Per client, fn and key: starts of wrapped calls in flight (a call may share an earlier one's lookup). */
    const inflight = new Map<string, Set<number>>();
    const sets = new Map<string, { version: number; start: number; end: number; ok: boolean }[]>();
    const deletes = new Map<string, { start: number; end: number; removed: boolean }[]>();
    /** Per function: invalidations of its tag that completed (start and end times). */
    const invalidations = new Map<FnName, { start: number; end: number }[]>();
    /** What the oracle found, by kind: wrong values, values too old, slow calls, callers broken by the cache. */
    const found = { wrong: 0, tooOld: 0, invalidated: 0, slow: 0, broken: 0 };
    const violations: string[] = [];
    const ops = {
      wrap: 0,
      get: 0,
      set: 0,
      delete: 0,
      invalidate: 0,
      invalidateFailed: 0,
      fnErrors: 0,
      values: 0,
      undefinedGets: 0,
    };
    const maxMs = { wrap: 0, get: 0, set: 0, delete: 0, invalidate: 0 };
    const deferredGets: { client: number; key: string; value: Produced; start: number }[] = [];
    const violation = (kind: keyof typeof found, text: string) => {
      found[kind]++;
      if (violations.length < 50) violations.push(`${kind}: ${text}`);
    };

    // ---- the instances ---------------------------------------------------------------------
    const clients: Cache[] = [];
    const wrapped: Record<FnName, (key: number) => Promise<Produced>>[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const cache = createCache({
        store: target.store(),
        blobs: s3BlobStore(services.s3),
        prefix,
        maxInlineBytes: 1_024,
        timeout: { store: STORE_TIMEOUT_MS, blob: BLOB_TIMEOUT_MS },
        lease: LEASE,
        breaker: { threshold: 5, cooldown: 250 },
        logger: recordingLogger(),
        ...(c === 0 ? { memory: { ttl: MEMORY_TTL_MS } } : {}),
      });
      clients.push(cache);
      const fns = {} as Record<FnName, (key: number) => Promise<Produced>>;
      for (const name of FN_NAMES) {
        const spec = FUNCTIONS[name];
        fns[name] = cache.wrap(async (key: number): Promise<Produced> => {
          const slot = `${name}|${key}`;
          const version = (versions.get(slot) ?? 0) + 1;
          versions.set(slot, version);
          const id = `${slot}|${version}`;
          const random = mulberry32(hashString(id));
          await sleep(Math.floor(random() * FN_MAX_MS));
          if (random() < spec.failRate) {
            const list = throws.get(`${c}|${slot}`) ?? [];
            list.push(Date.now());
            throws.set(`${c}|${slot}`, list);
            throw new ChaosFnError(`${id} failed`);
          }
          const value: Produced = {
            fn: name,
            key: String(key),
            version,
            producedAt: Date.now(),
            data: bytesFor(id, spec.bytes),
          };
          produced.set(id, value);
          return value;
        }, {
          name,
          ttl: spec.ttl,
          tags: [`fn:${name}`],
          ...(spec.swr ? { staleWhileRevalidate: spec.swr } : {}),
          ...(spec.sie ? { staleIfError: spec.sie } : {}),
        });
      }
      wrapped.push(fns);
    }

    // ---- the oracle ------------------------------------------------------------------------
    /** Whether `value` is exactly what was produced as `fn`/`key`; the produced record when so. */
    const genuine = (value: unknown, fn: string, key: string, what: string): Produced | undefined => {
      const v = value as Produced;
      if (typeof v !== "object" || v === null || v.fn !== fn || v.key !== key) {
        violation("wrong", `${what}: a value for other arguments: ${JSON.stringify(v)?.slice(0, 120)}`);
        return undefined;
      }
      const original = produced.get(`${fn}|${key}|${v.version}`);
      if (!original) {
        violation("wrong", `${what}: version ${v.version} was never produced`);
        return undefined;
      }
      if (
        v.producedAt !== original.producedAt || !(v.data instanceof Uint8Array) ||
        Buffer.compare(Buffer.from(v.data), Buffer.from(original.data)) !== 0 ||
        Object.keys(v).length !== Object.keys(original).length
      ) {
        violation("wrong", `${what}: version ${v.version} differs from what was produced`);
        return undefined;
      }
      return original;
    };
    const timely = (op: keyof typeof maxMs, elapsedMs: number, boundMs: number, what: string) => {
      maxMs[op] = Math.max(maxMs[op], elapsedMs);
      if (elapsedMs > boundMs) violation("slow", `${what}: took ${elapsedMs.toFixed(0)} ms, bound ${boundMs} ms`);
    };
    // Every wrapped call: a lookup (record, then blob), a lease wait that ends with one more lookup,
    // or one more store call (the refresh lease), the function, and the margin.
    const wrapBound = 2 * (STORE_TIMEOUT_MS + BLOB_TIMEOUT_MS) + LEASE.wait + FN_MAX_MS + MARGIN_MS;
    const getBound = STORE_TIMEOUT_MS + BLOB_TIMEOUT_MS + MARGIN_MS;
    const setBound = BLOB_TIMEOUT_MS + STORE_TIMEOUT_MS + MARGIN_MS;
    const deleteBound = Math.max(STORE_TIMEOUT_MS, BLOB_TIMEOUT_MS) + MARGIN_MS;

    async function doWrap(c: number, name: FnName, key: number): Promise<void> {
      const slot = `${c}|${name}|${key}`;
      const start = Date.now();
      const t0 = performance.now();
      const group = inflight.get(slot) ?? new Set<number>();
      inflight.set(slot, group);
      group.add(start);
      // A call that joins one in flight may get that call's lookup, made before it started.
      const since = Math.min(...group);
      let value: Produced | undefined;
      try {
        value = await wrapped[c]![name](key);
        ops.values++;
      } catch (error) {
        if (error instanceof ChaosFnError) ops.fnErrors++;
        else violation("broken", `wrap ${name}(${key}) by ${c}: the cache broke the caller: ${String(error)}`);
      } finally {
        group.delete(start);
      }
      const end = Date.now();
      timely("wrap", performance.now() - t0, wrapBound, `wrap ${name}(${key}) by ${c}`);
      if (value === undefined) return;
      const original = genuine(value, name, String(key), `wrap ${name}(${key}) by ${c}`);
      if (!original) return;
      const spec = FUNCTIONS[name];
      // Stale-if-error is allowed only when the function failed during this call.
      const failed = (throws.get(slot) ?? []).some((t) => t >= since && t <= end);
      const allowed = spec.ttl + (failed ? Math.max(spec.swr, spec.sie) : spec.swr) + writeLagMs();
      const age = since - original.producedAt;
      // Invalidations: the latest one of this function's tag that had completed when the call
      // started (client 0's tier may keep a value written just before it for its TTL).
      const slack = c === 0 ? MEMORY_TTL_MS + STORE_TIMEOUT_MS + writeLagMs() : 0;
      const before = (invalidations.get(name) ?? []).filter((i) => i.end + slack < since);
      const last = before.reduce((latest, i) => Math.max(latest, i.start), -Infinity);
      if (original.producedAt < last) {
        violation(
          "invalidated",
          `wrap ${name}(${key}) by ${c}: served version ${original.version}, produced ${
            last - original.producedAt
          } ms before an invalidation that completed before the call`,
        );
      }
      if (age > allowed) {
        violation(
          "tooOld",
          `wrap ${name}(${key}) by ${c}: served version ${original.version} ${age} ms after it was produced (allowed ${
            allowed.toFixed(0)
          })`,
        );
      }
    }

    async function doGet(c: number, key: string): Promise<void> {
      const start = Date.now();
      const t0 = performance.now();
      let value: unknown;
      try {
        value = await clients[c]!.get(key);
      } catch (error) {
        violation("broken", `get ${key} by ${c} threw ${String(error)}`);
      }
      timely("get", performance.now() - t0, getBound, `get ${key} by ${c}`);
      if (value === undefined) {
        ops.undefinedGets++;
        return;
      }
      const original = genuine(value, "set", key, `get ${key} by ${c}`);
      if (!original) return;
      const setCall = sets.get(key)!.find((s) => s.version === original.version)!;
      // A record's expiry is its creation (before set() returned) plus the TTL: exact, no slack.
      // (Client 0's tier holds the value as soon as its own set() has encoded it.)
      const setEnd = setCall.end === 0 ? Date.now() : setCall.end;
      if (start > setEnd + SET_TTL_MS + 5) {
        violation(
          "tooOld",
          `get ${key} by ${c}: served version ${original.version} ${start - setEnd} ms after its set`,
        );
      }
      deferredGets.push({ client: c, key, value: original, start });
    }

    async function doSet(c: number, key: string, large: boolean): Promise<void> {
      const version = (versions.get(`set|${key}`) ?? 0) + 1;
      versions.set(`set|${key}`, version);
      const id = `set|${key}|${version}`;
      const value: Produced = {
        fn: "set",
        key,
        version,
        producedAt: Date.now(),
        data: bytesFor(id, large ? [1_500, 5_000] : [20, 300]),
      };
      produced.set(id, value);
      const call = { version, start: Date.now(), end: 0, ok: false };
      const list = sets.get(key) ?? [];
      list.push(call);
      sets.set(key, list);
      const t0 = performance.now();
      try {
        call.ok = await clients[c]!.set(key, value, { ttl: SET_TTL_MS });
      } catch (error) {
        violation("broken", `set ${key} by ${c} threw ${String(error)}`);
      }
      call.end = Date.now();
      timely("set", performance.now() - t0, setBound, `set ${key} by ${c}`);
    }

    async function doDelete(c: number, key: string): Promise<void> {
      const call = { start: Date.now(), end: 0, removed: false };
      const t0 = performance.now();
      try {
        call.removed = await clients[c]!.delete(key);
      } catch (error) {
        violation("broken", `delete ${key} by ${c} threw ${String(error)}`);
      }
      call.end = Date.now();
      const list = deletes.get(key) ?? [];
      list.push(call);
      deletes.set(key, list);
      timely("delete", performance.now() - t0, deleteBound, `delete ${key} by ${c}`);
    }

    async function doInvalidate(c: number, name: FnName): Promise<void> {
      const start = Date.now();
      const t0 = performance.now();
      try {
        await clients[c]!.invalidateTag(`fn:${name}`);
        const list = invalidations.get(name) ?? [];
        list.push({ start, end: Date.now() });
        invalidations.set(name, list);
      } catch (error) {
        // Invalidation does not fail open: a store failure rejects (it may or may not have
        // happened, which can only make entries miss more).
        if ((error as { code?: string }).code === "E_STORE" || (error as { code?: string }).code === "E_TIMEOUT") {
          ops.invalidateFailed++;
        } else violation("broken", `invalidate fn:${name} by ${c} threw ${String(error)}`);
      }
      timely("invalidate", performance.now() - t0, deleteBound, `invalidate fn:${name} by ${c}`);
    }

    /**
     * An entry's TTL counts from when its background write has encoded the value, which is after
     * the function returned: by a macrotask hop and the encoding (the compressor is warmed up
     * below), so by this process' worst scheduling delay (every instance runs here) and a little.
     */
    const writeLagMs = () => 100 + loop.max / 1e6;

    // ---- the workload ----------------------------------------------------------------------
    let issued = 0;
    async function worker(c: number, w: number): Promise<void> {
      const random = mulberry32(SEED + 7919 * (c * WORKERS_PER_CLIENT + w + 1));
      while (issued < OPS) {
        issued++;
        const roll = random();
        const key = Math.floor(random() * SET_KEYS);
        if (roll < 0.6) {
          ops.wrap++;
          const name = FN_NAMES[Math.floor(random() * FN_NAMES.length)]!;
          await doWrap(c, name, Math.floor(random() * FUNCTIONS[name].keys));
        } else if (roll < 0.8) {
          ops.get++;
          await doGet(c, `s${key}`);
        } else if (roll < 0.93) {
          ops.set++;
          await doSet(c, `s${key}`, random() < 0.4);
        } else if (roll < 0.95) {
          ops.invalidate++;
          await doInvalidate(c, FN_NAMES[Math.floor(random() * FN_NAMES.length)]!);
        } else {
          ops.delete++;
          await doDelete(c, `s${key}`);
        }
        if (random() < 0.2) await sleep(Math.floor(random() * 10));
      }
    }

    // ---- the faults ------------------------------------------------------------------------
    const bridge = { base: services.upstash.url, token: services.upstash.token };
    const s3 = { base: services.s3.endpoint, token: undefined };
    const scopes = {
      store: [prefix, `${prefix}:e:`, `${prefix}:l:`, `${prefix}:v:`],
      s3: [`/${prefix}/`],
    };
    const faultRandom = mulberry32(SEED ^ 0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(faultRandom() * items.length)]!;
    const between = (low: number, high: number) => low + Math.floor(faultRandom() * (high - low));
    const KINDS = ["latency", "slow", "status", "reset", "truncate", "corrupt"] as const;
    const effect = (service: "store" | "s3", kind: (typeof KINDS)[number]): FaultRule => {
      const timeout = service === "store" ? STORE_TIMEOUT_MS : BLOB_TIMEOUT_MS;
      switch (kind) {
        case "latency":
          return { latencyMs: between(20, 120) };
        case "slow": // beyond the timeout: a cache that waited for it would break the call bounds
          return { latencyMs: between(timeout + 50, 4_500) };
        case "status":
          return { status: pick([500, 502, 503]) };
        case "reset":
          return { reset: true };
        case "truncate":
          return { truncate: faultRandom() < 0.5 ? "half" : between(0, 200) };
        case "corrupt":
          return { corrupt: faultRandom() < 0.3 ? true : between(1, 4) };
      }
    };
    const randomRule = (service: "store" | "s3", kind = pick(KINDS), broad = false): FaultRule => ({
      match: broad ? scopes[service][0]! : pick(scopes[service]),
      ...effect(service, kind),
      ...(!broad && service === "s3" && faultRandom() < 0.3 ? { method: pick(["GET", "PUT"]) } : {}),
      probability: Number(((broad ? 0.2 : 0.05) + faultRandom() * 0.4).toFixed(2)),
      seed: between(0, 2 ** 31),
      ...(!broad && faultRandom() < 0.3 ? { count: between(1, 20) } : {}),
    });
    const active: { service: { base: string; token: string | undefined }; match: string }[] = [];
    const clearFaults = async () => {
      for (const { service, match } of active.splice(0)) await removeFaults(service.base, match, service.token);
    };
    let running = true;
    let phases = 0;
    const injector = (async () => {
      while (running) {
        await clearFaults();
        // Every fourth phase is calm (entries get cached, breakers close). The others lead with
        // the next service × kind in turn, so that every kind of fault is met on both services,
        // and add up to two random rules.
        if (phases++ % 4 !== 3) {
          const turn = phases - 1 - Math.floor(phases / 4);
          // Without store faults (TCP stores), every rule goes to S3.
          const leading = target.storeFaults && turn % 2 === 0 ? "store" : "s3";
          const kindTurn = target.storeFaults ? Math.floor(turn / 2) : turn;
          const lead = randomRule(leading, KINDS[kindTurn % KINDS.length], true);
          const rules: [FaultRule, "store" | "s3"][] = [[lead, leading]];
          for (let n = between(0, 3); n > 0; n--) {
            const service = target.storeFaults && faultRandom() < 0.55 ? "store" : "s3";
            rules.push([randomRule(service), service]);
          }
          for (const [rule, service] of rules) {
            const target = service === "store" ? bridge : s3;
            await addFaults(target.base, [rule], target.token);
            active.push({ service: target, match: rule.match! });
          }
        }
        await sleep(between(150, 500));
      }
      await clearFaults();
    })();

    // ---- run ---------------------------------------------------------------------------------
    // Warm up: zstd's WASM is compiled on the first write, and connections open on the first
    // requests (a cold one can exceed these short timeouts). The run measures the cache, not that.
    for (const cache of clients) {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await cache.set("warm-up", { data: bytesFor("warm-up", [2_000, 2_001]) })) break;
      }
    }
    try {
      const workers: Promise<void>[] = [];
      for (let c = 0; c < CLIENTS; c++) for (let w = 0; w < WORKERS_PER_CLIENT; w++) workers.push(worker(c, w));
      if (target.during) workers.push(target.during(() => issued));
      await Promise.all(workers);
    } finally {
      running = false;
      await injector;
    }
    await Promise.all(clients.map((cache) => cache.flush()));
    loop.disable();

    // No get may return a value a completed delete removed after its set had completed.
    for (const get of deferredGets) {
      const setCall = sets.get(get.key)!.find((s) => s.version === get.value.version)!;
      const tierSlack = get.client === 0 ? MEMORY_TTL_MS : 0;
      const killer = (deletes.get(get.key) ?? []).find((d) =>
        setCall.ok && d.removed && d.start > setCall.end && d.end < get.start - tierSlack
      );
      if (killer) {
        violation(
          "wrong",
          `get ${get.key} by ${get.client}: version ${get.value.version} came back after a delete removed it`,
        );
      }
    }

    // ---- figures -----------------------------------------------------------------------------
    const [storeLog, s3Log] = await Promise.all([
      requestLogSnapshot(bridge.base, bridge.token),
      requestLogSnapshot(s3.base),
    ]);
    const mine = {
      store: storeLog.requests.filter((e) => e.keys.some((k) => k.startsWith(`${prefix}:`))),
      s3: s3Log.requests.filter((e) => e.path.includes(`/${prefix}/`)),
    };
    const faults: Record<string, Partial<Record<FaultKind, number>>> = { store: {}, s3: {} };
    for (const service of ["store", "s3"] as const) {
      for (const entry of mine[service]) {
        for (const kind of entry.faults) faults[service]![kind] = (faults[service]![kind] ?? 0) + 1;
      }
    }
    const stats = clients.map((cache) => cache.stats());
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
    const figures = {
      seed: SEED,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      operations: { total: issued, ...ops },
      // Values the functions and sets produced: each slot re-produced as its entries expired.
      produced: produced.size,
      requests: { store: mine.store.length, s3: mine.s3.length, logDropped: storeLog.dropped + s3Log.dropped },
      faultPhases: phases,
      faults,
      cache: {
        hits: sum((s) => s.hits.total),
        misses: sum((s) => s.misses),
        stale: sum((s) => s.stale),
        staleIfError: sum((s) => s.staleIfError),
        errors: {
          store: sum((s) => s.errors.store),
          blob: sum((s) => s.errors.blob),
          integrity: sum((s) => s.errors.integrity),
          codec: sum((s) => s.errors.codec),
          timeouts: sum((s) => s.errors.byCode.E_TIMEOUT ?? 0),
        },
        writes: {
          ok: sum((s) => s.writes.ok),
          failed: sum((s) => s.writes.failed),
          skipped: sum((s) => s.writes.skipped),
          discarded: sum((s) => s.writes.discarded),
        },
        refreshesFailed: sum((s) => s.refreshesFailed),
        leases: {
          acquired: sum((s) => s.leases.acquired),
          waited: sum((s) => s.leases.waited),
          givenUp: sum((s) => s.leases.givenUp),
        },
        breakerOpened: sum((s) => (s.breakers.store?.opened ?? 0) + (s.breakers.blob?.opened ?? 0)),
      },
      maxCallMs: Object.fromEntries(Object.entries(maxMs).map(([k, v]) => [k, Math.round(v)])),
      eventLoopDelayMaxMs: Math.round(loop.max / 1e6),
      oracle: {
        wrongValues: found.wrong,
        tooOld: found.tooOld,
        servedAfterInvalidation: found.invalidated,
        slowCalls: found.slow,
        brokenCalls: found.broken,
      },
      unhandledRejections: unhandled.length,
    };
    console.log(`chaos figures: ${JSON.stringify(figures)}`);

    const context = `LARDER_CHAOS_SEED=${SEED}`;
    expect(violations, `${context}: wrong values or broken calls`).toEqual([]);
    expect(unhandled.map(String), `${context}: unhandled rejections`).toEqual([]);
    expect(issued, context).toBeGreaterThanOrEqual(OPS);
    // The run exercised what it claims to: every fault kind on both services, hits, expiries.
    for (const service of target.storeFaults ? ["store", "s3"] as const : ["s3"] as const) {
      for (const kind of ["latency", "status", "reset", "truncate", "corrupt"] as const) {
        if (OPS >= 2_000) {
          expect(faults[service]![kind] ?? 0, `${context}: ${service} ${kind} faults`).toBeGreaterThan(0);
        }
      }
    }
    expect(figures.cache.hits, context).toBeGreaterThan(0);
    expect(figures.operations.values, context).toBeGreaterThan(0);
    if (OPS >= 2_000) expect(ops.invalidate - ops.invalidateFailed, context).toBeGreaterThan(0);
  };

  it(
    `${OPS} operations by ${CLIENTS} instances under random faults (${STORE_KIND}): no wrong value (seed ${SEED})`,
    async () => {
      await chaosRun({ label: STORE_KIND, store: testStore, storeFaults: STORE_KIND === "upstash", ops: OPS });
    },
    120_000,
  );

  if (STORE_KIND === "cluster") {
    it(`a master killed during the run: its replica takes over, no wrong value (seed ${SEED})`, async () => {
      const cluster = await startCluster();
      const stores: { close(): Promise<void> }[] = [];
      try {
        const before = await cluster.masters();
        const victim = before[0]!;
        let promoted: number[] = [];
        await chaosRun({
          label: "cluster failover",
          ops: Math.min(OPS, 3_000),
          storeFaults: false,
          store: () => {
            const store = redisStore({ url: cluster.urls, connectTimeoutMs: 1_000 });
            stores.push(store);
            return store;
          },
          during: async (issued) => {
            while (issued() < Math.min(OPS, 3_000) / 3) await sleep(20);
            console.log(`chaos: killing master 127.0.0.1:${victim} after ${issued()} operations`);
            await cluster.kill(victim);
            const deadline = Date.now() + 20_000;
            while (Date.now() < deadline) {
              promoted = await cluster.masters().catch(() => []);
              if (promoted.length === 3 && !promoted.includes(victim)) break;
              await sleep(100);
            }
            console.log(`chaos: masters now ${promoted.join(", ")} (were ${before.join(", ")})`);
          },
        });
        expect(promoted, "a replica was promoted in the killed master's place").toHaveLength(3);
        expect(promoted).not.toContain(victim);
      } finally {
        for (const store of stores) await store.close();
        await cluster.stop();
      }
    }, 180_000);
  }
});
