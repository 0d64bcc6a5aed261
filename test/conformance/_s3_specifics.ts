/**
 * S3 adapter tests beyond the blob contract: keys on the wire, signatures re-derived
 * independently, error mapping and messages, bounds, options. Real-server tests use the local S3
 * server; fake `fetch` functions appear only to inject faults (5xx, hangs, oversized or hostile
 * bodies) or where no server can answer (AWS host names).
 *
 * @module
 */
import { inspect } from "node:util";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { s3BlobStore, type S3BlobStoreOptions } from "../../src/blobs/s3.ts";
import { type BlobError, isCacheError } from "../../src/core/errors.ts";
import type { BlobStore } from "../../src/core/types.ts";
import { parseAuthorization, s3CanonicalUri, signV4 } from "../../scripts/services/sigv4.ts";
import { ODD_KEYS } from "./blob.ts";
import { randomPrefix } from "../../src/testing/_helpers.ts";

/** Connection settings of the S3 server the suite runs against. */
export interface S3Settings {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A `fetch` that records each request and forwards it to the real one. */
function recording(): { fetch: (request: Request) => Promise<Response>; requests: Request[] } {
  const requests: Request[] = [];
  return { requests, fetch: (request) => (requests.push(request), fetch(request)) };
}

/** A fault-injecting `fetch`: answers every request with `respond()`, counting calls. */
function faulty(respond: (request: Request) => Response | Promise<Response>): {
  fetch: (request: Request) => Promise<Response>;
  calls: () => number;
  requests: Request[];
} {
  const requests: Request[] = [];
  return {
    requests,
    calls: () => requests.length,
    fetch: async (request) => (requests.push(request), respond(request)),
  };
}

/** Re-derives the request's signature with the reference signer; returns [expected, actual]. */
export async function rederive(request: Request, region: string, secretAccessKey: string): Promise<[string, string]> {
  const auth = parseAuthorization(request.headers.get("authorization") ?? "");
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) headers[name] = name === "host" ? url.host : request.headers.get(name) ?? "";
  const { signature } = await signV4({
    method: request.method,
    canonicalUri: url.pathname,
    headers,
    payloadHash: request.headers.get("x-amz-content-sha256") ?? "",
    amzDate: request.headers.get("x-amz-date") ?? "",
    region,
    secretAccessKey,
  });
  return [signature, auth.signature];
}

async function closedPort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

