/**
 * An independent reference implementation of AWS Signature Version 4 for S3 (header auth),
 * written from the specification with WebCrypto and checked against AWS's published examples
 * (test/unit/s3_signing.test.ts). The counting S3 proxy verifies every request with it
 * (s3_auth.ts), since the local S3 server (s3rver) does not check signatures, and tests use it
 * to re-derive the signatures the S3 adapter produces. It shares no code with the adapter's
 * signer (aws4fetch).
 *
 * @module
 */

/** Inputs of one signature. */
export interface SigV4Input {
  readonly method: string;
  /** Already-encoded canonical URI (use {@link s3CanonicalUri}). */
  readonly canonicalUri: string;
  /** Query parameters (not yet encoded); empty for object operations. */
  readonly query?: Readonly<Record<string, string>>;
  /** Headers to sign, any case; `host` must be among them. */
  readonly headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the payload, or `UNSIGNED-PAYLOAD`. */
  readonly payloadHash: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  readonly amzDate: string;
  readonly region: string;
  readonly service?: string;
  readonly secretAccessKey: string;
}

/** The intermediate values and the signature. */
export interface SigV4Output {
  readonly canonicalRequest: string;
  readonly stringToSign: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * AWS's `UriEncode`: every UTF-8 byte except the unreserved characters becomes `%XX` (upper-case
 * hex); `/` is kept when `keepSlash`. Byte-wise on purpose: it shares no code with
 * `encodeURIComponent`, which the adapter uses.
 */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = "";
  for (const char of text) {
    if (UNRESERVED.test(char) || (keepSlash && char === "/")) {
      out += char;
      continue;
    }
    for (const byte of new TextEncoder().encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The canonical URI of object `key` in `bucket` (path-style, or virtual-hosted when bucket is omitted). */
export function s3CanonicalUri(key: string, bucket?: string): string {
  return `${bucket === undefined ? "" : `/${uriEncode(bucket, false)}`}/${uriEncode(key, true)}`;
}

/** Hex SHA-256 of `data`. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/** Computes a SigV4 signature step by step, as the specification describes. */
export async function signV4(input: SigV4Input): Promise<SigV4Output> {
  const service = input.service ?? "s3";
  const headers = Object.entries(input.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, " ")] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = headers.map(([name]) => name).join(";");
  const query = Object.entries(input.query ?? {})
    .map(([name, value]) => [uriEncode(name, false), uriEncode(value, false)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const canonicalRequest = [
    input.method,
    input.canonicalUri,
    query,
    headers.map(([name, value]) => `${name}:${value}\n`).join(""),
    signedHeaders,
    input.payloadHash,
  ].join("\n");
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", input.amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  let key = await hmac(new TextEncoder().encode(`AWS4${input.secretAccessKey}`), date);
  for (const part of [input.region, service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  return { canonicalRequest, stringToSign, signedHeaders, signature };
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 …` header. */
export function parseAuthorization(header: string): { credential: string; signedHeaders: string[]; signature: string } {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header);
  if (!match) throw new Error(`not a SigV4 Authorization header: ${header.slice(0, 40)}…`);
  return { credential: match[1]!, signedHeaders: match[2]!.split(";"), signature: match[3]! };
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(message)));
}

function hex(buffer: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}
