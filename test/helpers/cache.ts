/**
 * A cache on the real local services (the store of `LARDER_TEST_STORE`: by default redis-server
 * behind the Upstash bridge; and S3), on a fresh prefix, with a logger that keeps what it was told: the setup every integration suite shares.
 */
import { type Cache, createCache } from "../../mod.ts";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { recordingLogger } from "./chaos.ts";
import { requireServices, uniquePrefix } from "./services.ts";
import { testStore } from "./stores.ts";

/** What {@link servicesCache} made. */
export interface ServicesCache {
  readonly cache: Cache;
  readonly prefix: string;
  readonly logger: ReturnType<typeof recordingLogger>;
}

/** A cache on the services under a new prefix `label-<uuid>` (or the `prefix` option's); `options` on top. */
export function servicesCache(label: string, options: CacheOptions = {}): ServicesCache {
  const services = requireServices();
  const prefix = options.prefix ?? uniquePrefix(label);
  const logger = recordingLogger();
  const cache = createCache({
    store: testStore(),
    blobs: s3BlobStore(services.s3),
    logger,
    ...options,
    prefix,
  });
  return { cache, prefix, logger };
}
