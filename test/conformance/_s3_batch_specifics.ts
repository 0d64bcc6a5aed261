/**
 * S3 adapter tests of listing and batch deletes beyond the blob contract: requests on the wire
 * (query encoding, Content-MD5, signatures re-derived independently), the fallback to single
 * DELETEs on servers without DeleteObjects, per-key failures, and errors. Fake `fetch` functions
 * only inject answers a real server would not give.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { s3BlobStore } from "../../src/blobs/s3.ts";
import { parseAuthorization, signV4 } from "../../scripts/services/sigv4.ts";
import { randomPrefix } from "../../src/testing/_helpers.ts";
import type { S3Settings } from "./_s3_specifics.ts";

/** Re-derives a bucket request's signature, query included; returns [expected, actual]. */
async function rederiveWithQuery(request: Request, s3: S3Settings): Promise<[string, string]> {
  const auth = parseAuthorization(request.headers.get("authorization") ?? "");
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) headers[name] = name === "host" ? url.host : request.headers.get(name) ?? "";
  // As S3 reads a query: split on & and =, then percent-decode (a "+" is a plus sign).
  const query = Object.fromEntries(
    url.search.slice(1).split("&").filter(Boolean).map((pair) => {
      const [name, value = ""] = pair.split("=");
      return [decodeURIComponent(name!), decodeURIComponent(value)];
    }),
  );
  const { signature } = await signV4({
    method: request.method,
    canonicalUri: url.pathname,
    query,
    headers,
    payloadHash: request.headers.get("x-amz-content-sha256") ?? "",
    amzDate: request.headers.get("x-amz-date") ?? "",
    region: s3.region,
    secretAccessKey: s3.secretAccessKey,
  });
  return [signature, auth.signature];
}

