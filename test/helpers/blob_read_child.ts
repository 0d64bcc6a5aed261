/**
 * One process reading a blob entry whose object is far larger than its record says, for
 * test/integration/bounded_reads.test.ts: its RSS is this read's own.
 *
 * Started with `fork()` (`--import tsx --expose-gc`) and the test's `LARDER_TEST_*` environment;
 * its one argument is a JSON {@link BlobReadConfig}. It writes the entry (a small blob) and says
 * `stored`; the test then replaces the object with a large one and says `read`. The child reads
 * the entry twice, each time measuring its peak memory: with the cache that wrote it (which
 * expects a blob, so the GET leaves with the record read, before the size is known), then with a
 * fresh cache (the GET follows the record). It reports both and exits.
 *
 * @module
 */
import process from "node:process";
import { createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import type { CacheStats } from "../../src/core/stats/stats.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import { recordingLogger } from "./chaos.ts";
import { measurePeak } from "./rss.ts";
import { requireServices } from "./services.ts";

/** What the test tells the child. */
export interface BlobReadConfig {
  /** Cache prefix. */
  readonly prefix: string;
  /** The entry's key. */
  readonly key: string;
  /** Size of the entry's payload as written (and as its record says). */
  readonly payloadBytes: number;
}

/** One measured read. */
export interface MeasuredRead {
  /** `speculative`: the GET left with the record read; `after-record`: it followed it. */
  readonly path: "speculative" | "after-record";
  /** Whether `get` returned a value (it must not: the blob does not match its record). */
  readonly hit: boolean;
  /** See test/helpers/rss.ts. */
  readonly sampledPeak: number;
  /** See test/helpers/rss.ts. */
  readonly kernelPeak: number;
  /** The reading cache's counters after the read. */
  readonly stats: CacheStats;
  /** What its logger was told. */
  readonly warnings: readonly string[];
}

/** Messages to the test. */
export type BlobReadMessage =
  | { readonly type: "stored" }
  | { readonly type: "result"; readonly reads: readonly MeasuredRead[] }
  | { readonly type: "failed"; readonly error: string };

const send = (message: BlobReadMessage): void => void process.send!(message);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as BlobReadConfig;
  const services = requireServices();
  const open = () => {
    const logger = recordingLogger();
    const cache = createCache({
      store: upstashStore(services.upstash),
      blobs: s3BlobStore(services.s3),
      prefix: config.prefix,
      maxInlineBytes: 4096,
      // Generous: the read must be cut short by its size, not by a timeout.
      timeout: { store: "10s", blob: "60s" },
      logger,
    });
    return { cache, logger };
  };
  const writer = open();
  // Random bytes: stored as they are (incompressible), so the record says exactly payloadBytes.
  const payload = new Uint8Array(config.payloadBytes);
  crypto.getRandomValues(payload);
  await writer.cache.set(config.key, payload);
  send({ type: "stored" });
  await new Promise<void>((resolve) => process.once("message", () => resolve()));

  const reads: MeasuredRead[] = [];
  for (const [path, reader] of [["speculative", writer], ["after-record", open()]] as const) {
    const { result, sampledPeak, kernelPeak } = await measurePeak(() => reader.cache.get(config.key));
    reads.push({
      path,
      hit: result !== undefined,
      sampledPeak,
      kernelPeak,
      stats: reader.cache.stats(),
      warnings: reader.logger.lines.filter((line) => line.level === "warn").map((line) => line.message),
    });
  }
  send({ type: "result", reads });
}

process.once("disconnect", () => process.exit(1));
main().then(
  () => process.exit(0),
  (error: unknown) => {
    send({ type: "failed", error: error instanceof Error ? error.stack ?? error.message : String(error) });
    process.exit(1);
  },
);
