/**
 * AWS Signature Version 4 for the S3 adapter (header authorization, `UNSIGNED-PAYLOAD`), computed
 * synchronously with the core's JavaScript SHA-256 and an HMAC on top of it, written from AWS's
 * specification ("Create a signed AWS API request", "Signature Calculations for the
 * Authorization Header" in the S3 API reference).
 *
 * Why not aws4fetch (which this adapter used until 0.2): it signs with WebCrypto, an
 * `importKey`, a `sign` and a `digest` per request, each a thread-pool round trip in Node, and
 * builds the request twice. Measured on Node 20 (sign of an object GET, sequential, p50): ~100 µs
 * of CPU and ~180 µs of wall time per request, against ~10 µs here. Every blob hit signs a GET, and
 * so does a miss of a function whose entries live in S3 (the GET issued beside the lookup, then
 * abandoned), before the function runs.
 *
 * What is signed, as aws4fetch signed it (the tests compare both, and an independent reference):
 * the method; the canonical URI (the path's segments decoded and each URI-encoded once, as S3
 * does: no double encoding); the query parameters, URI-encoded, each key once, sorted; `host`,
 * `x-amz-content-sha256`, `x-amz-date`, `x-amz-security-token` and every header given except
 * the ones proxies rewrite (`content-type`, `content-length`, `range`, …), names lower-cased and
 * sorted, values trimmed with inner whitespace collapsed; and `UNSIGNED-PAYLOAD` as the payload
 * hash (TLS protects the body; S3 accepts it on every operation used here).
 *
 * @module
 */
import { toHex } from "../core/util/bytes.ts";
import { sha256 } from "../core/util/sha256.ts";

/** Credentials and scope of a {@link SigV4Signer}. */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly region: string;
  /** @default "s3" */
  readonly service?: string;
}

/** Headers that are not signed: the ones a proxy or `fetch` itself may set or rewrite. */
const UNSIGNED = new Set([
  "authorization",
  "content-type",
  "content-length",
  "user-agent",
  "presigned-expires",
  "expect",
  "x-amzn-trace-id",
  "range",
  "connection",
]);

const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const encoder = new TextEncoder();

/** Signs requests for one set of credentials; derived signing keys are kept for the current day only. */
export class SigV4Signer {
  readonly #credentials: SigV4Credentials;
  readonly #service: string;
  #day = "";
  #key: Uint8Array = new Uint8Array(0);

  constructor(credentials: SigV4Credentials) {
    this.#credentials = credentials;
    this.#service = credentials.service ?? "s3";
  }

  /** `init`'s headers with the SigV4 ones added (`x-amz-date`, `x-amz-content-sha256`, `authorization`…), for `url`. */
  sign(url: URL, init: { readonly method: string; readonly headers?: HeadersInit | undefined }): Headers {
    const { accessKeyId, sessionToken, region } = this.#credentials;
    const headers = new Headers(init.headers);
    headers.delete("host");
    if (!headers.has("x-amz-content-sha256")) headers.set("x-amz-content-sha256", UNSIGNED_PAYLOAD);
    const datetime = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    headers.set("x-amz-date", datetime);
    if (sessionToken) headers.set("x-amz-security-token", sessionToken);
    const names = ["host", ...headers.keys()].filter((name) => !UNSIGNED.has(name)).sort();
    const signedHeaders = names.join(";");
    const canonicalHeaders = names
      .map((name) => `${name}:${name === "host" ? url.host : (headers.get(name) ?? "").replace(/\s+/g, " ")}\n`)
      .join("");
    const day = datetime.slice(0, 8);
    const scope = `${day}/${region}/${this.#service}/aws4_request`;
    const canonicalRequest = [
      init.method.toUpperCase(),
      canonicalUri(url.pathname),
      canonicalQuery(url.searchParams),
      canonicalHeaders,
      signedHeaders,
      headers.get("x-amz-content-sha256"),
    ].join("\n");
    const stringToSign = [
      "AWS4-HMAC-SHA256",
      datetime,
      scope,
      toHex(sha256(encoder.encode(canonicalRequest))),
    ].join("\n");
    const signature = toHex(hmac(this.#signingKey(day), encoder.encode(stringToSign)));
    headers.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    );
    return headers;
  }

  /** `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`, once per day. */
  #signingKey(day: string): Uint8Array {
    if (day !== this.#day) {
      const { secretAccessKey, region } = this.#credentials;
      let key = hmac(encoder.encode(`AWS4${secretAccessKey}`), encoder.encode(day));
      for (const part of [region, this.#service, "aws4_request"]) key = hmac(key, encoder.encode(part));
      this.#day = day;
      this.#key = key;
    }
    return this.#key;
  }
}

/** URI-encodes as SigV4 does: every byte but `A–Z a–z 0–9 - . _ ~`. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path with each segment decoded and URI-encoded once (S3 does not double-encode). */
function canonicalUri(pathname: string): string {
  return pathname.split("/").map((segment) => {
    try {
      return uriEncode(decodeURIComponent(segment));
    } catch {
      return segment;
    }
  }).join("/");
}

/** Query parameters URI-encoded, each key once (S3), sorted by key then value, joined by `&`. */
function canonicalQuery(params: URLSearchParams): string {
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const [key, value] of params) {
    if (key === "" || seen.has(key)) continue;
    seen.add(key);
    pairs.push([uriEncode(key), uriEncode(value)]);
  }
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join("&");
}

const BLOCK = 64;

/** HMAC-SHA256 (RFC 2104) of `data` under `key`. */
function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(key.length > BLOCK ? sha256(key) : key);
  const inner = new Uint8Array(BLOCK + data.length);
  const outer = new Uint8Array(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = block[i]! ^ 0x36;
    outer[i] = block[i]! ^ 0x5c;
  }
  inner.set(data, BLOCK);
  outer.set(sha256(inner), BLOCK);
  return sha256(outer);
}
