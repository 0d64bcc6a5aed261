/**
 * What the hit, miss and concurrency figures share: one cache per tier on the same services
 * (each with its own prefix, so latency rules can target it), the payloads written once, and
 * where each entry's record and blob live, so floors read exactly the same bytes.
 *
 * @module
 */
import { type Cache, createCache } from "../mod.ts";
import type { CacheOptions } from "../src/core/api/options.ts";
import { s3BlobStore } from "../src/blobs/s3.ts";
import { blobKey, generationKeys, recordKey } from "../src/core/record/key_layout.ts";
import { keyHash } from "../src/core/record/key_material.ts";
import { upstashStore } from "../src/stores/upstash.ts";
import type { ServicesEnv } from "../scripts/services/index.ts";
import { makePayload, type Shape, SIZES } from "./_data.ts";

/** The tiers a hit can come from: the in-process tier (decoding each hit, or shared), inline, S3. */
export type Tier = "memory" | "shared" | "inline" | "s3";

/** One payload: its shape and size, and the records that make it. */
export interface Dataset {
  /** The size for rows (`1 MB`), the size and shape otherwise (`1 MB orders`): the key of every result. */
  readonly label: string;
  /** The size's label (`1 MB`). */
  readonly size: string;
  readonly shape: Shape;
  readonly jsonBytes: number;
  readonly rows: unknown[];
}

/** Every payload of the benchmark: each shape at each size, rows first. */
export function makeDatasets(shapes: readonly Shape[]): Dataset[] {
  return shapes.flatMap((shape) =>
    SIZES.map((s) => ({
      label: shape === "rows" ? s.label : `${s.label} ${shape}`,
      size: s.label,
      shape,
      jsonBytes: s.bytes,
      rows: makePayload(shape, s.bytes),
    }))
  );
}

/** A cache configured for one tier, and `rows(label, i)` wrapped in it. */
export interface TierCache {
  readonly tier: Tier;
  readonly prefix: string;
  readonly cache: Cache;
  readonly rows: (label: string, i: number) => Promise<unknown[]>;
}

/** Where an entry lives. */
export interface EntryKeys {
  readonly record: string;
  readonly blob: string;
  /** Its generation keys, as the lookup sends them (the prefix's and the default namespace's). */
  readonly gens: readonly string[];
}

/** Options shared by every cache of the run (besides `store`, `blobs` and `prefix`). */
export function baseOptions(env: ServicesEnv, prefix: string): CacheOptions {
  return {
    store: upstashStore({ url: env.LARDER_TEST_UPSTASH_URL, token: env.LARDER_TEST_UPSTASH_TOKEN }),
    blobs: s3BlobStore({
      endpoint: env.LARDER_TEST_S3_ENDPOINT,
      region: env.LARDER_TEST_S3_REGION,
      bucket: env.LARDER_TEST_S3_BUCKET,
      accessKeyId: env.LARDER_TEST_S3_ACCESS_KEY_ID,
      secretAccessKey: env.LARDER_TEST_S3_SECRET_ACCESS_KEY,
    }),
    prefix,
    ttl: "1h",
    // A slow 10 MB read under +40 ms must not be cut short by the default 1 s / 5 s limits.
    timeout: { store: "10s", blob: "30s" },
    logger: { debug() {}, info() {}, warn: (m) => console.warn(m), error: (m) => console.error(m) },
  };
}

/**
 * Tier-specific options: the in-process tier on, or every payload forced inline or into S3.
 *
 * The tier series measure the tier itself, so its bus is off: on Upstash a tier hit that comes
 * more than `memory.bus.interval` after the tier's last read of the bus's log waits for one (a
 * store round trip), and these series are interleaved with 10 MB series slow enough to leave the
 * tier idle that long between its hits (it turned 9 µs shared hits into 0.8 ms ones at 10 MB).
 * What the bus costs a tier in use is tier_bus.ts' figure.
 */
export function tierOptions(tier: Tier): CacheOptions {
  if (tier === "memory") return { memory: { maxBytes: 256 * 1024 * 1024, ttl: "1h", bus: false } };
  if (tier === "shared") return { memory: { maxBytes: 256 * 1024 * 1024, ttl: "1h", shared: true, bus: false } };
  // Inline: records up to 64 MiB (a 10 MB value is ~1.2 MB compressed); S3: every payload.
  return { maxInlineBytes: tier === "inline" ? 64 * 1024 * 1024 : 1 };
}

/** A cache for `tier`, with the rows of `datasets` wrapped (the wrapped function's name is "rows"). */
export function tierCache(env: ServicesEnv, prefix: string, tier: Tier, datasets: readonly Dataset[]): TierCache {
  const cache = createCache({ ...baseOptions(env, prefix), ...tierOptions(tier) });
  const byLabel = new Map(datasets.map((d) => [d.label, d.rows]));
  // `i` tells calls apart (distinct keys) without changing the result; always pass it.
  const rows = async (label: string, _i: number): Promise<unknown[]> => byLabel.get(label)!;
  return { tier, prefix, cache, rows: cache.wrap(rows, { name: "rows" }) };
}

/** Where the entry of `rows(label, i)` lives under `prefix`. */
export async function entryKeys(prefix: string, label: string, i = 0): Promise<EntryKeys> {
  const hash = await keyHash(prefix, "default", { kind: "call", fn: "rows", args: [label, i] });
  return { record: recordKey(prefix, hash), blob: blobKey(prefix, hash), gens: generationKeys(prefix, "default", []) };
}

/** True when `actual` is `expected` (length, and first, middle and last records, deeply, Dates included). */
export function sameRows(actual: unknown, expected: readonly unknown[]): boolean {
  if (!Array.isArray(actual) || actual.length !== expected.length) return false;
  return [0, expected.length >> 1, expected.length - 1].every((i) => deepEqual(actual[i], expected[i]));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
