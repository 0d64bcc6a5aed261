/**
 * The Upstash REST bridge, exercised with `@upstash/redis` at its DEFAULT settings (auto-pipelining,
 * base64 response encoding, automatic deserialization) and with raw HTTP where the wire matters.
 * Suites share the services, so every assertion on the request log filters on this file's keys.
 */
import { Buffer } from "node:buffer";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bridge, startBridge } from "../../scripts/services/bridge.ts";
import {
  requestLog,
  type RequestLogEntry,
  requireServices,
  resetRequestLog,
  setFaults,
  uniquePrefix,
} from "../helpers/services.ts";

const services = requireServices();
const { url, token } = services.upstash;
const redis = new Redis({ url, token });

/** Log entries that touched keys starting with `prefix`. */
async function entriesFor(prefix: string): Promise<RequestLogEntry[]> {
  return (await requestLog(url, token)).filter((entry) => entry.keys.some((key) => key.startsWith(prefix)));
}

/** A raw request to the bridge; returns status and parsed JSON body. */
async function raw(
  path: string,
  init: { body?: unknown; base64?: boolean; token?: string | null; method?: string; rawBody?: string } = {},
  // Parsed JSON, probed field by field in the assertions.
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? token}`;
  if (init.base64) headers["upstash-encoding"] = "base64";
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("bridge with @upstash/redis defaults", () => {
  it("runs single commands (POST /) and auto-pipelined ones (POST /pipeline)", async () => {
    const p = uniquePrefix("bridge-single");
    // `exec` and `keys` are excluded from auto-pipelining: they go to POST / as one command.
    expect(await redis.exec(["SET", `${p}:a`, "hello"])).toBe("OK");
    expect(await redis.keys(`${p}:*`)).toEqual([`${p}:a`]);
    expect(await redis.get(`${p}:a`)).toBe("hello");
    const log = await entriesFor(p);
    expect(log.map((e) => [e.method, e.path, e.commands])).toEqual([
      ["POST", "/", ["SET"]],
      ["POST", "/", ["KEYS"]],
      ["POST", "/pipeline", ["GET"]],
    ]);
    for (const entry of log) {
      expect(entry.status).toBe(200);
      expect(entry.endMs).toBeGreaterThanOrEqual(entry.startMs);
      expect(entry.aborted).toBe(false);
    }
  });

  it("batches concurrent commands into one /pipeline request (reads and writes separately)", async () => {
    const p = uniquePrefix("bridge-auto");
    await redis.exec(["MSET", `${p}:1`, "one", `${p}:2`, "two"]);
    const reads = await Promise.all([
      redis.get(`${p}:1`),
      redis.get(`${p}:2`),
      redis.get(`${p}:3`),
      redis.exists(`${p}:1`),
    ]);
    expect(reads).toEqual(["one", "two", null, 1]);
    let log = (await entriesFor(p)).filter((e) => e.path === "/pipeline");
    expect(log.map((e) => e.commands)).toEqual([["GET", "GET", "GET", "EXISTS"]]);

    // @upstash/redis keeps one read pipeline and one write pipeline: a mixed batch is 2 requests.
    const mixed = await Promise.all([redis.set(`${p}:4`, "four"), redis.get(`${p}:1`), redis.incr(`${p}:n`)]);
    expect(mixed).toEqual(["OK", "one", 1]);
    log = (await entriesFor(p)).filter((e) => e.path === "/pipeline").slice(1);
    expect(log.map((e) => e.commands).sort()).toEqual([["GET"], ["SET", "INCR"]]);
  });

  it("runs multi/exec as one /multi-exec request", async () => {
    const p = uniquePrefix("bridge-multi");
    const result = await redis.multi().set(`${p}:n`, 1).incr(`${p}:n`).get(`${p}:n`).exec();
    expect(result).toEqual(["OK", 2, 2]);
    const log = await entriesFor(p);
    expect(log.map((e) => [e.path, e.commands])).toEqual([["/multi-exec", ["SET", "INCR", "GET"]]]);
  });

  it("runs eval, evalsha, script load, and the NOSCRIPT fallback of createScript", async () => {
    const p = uniquePrefix("bridge-eval");
    const script = `-- ${p}\nreturn {KEYS[1], ARGV[1], 42, {7, ARGV[2]}}`;
    expect(await redis.eval(script, [`${p}:k`], ["x", "y"])).toEqual([`${p}:k`, "x", 42, [7, "y"]]);
    const sha = await redis.scriptLoad(script);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [`${p}:k`], ["a", "b"])).toEqual([`${p}:k`, "a", 42, [7, "b"]]);

    const fresh = redis.createScript<string>(`-- ${p} fresh\nreturn ARGV[1]`);
    expect(await fresh.exec([`${p}:s`], ["first"])).toBe("first"); // EVALSHA → NOSCRIPT → EVAL
    expect(await fresh.exec([`${p}:s`], ["second"])).toBe("second"); // EVALSHA hits
    const commands = (await requestLog(url, token)).flatMap((e) => e.commands.filter((c) => c.startsWith("EVAL")));
    expect(commands.length).toBeGreaterThanOrEqual(5);

    const failed = await raw("/", { body: ["EVALSHA", "0".repeat(40), "0"] });
    expect(failed.status).toBe(400);
    expect(failed.body.error).toMatch(/^NOSCRIPT/);
  });

  it("round-trips unicode and control characters through base64 response encoding", async () => {
    const p = uniquePrefix("bridge-b64");
    const values = {
      unicode: "héllo wörld ☃ 🎉 日本語",
      control: "\u0000\u0001\u0002\u007f\u0080\u00ff end",
      json: '{"a":[1,2,"three"]}',
      spaces: "  leading and trailing  ",
      ok: "OK",
      pong: "PONG",
    };
    await Promise.all(Object.entries(values).map(([name, value]) => redis.set(`${p}:${name}`, value)));
    for (const [name, value] of Object.entries(values)) {
      const read = await redis.get(`${p}:${name}`);
      // Automatic deserialization turns JSON text back into the object; everything else is verbatim.
      expect(read).toEqual(name === "json" ? JSON.parse(value) : value);
    }

    // On the wire: every string is base64 of its UTF-8 bytes, except the status reply OK.
    const get = await raw("/", { body: ["GET", `${p}:unicode`], base64: true });
    expect(get.body).toEqual({ result: b64(values.unicode) });
    expect((await raw("/", { body: ["SET", `${p}:x`, "y"], base64: true })).body).toEqual({ result: "OK" });
    expect((await raw("/", { body: ["GET", `${p}:ok`], base64: true })).body).toEqual({ result: b64("OK") });
    expect((await raw("/", { body: ["PING"], base64: true })).body).toEqual({ result: b64("PONG") });
    const pipeline = await raw("/pipeline", {
      body: [["GET", `${p}:unicode`], ["GET", `${p}:none`], ["STRLEN", `${p}:unicode`], [
        "MGET",
        `${p}:ok`,
        `${p}:none`,
      ]],
      base64: true,
    });
    expect(pipeline.body).toEqual([
      { result: b64(values.unicode) },
      { result: null },
      { result: Buffer.byteLength(values.unicode) },
      { result: [b64("OK"), null] },
    ]);
    // Without the header, strings are plain UTF-8.
    expect((await raw("/", { body: ["GET", `${p}:unicode`] })).body).toEqual({ result: values.unicode });
  });

  it("returns nil as null, integers exactly, nested arrays", async () => {
    const p = uniquePrefix("bridge-types");
    expect(await redis.get(`${p}:missing`)).toBeNull();
    expect(await redis.mget(`${p}:missing`, `${p}:missing2`)).toEqual([null, null]);
    await redis.exec(["SET", `${p}:big`, "9007199254740993"]);
    const incr = await raw("/", { body: ["INCR", `${p}:big`] });
    expect(incr.text).toBe('{"result":9007199254740994}'); // 64-bit digits, not a rounded double
    const nested = await raw("/", { body: ["EVAL", "return {1, {2, {3, 'deep'}}, false}", "0"] });
    expect(nested.body).toEqual({ result: [1, [2, [3, "deep"]], null] });
  });

  it("shapes errors like Upstash: 400 for a command, per-item errors in a pipeline", async () => {
    const p = uniquePrefix("bridge-err");
    await redis.set(`${p}:s`, "text");
    await expect(redis.incr(`${p}:s`)).rejects.toThrow(/ERR value is not an integer/);
    await expect(redis.exec(["NOSUCHCOMMAND", `${p}:x`])).rejects.toThrow(/ERR unknown command/);

    const single = await raw("/", { body: ["INCR", `${p}:s`] });
    expect(single.status).toBe(400);
    expect(single.body).toEqual({ error: "ERR value is not an integer or out of range" });

    const pipeline = await raw("/pipeline", { body: [["SET", `${p}:a`, "1"], ["INCR", `${p}:s`], ["INCR", `${p}:a`]] });
    expect(pipeline.status).toBe(200);
    expect(pipeline.body).toEqual([
      { result: "OK" },
      { error: "ERR value is not an integer or out of range" },
      { result: 2 },
    ]);

    // A transaction with a command Redis refuses to queue is discarded as a whole.
    const discarded = await raw("/multi-exec", { body: [["SET", `${p}:t`, "1"], ["NOSUCHCOMMAND"]] });
    expect(discarded.status).toBe(400);
    expect(discarded.body.error).toMatch(/^ERR unknown command/);
    expect((await raw("/", { body: ["EXISTS", `${p}:t`] })).body).toEqual({ result: 0 });
    // A command failing at run time does not stop the others (Redis semantics).
    const partial = await raw("/multi-exec", { body: [["INCR", `${p}:s`], ["SET", `${p}:t`, "1"]] });
    expect(partial.status).toBe(200);
    expect(partial.body).toEqual([{ error: "ERR value is not an integer or out of range" }, { result: "OK" }]);

    const bad = await raw("/", { rawBody: "not json" });
    expect(bad.status).toBe(400);
    expect(typeof bad.body.error).toBe("string");
    expect((await raw("/", { body: [] })).status).toBe(400);
    expect((await raw("/pipeline", { body: [["GET", { nested: true }]] })).status).toBe(400);
    expect((await raw("/", { method: "DELETE" })).status).toBe(405);
    expect((await raw("/get/%E0%A4%A")).status).toBe(400);
  });

  it("rejects a missing or wrong token with 401 and a JSON error", async () => {
    const p = uniquePrefix("bridge-auth");
    const missing = await raw("/", { body: ["SET", `${p}:k`, "v"], token: null });
    expect(missing.status).toBe(401);
    expect(typeof missing.body.error).toBe("string");
    expect((await raw("/pipeline", { body: [["GET", `${p}:k`]], token: "wrong" })).status).toBe(401);
    expect((await raw(`/get/${p}:k?_token=wrong`, { token: null })).status).toBe(401);
    expect((await raw(`/get/${p}:k?_token=${token}`, { token: null })).body).toEqual({ result: null });
    // Nothing was written by the rejected requests.
    expect((await raw("/", { body: ["EXISTS", `${p}:k`] })).body).toEqual({ result: 0 });

    const wrong = new Redis({ url, token: "wrong-token", retry: { retries: 0 } });
    await expect(wrong.get(`${p}:k`)).rejects.toThrow(/Unauthorized/);
    // Control routes take the same token.
    expect((await fetch(`${url}/__larder/requests`)).status).toBe(401);
    expect((await fetch(`${url}/__larder/requests`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
  });

  it("supports the URL path form", async () => {
    const p = uniquePrefix("bridge-path");
    expect((await raw(`/set/${p}:k/bar`)).body).toEqual({ result: "OK" });
    expect((await raw(`/get/${p}:k`)).body).toEqual({ result: "bar" });
    // A POST body is the last argument; query parameters follow as NAME value.
    expect((await raw(`/set/${p}:body?PX=60000`, { rawBody: "a/b c?d" })).body).toEqual({ result: "OK" });
    expect((await raw(`/get/${p}:body`)).body).toEqual({ result: "a/b c?d" });
    const pttl = (await raw(`/pttl/${p}:body`)).body.result as number;
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect((await raw(`/get/${encodeURIComponent(`${p}:sp ace/slash`)}`)).body).toEqual({ result: null });
  });

  it("round-trips a ~10 MB value", async () => {
    const p = uniquePrefix("bridge-large");
    const chunk = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_é☃";
    const value = chunk.repeat(Math.ceil(10_000_000 / chunk.length)).slice(0, 10_000_000);
    expect(await redis.set(`${p}:v`, value)).toBe("OK");
    const read = await redis.get<string>(`${p}:v`);
    expect(read?.length).toBe(value.length);
    expect(read === value).toBe(true);
    const log = await entriesFor(p);
    expect(log[0]?.requestBytes).toBeGreaterThan(10_000_000);
    expect(log[1]?.responseBytes).toBeGreaterThan(Buffer.byteLength(value) * 4 / 3);
  }, 60_000);
});

describe("bridge request log and faults (private bridge: resets must not disturb other suites)", () => {
  let bridge: Bridge;
  const privateToken = "private-token";
  beforeAll(async () => {
    const redisUrl = new URL(services.redisUrl);
    bridge = await startBridge({
      redis: { host: redisUrl.hostname, port: Number(redisUrl.port) },
      token: privateToken,
    });
  });
  afterAll(async () => {
    await bridge?.stop();
  });

  it("logs protocol requests with monotonic times, not control routes, and resets", async () => {
    const client = new Redis({ url: bridge.url, token: privateToken });
    const p = uniquePrefix("bridge-log");
    await client.set(`${p}:a`, "1");
    await requestLog(bridge.url, privateToken); // a control route: not logged
    await client.get(`${p}:a`);
    const log = await requestLog(bridge.url, privateToken);
    expect(log.map((e) => [e.seq, e.path, e.commands, e.keys])).toEqual([
      [1, "/pipeline", ["SET"], [`${p}:a`]],
      [2, "/pipeline", ["GET"], [`${p}:a`]],
    ]);
    expect(log[1]!.startMs).toBeGreaterThanOrEqual(log[0]!.endMs!);
    expect(Number.isInteger(log[0]!.startMs) && Number.isInteger(log[1]!.startMs)).toBe(false); // sub-ms
    await resetRequestLog(bridge.url, privateToken);
    expect(await requestLog(bridge.url, privateToken)).toEqual([]);
  });

  it("does not leak connection state (an unfinished MULTI, SELECT) into the next request", async () => {
    const p = uniquePrefix("bridge-state");
    const auth = { authorization: `Bearer ${privateToken}`, "content-type": "application/json" };
    const post = async (path: string, body: unknown): Promise<unknown> =>
      (await fetch(`${bridge.url}${path}`, { method: "POST", headers: auth, body: JSON.stringify(body) })).json();
    await post("/", ["SET", `${p}:k`, "db0"]);
    expect(await post("/pipeline", [["MULTI"], ["SET", `${p}:k`, "changed"]])).toEqual([{ result: "OK" }, {
      result: "QUEUED",
    }]);
    expect(await post("/pipeline", [["SELECT", "1"], ["GET", `${p}:k`]])).toEqual([{ result: "OK" }, { result: null }]);
    // Sequential requests reuse the pool's last connection: it must be a fresh one, in db 0.
    expect(await post("/", ["GET", `${p}:k`])).toEqual({ result: "db0" });
  });

  it("adds latency from a fault rule, only to matching requests", async () => {
    const client = new Redis({ url: bridge.url, token: privateToken });
    const p = uniquePrefix("bridge-slow");
    await setFaults(bridge.url, [{ match: `${p}:slow`, latencyMs: 150 }], privateToken);
    try {
      let started = performance.now();
      await client.get(`${p}:fast`);
      expect(performance.now() - started).toBeLessThan(150);
      started = performance.now();
      await client.get(`${p}:slow`);
      expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    } finally {
      await setFaults(bridge.url, [], privateToken);
    }
  });
});
