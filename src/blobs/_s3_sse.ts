/**
 * Server-side encryption options of the S3 adapter (`s3BlobStore({ sse })`), checked once and
 * turned into the headers every PUT carries. SSE-S3 (`AES256`) and SSE-KMS (`aws:kms`) need
 * nothing on GET: S3 decrypts for any caller allowed to read (and, for KMS, to use the key), and
 * refuses these headers on a GET. SSE-C (customer-provided keys, sent with every request,
 * reads included) is not supported. The headers are `x-amz-*`, so aws4fetch signs them.
 *
 * @module
 */
import { toBase64 } from "../core/bytes.ts";
import { ConfigError } from "../core/errors.ts";

/**
 * Server-side encryption of the objects `s3BlobStore` writes.
 *
 * - `{ type: "AES256" }`: SSE-S3, keys managed by S3.
 * - `{ type: "aws:kms" }`: SSE-KMS, with the bucket's or the account's default KMS key, or
 *   `keyId`; an encryption `context` (sent as `x-amz-server-side-encryption-context`); and
 *   `bucketKey` to turn the S3 Bucket Key on or off for these objects (fewer KMS calls).
 */
export type S3Encryption =
  | { readonly type: "AES256" }
  | {
    readonly type: "aws:kms";
    /** KMS key ID, key ARN or alias ARN. @default the bucket's default key (or `aws/s3`) */
    readonly keyId?: string;
    /** Encryption context: non-secret pairs bound to each object's key (in CloudTrail logs). */
    readonly context?: Readonly<Record<string, string>>;
    /** Whether these objects use the S3 Bucket Key. @default the bucket's setting */
    readonly bucketKey?: boolean;
  };

const WHERE = "s3BlobStore";
const KMS_FIELDS = new Set(["type", "keyId", "context", "bucketKey"]);
/** Header values must be visible ASCII (and spaces). */
const HEADER_SAFE = /^[\x20-\x7e]+$/;

/** The headers of every PUT for `sse` (none when undefined); throws a ConfigError naming what is wrong. */
export function encryptionHeaders(sse: unknown): Record<string, string> {
  if (sse === undefined) return {};
  if (typeof sse !== "object" || sse === null || Array.isArray(sse)) {
    throw new ConfigError(`${WHERE}: sse must be an object such as { type: "AES256" } or { type: "aws:kms" }`);
  }
  const options = sse as Record<string, unknown>;
  const type = options.type;
  if (type === "AES256") {
    const extra = Object.keys(options).filter((name) => name !== "type");
    if (extra.length > 0) {
      throw new ConfigError(
        `${WHERE}: sse ${extra.join(", ")} ${extra.length > 1 ? "apply" : "applies"} to { type: "aws:kms" } only`,
      );
    }
    return { "x-amz-server-side-encryption": "AES256" };
  }
  if (type !== "aws:kms") {
    throw new ConfigError(
      `${WHERE}: sse.type must be "AES256" (SSE-S3) or "aws:kms" (SSE-KMS); SSE-C and dual-layer KMS are not supported`,
    );
  }
  const unknown = Object.keys(options).filter((name) => !KMS_FIELDS.has(name));
  if (unknown.length > 0) {
    throw new ConfigError(`${WHERE}: sse has no option ${unknown.join(", ")} (keyId, context, bucketKey)`);
  }
  const headers: Record<string, string> = { "x-amz-server-side-encryption": "aws:kms" };
  const { keyId, context, bucketKey } = options;
  if (keyId !== undefined) {
    if (typeof keyId !== "string" || keyId.length > 2048 || !HEADER_SAFE.test(keyId) || keyId.trim() !== keyId) {
      throw new ConfigError(`${WHERE}: sse.keyId must be a KMS key ID, key ARN or alias ARN`);
    }
    headers["x-amz-server-side-encryption-aws-kms-key-id"] = keyId;
  }
  if (context !== undefined) {
    if (typeof context !== "object" || context === null || Array.isArray(context)) {
      throw new ConfigError(`${WHERE}: sse.context must be an object of string values, e.g. { app: "myapp" }`);
    }
    const entries = Object.entries(context);
    if (entries.length === 0) throw new ConfigError(`${WHERE}: sse.context is empty; omit it instead`);
    for (const [name, value] of entries) {
      if (name === "" || typeof value !== "string") {
        throw new ConfigError(`${WHERE}: sse.context must map non-empty names to strings (${JSON.stringify(name)})`);
      }
    }
    headers["x-amz-server-side-encryption-context"] = toBase64(new TextEncoder().encode(JSON.stringify(context)));
  }
  if (bucketKey !== undefined) {
    if (typeof bucketKey !== "boolean") throw new ConfigError(`${WHERE}: sse.bucketKey must be a boolean`);
    headers["x-amz-server-side-encryption-bucket-key-enabled"] = String(bucketKey);
  }
  return headers;
}
