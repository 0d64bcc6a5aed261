/**
 * SigV4 signing of the S3 adapter, checked without a server (the local S3 server accepts any
 * signature). First the reference signer in scripts/services/sigv4.ts must reproduce AWS's published
 * examples ("Signature Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk", S3 API reference); then the adapter's requests must carry the signature that
 * reference computes from the logical key, and golden values pin both.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { parseAuthorization, s3CanonicalUri, sha256Hex, signV4, uriEncode } from "../../scripts/services/sigv4.ts";

// AWS's example credentials and time (they appear in the published examples).
const AWS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  amzDate: "20130524T000000Z",
};
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HOST = "examplebucket.s3.amazonaws.com";

describe("reference signer reproduces AWS's published S3 examples", () => {
  const base = { secretAccessKey: AWS.secretAccessKey, region: AWS.region, amzDate: AWS.amzDate };

  it("GET Object (Range header)", async () => {
    const out = await signV4({
      ...base,
      method: "GET",
      canonicalUri: "/test.txt",
      headers: { Host: HOST, Range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": AWS.amzDate },
      payloadHash: EMPTY_SHA256,
    });
    expect(out.stringToSign.split("\n")[3]).toBe("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    expect(out.signature).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  });

  it("PUT Object (key with $, storage class, signed payload)", async () => {
    const payloadHash = await sha256Hex("Welcome to Amazon S3.");
    expect(payloadHash).toBe("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const out = await signV4({
      ...base,
      method: "PUT",
      canonicalUri: s3CanonicalUri("test$file.text"),
      headers: {
        Date: "Fri, 24 May 2013 00:00:00 GMT",
        Host: HOST,
        "x-amz-content-sha256": payloadHash,
        "x-amz-date": AWS.amzDate,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
      },
      payloadHash,
    });
    expect(out.canonicalRequest.split("\n")[1]).toBe("/test%24file.text");
    expect(out.stringToSign.split("\n")[3]).toBe("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    expect(out.signature).toBe("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  });

  it("GET Bucket lifecycle (valueless query parameter)", async () => {
    const out = await signV4({
      ...base,
      method: "GET",
      canonicalUri: "/",
      query: { lifecycle: "" },
      headers: { Host: HOST, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": AWS.amzDate },
      payloadHash: EMPTY_SHA256,
    });
    expect(out.signature).toBe("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  });

  it("GET Bucket (list objects, sorted query)", async () => {
    const out = await signV4({
      ...base,
      method: "GET",
      canonicalUri: "/",
      query: { prefix: "J", "max-keys": "2" },
      headers: { Host: HOST, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": AWS.amzDate },
      payloadHash: EMPTY_SHA256,
    });
    expect(out.signature).toBe("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  });

  it("UriEncode encodes every byte but A-Z a-z 0-9 - . _ ~ (and / in paths)", () => {
    expect(uriEncode("a+b c%/ü!'()*~._-", true)).toBe("a%2Bb%20c%25/%C3%BC%21%27%28%29%2A~._-");
    expect(uriEncode("a/b", false)).toBe("a%2Fb");
    expect(uriEncode("🎉", true)).toBe("%F0%9F%8E%89");
  });
});

describe("the adapter's signatures", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2013-05-24T00:00:00Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs one call against a capturing fetch (no server) and returns the request it sent. */
  async function capture(
    call: (blobs: ReturnType<typeof s3BlobStore>) => Promise<unknown>,
    extra: { sessionToken?: string; endpoint?: string; forcePathStyle?: boolean } = {},
  ): Promise<Request> {
    const requests: Request[] = [];
    const blobs = s3BlobStore({
      bucket: "examplebucket",
      accessKeyId: AWS.accessKeyId,
      secretAccessKey: AWS.secretAccessKey,
      region: AWS.region,
      endpoint: "https://s3.amazonaws.com",
      ...extra,
      fetch: async (request) => (requests.push(request), new Response(null, { status: 204 })),
    });
    await call(blobs);
    return requests[0]!;
  }

  /** The signature the reference computes for object `key`, from the key itself (not the URL). */
  async function expected(method: string, key: string, host: string, extraHeaders: Record<string, string> = {}) {
    return await signV4({
      method,
      canonicalUri: s3CanonicalUri(key),
      headers: { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": AWS.amzDate, ...extraHeaders },
      payloadHash: "UNSIGNED-PAYLOAD",
      amzDate: AWS.amzDate,
      region: AWS.region,
      secretAccessKey: AWS.secretAccessKey,
    });
  }

  it("matches the reference and a golden value for GET test.txt", async () => {
    const request = await capture((b) => b.get("test.txt"));
    expect(request.url).toBe("https://examplebucket.s3.amazonaws.com/test.txt");
    const auth = parseAuthorization(request.headers.get("authorization")!);
    expect(auth.credential).toBe("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
    expect(auth.signature).toBe((await expected("GET", "test.txt", HOST)).signature);
    expect(auth.signature).toBe("5c0d4ff29e72b8f94c5b6720369921e587e39bf7a64e456887dec4b43a2d1b77");
  });

  it.each([
    ["test$file.text", "/test%24file.text"],
    ["a+b", "/a%2Bb"],
    ["a b", "/a%20b"],
    ["a%2Bb", "/a%252Bb"],
    ["100%", "/100%25"],
    ["dir/ü/日本/🎉", "/dir/%C3%BC/%E6%97%A5%E6%9C%AC/%F0%9F%8E%89"],
    ["!'()*", "/%21%27%28%29%2A"],
    ["~._-", "/~._-"],
    ["q?h#x&y=z;w,v:u@t[s]", "/q%3Fh%23x%26y%3Dz%3Bw%2Cv%3Au%40t%5Bs%5D"],
  ])("signs key %j as S3 will check it (sent path %s)", async (key, path) => {
    for (const method of ["GET", "PUT", "DELETE"] as const) {
      const request = await capture((b) =>
        method === "GET" ? b.get(key) : method === "PUT" ? b.put(key, new Uint8Array([1])) : b.delete(key)
      );
      expect(new URL(request.url).pathname).toBe(path);
      expect(s3CanonicalUri(key)).toBe(path);
      const auth = parseAuthorization(request.headers.get("authorization")!);
      expect(auth.signature, method).toBe((await expected(method, key, HOST)).signature);
    }
  });

  it("pins the signature of a key that needs encoding (golden)", async () => {
    const request = await capture((b) => b.put("a+b c/ü%.bin", new Uint8Array([1, 2, 3])));
    expect(request.url).toBe("https://examplebucket.s3.amazonaws.com/a%2Bb%20c/%C3%BC%25.bin");
    const { signature } = parseAuthorization(request.headers.get("authorization")!);
    expect(signature).toBe((await expected("PUT", "a+b c/ü%.bin", HOST)).signature);
    expect(signature).toBe("1cf9d75eae4f48487ccdec45b321ffcbb84f4740ae7f8db75c2f543781dfe3f6");
  });

  it("signs path-style URLs and session tokens", async () => {
    const request = await capture((b) => b.get("a+b"), {
      endpoint: "http://127.0.0.1:9000",
      sessionToken: "token/with+chars=",
    });
    expect(request.url).toBe("http://127.0.0.1:9000/examplebucket/a%2Bb");
    const out = await signV4({
      method: "GET",
      canonicalUri: s3CanonicalUri("a+b", "examplebucket"),
      headers: {
        host: "127.0.0.1:9000",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-date": AWS.amzDate,
        "x-amz-security-token": "token/with+chars=",
      },
      payloadHash: "UNSIGNED-PAYLOAD",
      amzDate: AWS.amzDate,
      region: AWS.region,
      secretAccessKey: AWS.secretAccessKey,
    });
    const auth = parseAuthorization(request.headers.get("authorization")!);
    expect(auth.signedHeaders.join(";")).toBe(out.signedHeaders);
    expect(auth.signature).toBe(out.signature);
  });
});
