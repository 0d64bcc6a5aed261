/**
 * The scenarios every runtime must pass against the real local services (redis-server behind
 * the Upstash bridge, S3): miss then hit for inline and blob entries, with zstd and with gzip,
 * CBOR types surviving the round trip, fail-open when the backends are dead, a background
 * write kept alive by `waitUntil`, and encryption at rest through the runtime's Web Crypto.
 *
 * This module imports nothing at run time: each runtime's harness passes in the library (from
 * source, or from the installed package in the Worker) and its own test registration, so the
 * same code runs under `deno test`, `bun test`, vitest and inside workerd.
 *
 * @module
 */
import type { Cache, CacheOptions } from "../../mod.ts";
import type { S3BlobStoreOptions } from "../../src/blobs/s3.ts";
import type { UpstashStoreOptions } from "../../src/stores/upstash.ts";
import type { BlobStore, MetadataStore } from "../../src/core/types.ts";

/** What a harness passes in: the three factories, from wherever that runtime gets them. */
export interface Library {
  createCache(options?: CacheOptions): Cache;
  upstashStore(options: UpstashStoreOptions): MetadataStore;
  s3BlobStore(options: S3BlobStoreOptions): BlobStore;
}

/** The local services (from the `LARDER_TEST_*` variables, or a Worker's bindings). */
export interface ServicesConfig {
  readonly upstash: { readonly url: string; readonly token: string };
  readonly s3: {
    readonly endpoint: string;
    readonly bucket: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
}

/** Everything a scenario needs. */
export interface ScenarioContext {
  readonly lib: Library;
  readonly services: ServicesConfig;
  /** Short runtime name, part of every key prefix (`deno`, `bun`, `node`, `workerd`). */
  readonly runtime: string;
  /** Options every cache of this runtime gets (e.g. `{ zstd: { wasm } }` where it is needed). */
  readonly cacheOptions?: CacheOptions;
}

/** One scenario: a name and a body that throws on failure. */
export interface Scenario {
  readonly name: string;
  run(ctx: ScenarioContext): Promise<void>;
}

/** The `LARDER_TEST_*` variables as a {@link ServicesConfig}; throws naming what is missing. */
export function servicesFromEnv(env: Record<string, string | undefined>): ServicesConfig {
  const get = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: run this suite through \`npm test\` or \`npm run services -- <command>\``,
      );
    }
    return value;
  };
  return {
    upstash: { url: get("LARDER_TEST_UPSTASH_URL"), token: get("LARDER_TEST_UPSTASH_TOKEN") },
    s3: {
      endpoint: get("LARDER_TEST_S3_ENDPOINT"),
      bucket: get("LARDER_TEST_S3_BUCKET"),
      region: get("LARDER_TEST_S3_REGION"),
      accessKeyId: get("LARDER_TEST_S3_ACCESS_KEY_ID"),
      secretAccessKey: get("LARDER_TEST_S3_SECRET_ACCESS_KEY"),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Values

/** A small value of every CBOR type Larder promises to give back unchanged. Deterministic. */
export function sampleValue(id: string): Record<string, unknown> {
  return {
    id,
    at: new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 123)),
    regions: new Map<unknown, unknown>([["emea", 1.5], [2024, "year key"], ["nested", { deep: [1, 2] }]]),
    tags: new Set(["a", "b", "ü"]),
    big: 2n ** 80n + 7n,
    negativeBig: -(2n ** 70n),
    bytes: new Uint8Array([0, 1, 127, 128, 255]),
    floats: new Float64Array([0.1, 1e300, -2.5]),
    ints: new Int32Array([-1, 0, 2 ** 31 - 1]),
    missing: undefined,
    list: [null, undefined, true, "text ✓", 3.25, -Infinity, NaN, -0, 2 ** 40, -(2 ** 32)],
    pattern: /lard+er/gi,
  };
}

/** A value whose compressed payload is far over the inline limit (random bytes do not compress). */
export function largeValue(id: string, bytes = 200_000): Record<string, unknown> {
  const noise = new Uint8Array(bytes);
  let state = 0x9e3779b9 ^ [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);
  for (let i = 0; i < noise.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    noise[i] = state & 0xff;
  }
  return { id, at: new Date(Date.UTC(2023, 11, 31)), noise, rows: Array.from({ length: 50 }, (_, i) => ({ i })) };
}

// ---------------------------------------------------------------------------------------------
// Assertions (no test library: this module runs in four runtimes)

