/**
 * SigV4 verification for the counting S3 proxy, so that a local run refuses what AWS would: s3rver
 * accepts any signature (a wrong secret gets 200), so without this a wrong region or secret only
 * shows up in production. Each request's `Authorization` header is checked in the order S3 does
 * and refused with S3's own status, code and message:
 *
 * | what                                   | answer                                                    |
 * | -------------------------------------- | --------------------------------------------------------- |
 * | no `Authorization` header              | 403 `AccessDenied`                                        |
 * | not a SigV4 header, or a scope's date  | 400 `AuthorizationHeaderMalformed`                         |
 * | signed for another region              | 400 `AuthorizationHeaderMalformed`, "expecting '<region>'" |
 * | an unknown access key id               | 403 `InvalidAccessKeyId`                                  |
 * | no `x-amz-date`, or more than 15 min off | 403 `AccessDenied` / `RequestTimeTooSkewed`             |
 * | no `x-amz-content-sha256`              | 400 `InvalidRequest`                                      |
 * | any other signature                    | 403 `SignatureDoesNotMatch`                               |
 *
 * Like S3, a `SignatureDoesNotMatch` document echoes the string to sign, the canonical request and
 * the signature provided: clients must never keep those fields in their errors (the adapter's
 * tests check that it does not). The canonical request is rebuilt from what arrived, as S3 does:
 * each path segment decoded then encoded once (a raw `+` is a plus, not a space), the query
 * decoded with `+` as a space, and the signed headers' values as sent. The payload's hash is taken
 * from `x-amz-content-sha256` as signed; the body is streamed on, not hashed.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { parseAuthorization, signV4, uriEncode } from "./sigv4.ts";

/** The one set of credentials and the region the proxy accepts. */
export interface S3Auth {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The bucket's region: requests signed for another are refused. */
  readonly region: string;
}

/** A refusal, as S3 would answer it. */
export interface S3Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** More elements of the error document (`Region`, `StringToSign`…), in order. */
  readonly details: readonly (readonly [string, string])[];
}

/** S3 refuses requests whose date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Checks the request's signature; undefined when it is valid, else S3's answer. */
export async function verifyRequest(req: IncomingMessage, auth: S3Auth): Promise<S3Refusal | undefined> {
  const headers = headerValues(req.rawHeaders);
  const header = headers.get("authorization");
  if (header === undefined) return refuse(403, "AccessDenied", "Access Denied");
  let parsed: ReturnType<typeof parseAuthorization>;
  try {
    parsed = parseAuthorization(header);
  } catch {
    return refuse(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; not a SigV4 header.");
  }
  const [accessKeyId = "", date = "", region = "", service = "", terminal = ""] = parsed.credential.split("/");
  if (service !== "s3" || terminal !== "aws4_request" || !/^\d{8}$/.test(date)) {
    return refuse(
      400,
      "AuthorizationHeaderMalformed",
      "The authorization header is malformed; invalid credential scope.",
    );
  }
  if (region !== auth.region) {
    return refuse(
      400,
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; the region '${region}' is wrong; expecting '${auth.region}'`,
      [["Region", auth.region]],
    );
  }
  if (accessKeyId !== auth.accessKeyId) {
    return refuse(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", [
      ["AWSAccessKeyId", accessKeyId],
    ]);
  }
  const amzDate = headers.get("x-amz-date");
  const at = amzDate === undefined ? Number.NaN : parseAmzDate(amzDate);
  if (amzDate === undefined || !Number.isFinite(at)) {
    return refuse(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  }
  if (Math.abs(at - Date.now()) > MAX_SKEW_MS) {
    return refuse(
      403,
      "RequestTimeTooSkewed",
      "The difference between the request time and the current time is too large.",
      [
        ["RequestTime", amzDate],
        ["ServerTime", new Date().toISOString()],
        ["MaxAllowedSkewMilliseconds", String(MAX_SKEW_MS)],
      ],
    );
  }
  if (amzDate.slice(0, 8) !== date) {
    return refuse(
      400,
      "AuthorizationHeaderMalformed",
      `The authorization header is malformed; Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${
        amzDate.slice(0, 8)
      }".`,
    );
  }
  const payloadHash = headers.get("x-amz-content-sha256");
  if (payloadHash === undefined) {
    return refuse(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  const signed: Record<string, string> = {};
  for (const name of parsed.signedHeaders) signed[name] = headers.get(name) ?? "";
  const [path = "/", query = ""] = (req.url ?? "/").split(/\?(.*)/s, 2);
  const expected = await signV4({
    method: req.method ?? "GET",
    canonicalUri: canonicalPath(path),
    query: queryParameters(query),
    headers: signed,
    payloadHash,
    amzDate,
    region,
    secretAccessKey: auth.secretAccessKey,
  });
  if (!parsed.signedHeaders.includes("host") || expected.signature !== parsed.signature) {
    return refuse(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      [
        ["AWSAccessKeyId", accessKeyId],
        ["StringToSign", expected.stringToSign],
        ["SignatureProvided", parsed.signature],
        ["CanonicalRequest", expected.canonicalRequest],
      ],
    );
  }
  return undefined;
}

/** The XML error document of a refusal, as S3 writes it. */
export function refusalDocument(refusal: S3Refusal): string {
  const fields = [["Code", refusal.code], ["Message", refusal.message], ...refusal.details, [
    "RequestId",
    crypto.randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase(),
  ]];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${
    fields.map(([name, value]) => `<${name}>${escapeText(value!)}</${name}>`).join("")
  }</Error>`;
}

/** Element text as S3 writes it: only `&`, `<` and `>` escaped (its messages quote with apostrophes). */
function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function refuse(
  status: number,
  code: string,
  message: string,
  details: readonly (readonly [string, string])[] = [],
): S3Refusal {
  return { status, code, message, details };
}

/** Header values by lower-case name; repeated headers joined with commas, as SigV4 canonicalises them. */
function headerValues(raw: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const before = out.get(name);
    out.set(name, before === undefined ? value : `${before},${value}`);
  }
  return out;
}

/** S3's canonical URI: each segment decoded, then encoded once. */
function canonicalPath(path: string): string {
  return path.split("/").map((segment) => uriEncode(safeDecode(segment), false)).join("/");
}

/** The query's parameters, decoded as a form (`+` is a space). */
function queryParameters(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === "") return out;
  for (const part of query.split("&")) {
    const at = part.indexOf("=");
    const name = at === -1 ? part : part.slice(0, at);
    const value = at === -1 ? "" : part.slice(at + 1);
    out[safeDecode(name.replace(/\+/g, " "))] = safeDecode(value.replace(/\+/g, " "));
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `20240101T120000Z` → ms since the epoch (NaN when malformed). */
function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
