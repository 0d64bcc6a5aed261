/**
 * Larder caches the results of expensive work across every instance of an application: small
 * records in Redis over HTTP, large payloads in S3-compatible storage, values encoded with CBOR
 * and compressed with zstd, writes done in the background. It runs on Cloudflare Workers, Deno,
 * Bun and Node.
 *
 * With no store and no blobs, `createCache()` runs fully in-process:
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 *
 * const cache = createCache({ prefix: "myapp", ttl: "1h" });
 * async function revenue(year: number): Promise<number> {
 *   return year * 1000; // a slow query in real life
 * }
 * const cachedRevenue = cache.wrap(revenue, { ttl: "15m", namespace: "reports" });
 * console.log(await cachedRevenue(2024)); // miss: runs revenue()
 * console.log(await cachedRevenue(2024)); // hit
 * console.log(cache.stats().hits.total);  // 1
 * ```
 *
 * Shared across instances, with Redis (Upstash REST) and S3:
 *
 * @example
 * ```ts ignore
 * import { createCache } from "larder";
 * import { upstashStore } from "larder/stores/upstash";
 * import { s3BlobStore } from "larder/blobs/s3";
 *
 * const cache = createCache({
 *   store: upstashStore({ url: "https://…upstash.io", token: "…" }),
 *   blobs: s3BlobStore({ endpoint: "https://s3.amazonaws.com", region: "us-east-1", bucket: "cache", accessKeyId: "…", secretAccessKey: "…" }),
 *   prefix: "myapp",
 * });
 * ```
 *
 * @module
 */
export {
  type BackendHealth,
  type BackendHealthState,
  type Cache,
  type CacheHealth,
  type CheckReport,
  type CheckStep,
  type CheckStepName,
  type ClearOptions,
  type ClearResult,
  type GetOptions,
  type InvalidateOptions,
  type InvalidatingOptions,
  type KeyOptions,
  type RecacheCall,
  type RecacheOptions,
  type SetOptions,
} from "./src/core/api/create_cache.ts";
export { createCache } from "./src/runtime/default_entry.ts";
export type { Ttl } from "./src/core/api/ttl_profiles.ts";
export { type Resource, resource, type TemplateValue } from "./src/core/record/templates.ts";
export type { CacheOptions } from "./src/core/api/options.ts";
export type { CleanupCounts, CleanupOptions, CleanupProgress, CleanupSummary } from "./src/core/ops/cleanup.ts";
export type {
  BlobInspection,
  EntryInspection,
  GenerationInspection,
  RecordInspection,
} from "./src/core/ops/inspect.ts";
export type { ComputeContext, WrapOptions, Wrapped } from "./src/core/api/wrap.ts";
export type { StandardResult, StandardSchema } from "./src/core/api/schema.ts";
export type { EncryptionKey, EncryptionOptions } from "./src/core/record/encryption.ts";
export type { Duration } from "./src/core/util/durations.ts";
export type { BusStats, CacheStats, ErrorSource, HitSource } from "./src/core/stats/stats.ts";
export type { BreakerState, BreakerStats } from "./src/core/backend/breaker.ts";
export type {
  BreakerEvent,
  BusEvent,
  CacheEvent,
  CacheEventListener,
  CacheEventType,
  CallFields,
  CallKind,
  ComputeEvent,
  ErrorEvent,
  HitEvent,
  InvalidateEvent,
  LeaseWaitEvent,
  MissEvent,
  StaleEvent,
  WriteDiscardedEvent,
  WriteEvent,
  WriteFailedEvent,
  WriteOkEvent,
  WriteSkippedEvent,
} from "./src/core/stats/events.ts";
export type { LatencySummary } from "./src/core/stats/histogram.ts";
export type {
  BlobDeleteResult,
  BlobGetOptions,
  BlobListOptions,
  BlobListPage,
  BlobObject,
  BlobStore,
  BusListener,
  CallOptions,
  Compressor,
  EncodeOptions,
  Generation,
  GenerationStamp,
  Logger,
  LruRef,
  MetadataStore,
  PublishOp,
  ReadBusOp,
  ReadBusResult,
  ReadOp,
  ReadResult,
  ScanResult,
  StoreOp,
  StoreResult,
  ValueCodec,
  ValueExtension,
  WaitUntil,
  WriteOp,
  WriteResult,
} from "./src/core/types.ts";
export { BLOB_PENDING_BYTES } from "./src/core/types.ts";
export {
  type BackendErrorOptions,
  BlobError,
  CacheError,
  type CacheErrorCode,
  CodecError,
  ConfigError,
  IntegrityError,
  isCacheError,
  KeyError,
  SchemaError,
  type SchemaIssue,
  StoreError,
  TimeoutError,
  TooLargeError,
} from "./src/core/errors.ts";