/** Throws with `message` unless `condition`. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Deep equality that knows Date, Map, Set, RegExp, BigInt, typed arrays and undefined. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    return x.length === y.length && Array.from(x).every((v, i) => Object.is(v, y[i]));
  }
  if (a instanceof Map) {
    const other = b as Map<unknown, unknown>;
    return a.size === other.size && [...a].every(([k, v]) => other.has(k) && deepEqual(v, other.get(k)));
  }
  if (a instanceof Set) {
    const other = b as Set<unknown>;
    return a.size === other.size && [...a].every((v) => other.has(v));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length &&
    keysA.every((k) => Object.hasOwn(b, k) && deepEqual((a as never)[k], (b as never)[k]));
}

/** Throws unless `actual` deep-equals `expected`. */
export function assertDeepEqual(actual: unknown, expected: unknown, message: string): void {
  if (!deepEqual(actual, expected)) throw new Error(`assertion failed: ${message}: values differ`);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

function prefixFor(ctx: ScenarioContext, label: string): string {
  return `rt-${ctx.runtime}-${label}-${crypto.randomUUID()}`;
}

/** A cache on the real services, with the runtime's options and `extra` on top. */
export function servicesCache(ctx: ScenarioContext, prefix: string, extra?: CacheOptions): Cache {
  return ctx.lib.createCache({
    store: ctx.lib.upstashStore(ctx.services.upstash),
    blobs: ctx.lib.s3BlobStore(ctx.services.s3),
    prefix,
    ...ctx.cacheOptions,
    ...extra,
  });
}

/**
 * Miss in one cache instance, then hit in a fresh one (so the hit can only come from Redis and
 * S3, not from anything in-process), with the value unchanged and the function run once.
 */
function missThenHit(
  label: string,
  compression: "zstd" | "gzip",
  value: (id: string) => Record<string, unknown>,
  source: "inline" | "blob",
): Scenario {
  return {
    name: `miss then hit: ${label}`,
    async run(ctx) {
      const prefix = prefixFor(ctx, label.replace(/\W+/g, "-"));
      let calls = 0;
      const report = async (id: string): Promise<Record<string, unknown>> => {
        calls++;
        return value(id);
      };
      const writer = servicesCache(ctx, prefix, { compression });
      const first = await writer.wrap(report, { name: "report" })("q1");
      assert(calls === 1, "the miss runs the function");
      assertDeepEqual(first, value("q1"), "the miss returns the function's value");
      await writer.flush();
      const written = writer.stats();
      assert(written.writes.ok === 1, `one write persisted (stats: ${JSON.stringify(written.writes)})`);
      assert(written.errors.total === 0, `no errors while writing (stats: ${JSON.stringify(written.errors)})`);

      const reader = servicesCache(ctx, prefix, { compression });
      const second = await reader.wrap(report, { name: "report" })("q1");
      assert(calls === 1, "the hit does not run the function");
      assertDeepEqual(second, value("q1"), "the hit returns the stored value, every type intact");
      const read = reader.stats();
      assert(read.hits[source] === 1, `the hit is served from ${source} (hits: ${JSON.stringify(read.hits)})`);
      assert(read.errors.total === 0, `no errors while reading (stats: ${JSON.stringify(read.errors)})`);
    },
  };
}

/** A cache whose store and S3 are dead (nothing listens), logging nothing. */
export function deadBackendsCache(ctx: ScenarioContext, label: string): Cache {
  return ctx.lib.createCache({
    // Port 9 (discard) on loopback: nothing listens there, connections are refused at once.
    store: ctx.lib.upstashStore({ url: "http://127.0.0.1:9", token: "dead" }),
    blobs: ctx.lib.s3BlobStore({ ...ctx.services.s3, endpoint: "http://127.0.0.1:9" }),
    prefix: prefixFor(ctx, label),
    timeout: { store: "2s", blob: "2s" },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...ctx.cacheOptions,
  });
}

/** Dead backends: every call runs the function and returns its value; nothing throws. */
const failOpen: Scenario = {
  name: "fail-open: dead store and dead S3",
  async run(ctx) {
    const cache = deadBackendsCache(ctx, "dead");
    let calls = 0;
    const report = cache.wrap(async (id: string) => {
      calls++;
      return sampleValue(id);
    }, { name: "report" });
    assertDeepEqual(await report("x"), sampleValue("x"), "first call returns the value");
    await cache.flush();
    assertDeepEqual(await report("x"), sampleValue("x"), "second call returns the value");
    await cache.flush();
    assert(calls === 2, `the function ran for each call (${calls})`);
    const stats = cache.stats();
    assert(stats.hits.total === 0, "nothing was served from a dead cache");
    assert(stats.errors.store >= 1, `store failures were counted (${JSON.stringify(stats.errors)})`);
  },
};

/**
 * The first half of the waitUntil scenario: a miss whose write is left to `waitUntil` (the
 * caller does not flush). Returns the prefix for {@link readBack}.
 */
export async function writeInBackground(ctx: ScenarioContext, extra?: CacheOptions): Promise<string> {
  const prefix = prefixFor(ctx, "waituntil");
  const cache = servicesCache(ctx, prefix, extra);
  const value = await cache.wrap(async (id: string) => sampleValue(id), { name: "bg" })("w");
  assertDeepEqual(value, sampleValue("w"), "the miss returns the value");
  return prefix;
}

/** The second half: a fresh cache must hit the entry written in the background; never computes. */
export async function readBack(ctx: ScenarioContext, prefix: string): Promise<void> {
  const cache = servicesCache(ctx, prefix, { lease: false });
  const value = await cache.wrap(async (_id: string): Promise<unknown> => {
    throw new Error("entry not found: the background write did not land");
  }, { name: "bg" })("w");
  assertDeepEqual(value, sampleValue("w"), "the background write is readable");
}

/** In one process: the write registered with `waitUntil` lands without `flush()`. */
const waitUntilKeepsWrites: Scenario = {
  name: "waitUntil: the background write is registered and lands without flush()",
  async run(ctx) {
    const tasks: Promise<unknown>[] = [];
    const prefix = await writeInBackground(ctx, { waitUntil: (task) => void tasks.push(task) });
    assert(tasks.length >= 1, "the write was handed to waitUntil");
    await Promise.all(tasks);
    await readBack(ctx, prefix);
  },
};

/**
 * Encryption at rest through the runtime's own Web Crypto: an inline and a blob entry written
 * encrypted (one key raw, one in base64), read back by a fresh cache that holds both keys, the
 * record naming the key; a cache without the key misses them, counted, and never sees plaintext.
 */
const encryptedRoundTrip: Scenario = {
  name: "encryption: AES-256-GCM entries inline and in S3, a rotated reader, a reader without the key",
  async run(ctx) {
    const prefix = prefixFor(ctx, "encrypted");
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const base64 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const writer = servicesCache(ctx, prefix, { encryption: { keys: { k1: raw }, current: "k1" } });
    assert(await writer.set("small", sampleValue("s")), "the inline entry is written");
    const rotated = servicesCache(ctx, prefix, { encryption: { keys: { k2: base64, k1: raw }, current: "k2" } });
    assert(await rotated.set("large", largeValue("l")), "the blob entry is written");

    const reader = servicesCache(ctx, prefix, { encryption: { keys: { k1: raw, k2: base64 }, current: "k1" } });
    assertDeepEqual(await reader.get("small"), sampleValue("s"), "the inline entry decrypts");
    assertDeepEqual(await reader.get("large"), largeValue("l"), "the blob entry decrypts");
    const read = reader.stats();
    assert(read.hits.inline === 1 && read.hits.blob === 1, `inline and blob hits (${JSON.stringify(read.hits)})`);
    assert(read.errors.total === 0, `no errors (${JSON.stringify(read.errors)})`);
    const keyIds = [
      (await reader.inspect("small")).record?.encryptionKey,
      (await reader.inspect("large")).record?.encryptionKey,
    ];
    assertDeepEqual(keyIds, ["k1", "k2"], "each record names the key it was written with");

    const keyless = servicesCache(ctx, prefix, {
      encryption: { keys: { k3: crypto.getRandomValues(new Uint8Array(32)) }, current: "k3" },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    assert((await keyless.get("small")) === undefined, "without its key, the inline entry is a miss");
    assert((await keyless.get("large")) === undefined, "without its key, the blob entry is a miss");
    const missed = keyless.stats();
    assert(missed.errors.codec === 2, `both misses counted in errors.codec (${JSON.stringify(missed.errors)})`);
  },
};

/** Every scenario, in order. */
export const scenarios: readonly Scenario[] = [
  missThenHit("inline, zstd", "zstd", sampleValue, "inline"),
  missThenHit("blob, zstd", "zstd", largeValue, "blob"),
  missThenHit("inline, gzip", "gzip", sampleValue, "inline"),
  missThenHit("blob, gzip", "gzip", largeValue, "blob"),
  failOpen,
  waitUntilKeepsWrites,
  encryptedRoundTrip,
];