/** Registers the S3-specific tests; `s3` is the real server's settings. */
export function s3Specifics(s3: S3Settings): void {
  const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-secret";
  const fake = {
    endpoint: "http://127.0.0.1:9",
    bucket: "bucket",
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: SECRET,
  };
  const store = (extra: Partial<S3BlobStoreOptions> = {}): BlobStore => s3BlobStore({ ...s3, ...extra });
  const xmlError = (code: string, extra = ""): string =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message>${extra}</Error>`;
  const body = (text: string): Uint8Array => new TextEncoder().encode(text);

  describe("s3 specifics: keys and signatures on the wire", () => {
    it("sends each key encoded once (RFC 3986), exactly as it is signed", async () => {
      const rec = recording();
      const blobs = store({ fetch: rec.fetch });
      const prefix = randomPrefix("wire");
      const keys = [...ODD_KEYS, "a+b c%2B/ü"].map((k) => `${prefix}/${k}`);
      for (const key of keys) {
        await blobs.put(key, body(key));
        expect(new TextDecoder().decode((await blobs.get(key))!)).toBe(key);
        await blobs.delete(key);
      }
      expect(rec.requests).toHaveLength(keys.length * 3);
      const basePath = new URL(s3.endpoint).pathname.replace(/\/+$/, "");
      for (const [i, request] of rec.requests.entries()) {
        const key = keys[Math.floor(i / 3)]!;
        // What is sent is the canonical form: S3 decodes it once to the key and re-encodes it the same way.
        expect(new URL(request.url).pathname, key).toBe(basePath + s3CanonicalUri(key, s3.bucket));
        expect(new URL(request.url).search).toBe("");
        const [expected, actual] = await rederive(request, s3.region, s3.secretAccessKey);
        expect(actual, `${request.method} ${key}`).toBe(expected);
      }
    });

    it("signs host, x-amz-content-sha256 and x-amz-date, and puts with octet-stream and Content-Length", async () => {
      const rec = recording();
      const blobs = store({ fetch: rec.fetch });
      await blobs.put(`${randomPrefix("hdr")}/k`, new Uint8Array(1234));
      const [request] = rec.requests;
      expect(parseAuthorization(request!.headers.get("authorization")!).signedHeaders).toEqual([
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
      ]);
      expect(request!.method).toBe("PUT");
      expect(request!.headers.get("content-type")).toBe("application/octet-stream");
      expect(request!.headers.get("content-length")).toBe("1234");
    });

    it("signs the session token of temporary credentials", async () => {
      const rec = recording();
      await store({ fetch: rec.fetch, sessionToken: "session/token+value=" }).get(`${randomPrefix("sts")}/k`);
      const [request] = rec.requests;
      expect(request!.headers.get("x-amz-security-token")).toBe("session/token+value=");
      expect(parseAuthorization(request!.headers.get("authorization")!).signedHeaders).toContain(
        "x-amz-security-token",
      );
      const [expected, actual] = await rederive(request!, s3.region, s3.secretAccessKey);
      expect(actual).toBe(expected);
    });

    it("refuses keys a URL cannot carry, before any request", async () => {
      const rec = recording();
      const blobs = store({ fetch: rec.fetch });
      for (const key of ["a/../b", "./a", "a/.", "..", "bad\ud800surrogate"]) {
        const error = await rejection(blobs.get(key));
        expect(error.code, key).toBe("E_BLOB");
      }
      expect(rec.requests).toHaveLength(0);
    });
  });

  describe("s3 specifics: responses", () => {
    it("maps 404 NoSuchKey to null in one request, and a missing bucket to a BlobError", async () => {
      const rec = recording();
      expect(await store({ fetch: rec.fetch }).get(`${randomPrefix("404")}/missing`)).toBeNull();
      expect(rec.requests).toHaveLength(1);
      const noBucket = store({ bucket: `no-such-bucket-${crypto.randomUUID().slice(0, 8)}` });
      // One at a time: started together, a call that rejects while an earlier one is awaited is an
      // unhandled rejection (vitest then fails the whole run).
      for (const call of [() => noBucket.get("k"), () => noBucket.put("k", body("x")), () => noBucket.delete("k")]) {
        const error = await rejection(call());
        expect(error.code).toBe("E_BLOB");
        expect(error.message).toMatch(/HTTP 404 NoSuchBucket/);
      }
    });

    it("reports a real 403 with status, S3's code and message and the fix, never secrets, signatures or URLs", async () => {
      const blobs = store({ accessKeyId: "NOT-A-KNOWN-KEY", secretAccessKey: SECRET });
      const error = await rejection(blobs.put(`${randomPrefix("403")}/k`, body("x")));
      expect(error.code).toBe("E_BLOB");
      expect(error.message).toMatch(
        /^s3 PUT ".*" in bucket ".*" failed: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records\.$/,
      );
      expect((error as BlobError).fix).toBe("check `accessKeyId` (AWS_ACCESS_KEY_ID): S3 does not know this key");
      const everything = `${error.message}\n${error.stack}\n${inspect(error, { depth: 10 })}`;
      for (const forbidden of [SECRET, "Signature", "Credential=", "X-Amz", s3.endpoint, "http://"]) {
        expect(everything).not.toContain(forbidden);
      }
    });

    it("turns a 5xx into a BlobError after exactly one attempt (no hidden retries)", async () => {
      for (
        const [status, code] of [[500, "InternalError"], [503, "SlowDown"], [502, undefined], [429, undefined]] as const
      ) {
        const fault = faulty(() => new Response(code ? xmlError(code) : null, { status }));
        const blobs = s3BlobStore({ ...fake, fetch: fault.fetch });
        for (
          const [name, call] of [
            ["put", () => blobs.put("k", body("x"))],
            ["get", () => blobs.get("k")],
            ["delete", () => blobs.delete("k")],
          ] as const
        ) {
          const started = performance.now();
          const before = fault.calls();
          const error = await rejection(call());
          expect(fault.calls() - before, `${status} ${name}`).toBe(1);
          expect(performance.now() - started).toBeLessThan(500);
          expect(error.code).toBe("E_BLOB");
          expect(error.message).toBe(
            `s3 ${name.toUpperCase()} "k" in bucket "bucket" failed: HTTP ${status}${code ? ` ${code}: m` : ""}`,
          );
          // An outage, not a misconfiguration.
          expect((error as BlobError).fix).toBeUndefined();
        }
      }
    });

    it("keeps S3's code and message of a hostile error body, never its echoed signature, string to sign or key id", async () => {
      const echo =
        "<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20130524T000000Z</StringToSign>" +
        `<SignatureProvided>${"ab".repeat(32)}</SignatureProvided><CanonicalRequest>GET /bucket/k</CanonicalRequest>`;
      const fault = faulty(() => new Response(xmlError("SignatureDoesNotMatch", echo), { status: 403 }));
      const error = await rejection(s3BlobStore({ ...fake, fetch: fault.fetch }).get("k"));
      expect(error.message).toBe('s3 GET "k" in bucket "bucket" failed: HTTP 403 SignatureDoesNotMatch: m');
      // A message that quotes a credential has it masked.
      const quoting = faulty(() =>
        new Response(
          `<Error><Code>AccessDenied</Code><Message>key AKIDEXAMPLE with secret ${SECRET} &amp; more</Message></Error>`,
          { status: 403 },
        )
      );
      const masked = await rejection(s3BlobStore({ ...fake, fetch: quoting.fetch }).get("k"));
      expect(masked.message).toBe(
        's3 GET "k" in bucket "bucket" failed: HTTP 403 AccessDenied: key *** with secret *** & more',
      );
      const everything = `${error.stack}\n${inspect(error, { depth: 10 })}`;
      for (const forbidden of [SECRET, "AKIDEXAMPLE", "ab".repeat(32), "StringToSign", "Authorization", "127.0.0.1"]) {
        expect(everything).not.toContain(forbidden);
      }
    });

    it("reports an unreachable server as a BlobError without secrets", async () => {
      const blobs = s3BlobStore({ ...fake, endpoint: `http://127.0.0.1:${await closedPort()}` });
      const error = await rejection(blobs.get("k"));
      expect(error.code).toBe("E_BLOB");
      expect(error.message).toMatch(
        /^s3 GET "k" in bucket "bucket" failed: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
      );
      expect(`${error.stack}\n${inspect(error, { depth: 10 })}`).not.toContain(SECRET);
    });

    it("rejects with the abort reason when the signal fires while the request hangs", async () => {
      const fault = faulty((request) =>
        new Promise<Response>((_, reject) =>
          request.signal.addEventListener("abort", () => reject(request.signal.reason))
        )
      );
      const controller = new AbortController();
      const reason = new Error("timed out");
      const pending = s3BlobStore({ ...fake, fetch: fault.fetch }).get("k", { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 20);
      const started = performance.now();
      await expect(pending).rejects.toBe(reason);
      expect(performance.now() - started).toBeLessThan(500);
    });

    it("refuses objects over maxObjectBytes (declared length or streamed) without reading them whole", async () => {
      const key = `${randomPrefix("max")}/k`;
      await store().put(key, new Uint8Array(2_000));
      await expect(store({ maxObjectBytes: 1_999 }).get(key)).rejects.toMatchObject({ code: "E_TOO_LARGE" });
      expect((await store({ maxObjectBytes: 2_000 }).get(key))?.byteLength).toBe(2_000);

      let pulls = 0;
      const endless = faulty(() =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulls++;
              controller.enqueue(new Uint8Array(64 * 1024));
            },
          }),
          { status: 200 },
        )
      );
      const blobs = s3BlobStore({ ...fake, fetch: endless.fetch, maxObjectBytes: 1024 * 1024 });
      await expect(blobs.get("k")).rejects.toMatchObject({ code: "E_TOO_LARGE" });
      expect(pulls).toBeLessThan(40);
    });
  });

  describe("s3 specifics: reads bounded by the expected size", () => {
    /** A body that never ends, counting the chunks pulled from it and whether it was cancelled. */
    const endlessBody = (headers: Record<string, string> = {}, maxObjectBytes?: number) => {
      const seen = { pulls: 0, cancelled: false };
      const fault = faulty(() =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              seen.pulls++;
              controller.enqueue(new Uint8Array(64 * 1024));
            },
            cancel() {
              seen.cancelled = true;
            },
          }),
          { status: 200, headers },
        )
      );
      return { seen, blobs: s3BlobStore({ ...fake, fetch: fault.fetch, ...maxObjectBytes ? { maxObjectBytes } : {} }) };
    };

    it("reads no further than the pending allowance until the size is known, then refuses the excess and cancels", async () => {
      const { seen, blobs } = endlessBody();
      let resolveSize: (bytes: number) => void = () => {};
      const pending = blobs.get("k", { expectedBytes: new Promise((resolve) => (resolveSize = resolve)) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      // 64 KiB read and the next chunk in hand; the stream's queue holds at most one more.
      expect(seen.pulls).toBeLessThanOrEqual(3);
      resolveSize(100_000);
      await expect(pending).rejects.toMatchObject({ code: "E_INTEGRITY" });
      expect(seen.pulls).toBeLessThanOrEqual(5);
      expect(seen.cancelled).toBe(true);
    });

    it("cancels a declared Content-Length over the expected size without reading the body", async () => {
      const { seen, blobs } = endlessBody({ "content-length": String(100 * 1024 * 1024) });
      await expect(blobs.get("k", { expectedBytes: Promise.resolve(40_000) })).rejects.toMatchObject({
        code: "E_INTEGRITY",
        message: expect.stringContaining("larger than the 40000 bytes expected"),
      });
      expect(seen.cancelled).toBe(true);
      expect(seen.pulls).toBeLessThanOrEqual(1);
    });

    it("still refuses what passes maxObjectBytes as E_TOO_LARGE when the expected size is larger", async () => {
      const { seen, blobs } = endlessBody({}, 256 * 1024);
      await expect(blobs.get("k", { expectedBytes: Promise.resolve(10 * 1024 * 1024) })).rejects.toMatchObject({
        code: "E_TOO_LARGE",
      });
      expect(seen.cancelled).toBe(true);
      expect(seen.pulls).toBeLessThanOrEqual(7);
    });
  });

  describe("s3 specifics: options", () => {
    const ok = { bucket: "my-bucket", accessKeyId: "AKID", secretAccessKey: SECRET };
    const urlOf = async (options: S3BlobStoreOptions, key = "dir/k+1"): Promise<Request> => {
      const fault = faulty(() => new Response(new Uint8Array(1), { status: 200 }));
      await s3BlobStore({ ...options, fetch: fault.fetch }).get(key);
      return fault.requests[0]!;
    };

    it("addresses AWS virtual-hosted by default, custom endpoints path-style", async () => {
      const aws = await urlOf({ ...ok, region: "eu-west-1" });
      expect(aws.url).toBe("https://my-bucket.s3.eu-west-1.amazonaws.com/dir/k%2B1");
      expect(aws.headers.get("authorization")).toContain("/eu-west-1/s3/aws4_request");
      const minio = await urlOf({ ...ok, endpoint: "http://127.0.0.1:9000" });
      expect(minio.url).toBe("http://127.0.0.1:9000/my-bucket/dir/k%2B1");
      expect(minio.headers.get("authorization")).toContain("/us-east-1/s3/aws4_request");
      const r2 = await urlOf({ ...ok, endpoint: "https://acct.r2.cloudflarestorage.com" });
      expect(r2.url).toBe("https://acct.r2.cloudflarestorage.com/my-bucket/dir/k%2B1");
      expect(r2.headers.get("authorization")).toContain("/auto/s3/aws4_request");
      const proxied = await urlOf({ ...ok, endpoint: "https://gateway.example/s3/", forcePathStyle: false });
      expect(proxied.url).toBe("https://my-bucket.gateway.example/s3/dir/k%2B1");
      const pathAws = await urlOf({ ...ok, region: "us-east-2", forcePathStyle: true });
      expect(pathAws.url).toBe("https://s3.us-east-2.amazonaws.com/my-bucket/dir/k%2B1");
    });

    it.each([
      [{ bucket: undefined }, /bucket is required/],
      [{ bucket: "" }, /bucket is required/],
      [{ bucket: "a/b" }, /bucket "a\/b" is not a valid/],
      [{ bucket: "Upper_Case", endpoint: undefined }, /virtual-hosted/],
      [{ accessKeyId: undefined }, /accessKeyId is required/],
      [{ secretAccessKey: "" }, /secretAccessKey is required/],
      [{ sessionToken: 42 }, /sessionToken/],
      [{ endpoint: "not a url" }, /endpoint must be an absolute/],
      [{ endpoint: "s3.amazonaws.com" }, /endpoint must be an absolute/],
      [{ endpoint: "ftp://host" }, /http or https/],
      [{ endpoint: "https://AKID:hunter2@host" }, /must not contain credentials/],
      [{ endpoint: "https://host/?x-id=1" }, /query or fragment/],
      [{ region: "us east" }, /region/],
      [{ forcePathStyle: "yes" }, /forcePathStyle/],
      [{ fetch: "fetch" }, /fetch must be a function/],
      [{ maxObjectBytes: 0 }, /maxObjectBytes/],
    ])("rejects %j with a ConfigError that keeps the secret out", (bad, pattern) => {
      let error: unknown;
      try {
        s3BlobStore({ ...ok, endpoint: "http://127.0.0.1:9000", ...bad } as never);
      } catch (e) {
        error = e;
      }
      expect(isCacheError(error) && error.code).toBe("E_CONFIG");
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain(SECRET);
      expect((error as Error).message).not.toContain("hunter2");
    });

    it("rejects missing options with a ConfigError", () => {
      expect(() => s3BlobStore(undefined as never)).toThrow(/options are required/);
    });
  });
}
