/**
 * Blobs in Cloudflare R2 through a Worker's bucket binding: no credentials, no signing, no
 * HTTP from the Worker (the binding talks to R2 directly). Declare the bucket in wrangler.toml
 * and pass the binding from `env`:
 *
 * ```toml
 * [[r2_buckets]]
 * binding = "CACHE_BUCKET"
 * bucket_name = "myapp-cache"
 * ```
 *
 * Outside Workers, or to reach R2 from elsewhere, use `larder/blobs/s3` with R2's S3 endpoint.
 *
 * The binding takes no `AbortSignal`: an aborted call rejects at once with the signal's reason
 * and what R2 still sends is dropped (a body is cancelled), but an aborted `put` may still
 * complete in R2. The cache writes a record only after its blob's `put` resolved, so such a blob
 * is at worst an orphan that `cache.cleanup()` removes.
 *
 * @example
 * ```ts ignore
 * import { env } from "cloudflare:workers";
 * import { createCache } from "larder/workers";
 * import { upstashStore } from "larder/stores/upstash";
 * import { r2BlobStore } from "larder/blobs/r2";
 *
 * const cache = createCache({
 *   store: upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
 *   blobs: r2BlobStore(env.CACHE_BUCKET),
 *   prefix: "myapp",
 * });
 * ```
 *
 * @module
 */
import { concatBytes } from "../core/util/bytes.ts";
import { BlobError, ConfigError, isCacheError } from "../core/errors.ts";
import type * as roles from "../core/types.ts";
import * as opt from "../core/util/check_options.ts";
import { Expectation } from "./_expected.ts";
import { checkDeleteKeys, checkListArgs } from "./_listing.ts";
import { quoteKey } from "./_s3.ts";

/**
 * The part of Workers' `R2Bucket` binding this adapter uses, declared here so that Larder needs
 * no Workers types at run time; `env.MY_BUCKET` (typed by `@cloudflare/workers-types` or
 * `wrangler types`) fits it.
 */
export interface R2BucketBinding {
  /** The object with its body, or null. */
  get(key: string): Promise<R2ObjectBodyLike | null>;
  /** Stores `value` under `key`. */
  put(key: string, value: Uint8Array): Promise<unknown>;
  /** Removes one object or up to 1000. */
  delete(keys: string | string[]): Promise<void>;
  /** One page of a listing. */
  list(options: { prefix?: string; cursor?: string; limit?: number }): Promise<R2ObjectsLike>;
  /** The object's metadata (not used; checked to tell a bucket from other bindings). */
  head(key: string): Promise<unknown>;
}

/** What {@link R2BucketBinding.get} returns, as far as this adapter reads it. */
export interface R2ObjectBodyLike {
  /** Size in bytes, as stored. */
  readonly size: number;
  /** The object's bytes. */
  readonly body: ReadableStream<Uint8Array>;
}

/** What {@link R2BucketBinding.list} returns, as far as this adapter reads it. */
export interface R2ObjectsLike {
  /** The objects of this page. */
  readonly objects: readonly { readonly key: string; readonly size: number; readonly uploaded: Date }[];
  /** Whether more objects follow. */
  readonly truncated: boolean;
  /** Where the next page starts, when `truncated`. */
  readonly cursor?: string;
}

/** Options of {@link r2BlobStore}. */
export interface R2BlobStoreOptions {
  /**
   * Objects larger than this are refused by `get` (a `TooLargeError`) before being read. A `get`
   * with an expected size (as the cache's reads have) holds at most that size. Mind the Worker's
   * 128 MB memory limit. @default 67108864 (64 MiB)
   */
  maxObjectBytes?: number;
}

const WHERE = "r2BlobStore";
const FIX =
  'pass env.<BINDING> from wrangler.toml [[r2_buckets]] (binding = "<BINDING>"), e.g. r2BlobStore(env.CACHE_BUCKET)';
