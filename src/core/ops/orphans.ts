/**
 * The per-page work of `cache.cleanup()` (cleanup.ts): sorting listed objects into kept and
 * candidates, reading the candidates' records in pipelined batches, and deleting the orphans, with
 * the counters they keep.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { operatorCall } from "../backend/backend_call.ts";
import { parseRecord } from "../record/entry.ts";
import { hashOfBlobKey, leaseKey, recordKey } from "../record/key_layout.ts";
import type { BlobObject, BlobStore, StoreOp, StoreResult } from "../types.ts";

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

/** The options of a cleanup this work uses (cleanup.ts checks them). */
export interface RunSettings {
  /** Objects younger than this are kept (0: none). */
  readonly graceMs: number;
  /** Stops the work between and during calls. */
  readonly signal: AbortSignal | undefined;
  /** Records read per store pipeline. */
  readonly batchSize: number;
  /** Time limit of each backend call. */
  readonly timeoutMs: number;
}

/** The counters, as the cleanup updates them. */
export type Counts = { -readonly [K in keyof CleanupCounts]: CleanupCounts[K] };

/** A listed object that may be an orphan: older than the grace period and named `<prefix>/<hash>…`. */
export interface Candidate {
  readonly object: BlobObject;
  readonly hash: string;
}

/** One cleanup as it runs: the cache, its blob store, its settings and its counters. */
export interface CleanupRun {
  readonly ctx: CacheContext;
  readonly blobs: BlobStore;
  readonly settings: RunSettings;
  readonly counts: Counts;
}

/** Counts a page's objects and returns those old enough and named like Larder's blobs. */
export function classify(run: CleanupRun, objects: readonly BlobObject[]): Candidate[] {
  const { ctx, counts } = run;
  const { graceMs } = run.settings;
  const now = ctx.options.now();
  const candidates: Candidate[] = [];
  for (const object of objects) {
    counts.scanned++;
    counts.scannedBytes += object.size;
    const hash = hashOfBlobKey(ctx.options.prefix, object.key);
    if (hash === undefined) counts.foreign++;
    else if (graceMs > 0 && now - object.lastModified < graceMs) counts.recent++;
    else candidates.push({ object, hash });
  }
  return candidates;
}

/**
 * The candidates no readable record points to, reading records `batchSize` at a time (one store
 * pipeline each). With `recheck`, a held lease also keeps an object (its entry is being written),
 * and kept objects are not counted again.
 */
export async function findOrphans(
  run: CleanupRun,
  candidates: readonly Candidate[],
  recheck: boolean,
): Promise<Candidate[]> {
  const { ctx, settings, counts } = run;
  const { store, prefix } = ctx.options;
  const orphans: Candidate[] = [];
  for (let start = 0; start < candidates.length; start += settings.batchSize) {
    const batch = candidates.slice(start, start + settings.batchSize);
    const ops: StoreOp[] = batch.flatMap(({ hash }): StoreOp[] => {
      const get: StoreOp = { type: "get", key: recordKey(prefix, hash) };
      return recheck ? [get, { type: "exists", key: leaseKey(prefix, hash) }] : [get];
    });
    const results = await operatorCall({
      backend: "store",
      what: `${store.name} run [get × ${batch.length}]`,
      timeoutMs: settings.timeoutMs,
      signal: settings.signal,
      call: (signal) => store.run(ops, { signal }),
    });
    const stride = recheck ? 2 : 1;
    batch.forEach((candidate, i) => {
      const leased = recheck && results[i * stride + 1] === true;
      if (!leased && !pointsTo(results[i * stride], candidate.object.key)) orphans.push(candidate);
      else if (!recheck) counts.live++;
    });
  }
  return orphans;
}

/** Whether a stored record keeps the blob `key`: it points to it, or it cannot be read (another version). */
function pointsTo(result: StoreResult | undefined, key: string): boolean {
  if (typeof result !== "string") return false;
  try {
    return parseRecord(result).b === key;
  } catch {
    return true;
  }
}

/** Deletes `objects` (at most a page) with the store's batch delete, or one by one without it. */
export async function remove(run: CleanupRun, objects: readonly BlobObject[]): Promise<void> {
  const { ctx, blobs, settings, counts } = run;
  if (objects.length === 0) return;
  const failed = new Set<string>();
  for (let start = 0; start < objects.length; start += 1000) {
    const keys = objects.slice(start, start + 1000).map((o) => o.key);
    if (typeof blobs.deleteMany === "function") {
      const result = await operatorCall({
        backend: "blob",
        what: `${blobs.name} deleteMany [${keys.length} objects]`,
        timeoutMs: settings.timeoutMs,
        signal: settings.signal,
        call: (signal) => blobs.deleteMany!(keys, { signal }),
      });
      for (const { key } of result.failed) failed.add(key);
      continue;
    }
    for (const key of keys) {
      await operatorCall({
        backend: "blob",
        what: `${blobs.name} delete`,
        timeoutMs: settings.timeoutMs,
        signal: settings.signal,
        call: (signal) => blobs.delete(key, { signal }),
      }).catch((error: unknown) => {
        if (settings.signal?.aborted) throw error;
        failed.add(key);
      });
    }
  }
  for (const object of objects) {
    if (failed.has(object.key)) {
      counts.failed++;
    } else {
      counts.deleted++;
      counts.deletedBytes += object.size;
    }
  }
  if (failed.size > 0) {
    ctx.options.logger.warn(`larder: cleanup: ${blobs.name} could not delete ${failed.size} object(s)`, {
      keys: [...failed].slice(0, 10),
    });
  }
}
