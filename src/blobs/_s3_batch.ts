/**
 * The S3 adapter's bucket-level calls: ListObjects pages and DeleteObjects batches. Listing
 * uses version 1 of ListObjects, paged by `marker` (the last key seen), which AWS, R2, MinIO,
 * Ceph and GCS all serve; ListObjectsV2's continuation tokens would work on those too, but the
 * local test server (s3rver 3.7) builds them with DES, which OpenSSL 3 (Node 17+) no longer has,
 * so a truncated V2 listing cannot be tested there. A key as cursor also lets a caller resume
 * from any key. A batch
 * delete carries `Content-MD5`, which every S3 implementation accepts (AWS requires it or a
 * checksum header); a server without DeleteObjects (an answer of 501 NotImplemented or 405) is
 * remembered, and its batches become one DELETE per object from then on.
 *
 * @module
 */
import { toBase64 } from "../core/util/bytes.ts";
import { BlobError, isCacheError } from "../core/errors.ts";
import type { BlobDeleteResult, BlobListOptions, BlobListPage } from "../core/types.ts";
import { encodeSegment, readBody, type S3ErrorDetails } from "./_s3.ts";
import { md5 } from "./_md5.ts";
import { deleteRequestBody, isXmlSafe, parseDeleteResult, parseListResult } from "./_s3_xml.ts";

/** What the adapter lends to these calls. */
export interface BucketRequests {
  /** Sends a signed request to the bucket's URL with `query` (already encoded); `init.signal` aborts it. */
  send(operation: string, query: string, init: RequestInit): Promise<Response>;
  /** A `BlobError` describing a failed response (S3's code and message; `details` when already read). */
  failure(operation: string, response: Response, details?: S3ErrorDetails): Promise<BlobError>;
  /** What an error response says (S3's code, message, region). */
  details(response: Response): Promise<S3ErrorDetails>;
  /** The adapter's single-object delete. */
  deleteOne(key: string, signal?: AbortSignal): Promise<void>;
  /** Whether the server takes DeleteObjects; set to false the first time it refuses it. */
  batchDeletes: boolean;
}

/** Objects a ListObjects page and a DeleteObjects request hold at most. */
export const MAX_BATCH = 1000;
/** Result documents are small (about 300 bytes per listed object); this only stops a runaway body. */
const MAX_RESULT_BYTES = 16 * 1024 * 1024;
/** Single DELETEs in flight when a server has no DeleteObjects. */
const FALLBACK_CONCURRENCY = 8;

/** One page of ListObjects under `prefix`, starting after the key `cursor`. */
export async function listObjects(
  requests: BucketRequests,
  prefix: string,
  options: BlobListOptions = {},
): Promise<BlobListPage> {
  const { signal, cursor } = options;
  if (typeof prefix !== "string") throw new BlobError("s3 list: prefix must be a string");
  const limit = options.limit ?? MAX_BATCH;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BATCH) {
    throw new BlobError(`s3 list: limit must be an integer from 1 to ${MAX_BATCH}`);
  }
  if (cursor !== undefined && (typeof cursor !== "string" || cursor === "")) {
    throw new BlobError("s3 list: cursor must be a non-empty string from a previous page");
  }
  let query = `max-keys=${limit}&prefix=${encodeQuery(prefix)}`;
  if (cursor !== undefined) query += `&marker=${encodeQuery(cursor)}`;
  const response = await requests.send("list", query, { method: "GET", signal: signal ?? null });
  if (!response.ok) throw await requests.failure("list", response);
  const result = parseListResult(await readText(response, "list", signal));
  // A server that ignored `prefix` must not hand the caller someone else's objects.
  const objects = result.objects.filter((object) => object.key.startsWith(prefix));
  return result.next === undefined ? { objects } : { objects, cursor: result.next };
}

/** Deletes up to {@link MAX_BATCH} objects: one DeleteObjects request, or single DELETEs where it is missing. */
export async function deleteObjects(
  requests: BucketRequests,
  keys: readonly string[],
  signal?: AbortSignal,
): Promise<BlobDeleteResult> {
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== "string" || key === "")) {
    throw new BlobError("s3 deleteMany: keys must be an array of non-empty strings");
  }
  if (keys.length > MAX_BATCH) {
    throw new BlobError(`s3 deleteMany: at most ${MAX_BATCH} keys per call, got ${keys.length}`);
  }
  signal?.throwIfAborted();
  // Keys XML cannot carry (control characters) can still be deleted one by one.
  const batch = requests.batchDeletes ? keys.filter(isXmlSafe) : [];
  const single = keys.filter((key) => !batch.includes(key));
  const failed: { key: string; code: string }[] = [];
  if (batch.length > 0) {
    const outcome = await deleteBatch(requests, batch, signal);
    if (outcome === "unsupported") single.push(...batch);
    else failed.push(...outcome);
  }
  failed.push(...await deleteEach(requests, single, signal));
  return { failed };
}

async function deleteBatch(
  requests: BucketRequests,
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<{ key: string; code: string }[] | "unsupported"> {
  const body = new TextEncoder().encode(deleteRequestBody(keys));
  const response = await requests.send("deleteMany", "delete", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/xml",
      "content-length": String(body.byteLength),
      "content-md5": toBase64(md5(body)),
    },
    signal: signal ?? null,
  });
  if (response.status === 501 || response.status === 405 || response.status === 400) {
    const details = response.status === 400 ? await requests.details(response) : undefined;
    if (response.status !== 400 || details?.code === "NotImplemented") {
      await response.body?.cancel().catch(() => {});
      requests.batchDeletes = false;
      return "unsupported";
    }
    throw await requests.failure("deleteMany", response, details);
  }
  if (!response.ok) throw await requests.failure("deleteMany", response);
  const failed = parseDeleteResult(await readText(response, "deleteMany", signal));
  const asked = new Set(keys);
  // Only keys that were asked for can fail; anything else in the answer is the server's confusion.
  return failed.filter((entry) => asked.has(entry.key));
}

async function deleteEach(
  requests: BucketRequests,
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<{ key: string; code: string }[]> {
  const failed: { key: string; code: string }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      try {
        await requests.deleteOne(key, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        failed.push({ key, code: isCacheError(error) ? error.code : "Error" });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FALLBACK_CONCURRENCY, keys.length) }, worker));
  return failed;
}

async function readText(response: Response, operation: string, signal: AbortSignal | undefined): Promise<string> {
  try {
    return new TextDecoder().decode(await readBody(response, MAX_RESULT_BYTES));
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    if (isCacheError(cause) && cause.code !== "E_TOO_LARGE") throw cause;
    throw new BlobError(`s3 ${operation}: could not read the result: ${(cause as Error).message}`, { cause });
  }
}

/** A query parameter value in the canonical form SigV4 signs (RFC 3986, `+` and spaces included). */
function encodeQuery(value: string): string {
  try {
    return encodeSegment(value);
  } catch (cause) {
    throw new BlobError("s3 list: prefix or cursor is not well-formed Unicode (lone surrogate)", { cause });
  }
}
