/**
 * The fault injection of the local services, at the wire: each kind of fault (status, reset,
 * truncate, corrupt, unsized, with probability, count and method scoping) on the Upstash bridge and on the
 * S3 proxy, checked with raw requests, and against what Redis and the bucket actually hold.
 * Rules are scoped with `match` on this file's unique prefixes (the services are shared).
 */
import { Buffer } from "node:buffer";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../scripts/_random.ts";
import {
  addFaults,
  type FaultRule,
  faultRules,
  getObject,
  putObject,
  rawRedisGet,
  redisCommand,
  removeFaults,
  requestLog,
  type RequestLogEntry,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();
const { url: bridgeUrl, token } = services.upstash;
const { s3 } = services;
const aws = new AwsClient({ ...s3, service: "s3", retries: 0 });

/** Reads a response body until it ends or fails: the bytes that arrived, and the failure if any. */
async function readAll(response: Response): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Uint8Array[] = [];
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks), error: undefined };
      chunks.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** A raw request to the bridge (counted, faultable); the fetch's own rejection is returned, not thrown. */
async function bridge(path: string, body: unknown): Promise<Response | { failed: unknown }> {
  try {
    return await fetch(`${bridgeUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (failed) {
    return { failed };
  }
}

function objectUrl(key: string): string {
  return `${s3.endpoint}/${s3.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** A signed S3 request through the proxy; the fetch's own rejection is returned, not thrown. */
async function s3Request(key: string, init: RequestInit = {}): Promise<Response | { failed: unknown }> {
  try {
    return await aws.fetch(objectUrl(key), init);
  } catch (failed) {
    return { failed };
  }
}

async function bridgeEntries(prefix: string): Promise<RequestLogEntry[]> {
  return (await requestLog(bridgeUrl, token)).filter((e) => e.keys.some((k) => k.startsWith(prefix)));
}

async function s3Entries(prefix: string): Promise<RequestLogEntry[]> {
  return (await requestLog(s3.endpoint)).filter((e) => e.path.includes(`/${prefix}/`));
}

/** Runs `body` with `rules` added to a service, and removes them (by their common `match`) after. */
async function withFaults(
  service: "bridge" | "s3",
  match: string,
  rules: Omit<FaultRule, "match">[],
  body: () => Promise<void>,
): Promise<void> {
  const [base, auth] = service === "bridge" ? [bridgeUrl, token] : [s3.endpoint, undefined];
  await addFaults(base, rules.map((rule) => ({ match, ...rule })), auth);
  try {
    await body();
  } finally {
    await removeFaults(base, match, auth);
  }
}

/** Log entries settle when the connection closes; give the server a moment after a reset. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A JSON value long enough that half of its response, or its middle byte, is well inside it. */
const longValue = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(20);

describe("bridge faults", () => {
  it("status: answers with the status and a JSON error, without running the command", async () => {
    const p = uniquePrefix("fault-status");
    await withFaults("bridge", p, [{ status: 503 }], async () => {
      const response = await bridge("/", ["SET", `${p}:k`, "v"]) as Response;
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: "ERR injected fault: HTTP 503" });
      const pipeline = await bridge("/pipeline", [["SET", `${p}:k`, "v"]]) as Response;
      expect(pipeline.status).toBe(503);
      await pipeline.arrayBuffer();
      expect(await rawRedisGet(`${p}:k`)).toBeNull();
    });
    const log = await bridgeEntries(p);
    expect(log.map((e) => [e.status, e.faults])).toEqual([[503, ["status"]], [503, ["status"]]]);
  });

  it("reset: the connection dies without an answer, and the command does not run", async () => {
    const p = uniquePrefix("fault-reset");
    await withFaults("bridge", p, [{ reset: true }], async () => {
      const outcome = await bridge("/", ["SET", `${p}:k`, "v"]);
      expect(outcome).toHaveProperty("failed");
      expect(await rawRedisGet(`${p}:k`)).toBeNull();
    });
    await settle();
    const log = await bridgeEntries(p);
    expect(log.map((e) => [e.status, e.aborted, e.faults])).toEqual([[null, true, ["reset"]]]);
  });

  it("truncate: the command runs, the answer declares its full length and stops after N bytes", async () => {
    const p = uniquePrefix("fault-truncate");
    await redisCommand(["SET", `${p}:k`, longValue]);
    const full = Buffer.from(JSON.stringify({ result: longValue }));
    // Both rules match the first request: the first rule's truncation applies; then only the second is left.
    await withFaults("bridge", p, [{ truncate: 10, count: 1 }, { truncate: "half" }], async () => {
      for (const expected of [10, full.length >> 1]) {
        const response = await bridge("/", ["GET", `${p}:k`]) as Response;
        expect(response.status).toBe(200);
        expect(Number(response.headers.get("content-length"))).toBe(full.length);
        const { bytes, error } = await readAll(response);
        expect(error).toBeDefined();
        expect(bytes).toEqual(full.subarray(0, expected));
      }
      // A write whose answer is cut has still happened.
      const write = await bridge("/", ["SET", `${p}:w`, "written"]) as Response;
      expect((await readAll(write)).error).toBeDefined();
      expect(await rawRedisGet(`${p}:w`)).toBe("written");
    });
    await settle();
    const log = await bridgeEntries(p);
    expect(log.map((e) => [e.status, e.aborted, e.faults])).toEqual([
      [200, true, ["truncate"]],
      [200, true, ["truncate"]],
      [200, true, ["truncate"]],
    ]);
  });

  it("corrupt: the full answer, same length, with the lowest bit of the middle byte (or N bytes) flipped", async () => {
    const p = uniquePrefix("fault-corrupt");
    await redisCommand(["SET", `${p}:k`, longValue]);
    const full = Buffer.from(JSON.stringify({ result: longValue }));
    await withFaults("bridge", p, [{ corrupt: true, count: 1 }], async () => {
      const response = await bridge("/", ["GET", `${p}:k`]) as Response;
      const { bytes, error } = await readAll(response);
      expect(error).toBeUndefined();
      expect(bytes.length).toBe(full.length);
      const flipped = [...bytes.keys()].filter((i) => bytes[i] !== full[i]);
      expect(flipped).toEqual([full.length >> 1]);
      expect(bytes[full.length >> 1]).toBe(full[full.length >> 1]! ^ 0x01);
    });
    await withFaults("bridge", p, [{ corrupt: 5, seed: 7, count: 1 }], async () => {
      const bytes = (await readAll(await bridge("/", ["GET", `${p}:k`]) as Response)).bytes;
      const flipped = [...bytes.keys()].filter((i) => bytes[i] !== full[i]);
      expect(flipped.length).toBeGreaterThanOrEqual(1);
      expect(flipped.length).toBeLessThanOrEqual(5);
      for (const i of flipped) expect(bytes[i]).toBe(full[i]! ^ 0x01);
    });
    // Redis still holds the right value: only the answer was altered.
    expect(await rawRedisGet(`${p}:k`)).toBe(longValue);
  });

  it("count: fires on the next N matching requests only, and reports matched / fired / remaining", async () => {
    const p = uniquePrefix("fault-count");
    await withFaults("bridge", p, [{ status: 500, count: 2 }], async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await bridge("/", ["INCR", `${p}:n`]) as Response;
        statuses.push(response.status);
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([500, 500, 200, 200]);
      expect(await rawRedisGet(`${p}:n`)).toBe("2");
      const [rule] = (await faultRules(bridgeUrl, token)).filter((r) => r.match === p);
      expect(rule).toMatchObject({ status: 500, count: 2, matched: 4, fired: 2, remaining: 0 });
    });
  });

  it("probability: fires with the given chance, from the rule's seeded generator (repeatable)", async () => {
    const p = uniquePrefix("fault-prob");
    const rule = { status: 500, probability: 0.3, seed: 42 };
    const expected = (() => {
      const random = mulberry32(42);
      return Array.from({ length: 100 }, () => random() < 0.3);
    })();
    for (let round = 0; round < 2; round++) {
      await withFaults("bridge", p, [rule], async () => {
        const failed: boolean[] = [];
        for (let i = 0; i < 100; i++) {
          const response = await bridge("/", ["GET", `${p}:k`]) as Response;
          failed.push(response.status === 500);
          await response.arrayBuffer();
        }
        // The same rule, added again, meets the same requests the same way.
        expect(failed).toEqual(expected);
      });
    }
    const hits = expected.filter(Boolean).length;
    expect(hits).toBeGreaterThan(15);
    expect(hits).toBeLessThan(45);
  });

  it("scopes rules by match, and leaves unmatched requests and the raw helpers alone", async () => {
    const p = uniquePrefix("fault-scope");
    await withFaults("bridge", `${p}:bad`, [{ status: 500 }], async () => {
      const ok = await bridge("/", ["SET", `${p}:good`, "1"]) as Response;
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      const bad = await bridge("/", ["SET", `${p}:bad`, "1"]) as Response;
      expect(bad.status).toBe(500);
      await bad.arrayBuffer();
      // Uncounted helper requests are neither logged nor faulted.
      expect(await redisCommand(["SET", `${p}:bad`, "raw"])).toBe("OK");
    });
    expect((await bridgeEntries(p)).map((e) => [e.keys[0], e.status])).toEqual([
      [`${p}:good`, 200],
      [`${p}:bad`, 500],
    ]);
  });

  it("rejects invalid rules with a 400 that names the problem", async () => {
    const post = (rules: unknown) =>
      fetch(`${bridgeUrl}/__larder/faults`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ rules }),
      });
    for (
      const [rule, problem] of [
        [{ status: 200 }, /status/],
        [{ probability: 1.5 }, /probability/],
        [{ truncate: "most" }, /truncate/],
        [{ corrupt: 0 }, /corrupt/],
        [{ count: -1 }, /count/],
        [{ latency: 10 }, /unknown field "latency"/],
      ] as const
    ) {
      const response = await post([{ match: "never-matches", ...rule }]);
      expect(response.status).toBe(400);
      expect((await response.json() as { error: string }).error).toMatch(problem);
    }
    expect((await faultRules(bridgeUrl, token)).some((r) => r.match === "never-matches")).toBe(false);
  });
});

