/**
 * `cache.cleanup()`: removes payload blobs that no record points to any more. Records expire in
 * Redis on their own; their blobs do not, so every expired, replaced-by-inline or half-written
 * entry leaves an object behind.
 *
 * A blob is live when its entry's record exists and its `b` is the object's key (the key shapes
 * are in record/key_layout.ts). The bucket is listed under the prefix page by page; for each page
 * the records of the objects older than the grace period are read in batches (one store pipeline
 * each), and the objects no record points to are read again right before deletion (record and
 * lease, one pipeline), then removed with one batch delete. Objects younger than the grace period are never touched: a
 * writer uploads the blob first and writes its record afterwards. Objects whose names Larder
 * does not produce are left alone.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { operatorCall } from "../backend/backend_call.ts";
import type { Duration } from "../util/durations.ts";
import * as opt from "../util/check_options.ts";
import { DEFAULTS } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { blobKeyPrefix } from "../record/key_layout.ts";
import {
  classify,
  type CleanupCounts,
  type CleanupRun,
  type Counts,
  findOrphans,
  remove,
  type RunSettings,
} from "./orphans.ts";

export type { CleanupCounts };

/** Options of `cache.cleanup()`. */
export interface CleanupOptions {
  /**
   * Objects written less than this long ago are left alone, whatever their record says: an
   * entry's blob is uploaded before its record is written. Keep it well above the longest write.
   * `0` turns it off (each orphan's record and lease are still read again right before deleting).
   * @default "1h"
   */
  grace?: Duration;
  /** Count what would be deleted without deleting anything. @default false */
  dryRun?: boolean;
  /** Called (and awaited) after each page is listed, checked and cleaned, and once at the end. */
  onProgress?: (progress: CleanupProgress) => void | Promise<void>;
  /** Stops the cleanup between and during calls; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Objects per listed page (1–1000). @default 1000 */
  pageSize?: number;
  /** Records read per store pipeline (1–1000). @default 250 */
  batchSize?: number;
  /** Time limit of each backend call. @default "30s" */
  timeout?: Duration;
}

/** What `onProgress` receives: the counters and the step just finished. */
export interface CleanupProgress extends CleanupCounts {
  /** For each page `listed`, `checked` (orphans known) and, unless a dry run, `deleted`; then `done`. */
  readonly phase: "listed" | "checked" | "deleted" | "done";
}

/** What `cache.cleanup()` resolves to. */
export interface CleanupSummary extends CleanupCounts {
  /** Whether this was a dry run (nothing deleted). */
  readonly dryRun: boolean;
  /** The grace period applied, in ms. */
  readonly graceMs: number;
  /** Wall time of the whole cleanup, in ms. */
  readonly durationMs: number;
}

/** Runs a cleanup of `ctx`'s prefix; see the module documentation. */
export async function cleanup(ctx: CacheContext, options?: CleanupOptions): Promise<CleanupSummary> {
  const settings = resolve(options);
  const blobs = ctx.options.blobs;
  if (!blobs) throw new ConfigError("cleanup: this cache has no blob store, so there is nothing to clean up");
  if (typeof blobs.list !== "function") {
    throw new ConfigError(`cleanup: blob store "${blobs.name}" cannot list objects (it has no list method)`);
  }
  const started = performance.now();
  const counts: Counts = {
    pages: 0,
    scanned: 0,
    scannedBytes: 0,
    live: 0,
    recent: 0,
    foreign: 0,
    orphans: 0,
    orphanBytes: 0,
    rescued: 0,
    deleted: 0,
    deletedBytes: 0,
    failed: 0,
  };
  const report = async (phase: CleanupProgress["phase"]): Promise<void> => {
    await settings.onProgress?.({ phase, ...counts });
    settings.signal?.throwIfAborted();
  };
  const run: CleanupRun = { ctx, blobs, settings, counts };
  const prefix = blobKeyPrefix(ctx.options.prefix);
  let cursor: string | undefined;
  do {
    const page = await operatorCall({
      backend: "blob",
      what: `${blobs.name} list "${prefix}"`,
      timeoutMs: settings.timeoutMs,
      signal: settings.signal,
      call: (signal) =>
        blobs.list!(prefix, { signal, limit: settings.pageSize, ...(cursor === undefined ? {} : { cursor }) }),
    });
    cursor = page.cursor;
    counts.pages++;
    const candidates = classify(run, page.objects);
    await report("listed");
    const orphans = await findOrphans(run, candidates, false);
    counts.orphans += orphans.length;
    for (const { object } of orphans) counts.orphanBytes += object.size;
    await report("checked");
    if (!settings.dryRun) {
      if (orphans.length > 0) {
        // Read again right before deleting: a record written since the first read keeps its blob.
        const confirmed = await findOrphans(run, orphans, true);
        counts.rescued += orphans.length - confirmed.length;
        await remove(run, confirmed.map((c) => c.object));
      }
      await report("deleted");
    }
  } while (cursor !== undefined);
  await report("done");
  return { ...counts, dryRun: settings.dryRun, graceMs: settings.graceMs, durationMs: performance.now() - started };
}

const C = DEFAULTS.cleanup;

const CLEANUP_OPTIONS = {
  // 0: no grace period at all (what `clear({ blobs: true })` uses, once every record is gone).
  grace: opt.withDefault((value, at) => (value === 0 ? 0 : opt.duration(value, at)), C.grace),
  dryRun: opt.withDefault(opt.boolean, false),
  onProgress: opt.optional(opt.fn<NonNullable<CleanupOptions["onProgress"]>>()),
  signal: opt.optional(
    opt.satisfying<AbortSignal>((v) => typeof v === "object" && v !== null && "aborted" in v, "an AbortSignal"),
  ),
  pageSize: opt.withDefault(opt.integerFrom(1, 1000), C.pageSize),
  batchSize: opt.withDefault(opt.integerFrom(1, 1000), C.batchSize),
  timeout: opt.withDefault(opt.duration, C.timeout),
} satisfies opt.OptionChecks<CleanupOptions>;

/** Validated options of a cleanup. */
interface Settings extends RunSettings {
  readonly dryRun: boolean;
  readonly onProgress: CleanupOptions["onProgress"];
  readonly pageSize: number;
}

function resolve(options: CleanupOptions | undefined): Settings {
  const o = opt.checkOptions("cleanup", options, CLEANUP_OPTIONS);
  return {
    graceMs: o.grace,
    dryRun: o.dryRun,
    onProgress: o.onProgress,
    signal: o.signal,
    pageSize: o.pageSize,
    batchSize: o.batchSize,
    timeoutMs: o.timeout,
  };
}
