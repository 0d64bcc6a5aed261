/**
 * The Upstash metadata store adapter against the bridge and a real redis-server: every op type,
 * one HTTP request per batch, TTL in the same command, abort through the signal, and errors. The
 * protocol details the bridge does not exercise (the raw request, the read-your-writes sync token,
 * malformed replies, an abort mid-body) are checked against small HTTP servers of the test's own.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bridge, startBridge } from "../../scripts/services/bridge.ts";
import { ConfigError, isCacheError, StoreError } from "../../src/core/errors.ts";
import type { StoreOp } from "../../src/core/types.ts";
import { upstashStore } from "../../src/stores/upstash.ts";
import {
  rawRedisGet,
  rawRedisPttl,
  redisCommand,
  requestLog,
  type RequestLogEntry,
  requireServices,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();
const { url, token } = services.upstash;
const store = upstashStore({ url, token });

async function entriesFor(prefix: string, base = url, auth = token): Promise<RequestLogEntry[]> {
  return (await requestLog(base, auth)).filter((entry) => entry.keys.some((key) => key.startsWith(prefix)));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("upstashStore", () => {
  it("is named upstash and answers an empty batch without a request", async () => {
    expect(store.name).toBe("upstash");
    expect(await store.run([])).toEqual([]);
  });

  it("runs each op type with the documented result types", async () => {
    const p = uniquePrefix("store-ops");
    const k = `${p}:k`;
    expect(await store.run([{ type: "get", key: k }])).toEqual([null]);
    expect(await store.run([{ type: "exists", key: k }])).toEqual([false]);
    expect(await store.run([{ type: "set", key: k, value: "v1", ttlMs: 60_000 }])).toEqual([true]);
    expect(await store.run([{ type: "get", key: k }])).toEqual(["v1"]);
    expect(await store.run([{ type: "exists", key: k }])).toEqual([true]);
    // ifAbsent on an existing key: not written, reported false.
    expect(await store.run([{ type: "set", key: k, value: "v2", ttlMs: 60_000, ifAbsent: true }])).toEqual([false]);
    expect(await rawRedisGet(k)).toBe("v1");
    expect(await store.run([{ type: "del", key: k }])).toEqual([1]);
    expect(await store.run([{ type: "del", key: k }])).toEqual([0]);
    expect(await store.run([{ type: "set", key: k, value: "v3", ttlMs: 60_000, ifAbsent: true }])).toEqual([true]);
    expect(await rawRedisGet(k)).toBe("v3");
  });

  it("stores values verbatim: unicode, JSON text, digits, empty, ~1 MB", async () => {
    const p = uniquePrefix("store-values");
    const values = ["héllo ☃ 🎉 日本語", '{"v":1,"p":"AAEC"}', "12345", "", "true", "null", "x".repeat(1_000_000)];
    const ops: StoreOp[] = values.map((value, i) => ({ type: "set", key: `${p}:${i}`, value, ttlMs: 60_000 }));
    expect(await store.run(ops)).toEqual(values.map(() => true));
    const read = await store.run(values.map((_, i) => ({ type: "get", key: `${p}:${i}` })));
    expect(read).toEqual(values);
    expect(await rawRedisGet(`${p}:0`)).toBe(values[0]);
  });

  it("executes a whole batch in exactly one HTTP request, in order", async () => {
    const p = uniquePrefix("store-batch");
    const ops: StoreOp[] = [
      { type: "set", key: `${p}:a`, value: "A", ttlMs: 60_000 },
      { type: "set", key: `${p}:b`, value: "B", ttlMs: 60_000, ifAbsent: true },
      { type: "get", key: `${p}:a` },
      { type: "exists", key: `${p}:b` },
      { type: "del", key: `${p}:a` },
      { type: "get", key: `${p}:a` },
      { type: "set", key: `${p}:b`, value: "B2", ttlMs: 60_000, ifAbsent: true },
    ];
    expect(await store.run(ops)).toEqual([true, true, "A", true, 1, null, false]);
    const log = await entriesFor(p);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      method: "POST",
      path: "/pipeline",
      status: 200,
      commands: ["SET", "SET", "GET", "EXISTS", "DEL", "GET", "SET"],
    });
  });

  it("sets the TTL in the same SET command", async () => {
    const p = uniquePrefix("store-ttl");
    await store.run([{ type: "set", key: `${p}:long`, value: "v", ttlMs: 60_000 }]);
    const pttl = await rawRedisPttl(`${p}:long`);
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    const log = await entriesFor(p);
    expect(log.map((e) => e.commands)).toEqual([["SET"]]); // no separate PEXPIRE

    await store.run([{ type: "set", key: `${p}:short`, value: "v", ttlMs: 150, ifAbsent: true }]);
    expect(await rawRedisPttl(`${p}:short`)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.run([{ type: "get", key: `${p}:short` }])).toEqual([null]);
  });

  it("reads by EVALSHA against the bridge, and keeps working after SCRIPT FLUSH with one extra request", async () => {
    const p = uniquePrefix("store-evalsha");
    const fresh = upstashStore({ url, token });
    const read: StoreOp = { type: "read", key: `${p}:e:{h}`, gens: [`${p}:v:all`], token: "tk" };
    const commandsOf = async () => (await entriesFor(p)).map((entry) => entry.commands.join(","));
    await fresh.run([read]);
    await fresh.run([read]);
    expect(await commandsOf()).toEqual(["EVAL", "EVALSHA"]);
    await redisCommand(["SCRIPT", "FLUSH"]);
    const [result] = await fresh.run([read]);
    expect(result).toMatchObject({ value: null, lease: "none" });
    await fresh.run([read]);
    expect(await commandsOf()).toEqual(["EVAL", "EVALSHA", "EVALSHA", "EVAL", "EVALSHA"]);
  });

  it("turns a Redis error into a StoreError naming the backend and the op", async () => {
    const p = uniquePrefix("store-wrongtype");
    await redisCommand(["LPUSH", `${p}:list`, "x"]);
    const error = await rejection(store.run([{ type: "get", key: `${p}:list` }]));
    expect(error).toBeInstanceOf(StoreError);
    expect(isCacheError(error) && error.code).toBe("E_STORE");
    expect((error as Error).message).toMatch(/^upstash get failed: WRONGTYPE/);
    // A batch with one failing op reports no results at all.
    const batch = await rejection(
      store.run([{ type: "set", key: `${p}:ok`, value: "1", ttlMs: 1000 }, { type: "get", key: `${p}:list` }]),
    );
    expect(batch).toBeInstanceOf(StoreError);
    // Invalid TTLs are Redis' to reject.
    const ttl = await rejection(store.run([{ type: "set", key: `${p}:t`, value: "1", ttlMs: 0 }]));
    expect(ttl).toBeInstanceOf(StoreError);
    expect((ttl as Error).message).toMatch(/invalid expire time/);
  });

  it("turns HTTP failures into StoreErrors that never contain the token or the values", async () => {
    const p = uniquePrefix("store-http");
    const secret = "WRONG-TOKEN-must-not-leak-1234567890";
    const value = `payload-must-not-leak-${p}`;
    const wrong = upstashStore({ url, token: secret });
    const unauthorized = await rejection(wrong.run([{ type: "set", key: `${p}:k`, value, ttlMs: 1000 }]));
    expect(unauthorized).toBeInstanceOf(StoreError);
    const message = (unauthorized as Error).message;
    expect(message).toMatch(/^upstash run \[set\] failed: .*Unauthorized/);
    expect(message).not.toContain(secret);
    expect(message).not.toContain(value);
    expect(message).not.toContain(token);
    expect((unauthorized as StoreError).cause).toBeInstanceOf(Error);
    // What a logger prints (message, stack and cause chain) holds neither the token nor the values.
    const printed = inspect(unauthorized, { depth: 10 });
    expect(printed).toContain("Unauthorized");
    expect(printed).not.toContain(value);
    expect(printed).not.toContain(secret);
    expect(await rawRedisGet(`${p}:k`)).toBeNull();
    // Exactly one attempt: no hidden retries.
    expect(await entriesFor(p)).toHaveLength(1);

    // A server that drops every connection: a network error, a StoreError, after ONE attempt
    // (@upstash/redis retries network errors 5 times by default, and twice with `retry: false`).
    let connections = 0;
    const dropper = http.createServer();
    dropper.on("connection", (socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = dropper.address() as AddressInfo;
      const down = upstashStore({ url: `http://127.0.0.1:${port}`, token: secret });
      const refused = await rejection(down.run([{ type: "get", key: `${p}:k` }]));
      expect(refused).toBeInstanceOf(StoreError);
      expect((refused as Error).message).toMatch(/^upstash run \[get\] failed/);
      expect((refused as Error).message).not.toContain(secret);
      expect(connections).toBe(1);
    } finally {
      dropper.close();
    }
  });

  it("validates its options with ConfigErrors", () => {
    const bad: unknown[] = [
      undefined,
      {},
      { url: "", token: "t" },
      { url: "not a url", token: "t" },
      { url: "ftp://example.com", token: "t" },
      { url: "https://user:pass@example.com", token: "t" },
      { url: "https://example.com" },
      { url: "https://example.com", token: "" },
      { url: "https://example.com", token: "has space" },
    ];
    for (const options of bad) {
      expect(() => upstashStore(options as never), JSON.stringify(options)).toThrow(ConfigError);
    }
    expect(() => upstashStore({ url: "https://example.com/", token: "t" })).not.toThrow();
  });
});

describe("upstashStore abort", () => {
  let bridge: Bridge;
  const privateToken = "abort-token";
  beforeAll(async () => {
    const redisUrl = new URL(services.redisUrl);
    bridge = await startBridge({
      redis: { host: redisUrl.hostname, port: Number(redisUrl.port) },
      token: privateToken,
    });
    await fetch(`${bridge.url}/__larder/faults`, {
      method: "PUT",
      headers: { authorization: `Bearer ${privateToken}` },
      body: JSON.stringify({ rules: [{ match: ":slow", latencyMs: 3_000 }] }),
    });
  });
  afterAll(async () => {
    await bridge?.stop();
  });

  it("does not send anything when the signal is already aborted", async () => {
    const p = uniquePrefix("store-preabort");
    const slowStore = upstashStore({ url: bridge.url, token: privateToken });
    const reason = new Error("already aborted");
    const error = await rejection(
      slowStore.run([{ type: "get", key: `${p}:k` }], { signal: AbortSignal.abort(reason) }),
    );
    expect(error).toBe(reason);
    expect(await entriesFor(p, bridge.url, privateToken)).toEqual([]);
  });

  it("aborts the HTTP request in flight and rejects with the signal's reason", async () => {
    const p = uniquePrefix("store-abort");
    const slowStore = upstashStore({ url: bridge.url, token: privateToken });
    const controller = new AbortController();
    const reason = new Error("deadline");
    const started = performance.now();
    setTimeout(() => controller.abort(reason), 100);
    const error = await rejection(slowStore.run([{ type: "get", key: `${p}:slow` }], { signal: controller.signal }));
    const elapsed = performance.now() - started;
    expect(error).toBe(reason);
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    // The server saw the client go away before it answered.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const log = await entriesFor(p, bridge.url, privateToken);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ aborted: true, status: null });
    expect(log[0]!.endMs! - log[0]!.startMs).toBeLessThan(1_000);

    // The same store still works afterwards, and an unaborted signal changes nothing.
    const fast = await slowStore.run([{ type: "get", key: `${p}:fast` }], { signal: new AbortController().signal });
    expect(fast).toEqual([null]);
  });
});

/** A local HTTP server that records each request and answers with `answer` (a real server, canned replies). */
async function recordingServer(
  answer: (request: RecordedRequest, res: http.ServerResponse) => void,
): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A pipeline answer: `results` as `{result}` items, and the headers given. */
function reply(res: http.ServerResponse, results: unknown[], headers: Record<string, string> = {}): void {
  res.writeHead(200, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(results.map((result) => ({ result }))));
}

