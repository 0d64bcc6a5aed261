/**
 * Every default value of the core, in one table, written the way a user would write the option
 * (durations as strings). The options' checks apply them (api/options.ts, ops/cleanup.ts…), so
 * a default goes through the same validation as a value given; the docs of the public options
 * repeat them as `@default`. Every layer reads it, so it sits beside types.ts rather than in api/.
 *
 * @module
 */

/** The core's defaults; see the module doc. */
export const DEFAULTS = {
  /** `createCache` options. */
  cache: {
    prefix: "larder",
    namespace: "default",
    /** The cache's TTL is the `default` profile unless given. */
    ttl: "default",
    /** Built-in TTL profiles (`ttl: "short"`…); `ttlProfiles` redefines them, `LARDER_TTL_<NAME>` retunes them. */
    ttlProfiles: { short: "1m", default: "1h", long: "1d" },
    codec: "cbor",
    /** Codecs for particular kinds of values (`larder/arrow`'s): none unless given. */
    codecs: [],
    rowShapes: true,
    compression: "zstd",
    maxInlineBytes: 32_768, // 32 KiB
    maxValueBytes: 67_108_864, // 64 MiB
    timeout: { store: "1s", blob: "5s" },
    maxPendingWrites: 256,
    /** Off unless asked for; these apply once it is on. */
    memory: { on: false, maxBytes: 33_554_432, ttl: "5s", shared: false, bus: { on: true, interval: "200ms" } }, // 32 MiB
    breaker: { on: true, threshold: 5, cooldown: "10s" },
    /** A short TTL, renewed every 30 % of it: an orphaned lease (its owner exited) costs the next caller at most this. */
    lease: { on: true, ttl: "5s", wait: "30s" },
    globalStats: { on: true, interval: "30s" },
  },
  /** `cache.invalidating()` options. */
  invalidating: { mode: "expire", onError: "throw", recacheConcurrency: 4 },
  /** Encoded values under this size are stored uncompressed (compression would not pay). */
  minCompressBytes: 256,
  /** `cache.cleanup()` options. */
  cleanup: { grace: "1h", pageSize: 1000, batchSize: 250, timeout: "30s" },
  /** `cache.check()`: its calls get at least these time limits, in ms (a slow first connection is not a failure). */
  check: { storeTimeoutMs: 5_000, blobTimeoutMs: 10_000 },
  /** `cache.inspect()`: its calls get at least these time limits, in ms (it may download a whole blob). */
  inspect: { storeTimeoutMs: 5_000, blobTimeoutMs: 30_000 },
  /** `cache.clear()`: keys deleted per store request. */
  clearBatch: 500,
  /** Placement hints remembered per cache. */
  placementHints: 10_000,
  /** Wrapped functions' identities remembered per cache (for the name-collision check). */
  wrappedIdentities: 10_000,
} as const;
