/**
 * The S3 side of the local services: s3rver behind the counting proxy, and the raw bucket helpers.
 * Requests are signed with aws4fetch like the blob adapter's; the log is filtered on this file's
 * key prefix because suites share the proxy. The proxy verifies signatures (s3rver does not): a
 * request AWS would refuse is refused here with AWS's status, code and message.
 */
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  addFaults,
  deleteObject,
  getObject,
  listObjects,
  putObject,
  removeFaults,
  requestLog,
  type RequestLogEntry,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";

const { s3 } = requireServices();
const aws = new AwsClient({ ...s3, service: "s3", retries: 0 });
const objectUrl = (key: string): string =>
  `${s3.endpoint}/${s3.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

async function entriesFor(prefix: string): Promise<RequestLogEntry[]> {
  return (await requestLog(s3.endpoint)).filter((entry) => entry.path.includes(encodeURIComponent(prefix)));
}

describe("S3 through the counting proxy", () => {
  it("puts, gets, lists and deletes objects, and logs each request", async () => {
    const p = uniquePrefix("s3-basic");
    const body = new TextEncoder().encode("hello ☃");
    const put = await aws.fetch(objectUrl(`${p}/a+b c.bin`), { method: "PUT", body });
    expect(put.status).toBe(200);
    const get = await aws.fetch(objectUrl(`${p}/a+b c.bin`));
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(body);
    const missing = await aws.fetch(objectUrl(`${p}/missing`));
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();

    // The helpers see the same bucket, and are not logged.
    expect(await listObjects(`${p}/`)).toEqual([`${p}/a+b c.bin`]);
    expect(await getObject(`${p}/a+b c.bin`)).toEqual(body);
    expect(await getObject(`${p}/missing`)).toBeNull();

    const log = await entriesFor(p);
    expect(log.map((e) => [e.method, e.status])).toEqual([["PUT", 200], ["GET", 200], ["GET", 404]]);
    expect(log[0]!.requestBytes).toBe(body.length);
    expect(log[1]!.responseBytes).toBe(body.length);
    for (const entry of log) expect(entry.endMs).toBeGreaterThanOrEqual(entry.startMs);

    await deleteObject(`${p}/a+b c.bin`);
    expect(await listObjects(`${p}/`)).toEqual([]);
    expect(await entriesFor(p)).toHaveLength(3);
  });

  it("forwards large bodies byte for byte, both ways", async () => {
    const p = uniquePrefix("s3-large");
    const body = new Uint8Array(24 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 65_536) crypto.getRandomValues(body.subarray(i, i + 65_536));
    const put = await aws.fetch(objectUrl(`${p}/big`), { method: "PUT", body });
    expect(put.status).toBe(200);
    await put.arrayBuffer();
    const get = await aws.fetch(objectUrl(`${p}/big`));
    const read = new Uint8Array(await get.arrayBuffer());
    expect(read.length).toBe(body.length);
    const digest = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
    expect(digest(read)).toBe(digest(body));
    const log = await entriesFor(p);
    expect(log.map((e) => [e.method, e.requestBytes, e.responseBytes])).toEqual([
      ["PUT", body.length, 0],
      ["GET", 0, body.length],
    ]);
    await deleteObject(`${p}/big`);
  }, 60_000);

  it("lists objects and plants raw ones without being logged", async () => {
    const p = uniquePrefix("s3-list");
    // Many concurrent PUTs and DELETEs under one prefix (s3rver's own cleanup used to race: 500s).
    const keys = Array.from({ length: 40 }, (_, i) => `${p}/k${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((key, i) => putObject(key, new Uint8Array([i]))));
    expect(await listObjects(`${p}/`)).toEqual(keys);
    expect(await getObject(keys[5]!)).toEqual(new Uint8Array([5]));
    expect(await entriesFor(p)).toEqual([]);
    await Promise.all(keys.map((key) => deleteObject(key)));
    expect(await listObjects(`${p}/`)).toEqual([]);
  });

  describe("checks SigV4 signatures as S3 does (s3rver alone accepts anything)", () => {
    const key = (p: string): string => objectUrl(`${p}/signed`);
    const refusal = async (response: Response): Promise<[number, string, string]> => {
      const xml = await response.text();
      return [
        response.status,
        /<Code>(.*?)<\/Code>/.exec(xml)?.[1] ?? "",
        /<Message>(.*?)<\/Message>/.exec(xml)?.[1] ?? "",
      ];
    };

    it("runs on a region other than S3's default", () => {
      expect(s3.region).toBe("eu-central-1");
    });

    it("refuses a request signed for another region: 400 AuthorizationHeaderMalformed naming the right one", async () => {
      const p = uniquePrefix("s3-region");
      const wrong = new AwsClient({ ...s3, region: "us-east-1", service: "s3", retries: 0 });
      const response = await wrong.fetch(key(p), { method: "PUT", body: "x" });
      expect(await refusal(response)).toEqual([
        400,
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'",
      ]);
      expect(await getObject(`${p}/signed`)).toBeNull();
    });

    it("refuses a wrong secret (403 SignatureDoesNotMatch, echoing the string to sign as S3 does) and an unknown key id", async () => {
      const p = uniquePrefix("s3-secret");
      const badSecret = new AwsClient({ ...s3, secretAccessKey: "not-the-secret", service: "s3", retries: 0 });
      const response = await badSecret.fetch(key(p), { method: "PUT", body: "x" });
      const xml = await response.clone().text();
      expect((await refusal(response)).slice(0, 2)).toEqual([403, "SignatureDoesNotMatch"]);
      expect(xml).toContain("<StringToSign>AWS4-HMAC-SHA256");
      expect(xml).toContain("<CanonicalRequest>PUT");
      const badKey = new AwsClient({ ...s3, accessKeyId: "AKIDNOTKNOWN", service: "s3", retries: 0 });
      expect(await refusal(await badKey.fetch(key(p)))).toEqual([
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
      ]);
      expect(await getObject(`${p}/signed`)).toBeNull();
    });

    it("refuses an unsigned request, and a raw + that aws4fetch signs as a space (DESIGN.md)", async () => {
      const p = uniquePrefix("s3-unsigned");
      expect((await refusal(await fetch(key(p)))).slice(0, 2)).toEqual([403, "AccessDenied"]);
      const raw = await aws.fetch(`${s3.endpoint}/${s3.bucket}/${p}/a+b`, { method: "PUT", body: "x" });
      expect((await refusal(raw)).slice(0, 2)).toEqual([403, "SignatureDoesNotMatch"]);
      // The same key encoded (%2B) is signed as a plus, and accepted.
      const encoded = await aws.fetch(objectUrl(`${p}/a+b`), { method: "PUT", body: "x" });
      expect(encoded.status).toBe(200);
      await deleteObject(`${p}/a+b`);
    });

    it("logs refused requests with their status", async () => {
      const p = uniquePrefix("s3-refused-log");
      const wrong = new AwsClient({ ...s3, region: "us-west-2", service: "s3", retries: 0 });
      await (await wrong.fetch(key(p))).arrayBuffer();
      expect((await entriesFor(p)).map((e) => [e.method, e.status])).toEqual([["GET", 400]]);
    });
  });

  it("adds latency from a fault rule scoped to a key prefix", async () => {
    const p = uniquePrefix("s3-slow");
    await putObject(`${p}/x`, new Uint8Array([1]));
    await addFaults(s3.endpoint, [{ match: `${p}/slow`, latencyMs: 200 }]);
    try {
      let started = performance.now();
      await (await aws.fetch(objectUrl(`${p}/x`))).arrayBuffer();
      expect(performance.now() - started).toBeLessThan(200);
      started = performance.now();
      const slow = await aws.fetch(objectUrl(`${p}/slow`));
      await slow.arrayBuffer();
      expect(slow.status).toBe(404);
      expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    } finally {
      await removeFaults(s3.endpoint, `${p}/slow`);
      await deleteObject(`${p}/x`);
    }
  });
});
