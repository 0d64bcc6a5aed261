/**
 * The results' shape (what bench.json holds) and the targets of issue 7 evaluated on them.
 *
 * @module
 */
import type { CodecResults } from "./codec.ts";
import type { ConcurrencyCase } from "./concurrency.ts";
import type { HitResults } from "./hits.ts";
import type { Latency } from "./_latency.ts";
import type { Summary } from "./_measure.ts";
import type { MissResult } from "./miss.ts";
import type { PeakMemory } from "./peak_memory.ts";
import type { TcpResults } from "./tcp.ts";
import type { EventsOverhead } from "./events.ts";
import type { TierBusOverhead } from "./tier_bus.ts";

/** Everything one run measured (what bench.json holds). */
export interface BenchResults {
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGB: number;
    readonly commit: string;
    readonly dirty: boolean;
    readonly date: string;
    /** 1-minute load average before and after the run. */
    readonly load: readonly [number, number];
    readonly quick: boolean;
  };
  readonly durationS: number;
  /** Every dataset: its label (the size for rows, `1 MB orders` for orders), size, shape, JSON size, records. */
  readonly sizes: readonly {
    readonly label: string;
    readonly size: string;
    readonly shape: string;
    readonly jsonBytes: number;
    readonly rows: number;
  }[];
  readonly scenarios: readonly Latency[];
  /**
   * Per dataset, bytes: the stored payload (zstd), the encoded value (CBOR), the inline entry's
   * record (payload in base64) and what Redis reports for it (`MEMORY USAGE`).
   */
  readonly stored: Record<
    string,
    {
      readonly payloadBytes: number;
      readonly encodedBytes: number;
      readonly recordBytes?: number;
      readonly redisBytes?: number;
    }
  >;
  /** By payload shape ("rows", "orders"), then size, then format. */
  readonly codecs: CodecResults;
  readonly memory: HitResults;
  /** By scenario name. */
  readonly hits: Record<string, HitResults>;
  /** By scenario name, then size. */
  readonly misses: Record<string, Record<string, MissResult>>;
  readonly concurrency: readonly ConcurrencyCase[];
  readonly peak: PeakMemory;
  /** Plain Redis and the Redis Cluster over TCP (bench/tcp.ts). */
  readonly tcp?: TcpResults;
  /** The hit path with no event listener, against the build before events (bench/events.ts). */
  readonly events?: EventsOverhead;
  /** A tier hit with the tiers' bus on, against the build before the bus (bench/tier_bus.ts). */
  readonly tierBus?: TierBusOverhead;
}

/** Where entries go with the default `maxInlineBytes` (32 KiB of compressed payload). */
export const DEFAULT_INLINE_MAX: number = 32 * 1024;

/** One evaluated target. */
export interface Verdict {
  readonly target: string;
  readonly size: string;
  readonly scenario: string;
  readonly measured: number;
  readonly limit: number;
  /** measured / the reference the target multiplies (e.g. hit / bare GET). */
  readonly ratio: number;
  readonly pass: boolean;
}

/** The p50 of `s`, NaN when absent. */
export const p50 = (s: Summary | undefined): number => s?.p50 ?? NaN;

/** Decode time (zstd + CBOR of the stored payload) at `size`, from the loopback run. */
export function decodeOf(r: BenchResults, size: string): number {
  return p50(r.hits[r.scenarios[0]!.name]?.[size]?.decode);
}

