/**
 * The state one cache instance shares between its read path, its write path and its API.
 *
 * @module
 */
import type { BackgroundQueue } from "./background.ts";
import type { GuardContext } from "./guard.ts";
import type { ResolvedOptions } from "./options.ts";
import type { Placement, PlacementHints } from "./placement.ts";
import type { StatsRecorder } from "./stats.ts";
import type { GlobalReporter } from "./report.ts";
import type { MemoryTier } from "./tier.ts";

/** Everything the read and write paths need. */
export interface CacheContext {
  /** Validated options. */
  readonly options: ResolvedOptions;
  /** Counters and histograms. */
  readonly stats: StatsRecorder;
  /** Shared state of guarded backend calls. */
  readonly guard: GuardContext;
  /** Where entries' payloads were last seen. */
  readonly hints: PlacementHints;
  /** Background writes. */
  readonly background: BackgroundQueue;
  /** The in-process tier, when enabled. */
  readonly tier: MemoryTier | undefined;
  /** Key hashes being refreshed in the background by this process. */
  readonly refreshing: Set<string>;
  /** Publishes this instance's counters to the store. */
  readonly reporter: GlobalReporter;
}

/** An entry's location: its key hash, its namespace, its generation keys, and how to read it. */
export interface EntryRef {
  /** Key hash. */
  readonly hash: string;
  /** Namespace (for its eviction limits). */
  readonly namespace: string;
  /** Generation keys a new record of this entry is stamped with (prefix, namespace, tags). */
  readonly gens: readonly string[];
  /** A placement to assume when this process has no hint for the entry. */
  readonly fallbackHint?: Placement;
  /**
   * Read the stored payload as it is (verified, neither decompressed nor decoded) with the
   * record's metadata: a hit's value is then a `StoredPayload` (raw.ts). Skips the in-process tier.
   */
  readonly raw?: boolean;
}
