/**
 * `cache.cleanup()`: removes payload blobs that no record points to any more. Records expire in
 * Redis on their own; their blobs do not, so every expired, replaced-by-inline or half-written
 * entry leaves an object behind.
 *
 * A blob is live when the record `<prefix>:e:{<hash>}` exists and its `b` is the object's key.
 * The bucket is listed under `<prefix>/` page by page; for each page the records of the objects
 * older than the grace period are read in batches (one store pipeline each), and the objects no
 * record points to are read again right before deletion (record and lease, one pipeline), then
 * removed with one batch delete. Objects younger than the grace period are never touched: a
 * writer uploads the blob first and writes its record afterwards. Objects whose names Larder
 * does not produce are left alone.
 *
 * @module
 */
import type { CacheContext } from "./context.ts";
import { withDeadline } from "./deadline.ts";
import { type Duration, toMs } from "./durations.ts";
import { ConfigError } from "./errors.ts";
import { classify, type Counts, findOrphans, remove, type Settings } from "./orphans.ts";

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

/** Counters of a cleanup so far. */
export interface CleanupCounts {
  /** Pages listed. */
  readonly pages: number;
  /** Objects listed under the prefix. */
  readonly scanned: number;
  /** Their total size in bytes. */
  readonly scannedBytes: number;
  /** Objects a record points to (or whose record this version cannot read): kept. */
  readonly live: number;
  /** Objects younger than the grace period: kept. */
  readonly recent: number;
  /** Objects not named like a Larder blob: kept. */
  readonly foreign: number;
  /** Objects no record pointed to when checked. */
  readonly orphans: number;
  /** Their total size in bytes. */
  readonly orphanBytes: number;
  /** Orphans whose record or lease appeared before deletion: kept. */
  readonly rescued: number;
  /** Objects deleted. */
  readonly deleted: number;
  /** Their total size in bytes. */
  readonly deletedBytes: number;
  /** Orphans the blob store failed to delete. */
  readonly failed: number;
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
  const prefix = `${ctx.options.prefix}/`;
  let cursor: string | undefined;
  do {
    const page = await withDeadline({
      backend: "blob",
      what: `${blobs.name} list "${prefix}"`,
      timeoutMs: settings.timeoutMs,
      signal: settings.signal,
      call: (signal) =>
        blobs.list!(prefix, { signal, limit: settings.pageSize, ...(cursor === undefined ? {} : { cursor }) }),
    });
    cursor = page.cursor;
    counts.pages++;
    const candidates = classify(ctx, page.objects, prefix, settings.graceMs, counts);
    await report("listed");
    const orphans = await findOrphans(ctx, candidates, settings, counts, false);
    counts.orphans += orphans.length;
    for (const { object } of orphans) counts.orphanBytes += object.size;
    await report("checked");
    if (!settings.dryRun) {
      if (orphans.length > 0) {
        // Read again right before deleting: a record written since the first read keeps its blob.
        const confirmed = await findOrphans(ctx, orphans, settings, counts, true);
        counts.rescued += orphans.length - confirmed.length;
        await remove(ctx, blobs, confirmed.map((c) => c.object), settings, counts);
      }
      await report("deleted");
    }
  } while (cursor !== undefined);
  await report("done");
  return { ...counts, dryRun: settings.dryRun, graceMs: settings.graceMs, durationMs: performance.now() - started };
}

const KNOWN = new Set(["grace", "dryRun", "onProgress", "signal", "pageSize", "batchSize", "timeout"]);

function resolve(options: CleanupOptions | undefined): Settings {
  const o = options ?? {};
  if (typeof o !== "object" || o === null) throw new ConfigError("cleanup: options must be an object");
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new ConfigError(`cleanup: unknown option "${key}"`);
  }
  if (o.dryRun !== undefined && typeof o.dryRun !== "boolean") {
    throw new ConfigError("cleanup: dryRun must be a boolean");
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw new ConfigError("cleanup: onProgress must be a function");
  }
  const signal = o.signal;
  if (signal !== undefined && (typeof signal !== "object" || signal === null || !("aborted" in signal))) {
    throw new ConfigError("cleanup: signal must be an AbortSignal");
  }
  return {
    // 0: no grace period at all (what `clear({ blobs: true })` uses, once every record is gone).
    graceMs: o.grace === 0 ? 0 : toMs(o.grace ?? "1h", "cleanup: grace"),
    dryRun: o.dryRun ?? false,
    onProgress: o.onProgress,
    signal,
    pageSize: upTo1000(o.pageSize, 1000, "pageSize"),
    batchSize: upTo1000(o.batchSize, 250, "batchSize"),
    timeoutMs: toMs(o.timeout ?? "30s", "cleanup: timeout"),
  };
}

function upTo1000(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > 1000) {
    throw new ConfigError(`cleanup: ${name} must be an integer from 1 to 1000, got ${String(value)}`);
  }
  return value;
}