describe("upstashStore on the wire", () => {
  it("sends one POST /pipeline with the Bearer token and the commands as JSON, a script by EVAL with its source the first time", async () => {
    const server = await recordingServer((request, res) => reply(res, JSON.parse(request.body).map(() => null)));
    try {
      const direct = upstashStore({ url: `${server.url}/`, token: "tok-123" });
      await direct.run([
        { type: "get", key: "k" },
        { type: "set", key: "k", value: "v", ttlMs: 1500, ifAbsent: true },
        { type: "releaseLease", key: "lease", token: "owner" },
      ]).catch(() => {}); // canned nulls are not valid for every op; the request is what is checked
      expect(server.requests).toHaveLength(1);
      const [request] = server.requests;
      expect(request).toMatchObject({ method: "POST", path: "/pipeline" });
      expect(request!.headers.authorization).toBe("Bearer tok-123");
      expect(request!.headers["content-type"]).toBe("application/json");
      // Plain JSON strings back: base64 would add a third to every response.
      expect(request!.headers["upstash-encoding"]).toBeUndefined();
      const commands = JSON.parse(request!.body) as unknown[][];
      expect(commands[0]).toEqual(["GET", "k"]);
      expect(commands[1]).toEqual(["SET", "k", "v", "PX", 1500, "NX"]);
      expect(commands[2]![0]).toBe("EVAL");
      expect(commands[2]![1]).toMatch(/redis\.call/);
      expect(commands[2]!.slice(2)).toEqual([1, "lease", "owner"]);
    } finally {
      await server.close();
    }
  });

  it("sends a script by EVALSHA once it has run, and re-sends it by EVAL once when the server answers NOSCRIPT", async () => {
    let forget = false;
    const server = await recordingServer((request, res) => {
      const commands = JSON.parse(request.body) as unknown[][];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          commands.map((command) =>
            command[0] === "EVALSHA" && forget
              ? { error: "NOSCRIPT No matching script. Please use EVAL." }
              : { result: command[0] === "GET" ? "v" : 1 }
          ),
        ),
      );
    });
    try {
      const direct = upstashStore({ url: server.url, token: "t" });
      const batch: StoreOp[] = [{ type: "get", key: "k" }, { type: "releaseLease", key: "lease", token: "owner" }];
      expect(await direct.run(batch)).toEqual(["v", true]);
      expect(await direct.run(batch)).toEqual(["v", true]);
      forget = true; // the server lost its scripts (SCRIPT FLUSH, a restart, a failover)
      expect(await direct.run(batch)).toEqual(["v", true]);
      forget = false;
      expect(await direct.run(batch)).toEqual(["v", true]);
      const sent = server.requests.map((r) => (JSON.parse(r.body) as unknown[][]).map((c) => c[0]));
      expect(sent).toEqual([
        ["GET", "EVAL"],
        ["GET", "EVALSHA"],
        ["GET", "EVALSHA"],
        ["EVAL"], // only the script that did not run, in a second request
        ["GET", "EVALSHA"],
      ]);
      const evalsha = JSON.parse(server.requests[1]!.body)[1] as unknown[];
      const source = JSON.parse(server.requests[0]!.body)[1][1] as string;
      const sha1 = createHash("sha1").update(source).digest("hex");
      expect(evalsha).toEqual(["EVALSHA", sha1, 1, "lease", "owner"]);
    } finally {
      await server.close();
    }
  });

  it("read-your-writes: sends the sync token of the last successful response, and none when turned off", async () => {
    let next = 0;
    const server = await recordingServer((request, res) => {
      const n = next++;
      if (n === 2) {
        res.writeHead(500, { "content-type": "application/json", "upstash-sync-token": "from-an-error" });
        res.end(JSON.stringify({ error: "ERR boom" }));
        return;
      }
      // The fourth answer carries no token: as @upstash/redis, the next request sends an empty one.
      reply(res, JSON.parse(request.body).map(() => "v"), n === 3 ? {} : { "upstash-sync-token": `sync-${n}` });
    });
    try {
      const store = upstashStore({ url: server.url, token: "t" });
      for (let i = 0; i < 5; i++) await store.run([{ type: "get", key: "k" }]).catch(() => {});
      expect(server.requests.map((r) => r.headers["upstash-sync-token"])).toEqual([
        "",
        "sync-0",
        "sync-1",
        "sync-1",
        "",
      ]);
      const off = upstashStore({ url: server.url, token: "t", readYourWrites: false });
      await off.run([{ type: "get", key: "k" }]);
      expect(server.requests.at(-1)!.headers["upstash-sync-token"]).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it("turns replies of the wrong shape into StoreErrors that name the op and never the token", async () => {
    const answers: ((res: http.ServerResponse) => void)[] = [
      (res) => { // a proxy's HTML error page
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html><body>Bad Gateway tok-secret-1</body></html>");
      },
      (res) => { // cut off
        res.writeHead(200, { "content-type": "application/json" });
        res.end('[{"result":"v"');
      },
      (res) => reply(res, []), // no reply for the op
      (res) => { // not a pipeline reply
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"result":"v"}');
      },
    ];
    let next = 0;
    const server = await recordingServer((_request, res) => answers[next++]!(res));
    try {
      const store = upstashStore({ url: server.url, token: "tok-secret-1" });
      const messages: string[] = [];
      for (let i = 0; i < answers.length; i++) {
        const error = await rejection(store.run([{ type: "get", key: "k" }]));
        expect(error).toBeInstanceOf(StoreError);
        messages.push((error as Error).message);
        expect(inspect(error, { depth: 10 })).not.toContain("tok-secret-1");
      }
      expect(messages[0]).toMatch(/^upstash run \[get\] failed: HTTP 502 "<html>/);
      expect(messages[1]).toMatch(/^upstash run \[get\] failed: unable to parse the response body/);
      expect(messages[2]).toBe("upstash run [get] failed: 0 replies for 1 operations");
      expect(messages[3]).toMatch(/^upstash run \[get\] failed: unexpected response/);
    } finally {
      await server.close();
    }
  });

  it("aborts while the response body is still arriving, and rejects with the signal's reason", async () => {
    let closed = false;
    const server = await recordingServer((_request, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('[{"result":"');
      res.on("close", () => (closed = true));
    });
    try {
      const store = upstashStore({ url: server.url, token: "t" });
      const controller = new AbortController();
      const reason = new Error("deadline");
      setTimeout(() => controller.abort(reason), 100);
      expect(await rejection(store.run([{ type: "get", key: "k" }], { signal: controller.signal }))).toBe(reason);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(true);
    } finally {
      await server.close();
    }
  });
});
