/**
 * Blobs in S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, s3rver…) over `fetch`
 * signed with SigV4 (`_sigv4.ts`: synchronous, ~10 µs a request, where aws4fetch's WebCrypto
 * signing cost ~100 µs of CPU). One request per call and no hidden retries: retrying, timeouts
 * and fail-open belong to the cache above it.
 *
 * @example
 * ```ts ignore
 * import { s3BlobStore } from "larder/blobs/s3";
 *
 * const blobs = s3BlobStore({
 *   endpoint: "https://<account>.r2.cloudflarestorage.com", // or http://127.0.0.1:9000 (MinIO)
 *   region: "auto", // the bucket's region: "auto" on R2; "us-east-1" is the default elsewhere
 *   bucket: "cache",
 *   accessKeyId: "…",
 *   secretAccessKey: "…",
 *   // sse: { type: "aws:kms", keyId: "arn:aws:kms:…" }, // server-side encryption on AWS
 * });
 * await blobs.put("myapp/3f2a…", new Uint8Array([1, 2, 3]));
 * console.log(await blobs.get("myapp/3f2a…")); // Uint8Array(3) [1, 2, 3]
 * ```
 *
 * @module
 */
import { BlobError, ConfigError, isCacheError } from "../core/errors.ts";
import type {
  BlobDeleteResult,
  BlobGetOptions,
  BlobListOptions,
  BlobListPage,
  BlobStore,
  CallOptions,
} from "../core/types.ts";
import * as opt from "../core/util/check_options.ts";
import { describeNetworkError } from "../core/util/network_error.ts";
import { Expectation } from "./_expected.ts";
import {
  describeError,
  encodeKey,
  encodeSegment,
  errorDetails,
  fixFor,
  readObject,
  type S3ErrorDetails,
  type S3Target,
  shortKey,
} from "./_s3.ts";
import { type BucketRequests, deleteObjects, listObjects } from "./_s3_batch.ts";
import { SigV4Signer } from "./_sigv4.ts";
import { encryptionHeaders, type S3Encryption } from "./_s3_sse.ts";

export type { S3Encryption } from "./_s3_sse.ts";

/** Options of {@link s3BlobStore}. */
export interface S3BlobStoreOptions {
  /** Bucket that holds the objects; it must exist. */
  bucket: string;
  /** Access key ID of the credentials. */
  accessKeyId: string;
  /** Secret access key of the credentials; never appears in errors or logs. */
  secretAccessKey: string;
  /** Session token of temporary credentials (STS, SSO, instance roles). */
  sessionToken?: string;
  /**
   * Service URL, e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`;
   * a path is kept as a prefix of every request. @default `https://s3.<region>.amazonaws.com`
   */
  endpoint?: string;
  /** Signing region; R2 uses `"auto"`. @default "auto" for R2 endpoints, "us-east-1" otherwise */
  region?: string;
  /**
   * Addresses objects as `<endpoint>/<bucket>/<key>` rather than `<bucket>.<endpoint host>/<key>`.
   * @default true for custom endpoints (MinIO, R2, s3rver), false for amazonaws.com
   */
  forcePathStyle?: boolean;
  /** The `fetch` that sends the signed requests (a runtime's own, an instrumented one…). @default globalThis.fetch */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Objects larger than this are refused by `get` (a `TooLargeError`) before being read whole. A
   * `get` with an expected size (as the cache's reads have) holds at most that size. @default 134217728 (128 MiB)
   */
  maxObjectBytes?: number;
  /**
   * Server-side encryption of the objects written: `{ type: "AES256" }` (SSE-S3) or
   * `{ type: "aws:kms", keyId?, context?, bucketKey? }` (SSE-KMS), sent as
   * `x-amz-server-side-encryption*` headers on every PUT (reads need none). SSE-C is not
   * supported. R2 encrypts every object on its own and has no such options: leave it unset there.
   * @default undefined (the bucket's default encryption applies; on AWS, SSE-S3 at least)
   */
  sse?: S3Encryption;
}

const WHERE = "s3BlobStore";

/** Creates a {@link BlobStore} (name `"s3"`) over S3-compatible object storage. */
export function s3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const config = resolve(options);
  const signer = new SigV4Signer({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    sessionToken: config.sessionToken,
    region: config.region,
  });

  const secrets = [config.secretAccessKey, config.sessionToken ?? "", config.accessKeyId];
  const target: S3Target = { bucket: config.bucket, region: config.region, host: config.host };

