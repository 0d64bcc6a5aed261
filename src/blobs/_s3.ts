/**
 * Plumbing of the S3 adapter: object URLs with correctly encoded keys, response bodies read
 * within a size limit (an object's within its expected size as well, see `_expected.ts`), and
 * error messages that say what failed, in S3's own words (its `<Code>` and `<Message>`), and what
 * to change when the configuration is wrong, without leaking anything.
 *
 * @module
 */
import { concatBytes, readAll } from "../core/util/bytes.ts";
import { BlobError, TooLargeError } from "../core/errors.ts";
import type { Expectation } from "./_expected.ts";
import { decodeXmlText } from "./_s3_xml.ts";

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
/** S3's messages are one sentence; anything longer is cut. */
const MAX_MESSAGE = 300;

/** What an S3 error response says: its status, S3's `<Code>` and `<Message>`, and the bucket's region when it names one. */
export interface S3ErrorDetails {
  /** HTTP status. */
  readonly status: number;
  /** S3's error code (`NoSuchBucket`, `SignatureDoesNotMatch`…), when the body has one. */
  readonly code: string | undefined;
  /** S3's message, as one line, with the credentials masked; when the body has one. */
  readonly message: string | undefined;
  /** The region the bucket is in, when the answer says it (`<Region>`, the message, `x-amz-bucket-region`). */
  readonly region: string | undefined;
}

/**
 * The details of an S3 error response. Only `<Code>`, `<Message>` and `<Region>` are read: error
 * documents may echo the canonical request, the string to sign, the signature or the key id
 * (`SignatureDoesNotMatch` does), and those are never kept. `secrets` (the secret key, the
 * session token, the key id) are masked in the message all the same, in case a server quotes them.
 */
export async function errorDetails(response: Response, secrets: readonly string[]): Promise<S3ErrorDetails> {
  let text = "";
  try {
    text = new TextDecoder().decode(await readBody(response, MAX_ERROR_BODY, true));
  } catch {
    // No body to read: the status alone.
  }
  const element = (name: string): string | undefined => {
    const raw = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(text)?.[1];
    if (raw === undefined) return undefined;
    try {
      return decodeXmlText(raw);
    } catch {
      return undefined;
    }
  };
  const code = /^\s*([A-Za-z0-9.]{1,64})\s*$/.exec(element("Code") ?? "")?.[1];
  let message = element("Message")?.replace(/\s+/g, " ").trim();
  if (message !== undefined) {
    for (const secret of secrets) if (secret.length >= 4) message = message.split(secret).join("***");
    if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE)}…`;
    if (message === "") message = undefined;
  }
  const named = element("Region") ?? /expecting '([^']+)'/.exec(message ?? "")?.[1] ??
    response.headers.get("x-amz-bucket-region") ?? undefined;
  const region = named !== undefined && /^[A-Za-z0-9_-]{1,64}$/.test(named.trim()) ? named.trim() : undefined;
  return { status: response.status, code, message, region };
}

/** `HTTP 403 SignatureDoesNotMatch: The request signature we calculated…`, for messages. */
export function describeError(details: S3ErrorDetails): string {
  return `HTTP ${details.status}${details.code ? ` ${details.code}` : ""}${
    details.message ? `: ${details.message}` : ""
  }`;
}

/** Where the adapter sends its requests, for the fixes it suggests. */
export interface S3Target {
  /** The bucket. */
  readonly bucket: string;
  /** The signing region in use. */
  readonly region: string;
  /** The endpoint's host. */
  readonly host: string;
}

/**
 * What to change when an error says the configuration is wrong (a misconfiguration, not an
 * outage: the cache reports it as such); undefined for any other error.
 */
export function fixFor(details: S3ErrorDetails, target: S3Target): string | undefined {
  const { code, region } = details;
  const inRegion = region !== undefined && region !== target.region;
  switch (code) {
    case "AuthorizationHeaderMalformed":
    case "PermanentRedirect":
    case "IllegalLocationConstraintException":
    case "IncorrectEndpoint":
      if (inRegion) return `the bucket is in ${region}: set \`region: "${region}"\` (it is "${target.region}")`;
      return code === "AuthorizationHeaderMalformed"
        ? `check \`region\` (it is "${target.region}"; the default is "us-east-1", or "auto" on R2)`
        : `check \`region\` and \`endpoint\`: the bucket is not served at ${target.host}`;
    case "SignatureDoesNotMatch":
      return "check `secretAccessKey` (AWS_SECRET_ACCESS_KEY): S3 computed another signature with the key's secret";
    case "InvalidAccessKeyId":
      return "check `accessKeyId` (AWS_ACCESS_KEY_ID): S3 does not know this key";
    case "ExpiredToken":
    case "InvalidToken":
    case "TokenRefreshRequired":
      return "the session token (`sessionToken`, AWS_SESSION_TOKEN) is expired or invalid: renew the credentials";
    case "NoSuchBucket":
      return `create the bucket "${target.bucket}" at ${target.host}, or fix \`bucket\``;
    case "AccessDenied":
    case "AllAccessDisabled":
      return `give these credentials access to the bucket "${target.bucket}" (s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket), or check \`bucket\``;
    case "RequestTimeTooSkewed":
      return "this machine's clock is more than 15 minutes off: synchronise it (NTP)";
    default:
      return inRegion && (details.status === 301 || details.status === 400)
        ? `the bucket is in ${region}: set \`region: "${region}"\` (it is "${target.region}")`
        : undefined;
  }
}

/** A key for messages, quoted, with a key hash at its end shortened to 12 characters. */
export function shortKey(key: string): string {
  return quoteKey(key.replace(/([0-9a-f]{12})[0-9a-f]{20,}$/, "$1…"));
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