/** The targets, evaluated. */
export function verdicts(r: BenchResults): Verdict[] {
  const out: Verdict[] = [];
  const inlineSizes = r.sizes.filter((s) => r.stored[s.label]!.payloadBytes <= DEFAULT_INLINE_MAX).map((s) => s.label);
  const blobSizes = r.sizes.filter((s) => r.stored[s.label]!.payloadBytes > DEFAULT_INLINE_MAX).map((s) => s.label);
  for (const scenario of r.scenarios) {
    const hits = r.hits[scenario.name]!;
    for (const size of inlineSizes) {
      const get = p50(hits[size]!["get inline record"]);
      const hit = p50(hits[size]!.inline);
      out.push({
        target: "inline",
        size,
        scenario: scenario.name,
        measured: hit,
        limit: 1.15 * get,
        ratio: hit / get,
        pass: hit <= 1.15 * get,
      });
    }
    for (const size of blobSizes) {
      const floor = Math.max(p50(hits[size]!["get s3 record"]), p50(hits[size]!["get s3 object"])) + decodeOf(r, size);
      const hit = p50(hits[size]!.s3);
      out.push({
        target: "s3",
        size,
        scenario: scenario.name,
        measured: hit,
        limit: 1.15 * floor,
        ratio: hit / floor,
        pass: hit <= 1.15 * floor,
      });
    }
    // Issue 15: at 1 MB, what the hit adds once both bodies are in: the S3 hit less both GETs
    // issued together (decompress, verify, decode, and the record's checks).
    for (const size of blobSizes.filter((s) => s.startsWith("1 MB"))) {
      const after = p50(hits[size]!.s3) - p50(hits[size]!["get both"]);
      out.push({
        target: "cpu 1 MB",
        size,
        scenario: scenario.name,
        measured: after,
        limit: 3,
        ratio: after / 3,
        pass: after <= 3,
      });
    }
    for (const size of r.sizes.map((s) => s.label)) {
      const m = r.misses[scenario.name]![size]!;
      const limit = p50(m.floor) + 1;
      out.push({
        target: "miss",
        size,
        scenario: scenario.name,
        measured: p50(m.overhead),
        limit,
        ratio: p50(m.overhead) / p50(m.floor),
        pass: p50(m.overhead) <= limit,
      });
    }
  }
  const loopback = r.scenarios[0]!.name;
  const memory = p50(r.memory["1 KB"]?.memory);
  out.push({
    target: "memory",
    size: "1 KB",
    scenario: loopback,
    measured: memory,
    limit: 0.02,
    ratio: memory / 0.02,
    pass: memory <= 0.02,
  });
  // Issue 15: the shared in-process tier at every size, both shapes.
  for (const { label } of r.sizes) {
    const shared = p50(r.memory[label]?.shared);
    if (Number.isNaN(shared)) continue;
    out.push({
      target: "shared",
      size: label,
      scenario: loopback,
      measured: shared,
      limit: 0.02,
      ratio: shared / 0.02,
      pass: shared <= 0.02,
    });
  }
  // The codec figures are by size (and shape): the largest size of the rows.
  const rowSizes = r.sizes.filter((s) => s.shape === "rows");
  const largest = rowSizes[rowSizes.length - 1]!.size;
  const codecs = r.codecs.rows![largest]!;
  for (const reference of ["json+gzip", "json+gzip (node:zlib)"] as const) {
    const ours = p50(codecs["cbor+zstd"].read);
    const theirs = p50(codecs[reference].read);
    out.push({
      target: `read vs ${reference}`,
      size: largest,
      scenario: loopback,
      measured: ours,
      limit: 1.2 * theirs,
      ratio: ours / theirs,
      pass: ours <= 1.2 * theirs,
    });
  }
  // Issue 15: with the checksum, on both payload shapes, against node:zlib + JSON.parse at 1.0×.
  for (const [shape, bySize] of Object.entries(r.codecs)) {
    const figures = bySize[largest];
    if (figures === undefined) continue;
    const ours = p50(figures["cbor+zstd"].readVerified);
    const theirs = p50(figures["json+gzip (node:zlib)"].readVerified);
    out.push({
      target: `verified read vs node:zlib, ${shape}`,
      size: largest,
      scenario: loopback,
      measured: ours,
      limit: theirs,
      ratio: ours / theirs,
      pass: ours <= theirs,
    });
  }
  return out;
}
