/**
 * The S3 adapter's own SigV4 signer (src/blobs/_sigv4.ts) against aws4fetch, which the adapter
 * used before: the same Authorization header, byte for byte, for every kind of request the
 * adapter sends (object GET/PUT/DELETE, listing with awkward tokens, batch delete with
 * Content-MD5, SSE headers, session tokens, path- and virtual-hosted style). s3_signing.test.ts
 * checks the adapter against an independent reference and AWS's published examples.
 */
import { AwsV4Signer } from "aws4fetch";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SigV4Signer } from "../../src/blobs/_sigv4.ts";

const DATETIME = "20240229T235959Z";
const CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "eu-central-1",
};

const CASES: { name: string; url: string; method: string; headers?: Record<string, string>; session?: string }[] = [
  { name: "object GET, path style", url: "http://127.0.0.1:9000/bucket/myapp/0123abcd", method: "GET" },
  {
    name: "object GET, virtual-hosted",
    url: "https://bucket.s3.eu-central-1.amazonaws.com/a%2Bb%20c/%C3%BC",
    method: "GET",
  },
  {
    name: "key with RFC 3986 reserved characters",
    url: "https://s3.example/b/%21%27%28%29%2A~._-/q%3Fh%23x%26",
    method: "DELETE",
  },
  {
    name: "PUT with content headers (not signed) and SSE headers (signed)",
    url: "https://s3.example/b/k",
    method: "PUT",
    headers: {
      "content-type": "application/octet-stream",
      "content-length": "3",
      "x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-central-1:1:key/x",
      "x-amz-server-side-encryption-context": "eyJhIjoiYiJ9",
      "x-amz-server-side-encryption-bucket-key-enabled": "true",
    },
  },
  {
    name: "listing with a prefix and a continuation token holding + / =",
    url: "https://s3.example/b?list-type=2&prefix=my%2Fapp%2F&continuation-token=1%2Ba%2Fb%3D%3D&max-keys=1000",
    method: "GET",
  },
  {
    name: "batch delete: valueless ?delete, Content-MD5",
    url: "https://s3.example/b?delete",
    method: "POST",
    headers: { "content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==", "content-type": "application/xml" },
  },
  {
    name: "header value whitespace",
    url: "https://s3.example/b/k",
    method: "PUT",
    headers: { "x-amz-meta-a": "  x   y  " },
  },
  { name: "session token", url: "https://s3.example/b/k", method: "GET", session: "token/with+chars=" },
];

describe("SigV4Signer", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2024-02-29T23:59:59.123Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each(CASES)("signs as aws4fetch does: $name", async ({ url, method, headers, session }) => {
    const ours = new SigV4Signer({ ...CREDENTIALS, sessionToken: session }).sign(new URL(url), { method, headers });
    const theirs = await new AwsV4Signer({
      ...CREDENTIALS,
      ...(session ? { sessionToken: session } : {}),
      service: "s3",
      url,
      method,
      headers: headers ?? {},
      datetime: DATETIME,
    }).sign();
    expect(ours.get("x-amz-date")).toBe(DATETIME);
    expect(ours.get("authorization")).toBe(theirs.headers.get("authorization"));
    expect([...ours].sort()).toEqual([...theirs.headers].sort());
  });

  it("derives the signing key again when the day changes", async () => {
    const signer = new SigV4Signer(CREDENTIALS);
    const url = new URL("https://s3.example/b/k");
    const first = signer.sign(url, { method: "GET" }).get("authorization");
    vi.setSystemTime(new Date("2024-03-01T00:00:01Z"));
    const next = signer.sign(url, { method: "GET" }).get("authorization");
    const theirs = await new AwsV4Signer({ ...CREDENTIALS, service: "s3", url: url.href, datetime: "20240301T000001Z" })
      .sign();
    expect(next).not.toBe(first);
    expect(next).toBe(theirs.headers.get("authorization"));
  });
});
