/**
 * One process writing a value far over `maxValueBytes`, for test/integration/bounded_writes.test.ts:
 * its RSS is this write's own. Started with `fork()` (`--import tsx --expose-gc`); its one
 * argument is a JSON {@link OversizedWriteConfig}. It builds the value first (cheap: one string
 * shared by every row, so the value is small in memory and large once encoded), then measures, each
 * on its own, a `set` (which rejects) and a wrapped call (whose background write is skipped), and
 * reports both.
 *
 * @module
 */
import process from "node:process";
import { createCache } from "../../mod.ts";
import type { CacheStats } from "../../src/core/stats/stats.ts";
import { recordingLogger } from "./chaos.ts";
import { measurePeak } from "./rss.ts";

/** What the test tells the child. */
export interface OversizedWriteConfig {
  /** The value codec. */
  readonly codec: "cbor" | "json";
  /** Rows of the value; each encodes to about `rowBytes`. */
  readonly rows: number;
  /** Characters of the string every row holds (`strings` rows). */
  readonly rowBytes: number;
  /**
   * Rows: one ASCII string shared by all, or one Date shared by all (with milliseconds: 10 bytes in
   * CBOR, where the size bound counts 1).
   */
  readonly rowKind: "strings" | "dates";
  /** The cache's `maxValueBytes`. */
  readonly maxValueBytes: number;
}

/** One measured write. */
export interface MeasuredWrite {
  /** `set` (rejects) or `wrap` (the background write is skipped). */
  readonly via: "set" | "wrap";
  /** The error `set` rejected with, by class name and code; null for `wrap`. */
  readonly error: { readonly name: string; readonly code: string; readonly message: string } | null;
  /** Whether the wrapped call returned the function's value. */
  readonly returned: boolean;
  /** See test/helpers/rss.ts. */
  readonly sampledPeak: number;
  /** See test/helpers/rss.ts. */
  readonly kernelPeak: number;
  /** The cache's counters after the write. */
  readonly stats: CacheStats;
  /** What its logger was told (warnings). */
  readonly warnings: readonly string[];
}

async function main(): Promise<readonly MeasuredWrite[]> {
  const config = JSON.parse(process.argv[2]!) as OversizedWriteConfig;
  const row = "x".repeat(config.rowBytes);
  const value = {
    rows: config.rowKind === "dates"
      ? new Array<Date>(config.rows).fill(new Date(1_700_000_000_123))
      : new Array<string>(config.rows).fill(row),
  };
  const writes: MeasuredWrite[] = [];
  for (const via of ["set", "wrap"] as const) {
    const logger = recordingLogger();
    const cache = createCache({ codec: config.codec, maxValueBytes: config.maxValueBytes, logger });
    const { result, sampledPeak, kernelPeak } = await measurePeak(async () => {
      if (via === "set") {
        try {
          await cache.set("huge", value);
          return { error: null, returned: false };
        } catch (error) {
          const { name, code, message } = error as { name: string; code: string; message: string };
          return { error: { name, code, message }, returned: false };
        }
      }
      const report = cache.wrap(async () => value, { name: "report" });
      const returned = (await report()) === value;
      await cache.flush();
      return { error: null, returned };
    });
    writes.push({
      via,
      ...result,
      sampledPeak,
      kernelPeak,
      stats: cache.stats(),
      warnings: logger.lines.filter((line) => line.level === "warn").map((line) => line.message),
    });
  }
  return writes;
}

main().then(
  (writes) => {
    process.send!({ writes }, () => process.exit(0));
  },
  (error: unknown) => {
    process.send!(
      { failed: error instanceof Error ? error.stack ?? error.message : String(error) },
      () => process.exit(1),
    );
  },
);