describe("S3 proxy faults", () => {
  const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff));

  it("status: answers with an S3 XML error, without forwarding", async () => {
    const p = uniquePrefix("s3fault-status");
    await withFaults("s3", `/${p}/`, [{ status: 503 }], async () => {
      const put = await s3Request(`${p}/a`, { method: "PUT", body }) as Response;
      expect(put.status).toBe(503);
      expect(await put.text()).toMatch(/<Code>SlowDown<\/Code>/);
    });
    expect(await getObject(`${p}/a`)).toBeNull();
    await withFaults("s3", `/${p}/`, [{ status: 500 }], async () => {
      const get = await s3Request(`${p}/a`) as Response;
      expect(get.status).toBe(500);
      expect(await get.text()).toMatch(/<Code>InternalError<\/Code>/);
    });
    expect((await s3Entries(p)).map((e) => [e.method, e.status, e.faults])).toEqual([
      ["PUT", 503, ["status"]],
      ["GET", 500, ["status"]],
    ]);
  });

  it("reset: the connection dies, nothing is forwarded", async () => {
    const p = uniquePrefix("s3fault-reset");
    await withFaults("s3", `/${p}/`, [{ reset: true }], async () => {
      expect(await s3Request(`${p}/a`, { method: "PUT", body })).toHaveProperty("failed");
    });
    expect(await getObject(`${p}/a`)).toBeNull();
    await settle();
    expect((await s3Entries(p)).map((e) => [e.status, e.aborted, e.faults])).toEqual([[null, true, ["reset"]]]);
  });

  it("truncate: forwards, then cuts the body after N bytes or half, with the full Content-Length", async () => {
    const p = uniquePrefix("s3fault-truncate");
    await putObject(`${p}/a`, body);
    await withFaults("s3", `/${p}/`, [{ truncate: 1000, count: 1 }, { truncate: "half" }], async () => {
      for (const expected of [1000, 2048]) {
        const get = await s3Request(`${p}/a`) as Response;
        expect(get.status).toBe(200);
        expect(Number(get.headers.get("content-length"))).toBe(body.length);
        const read = await readAll(get);
        expect(read.error).toBeDefined();
        expect(read.bytes).toEqual(body.subarray(0, expected));
      }
    });
    await settle();
    expect((await s3Entries(p)).map((e) => [e.status, e.aborted, e.faults])).toEqual([
      [200, true, ["truncate"]],
      [200, true, ["truncate"]],
    ]);
  });

  it("truncate with an empty answer (a PUT's): forwarded and stored, but the answer is lost", async () => {
    const p = uniquePrefix("s3fault-lost");
    await withFaults("s3", `/${p}/`, [{ method: "PUT", truncate: "half" }], async () => {
      expect(await s3Request(`${p}/a`, { method: "PUT", body })).toHaveProperty("failed");
    });
    expect(await getObject(`${p}/a`)).toEqual(new Uint8Array(body));
    await settle();
    expect((await s3Entries(p)).map((e) => [e.status, e.aborted, e.faults])).toEqual([[null, true, ["truncate"]]]);
  });

  it("corrupt: forwards, and flips bytes of the body (same status and length)", async () => {
    const p = uniquePrefix("s3fault-corrupt");
    await putObject(`${p}/a`, body);
    await withFaults("s3", `/${p}/`, [{ corrupt: true, count: 1 }, { corrupt: 3, seed: 1, count: 1 }], async () => {
      const middle = await readAll(await s3Request(`${p}/a`) as Response);
      // Both rules fired on the first GET: the middle byte and up to 3 drawn ones.
      expect(middle.error).toBeUndefined();
      expect(middle.bytes.length).toBe(body.length);
      const flipped = [...middle.bytes.keys()].filter((i) => middle.bytes[i] !== body[i]);
      expect(flipped).toContain(body.length >> 1);
      expect(flipped.length).toBeLessThanOrEqual(4);
      for (const i of flipped) expect(middle.bytes[i]).toBe(body[i]! ^ 0x01);
      // Both budgets are spent: the next GET is intact.
      expect((await readAll(await s3Request(`${p}/a`) as Response)).bytes).toEqual(body);
    });
    expect(await getObject(`${p}/a`)).toEqual(new Uint8Array(body));
  });

  it("unsized: forwards the whole body, chunked, without Content-Length", async () => {
    const p = uniquePrefix("s3fault-unsized");
    await putObject(`${p}/a`, body);
    await withFaults("s3", `/${p}/`, [{ method: "GET", unsized: true, count: 1 }], async () => {
      const get = await s3Request(`${p}/a`) as Response;
      expect(get.status).toBe(200);
      expect(get.headers.get("content-length")).toBeNull();
      expect(get.headers.get("transfer-encoding")).toBe("chunked");
      const read = await readAll(get);
      expect(read.error).toBeUndefined();
      expect(read.bytes).toEqual(body);
      // The budget is spent: the next GET declares its length again.
      const next = await s3Request(`${p}/a`) as Response;
      expect(Number(next.headers.get("content-length"))).toBe(body.length);
      await next.arrayBuffer();
    });
    await settle();
    expect((await s3Entries(p)).map((e) => [e.status, e.aborted, e.faults])).toEqual([
      [200, false, ["unsized"]],
      [200, false, []],
    ]);
  });

  it("scopes by method: a GET-only rule leaves PUTs alone", async () => {
    const p = uniquePrefix("s3fault-method");
    await withFaults("s3", `/${p}/`, [{ method: "GET", status: 500 }], async () => {
      const put = await s3Request(`${p}/a`, { method: "PUT", body }) as Response;
      expect(put.status).toBe(200);
      await put.arrayBuffer();
      const get = await s3Request(`${p}/a`) as Response;
      expect(get.status).toBe(500);
      await get.arrayBuffer();
    });
    expect(await getObject(`${p}/a`)).toEqual(new Uint8Array(body));
  });

  it("probability and count together: fires with the seeded chance, at most count times", async () => {
    const p = uniquePrefix("s3fault-prob");
    await putObject(`${p}/a`, body);
    await withFaults("s3", `/${p}/`, [{ status: 500, probability: 0.5, seed: 3, count: 4 }], async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const get = await s3Request(`${p}/a`) as Response;
        statuses.push(get.status);
        await get.arrayBuffer();
      }
      const random = mulberry32(3);
      let left = 4;
      const expected = statuses.map(() => (left > 0 && random() < 0.5 ? (left--, 500) : 200));
      expect(statuses).toEqual(expected);
      expect(statuses.filter((s) => s === 500)).toHaveLength(4);
      const [rule] = (await faultRules(s3.endpoint)).filter((r) => r.match === `/${p}/`);
      expect(rule).toMatchObject({ matched: 30, fired: 4, remaining: 0 });
    });
  });
});
