/**
 * Plumbing of the S3 adapter: object URLs with correctly encoded keys, response bodies read
 * within a size limit (an object's within its expected size as well, see `_expected.ts`), and
 * error messages that say what failed without leaking anything.
 *
 * @module
 */
import { concatBytes, readAll } from "../core/util/bytes.ts";
import { BlobError, TooLargeError } from "../core/errors.ts";
import type { Expectation } from "./_expected.ts";

/**
 * Encodes one path segment as S3's canonical URI does (RFC 3986: everything but `A–Z a–z 0–9 - . _ ~`).
 * The URL then carries exactly the canonical form, so what is signed (`_sigv4.ts`) is what S3 checks:
 * a raw `+` may be read as a space, and a raw `!'()*` would be sent unencoded but signed encoded.
 */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Encodes an object key for a URL path: each `/`-separated segment with {@link encodeSegment}. */
export function encodeKey(operation: string, key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new BlobError(`s3 ${operation}: key must be a non-empty string`);
  }
  const segments = key.split("/");
  // URL parsers resolve `.` and `..` segments (even percent-encoded ones), so such a key would
  // silently address another object.
  if (segments.some((s) => s === "." || s === "..")) {
    throw new BlobError(`s3 ${operation}: key ${quoteKey(key)} has a "." or ".." segment, which URLs cannot carry`);
  }
  try {
    return segments.map(encodeSegment).join("/");
  } catch (cause) {
    throw new BlobError(`s3 ${operation}: key is not well-formed Unicode (lone surrogate)`, { cause });
  }
}

/** A key for messages: quoted, control characters escaped, long keys shortened. */
export function quoteKey(key: string): string {
  const shown = key.length > 120 ? `${key.slice(0, 117)}...` : key;
  return JSON.stringify(shown);
}

/** Reads at most this much of an error body: S3 error documents are small. */
const MAX_ERROR_BODY = 16 * 1024;

/**
 * The S3 error code (`NoSuchKey`, `SignatureDoesNotMatch`…) from an error response, or
 * undefined when the body has none. Only the code is kept: error documents may echo the
 * canonical request, the string to sign or the signature itself.
 */
export async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const text = new TextDecoder().decode(await readBody(response, MAX_ERROR_BODY, true));
    const code = /<Code>\s*([A-Za-z0-9.]{1,64})\s*<\/Code>/.exec(text)?.[1];
    return code;
  } catch {
    return undefined;
  }
}

/**
 * The whole body of `response`. Over `maxBytes` it throws a `TooLargeError` without reading
 * further, or, with `truncate`, returns the first `maxBytes` bytes.
 */
export async function readBody(response: Response, maxBytes: number, truncate = false): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isSafeInteger(declared) && declared >= 0 && declared <= maxBytes) {
    // The declared length fits: let the runtime read it in one piece (its fastest path). A body
    // decoded on the way (Content-Encoding) can outgrow its declared length, hence the check.
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.byteLength > maxBytes) {
      if (!truncate) throw tooLarge(body.byteLength, maxBytes);
      return body.subarray(0, maxBytes);
    }
    return body;
  }
  if (declared > maxBytes && !truncate) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(declared, maxBytes);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => {});
      if (!truncate) throw tooLarge(total + value.byteLength, maxBytes);
      chunks.push(value.subarray(0, maxBytes - total));
      total = maxBytes;
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return concatBytes(chunks, total);
}

/**
 * An object's body, held within `expected`'s limit as it evolves: at most `BLOB_PENDING_BYTES`
 * (64 KiB) until the expected size is known, then at most that size (and the
 * adapter's own maximum). A body over the limit (declared, or streamed) is cancelled at once, which
 * aborts the request, and refused (`IntegrityError` past the expected size, `TooLargeError` past
 * the maximum). A declared length that fits is read in one piece, the runtime's fastest path.
 */
export async function readObject(
  response: Response,
  expected: Expectation,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const encoding = response.headers.get("content-encoding");
  // A body decoded on the way (Content-Encoding) can outgrow its declared length: stream it.
  const declared = encoding === null || encoding === "identity" ? contentLength(response) : undefined;
  if (declared !== undefined) {
    if (declared > expected.limit && !expected.settled && declared <= expected.maxBytes) {
      // Hold nothing (the transport's flow control waits) until the size is known.
      await expected.known(signal);
    }
    if (declared > expected.limit) {
      await response.body?.cancel().catch(() => {});
      throw expected.refusal("s3 get", declared);
    }
    return new Uint8Array(await response.arrayBuffer());
  }
  if (response.body === null) return new Uint8Array(0);
  const { chunks, total } = await readAll(response.body.getReader(), async (after) => {
    // Hold this chunk, and read no further, until the size is known.
    if (after > expected.limit && !expected.settled && after <= expected.maxBytes) await expected.known(signal);
    if (after > expected.limit) throw expected.refusal("s3 get", after);
  });
  return concatBytes(chunks, total);
}

/** The declared Content-Length, when it is a byte count. */
function contentLength(response: Response): number | undefined {
  const header = response.headers.get("content-length");
  const declared = header === null ? Number.NaN : Number(header);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

function tooLarge(bytes: number, maxBytes: number): TooLargeError {
  return new TooLargeError(`s3 get: object of at least ${bytes} bytes exceeds maxObjectBytes ${maxBytes}`);
}