  /** Sends a signed request for the object `key` (`init.signal` aborts it). */
  async function send(key: string, init: RequestInit & { method: string }): Promise<Response> {
    const operation = init.method.toLowerCase();
    return await sendTo(
      { operation, url: config.base + encodeKey(operation, key), target: where(init.method, key) },
      init,
    );
  }

  /** Sends a signed request; `to` names it in errors. */
  async function sendTo(
    to: { readonly operation: string; readonly url: string; readonly target: string },
    init: RequestInit,
  ): Promise<Response> {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    try {
      const url = new URL(to.url);
      const headers = signer.sign(url, { method: init.method ?? "GET", headers: init.headers });
      return await config.fetch(new Request(url, { ...init, headers }));
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      throw new BlobError(`s3 ${to.target} failed: ${describeNetworkError(cause, config.host)}`, { cause });
    }
  }

  /** The `BlobError` of a failed response (`details`: the error's, when already read), with the fix of a misconfiguration. */
  async function failure(response: Response, what: string, details?: S3ErrorDetails): Promise<BlobError> {
    const found = details ?? await errorDetails(response, secrets);
    return new BlobError(`s3 ${what} failed: ${describeError(found)}`, { fix: fixFor(found, target) });
  }

  /** `PUT "myapp/3f2a4b5c6d7e…" in bucket "cache"`, for messages. */
  function where(method: string, key: string): string {
    return `${method} ${shortKey(key)} in bucket "${config.bucket}"`;
  }

  const bucketRequests: BucketRequests = {
    send: (operation, query, init) =>
      sendTo({
        operation,
        url: `${config.bucketUrl}?${query}`,
        target: `${operation} (${init.method ?? "GET"}) in bucket "${config.bucket}"`,
      }, init),
    failure: (operation: string, response: Response, details?: S3ErrorDetails): Promise<BlobError> =>
      failure(response, `${operation} in bucket "${config.bucket}"`, details),
    details: (response) => errorDetails(response, secrets),
    deleteOne: (key, signal) => store.delete(key, signal === undefined ? undefined : { signal }),
    batchDeletes: true,
  };

  const store: BlobStore = {
    name: "s3",
    async put(key: string, body: Uint8Array, callOptions?: CallOptions): Promise<void> {
      if (!(body instanceof Uint8Array)) throw new BlobError("s3 put: body must be a Uint8Array");
      const response = await send(key, {
        method: "PUT",
        body: body as Uint8Array<ArrayBuffer>,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(body.byteLength),
          ...config.putHeaders,
        },
        signal: callOptions?.signal ?? null,
      });
      if (!response.ok) throw await failure(response, where("PUT", key));
      await discard(response);
    },

    async get(key: string, callOptions?: BlobGetOptions): Promise<Uint8Array | null> {
      const signal = callOptions?.signal;
      // Created first, so that it follows the size from the start.
      const expected = new Expectation(callOptions?.expectedBytes, config.maxObjectBytes);
      const response = await send(key, { method: "GET", signal: signal ?? null });
      if (response.status === 404) {
        // A missing object is a miss; a missing bucket is a configuration error to report.
        const details = await errorDetails(response, secrets);
        if (details.code === undefined || details.code === "NoSuchKey") return null;
        throw await failure(response, where("GET", key), details);
      }
      if (!response.ok) throw await failure(response, where("GET", key));
      try {
        return await readObject(response, expected, signal);
      } catch (cause) {
        if (signal?.aborted) throw signal.reason;
        if (isCacheError(cause)) throw cause;
        throw new BlobError(
          `s3 ${where("GET", key)} failed reading the body: ${describeNetworkError(cause, config.host)}`,
          {
            cause,
          },
        );
      }
    },

    async delete(key: string, callOptions?: CallOptions): Promise<void> {
      const response = await send(key, { method: "DELETE", signal: callOptions?.signal ?? null });
      if (response.status === 404) {
        const details = await errorDetails(response, secrets);
        if (details.code === undefined || details.code === "NoSuchKey") return;
        throw await failure(response, where("DELETE", key), details);
      }
      if (!response.ok) throw await failure(response, where("DELETE", key));
      await discard(response);
    },

    list(prefix: string, listOptions?: BlobListOptions): Promise<BlobListPage> {
      return listObjects(bucketRequests, prefix, listOptions);
    },

