/**
 * Hit latency per size and tier, against floors measured in the same rounds: the bare store GET
 * of the same record, the bare S3 GET of the same object, both issued together, and decode
 * (decompress + decode of the same stored bytes, alone). Optionally under added latency.
 *
 * @module
 */
import { createCache } from "../mod.ts";
import { cborCodec } from "../src/codec/cbor.ts";
import { embeddedZstdWasm } from "../src/codec/_zstd_embedded.ts";
import { zstdCompressor } from "../src/codec/zstd.ts";
import type { ServicesEnv } from "../scripts/services/index.ts";
import {
  baseOptions,
  type Dataset,
  type EntryKeys,
  entryKeys,
  sameRows,
  type TierCache,
  tierCache,
  tierOptions,
} from "./_fixtures.ts";
import type { Floors } from "./_floors.ts";
import { applyLatency, type Latency } from "./_latency.ts";
import { type Budget, measure, type Series, type Summary } from "./_measure.ts";
import { DEFAULT_INLINE_MAX } from "./_targets.ts";

/** Everything a hit scenario reads. */
export interface HitFixtures {
  readonly env: ServicesEnv;
  readonly floors: Floors;
  readonly datasets: readonly Dataset[];
  readonly memory: TierCache;
  readonly shared: TierCache;
  readonly inline: TierCache;
  readonly s3: TierCache;
  /** Per dataset: the inline entry, the S3 entry, the stored payload (zstd frame) with its raw size, and the inline record's size and Redis memory. */
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

/** Where one dataset's entries live, and what they take. */
export interface StoredEntry {
  readonly inline: EntryKeys;
  readonly s3: EntryKeys;
  readonly payload: Uint8Array;
  readonly rawBytes: number;
  /** The inline entry's record, bytes of its JSON text (payload in base64). */
  readonly recordBytes: number;
  /** What Redis reports for the inline record (`MEMORY USAGE`). */
  readonly redisBytes: number;
}

/** Per size, the summary of every series (names: see {@link runHits}). */
export type HitResults = Record<string, Record<string, Summary>>;

/** Writes every dataset through each tier's cache and checks that hits come from that tier. */
export async function setupHits(
  env: ServicesEnv,
  floors: Floors,
  runId: string,
  datasets: readonly Dataset[],
): Promise<HitFixtures> {
  const memory = tierCache(env, `${runId}-mem`, "memory", datasets);
  const shared = tierCache(env, `${runId}-shr`, "shared", datasets);
  const inline = tierCache(env, `${runId}-in`, "inline", datasets);
  const s3 = tierCache(env, `${runId}-s3`, "s3", datasets);
  const entries = new Map<string, StoredEntry>();
  for (const { label, rows } of datasets) {
    for (const tier of [memory, shared, inline, s3]) {
      await tier.rows(label, 0); // miss: written in the background (and, shared, frozen after it)
      await tier.cache.flush();
      const hit = await tier.rows(label, 0);
      if (!sameRows(hit, rows)) throw new Error(`${tier.tier} ${label}: the hit did not return the stored rows`);
      if (tier === shared && !Object.isFrozen(hit)) throw new Error(`shared ${label}: the hit is not the shared value`);
    }
    const inlineKeys = await entryKeys(inline.prefix, label);
    const s3Keys = await entryKeys(s3.prefix, label);
    const record = JSON.parse(await floors.storeGet(s3Keys.record) ?? "null") as { n: number; z: string } | null;
    if (record === null || record.z !== "zstd") throw new Error(`${label}: no zstd record at ${s3Keys.record}`);
    const inlineText = await floors.storeGet(inlineKeys.record) ?? "null";
    const inlineRecord = JSON.parse(inlineText) as { p?: string } | null;
    if (typeof inlineRecord?.p !== "string") throw new Error(`${label}: the inline entry is not inline`);
    entries.set(label, {
      inline: inlineKeys,
      s3: s3Keys,
      payload: await floors.s3Get(s3Keys.blob),
      rawBytes: record.n,
      recordBytes: new TextEncoder().encode(inlineText).length,
      redisBytes: await floors.redisBytes(inlineKeys.record),
    });
  }
  const s = [memory, shared, inline, s3].map((t) => t.cache.stats().hits);
  const n = datasets.length;
  if (s[0]!.memory < n || s[1]!.memory < n || s[2]!.inline < n || s[3]!.blob < n) {
    throw new Error(`hits did not come from the tiers under test: ${JSON.stringify(s)}`);
  }
  return { env, floors, datasets, memory, shared, inline, s3, entries };
}

/**
 * Per size, series: `inline`, `s3` (hits through `wrap`), `s3 fresh` (an S3 hit in a
 * new cache instance: no placement hint, so record then blob), `get inline record`, `get s3
 * record` (bare store GETs), `read script inline` (the lookup's script for the inline record, by
 * a bare `fetch` of its `EVALSHA`), `get s3 object` (bare S3 GET), `get both` (the last two together),
 * and with `decode`: `decode` (zstd decompress + CBOR decode of the stored payload, alone).
 */
export async function runHits(
  fx: HitFixtures,
  latency: Latency,
  budgetFor: (label: string) => Budget,
  options: { decode: boolean },
): Promise<HitResults> {
  const rules = await applyLatency(fx.env, latency, [fx.inline.prefix, fx.s3.prefix]);
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
  const cbor = cborCodec();
  const results: HitResults = {};
  try {
    for (const { label, rows } of fx.datasets) {
      const entry = fx.entries.get(label)!;
      let fresh: ((label: string, i: number) => Promise<unknown>) | undefined;
      const series: Series[] = [
        { name: "inline", run: () => fx.inline.rows(label, 0) },
        { name: "s3", run: () => fx.s3.rows(label, 0) },
        {
          name: "s3 fresh",
          prepare: () => {
            const cache = createCache({ ...baseOptions(fx.env, fx.s3.prefix), ...tierOptions("s3") });
            fresh = cache.wrap(async (_label: string, _i: number): Promise<unknown> => rows, { name: "rows" });
          },
          run: () => fresh!(label, 0),
        },
        { name: "get inline record", run: () => fx.floors.storeGet(entry.inline.record) },
        { name: "get s3 record", run: () => fx.floors.storeGet(entry.s3.record) },
        { name: "get s3 object", run: () => fx.floors.s3Get(entry.s3.blob) },
        {
          name: "get both",
          run: () => Promise.all([fx.floors.storeGet(entry.s3.record), fx.floors.s3Get(entry.s3.blob)]),
        },
      ];
      if (entry.payload.length <= DEFAULT_INLINE_MAX) {
        // Where the inline-hit target applies: what of the hit's overhead is the script itself.
        series.push({
          name: "read script inline",
          run: () => fx.floors.storeRead(entry.inline.record, entry.inline.gens),
        });
      }
      if (options.decode) {
        series.push({
          name: "decode",
          run: async () => cbor.decode(await zstd.decompress(entry.payload, entry.rawBytes)),
        });
      }
      const before = fx.s3.cache.stats();
      results[label] = await measure(series, budgetFor(label));
      const after = fx.s3.cache.stats();
      if (after.misses !== before.misses || after.errors.total !== before.errors.total) {
        throw new Error(`${label}: misses or errors during the S3 hit series: ${JSON.stringify(after.errors)}`);
      }
    }
  } finally {
    await rules();
  }
  return results;
}

/**
 * In-process tier hits, on their own (no network traffic interleaved: what is measured is the
 * process alone; the shared mode in its own rounds, see below). Series per dataset: `memory` (a hit through `wrap`, the default mode: each hit
 * decodes its copy), `shared` (the same with `memory.shared`: the one deep-frozen value), `decode
 * raw` (CBOR decode of the same encoded value, alone: the part of the default hit that grows with size).
 */
export async function runMemoryHits(fx: HitFixtures, budgetFor: (label: string) => Budget): Promise<HitResults> {
  const zstd = zstdCompressor({ wasm: embeddedZstdWasm });
  const cbor = cborCodec();
  const results: HitResults = {};
  for (const { label } of fx.datasets) {
    const entry = fx.entries.get(label)!;
    const raw = await zstd.decompress(entry.payload, entry.rawBytes);
    const before = [fx.memory, fx.shared].map((t) => t.cache.stats().hits.memory);
    results[label] = {
      ...await measure([
        { name: "memory", run: () => fx.memory.rows(label, 0) },
        { name: "decode raw", run: async () => cbor.decode(raw) },
      ], budgetFor(label)),
      // Apart, not interleaved with the two above: each of those allocates the whole value (17 MB
      // of objects at 10 MB), and the collection that starts ran during the next shared hit (22–82
      // µs at 1–10 MB interleaved, against 8–20 µs apart), where an app serving shared hits does
      // not decode between them. The shared series allocates nothing.
      ...await measure([{ name: "shared", run: () => fx.shared.rows(label, 0) }], budgetFor(label)),
    };
    [fx.memory, fx.shared].forEach((tier, i) => {
      const served = tier.cache.stats().hits.memory - before[i]!;
      const n = results[label]![tier.tier]!.n;
      if (served < n) throw new Error(`${label}: ${n - served} of ${n} ${tier.tier} hits were not in-process`);
    });
  }
  return results;
}
