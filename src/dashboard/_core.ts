/**
 * Everything the dashboard takes from the rest of Larder, in one file: the public API (types and
 * errors, as `mod.ts` exports them) and the two internals it needs — a cache's resolved options
 * (for the configuration it shows, its logger and its clock), the options checker and byte helpers. The dashboard
 * touches nothing else of the core, so when the core's folders move, this is the file to change.
 *
 * @module
 */
export type {
  BackendHealth,
  BackendHealthState,
  BreakerStats,
  Cache,
  CacheStats,
  CleanupSummary,
  Duration,
  EntryInspection,
  LatencySummary,
  Logger,
} from "../../mod.ts";
export { ConfigError, isCacheError } from "../../mod.ts";
export { contextOf } from "../core/context.ts";
export * as opt from "../core/util/check_options.ts";
export type { ResolvedOptions } from "../core/context.ts";
export { concatBytes, readAll, toHex } from "../core/util/bytes.ts";