    deleteMany(keys: readonly string[], callOptions?: CallOptions): Promise<BlobDeleteResult> {
      return deleteObjects(bucketRequests, keys, callOptions?.signal);
    },
  };
  return store;
}

/** Options after validation. */
interface Resolved {
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
  readonly region: string;
  /** The endpoint's host (for messages and fixes). */
  readonly host: string;
  /** Everything before the encoded key, ending in `/`. */
  readonly base: string;
  /** The bucket's own URL, for bucket operations (list, batch delete); no query. */
  readonly bucketUrl: string;
  readonly fetch: (request: Request) => Promise<Response>;
  readonly maxObjectBytes: number;
  /** Headers every PUT carries (server-side encryption). */
  readonly putHeaders: Readonly<Record<string, string>>;
}

const PATH_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const DNS_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[A-Za-z0-9_-]{1,64}$/;

const OPTIONS = {
  bucket: opt.requiredString,
  accessKeyId: opt.requiredString,
  secretAccessKey: opt.requiredString,
  sessionToken: opt.optional(
    opt.satisfying<string>((v) => typeof v === "string" && v.length > 0, "a non-empty string when given"),
  ),
  endpoint: (value: unknown): URL | undefined => parseEndpoint(value),
  region: opt.optional(
    opt.satisfying<string>(
      (v) => typeof v === "string" && REGION.test(v),
      'a region name such as "us-east-1" or "auto"',
    ),
  ),
  forcePathStyle: opt.optional(opt.boolean),
  fetch: opt.optional(opt.fn<(request: Request) => Promise<Response>>()),
  maxObjectBytes: opt.withDefault(opt.positiveInteger, 128 * 1024 * 1024),
  // Checked into the headers every PUT carries.
  sse: encryptionHeaders,
} satisfies opt.OptionChecks<S3BlobStoreOptions>;

function resolve(options: S3BlobStoreOptions): Resolved {
  if (options === undefined) throw new ConfigError(`${WHERE}: options are required (bucket, credentials…)`);
  const o = opt.checkOptions(WHERE, options, OPTIONS);
  const { bucket, accessKeyId, secretAccessKey, sessionToken, endpoint } = o;
  const region = o.region ?? (endpoint?.hostname.endsWith(".r2.cloudflarestorage.com") ? "auto" : "us-east-1");
  const url = endpoint ?? new URL(`https://s3.${region}.amazonaws.com`);
  const isAws = /\.amazonaws\.com(\.cn)?$/.test(url.hostname);
  const pathStyle = o.forcePathStyle ?? !isAws;
  if (!(pathStyle ? PATH_BUCKET : DNS_BUCKET).test(bucket)) {
    throw new ConfigError(
      `${WHERE}: bucket ${JSON.stringify(bucket)} is not a valid bucket name` +
        (pathStyle ? "" : " for virtual-hosted addressing (set forcePathStyle: true?)"),
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  const base = pathStyle
    ? `${url.protocol}//${url.host}${path}/${encodeSegment(bucket)}/`
    : `${url.protocol}//${bucket}.${url.host}${path}/`;
  return {
    bucket,
    // Path-style: `/bucket` (no slash, which some servers would read as an empty key); virtual-hosted: `/`.
    bucketUrl: pathStyle ? base.slice(0, -1) : base,
    accessKeyId,
    secretAccessKey,
    sessionToken,
    region,
    host: url.host,
    base,
    // Looked up at call time, not captured: `fetch` must be called unbound on some runtimes.
    fetch: o.fetch ?? ((request) => fetch(request)),
    maxObjectBytes: o.maxObjectBytes,
    putHeaders: o.sse,
  };
}

function parseEndpoint(endpoint: unknown): URL | undefined {
  if (endpoint === undefined) return undefined;
  if (typeof endpoint !== "string" || !URL.canParse(endpoint)) {
    throw new ConfigError(
      `${WHERE}: endpoint must be an absolute http(s) URL such as "https://s3.us-east-1.amazonaws.com"`,
    );
  }
  const url = new URL(endpoint);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${WHERE}: endpoint must use http or https, got ${url.protocol}`);
  }
  // The endpoint is echoed nowhere, but credentials in it would be sent unsigned to the server.
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(`${WHERE}: endpoint must not contain credentials; use accessKeyId and secretAccessKey`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new ConfigError(`${WHERE}: endpoint must not have a query or fragment`);
  }
  return url;
}

/** Frees the connection of a response whose body is not needed. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