/** Registers the tests; `s3` is the real server's settings. */
export function s3BatchSpecifics(s3: S3Settings): void {
  const body = (text: string): Uint8Array => new TextEncoder().encode(text);
  const fake = { endpoint: "http://127.0.0.1:9", bucket: "bucket", accessKeyId: "AKID", secretAccessKey: "secret" };

  describe("s3 specifics: list and deleteMany on the wire", () => {
    it("lists with one signed GET on the bucket, the prefix and marker encoded as they are signed", async () => {
      const requests: Request[] = [];
      const blobs = s3BlobStore({ ...s3, fetch: (r) => (requests.push(r), fetch(r)) });
      const prefix = `${randomPrefix("wire list")}/a+b c/`;
      for (const name of ["1", "2", "3"]) await blobs.put(`${prefix}${name}`, body(name));
      requests.length = 0;
      const first = await blobs.list!(prefix, { limit: 2 });
      const second = await blobs.list!(prefix, { limit: 2, cursor: first.cursor! });
      expect([...first.objects, ...second.objects].map((o) => o.key)).toStrictEqual(
        ["1", "2", "3"].map((n) => `${prefix}${n}`),
      );
      expect(second.cursor).toBeUndefined();
      expect(requests).toHaveLength(2);
      for (const request of requests) {
        const url = new URL(request.url);
        expect(request.method).toBe("GET");
        expect(url.pathname).toBe(`/${s3.bucket}`);
        expect(decodeURIComponent(/[?&]prefix=([^&]*)/.exec(url.search)![1]!)).toBe(prefix);
        expect(url.search).not.toMatch(/[+ ]/);
        const [expected, actual] = await rederiveWithQuery(request, s3);
        expect(actual).toBe(expected);
      }
      expect(decodeURIComponent(/[?&]marker=([^&]*)/.exec(new URL(requests[1]!.url).search)![1]!)).toBe(
        `${prefix}2`,
      );
    });

    it("batch-deletes with one signed POST ?delete carrying the body's Content-MD5", async () => {
      const requests: { request: Request; body: Uint8Array }[] = [];
      const blobs = s3BlobStore({
        ...s3,
        fetch: async (r) => {
          requests.push({ request: r, body: new Uint8Array(await r.clone().arrayBuffer()) });
          return await fetch(r);
        },
      });
      const prefix = randomPrefix("wire delete");
      const keys = Array.from({ length: 50 }, (_, i) => `${prefix}/k&${i}`);
      for (const key of keys) await blobs.put(key, body("x"));
      requests.length = 0;
      expect((await blobs.deleteMany!(keys)).failed).toStrictEqual([]);
      expect(requests).toHaveLength(1);
      const [{ request, body: sent }] = requests as [(typeof requests)[0]];
      expect(request.method).toBe("POST");
      expect(new URL(request.url).search).toBe("?delete");
      expect(request.headers.get("content-md5")).toBe(createHash("md5").update(sent).digest("base64"));
      expect(parseAuthorization(request.headers.get("authorization")!).signedHeaders).toContain("content-md5");
      const [expected, actual] = await rederiveWithQuery(request, s3);
      expect(actual).toBe(expected);
      for (const key of keys.slice(0, 3)) expect(await blobs.get(key)).toBeNull();
    });

    it("falls back to single DELETEs when the server has no DeleteObjects, and remembers it", async () => {
      let posts = 0;
      let deletes = 0;
      const blobs = s3BlobStore({
        ...s3,
        fetch: (r) => {
          if (r.method === "POST") {
            posts++;
            return Promise.resolve(
              new Response("<Error><Code>NotImplemented</Code></Error>", { status: 501 }),
            );
          }
          if (r.method === "DELETE") deletes++;
          return fetch(r);
        },
      });
      const prefix = randomPrefix("fallback");
      const keys = Array.from({ length: 20 }, (_, i) => `${prefix}/k${i}`);
      for (const key of keys) await blobs.put(key, body("x"));
      expect((await blobs.deleteMany!(keys.slice(0, 10))).failed).toStrictEqual([]);
      expect((await blobs.deleteMany!(keys.slice(10))).failed).toStrictEqual([]);
      expect(posts).toBe(1);
      expect(deletes).toBe(20);
      expect((await blobs.list!(`${prefix}/`)).objects).toStrictEqual([]);
    });

    it("deletes keys XML cannot carry one by one, the others in the batch", async () => {
      const seen: string[] = [];
      const blobs = s3BlobStore({
        ...fake,
        fetch: async (r) => {
          seen.push(`${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`);
          return r.method === "POST"
            ? new Response("<DeleteResult></DeleteResult>", { status: 200 })
            : new Response(null, { status: 204 });
        },
      });
      expect((await blobs.deleteMany!(["p/ok", "p/ctl\u0001"])).failed).toStrictEqual([]);
      expect(seen.sort()).toStrictEqual(["DELETE /bucket/p/ctl%01", "POST /bucket?delete"]);
    });

    it("reports the keys a DeleteObjects result lists as errors, and only keys it was asked for", async () => {
      const result = `<DeleteResult><Error><Key>p/a</Key><Code>AccessDenied</Code></Error>` +
        `<Error><Key>p/not-asked</Key><Code>InternalError</Code></Error></DeleteResult>`;
      const blobs = s3BlobStore({ ...fake, fetch: async () => new Response(result, { status: 200 }) });
      expect(await blobs.deleteMany!(["p/a", "p/b"])).toStrictEqual({ failed: [{ key: "p/a", code: "AccessDenied" }] });
    });

    it("turns 5xx answers, error documents and malformed bodies into BlobErrors naming the operation", async () => {
      const answers: [number, string][] = [
        [503, "<Error><Code>SlowDown</Code></Error>"],
        [400, "<Error><Code>InvalidDigest</Code></Error>"],
        [200, "<html>not S3</html>"],
      ];
      for (const [status, text] of answers) {
        const blobs = s3BlobStore({ ...fake, fetch: async () => new Response(text, { status }) });
        await expect(blobs.list!("p/"), `list ${status}`).rejects.toMatchObject({
          code: "E_BLOB",
          message: expect.stringMatching(/^s3 list/),
        });
        await expect(blobs.deleteMany!(["p/a"]), `deleteMany ${status}`).rejects.toMatchObject({
          code: "E_BLOB",
          message: expect.stringMatching(/^s3 deleteMany/),
        });
      }
      const noBucket = s3BlobStore({ ...s3, bucket: `no-such-bucket-${crypto.randomUUID().slice(0, 8)}` });
      await expect(noBucket.list!("p/")).rejects.toThrow(/HTTP 404 NoSuchBucket/);
      await expect(noBucket.deleteMany!(["p/a"])).rejects.toThrow(/HTTP 404 NoSuchBucket/);
    });
  });
}