const OPTIONS = {
  maxObjectBytes: opt.withDefault(opt.positiveInteger, 64 * 1024 * 1024),
} satisfies opt.OptionChecks<R2BlobStoreOptions>;
/** In `u` mode a surrogate pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Creates a {@link roles.BlobStore} (name `"r2"`) over an R2 bucket binding. */
export function r2BlobStore(bucket: R2BucketBinding, options?: R2BlobStoreOptions): roles.BlobStore {
  checkBinding(bucket);
  const { maxObjectBytes } = opt.checkOptions(WHERE, options, OPTIONS);

  return {
    name: "r2",

    async put(key: string, body: Uint8Array, callOptions?: roles.CallOptions): Promise<void> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      checkKey("put", key);
      if (!(body instanceof Uint8Array)) throw new BlobError("r2 put: body must be a Uint8Array");
      await call({ operation: "put", key, signal }, () => bucket.put(key, body));
    },

    async get(key: string, callOptions?: roles.BlobGetOptions): Promise<Uint8Array | null> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      checkKey("get", key);
      const expected = new Expectation(callOptions?.expectedBytes, maxObjectBytes);
      const object = await call(
        { operation: "get", key, signal, late: (value) => void value?.body.cancel() },
        () => bucket.get(key),
      );
      if (object === null) return null;
      try {
        const size = object.size;
        // Nothing of the body is read until the size is known to fit.
        if (size > expected.limit && !expected.settled && size <= expected.maxBytes) await expected.known(signal);
        if (size > expected.limit) throw expected.refusal("r2 get", size);
        return await readBody(object.body, expected, signal);
      } catch (error) {
        await object.body.cancel().catch(() => {});
        if (signal?.aborted) throw signal.reason;
        if (isCacheError(error)) throw error;
        throw failure("get", key, error);
      }
    },

    async delete(key: string, callOptions?: roles.CallOptions): Promise<void> {
      callOptions?.signal?.throwIfAborted();
      checkKey("delete", key);
      await call({ operation: "delete", key, signal: callOptions?.signal }, () => bucket.delete(key));
    },

    async list(prefix: string, listOptions?: roles.BlobListOptions): Promise<roles.BlobListPage> {
      const { limit, cursor } = checkListArgs("r2", prefix, listOptions);
      const signal = listOptions?.signal;
      signal?.throwIfAborted();
      const page = await call(
        { operation: "list", key: undefined, signal },
        () => bucket.list({ prefix, limit, ...(cursor === undefined ? {} : { cursor }) }),
      );
      const objects = page.objects
        .filter((object) => object.key.startsWith(prefix))
        .map((object) => ({ key: object.key, size: object.size, lastModified: object.uploaded.getTime() }));
      return page.truncated && page.cursor ? { objects, cursor: page.cursor } : { objects };
    },

    async deleteMany(keys: readonly string[], callOptions?: roles.CallOptions): Promise<roles.BlobDeleteResult> {
      checkDeleteKeys("r2", keys);
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      keys.forEach((key) => checkKey("deleteMany", key));
      // One call for the whole batch: R2 deletes them all or throws.
      if (keys.length > 0) {
        await call({ operation: "deleteMany", key: undefined, signal }, () => bucket.delete([...keys]));
      }
      return { failed: [] };
    },
  };
}

/** Throws a ConfigError naming the fix unless `bucket` looks like an R2 bucket binding. */
function checkBinding(bucket: unknown): void {
  if (bucket === undefined || bucket === null) {
    throw new ConfigError(`${WHERE}: the R2 binding is ${bucket} (no [[r2_buckets]] with that name?): ${FIX}`);
  }
  if (typeof bucket === "string") {
    throw new ConfigError(
      `${WHERE}: got a string, not an R2 binding: ${FIX} (a bucket's name and URL are for s3BlobStore)`,
    );
  }
  const methods = bucket as Record<string, unknown>;
  if (
    typeof bucket !== "object" ||
    !["get", "put", "delete", "list", "head"].every((m) => typeof methods[m] === "function")
  ) {
    const what = typeof methods.getWithMetadata === "function" ? " (this looks like a KV namespace)" : "";
    throw new ConfigError(`${WHERE}: not an R2 bucket binding${what}: ${FIX}`);
  }
}

function checkKey(operation: string, key: unknown): void {
  if (typeof key !== "string" || key.length === 0) {
    throw new BlobError(`r2 ${operation}: key must be a non-empty string`);
  }
  // R2 stores keys as UTF-8: a lone surrogate would become U+FFFD, and two keys one object.
  if (LONE_SURROGATE.test(key)) throw new BlobError(`r2 ${operation}: key is not well-formed Unicode (lone surrogate)`);
}

function failure(operation: string, key: string | undefined, cause: unknown): BlobError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const shown = message.length > 200 ? `${message.slice(0, 197)}...` : message;
  return new BlobError(`r2 ${operation}${key === undefined ? "" : ` ${quoteKey(key)}`} failed: ${shown}`, { cause });
}

/** One binding call: what it is (for messages), its signal, and what to do with a late result. */
interface BindingCall<T> {
  /** The operation, e.g. `get`. */
  readonly operation: string;
  /** The object's key (none for list and batch calls). */
  readonly key: string | undefined;
  /** The caller's signal. */
  readonly signal: AbortSignal | undefined;
  /** Gets what the call still returns after an abort, to release it. */
  readonly late?: (value: T) => void;
}

/**
 * Runs one binding call. An abort rejects at once with the signal's reason (the binding cannot be
 * cancelled); `late` gets what the call still returns, to release it.
 */
async function call<T>({ operation, key, signal, late }: BindingCall<T>, start: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = start();
  } catch (error) {
    throw failure(operation, key, error);
  }
  const settled = pending.then(
    (value) => value,
    (error: unknown) => {
      throw failure(operation, key, error);
    },
  );
  if (signal === undefined) return await settled;
  return await new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      reject(signal.reason);
      settled.then((value) => late?.(value), () => {});
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    settled.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * Reads `body` within `expected`'s limit as it evolves: a body that grows past it (whatever the
 * object's stated size said) is cancelled at once and refused; an abort stops the read.
 */
async function readBody(
  body: ReadableStream<Uint8Array>,
  expected: Expectation,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await raceAbort(reader.read(), signal);
      if (done) break;
      const after = total + value.byteLength;
      if (after > expected.limit && !expected.settled && after <= expected.maxBytes) await expected.known(signal);
      if (after > expected.limit) throw expected.refusal("r2 get", after);
      chunks.push(value);
      total = after;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  return concatBytes(chunks, total);
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
