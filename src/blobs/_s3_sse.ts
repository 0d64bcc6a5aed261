/**
 * Server-side encryption options of the S3 adapter (`s3BlobStore({ sse })`), checked once and
 * turned into the headers every PUT carries. SSE-S3 (`AES256`) and SSE-KMS (`aws:kms`) need
 * nothing on GET: S3 decrypts for any caller allowed to read (and, for KMS, to use the key), and
 * refuses these headers on a GET. SSE-C (customer-provided keys, sent with every request,
 * reads included) is not supported. The headers are `x-amz-*`, so they are signed.
 *
 * @module
 */
import { ConfigError } from "../core/errors.ts";
import { toBase64 } from "../core/util/bytes.ts";
import * as opt from "../core/util/check_options.ts";

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

/** Header values must be visible ASCII (and spaces). */
const HEADER_SAFE = /^[\x20-\x7e]+$/;

type Kms = Extract<S3Encryption, { readonly type: "aws:kms" }>;

const SSE_S3 = { type: opt.oneOf(["AES256"]) } satisfies opt.OptionChecks<Extract<S3Encryption, { type: "AES256" }>>;

const SSE_KMS = {
  type: opt.oneOf(["aws:kms"]),
  keyId: opt.optional(
    opt.satisfying<string>(
      (v) => typeof v === "string" && v.length <= 2048 && HEADER_SAFE.test(v) && v.trim() === v,
      "a KMS key ID, key ARN or alias ARN",
    ),
  ),
  context: opt.optional(encryptionContext),
  bucketKey: opt.optional(opt.boolean),
} satisfies opt.OptionChecks<Kms>;

/**
 * Checks the `sse` option and returns the headers of every PUT for it (none when absent); a
 * ConfigError names what is wrong.
 */
export function encryptionHeaders(sse: unknown, at: opt.OptionPath): Record<string, string> {
  if (sse === undefined) return {};
  if (typeof sse !== "object" || sse === null || Array.isArray(sse)) {
    throw new ConfigError(`${opt.optionName(at)} must be an object such as { type: "AES256" } or { type: "aws:kms" }`);
  }
  const type = (sse as { readonly type?: unknown }).type;
  if (type === "AES256") {
    // A KMS option under SSE-S3 is a mix-up, not a typo: say so rather than "unknown option".
    const misplaced = Object.keys(sse).filter((name) => name !== "type" && Object.hasOwn(SSE_KMS, name));
    if (misplaced.length > 0) {
      throw new ConfigError(
        `${opt.optionName(at)}: ${misplaced.join(", ")} ${
          misplaced.length > 1 ? "apply" : "applies"
        } to { type: "aws:kms" } only`,
      );
    }
    opt.group(SSE_S3)(sse, at);
    return { "x-amz-server-side-encryption": "AES256" };
  }
  if (type !== "aws:kms") {
    throw new ConfigError(
      `${
        opt.optionName(at)
      }.type must be "AES256" (SSE-S3) or "aws:kms" (SSE-KMS); SSE-C and dual-layer KMS are not supported`,
    );
  }
  const { keyId, context, bucketKey } = opt.group(SSE_KMS)(sse, at);
  const headers: Record<string, string> = { "x-amz-server-side-encryption": "aws:kms" };
  if (keyId !== undefined) headers["x-amz-server-side-encryption-aws-kms-key-id"] = keyId;
  if (context !== undefined) {
    headers["x-amz-server-side-encryption-context"] = toBase64(new TextEncoder().encode(JSON.stringify(context)));
  }
  if (bucketKey !== undefined) headers["x-amz-server-side-encryption-bucket-key-enabled"] = String(bucketKey);
  return headers;
}

/** An encryption context: a non-empty object of non-empty names to strings. */
function encryptionContext(value: unknown, at: opt.OptionPath): Readonly<Record<string, string>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${opt.optionName(at)} must be an object of string values, e.g. { app: "myapp" }`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new ConfigError(`${opt.optionName(at)} is empty; omit it instead`);
  for (const [name, item] of entries) {
    if (name === "" || typeof item !== "string") {
      throw new ConfigError(`${opt.optionName(at)} must map non-empty names to strings (${JSON.stringify(name)})`);
    }
  }
  return value as Record<string, string>;
}
