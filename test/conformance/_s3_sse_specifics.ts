/**
 * S3 server-side encryption (`s3BlobStore({ sse })`): the `x-amz-server-side-encryption*`
 * headers are on every PUT as sent on the wire (seen by a capturing HTTP server in front of the
 * S3 server), signed (the signature re-derived independently includes them), absent from other
 * requests, accepted by the S3 server; malformed options are a ConfigError. The local S3 server
 * (s3rver) does not encrypt anything: these tests prove the requests, not the encryption.
 *
 * @module
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { isCacheError } from "../../src/core/errors.ts";
import { parseAuthorization } from "../../scripts/services/sigv4.ts";
import { randomPrefix } from "../../src/testing/_helpers.ts";
import { rederive, type S3Settings } from "./_s3_specifics.ts";

/** A request as it arrived at the capturing server: method, path and raw header lines. */
interface Captured {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly [string, string][];
}

/** An HTTP server that records each request's raw headers and forwards it, unchanged, to `target`. */
async function capturingProxy(target: URL): Promise<{ url: string; requests: Captured[]; close(): Promise<void> }> {
  const requests: Captured[] = [];
  const server = http.createServer((req, res) => {
    const raw = req.rawHeaders;
    const headers: [string, string][] = [];
    for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers });
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Registers the server-side encryption tests; `s3` is the real server's settings. */
export function s3SseSpecifics(s3: S3Settings): void {
  describe("s3 specifics: server-side encryption (sse)", () => {
    let capture: Awaited<ReturnType<typeof capturingProxy>>;
    beforeAll(async () => {
      capture = await capturingProxy(new URL(s3.endpoint));
    });
    afterAll(async () => {
      await capture?.close();
    });

    const sseHeaders = (request: Captured): [string, string][] =>
      request.headers.filter(([name]) => name.startsWith("x-amz-server-side-encryption"));

    const cases = [
      {
        label: "SSE-S3",
        sse: { type: "AES256" } as const,
        expected: [["x-amz-server-side-encryption", "AES256"]],
      },
      {
        label: "SSE-KMS with the default key",
        sse: { type: "aws:kms" } as const,
        expected: [["x-amz-server-side-encryption", "aws:kms"]],
      },
      {
        label: "SSE-KMS with a key, a context and the bucket key",
        sse: {
          type: "aws:kms",
          keyId: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          context: { app: "larder", tenant: "é" },
          bucketKey: true,
        } as const,
        expected: [
          ["x-amz-server-side-encryption", "aws:kms"],
          [
            "x-amz-server-side-encryption-aws-kms-key-id",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          ],
          ["x-amz-server-side-encryption-bucket-key-enabled", "true"],
          // base64 of the UTF-8 JSON {"app":"larder","tenant":"é"}
          ["x-amz-server-side-encryption-context", "eyJhcHAiOiJsYXJkZXIiLCJ0ZW5hbnQiOiLDqSJ9"],
        ],
      },
    ];

    for (const { label, sse, expected } of cases) {
      it(`${label}: the headers go, signed, on every PUT and on nothing else; the server accepts them`, async () => {
        const signed: Request[] = [];
        const blobs = s3BlobStore({
          ...s3,
          endpoint: capture.url,
          sse,
          fetch: (request) => (signed.push(request.clone()), fetch(request)),
        });
        const prefix = randomPrefix("sse");
        const key = `${prefix}/object`;
        const before = capture.requests.length;
        await blobs.put(key, new TextEncoder().encode("encrypted at rest, in theory"));
        expect(new TextDecoder().decode((await blobs.get(key))!)).toBe("encrypted at rest, in theory");
        await blobs.list!(`${prefix}/`);
        await blobs.delete(key);
        const seen = capture.requests.slice(before);
        expect(seen.map((r) => r.method)).toStrictEqual(["PUT", "GET", "GET", "DELETE"]);
        // On the wire: exactly these headers on the PUT, none elsewhere.
        expect(sseHeaders(seen[0]!).sort()).toStrictEqual([...expected].map(([n, v]) => [n, v]).sort());
        for (const other of seen.slice(1)) expect(sseHeaders(other), other.method).toStrictEqual([]);
        // Signed: each is in SignedHeaders, and the signature re-derived over them matches.
        const put = signed[0]!;
        const names = parseAuthorization(put.headers.get("authorization")!).signedHeaders;
        for (const [name] of expected) expect(names).toContain(name);
        const [again, actual] = await rederive(put, s3.region, s3.secretAccessKey);
        expect(actual).toBe(again);
      });
    }

    it("decodes the context header to the context given", () => {
      const value = "eyJhcHAiOiJsYXJkZXIiLCJ0ZW5hbnQiOiLDqSJ9";
      expect(JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)))))
        .toStrictEqual({ app: "larder", tenant: "é" });
    });

    it.each([
      ["a string", "AES256"],
      ["null", null],
      ["an unknown type", { type: "aes256" }],
      ["SSE-C", { type: "SSE-C" }],
      ["dual-layer KMS", { type: "aws:kms:dsse" }],
      ["a key with SSE-S3", { type: "AES256", keyId: "k" }],
      ["a misspelt option", { type: "aws:kms", keyID: "k" }],
      ["an empty key", { type: "aws:kms", keyId: "" }],
      ["a key with a line break", { type: "aws:kms", keyId: "k\nx-evil: 1" }],
      ["a context of numbers", { type: "aws:kms", context: { a: 1 } }],
      ["an empty context", { type: "aws:kms", context: {} }],
      ["a context array", { type: "aws:kms", context: ["a"] }],
      ["a bucketKey string", { type: "aws:kms", bucketKey: "yes" }],
    ])("rejects %s as sse with a ConfigError naming sse", (_label, sse) => {
      let error: unknown;
      try {
        s3BlobStore({ ...s3, sse: sse as never });
      } catch (e) {
        error = e;
      }
      expect(isCacheError(error) && error.code).toBe("E_CONFIG");
      // The one options checker names a misspelt option `unknown option "sse.keyID"`.
      expect((error as Error).message).toMatch(/^s3BlobStore: (sse\b|unknown option "sse\.)/);
    });
  });
}
