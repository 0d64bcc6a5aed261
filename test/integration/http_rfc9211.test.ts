/**
 * What the response cache says about its answers, over the wire (a real HTTP server, a raw
 * HTTP/1.1 client, the real local services): `Cache-Status` (RFC 9211) parsed by a real
 * Structured Fields parser and checked against what actually happened, and `Vary` (RFC 9110
 * §12.5.5) on every answer of a route that varies.
 */
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { cacheResponses } from "../../src/hono/middleware.ts";
import { cacheHandler } from "../../src/http/handler.ts";
import { servicesCache } from "../helpers/cache.ts";
import { parseCacheStatus } from "../helpers/cache_status.ts";
import { listen, type LoopbackServer, type RawRequest, rawRequest, type RawResponse } from "../helpers/raw_http.ts";
import { requireServices } from "../helpers/services.ts";

requireServices();
const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serveOn(fetch: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  const server = await listen(fetch);
  servers.push(server);
  return server;
}

async function sent(server: LoopbackServer, path: string, request?: RawRequest): Promise<RawResponse> {
  return await rawRequest(server, path, request);
}

function testClock(): { now: () => number; advance: (ms: number) => void } {
  let at = Date.now();
  return { now: () => at, advance: (ms) => void (at += ms) };
}

const stream = (text: string): ReadableStream<Uint8Array> => new Blob([text]).stream();

describe("Cache-Status (RFC 9211)", () => {
  it("RFC 9211 §2 / RFC 8941 §4.2.1: every Cache-Status the cache emits parses as a Structured Fields List", async () => {
    const clock = testClock();
    const { cache } = servicesCache("sf", { now: clock.now, staleWhileRevalidate: "1m", staleIfError: "1h" });
    let fail = false;
    const handler = cacheHandler(cache, (request) => {
      const path = new URL(request.url).pathname;
      if (fail && path === "/throws") throw new Error("down");
      if (fail) return new Response("down", { status: 503 });
      const headers: Record<string, string> = { "content-length": "2", "cache-control": "max-age=10" };
      if (path === "/zero") headers["cache-control"] = "max-age=0";
      if (path === "/private") headers["cache-control"] = "private";
      if (path === "/cookie") headers["set-cookie"] = "a=b";
      if (path === "/vary") headers["vary"] = "cookie";
      if (path === "/aged") headers["age"] = "20";
      return new Response("ok", { headers });
    }, { tags: ["all"] });
    const server = await serveOn(handler);
    const seen: string[] = [];
    const get = async (path: string, request?: RawRequest): Promise<RawResponse> => {
      const response = await sent(server, path, request);
      seen.push(...response.all("cache-status"));
      return response;
    };
    for (const path of ["/a", "/throws", "/zero", "/private", "/cookie", "/vary", "/aged", "/zero"]) await get(path);
    await get("/a", { headers: { authorization: "Bearer x" } });
    await get("/elsewhere", { method: "POST" });
    await cache.flush();
    const hit = await get("/a");
    await get("/a", { headers: { "if-none-match": hit.header("etag")! } });
    await get("/a", { method: "HEAD" });
    clock.advance(11_000);
    await get("/a"); // stale-while-revalidate
    await cache.flush();
    await cache.invalidateTag("all", { mode: "stale" });
    await get("/a"); // marked stale
    await cache.flush();
    clock.advance(11 * 60_000);
    fail = true;
    await get("/a"); // stale-if-error after a 503
    await get("/throws"); // stale-if-error after a throw
    expect(seen.length).toBeGreaterThanOrEqual(16);
    const problems = seen.flatMap((value) => {
      try {
        parseCacheStatus(value);
        return [];
      } catch (error) {
        return [String(error)];
      }
    });
    expect(problems).toEqual([]);
  });

  it("RFC 9211 §2.1, §2.4: an entry marked stale by invalidateTag(mode: stale) is served as stale (ttl=0, detail), not as a fresh hit", async () => {
    const { cache } = servicesCache("sf");
    let runs = 0;
    const server = await serveOn(
      cacheHandler(cache, () => new Response(`#${++runs}`), { tags: ["t"], staleWhileRevalidate: "1m" }),
    );
    await sent(server, "/s");
    await cache.flush();
    await cache.invalidateTag("t", { mode: "stale" });
    const stale = await sent(server, "/s");
    expect([stale.text(), stale.header("cache-status")]).toEqual(["#1", "Larder; hit; ttl=0; detail=inline-stale"]);
    expect(stale.header("server-timing")).toContain('desc="stale"');
  });

  it("RFC 9211 §2.5: `stored` only when the response is stored and its size is known to fit (Content-Length ≤ maxValueBytes)", async () => {
    const { cache } = servicesCache("sf", { maxValueBytes: 100 });
    const big = "y".repeat(500);
    const server = await serveOn(cacheHandler(cache, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/streamed-big") return new Response(stream(big));
      if (path === "/streamed-small") return new Response(stream("small"));
      if (path === "/declared-big") return new Response(big, { headers: { "content-length": "500" } });
      return new Response("small", { headers: { "content-length": "5" } });
    }));
    const statuses: Record<string, string | undefined> = {};
    for (const path of ["/streamed-big", "/streamed-small", "/declared-big", "/declared-small"]) {
      const response = await sent(server, path);
      statuses[path] = response.header("cache-status");
      expect(response.text()).toBe(path.endsWith("big") ? big : "small");
    }
    expect(statuses).toEqual({
      "/streamed-big": "Larder; fwd=uri-miss",
      "/streamed-small": "Larder; fwd=uri-miss",
      "/declared-big": "Larder; fwd=uri-miss; detail=too-large",
      "/declared-small": "Larder; fwd=uri-miss; stored",
    });
    await cache.flush();
    expect(cache.stats().writes).toMatchObject({ ok: 2, skipped: 1 });
  });

  it("RFC 9211 §2.2, §2.3: a stale-if-error answer says fwd=stale (with fwd-status after a 5xx) and why, never hit", async () => {
    const clock = testClock();
    const { cache } = servicesCache("sf", { now: clock.now, staleIfError: "1h" });
    let mode: "ok" | "throw" | "500" = "ok";
    const produce = (): Response => {
      if (mode === "throw") throw new Error("down");
      return new Response(mode, { status: mode === "ok" ? 200 : 500, headers: { "cache-control": "max-age=1" } });
    };
    const app = new Hono();
    app.use("*", cacheResponses(cache));
    app.get("/h", produce);
    const plain = await serveOn(cacheHandler(cache, produce));
    const hono = await serveOn(app.fetch);
    await sent(plain, "/p");
    await sent(hono, "/h");
    await cache.flush();
    clock.advance(5_000);
    mode = "throw";
    const thrown = await sent(plain, "/p");
    expect([thrown.status, thrown.text()]).toEqual([200, "ok"]);
    expect(thrown.header("cache-status")).toMatch(/^Larder; fwd=stale; ttl=-\d+; detail=inline-stale-if-error$/);
    mode = "500";
    const failed = await sent(hono, "/h");
    expect([failed.status, failed.text()]).toEqual([200, "ok"]);
    expect(failed.header("cache-status")).toMatch(
      /^Larder; fwd=stale; fwd-status=500; ttl=-\d+; detail=inline-stale-if-error$/,
    );
    expect(failed.header("server-timing")).toContain('desc="stale-if-error"');
  });
});

describe("Vary (RFC 9110 §12.5.5)", () => {
  it("RFC 9110 §12.5.5: a route with vary sends Vary on every GET/HEAD answer (miss, hit, HEAD, 304, bypass), merged with the handler's own", async () => {
    const { cache } = servicesCache("vary");
    const app = new Hono();
    app.use("*", cacheResponses(cache, { vary: ["accept-language"] }));
    app.get("/v", (c) => {
      c.header("vary", "Accept-Encoding");
      return c.text(`hello ${c.req.header("accept-language")}`);
    });
    app.get("/private", (c) => {
      c.header("cache-control", "private");
      return c.text("mine");
    });
    const server = await serveOn(app.fetch);
    const fr = { "accept-language": "fr" };
    const varyOf = (r: RawResponse): string[] =>
      r.all("vary").flatMap((v) => v.split(",")).map((v) => v.trim().toLowerCase()).sort();
    const answers: [string, RawResponse][] = [];
    answers.push(["miss", await sent(server, "/v", { headers: fr })]);
    await cache.flush();
    const hit = await sent(server, "/v", { headers: fr });
    answers.push(["hit", hit]);
    answers.push(["head", await sent(server, "/v", { method: "HEAD", headers: fr })]);
    answers.push(["304", await sent(server, "/v", { headers: { ...fr, "if-none-match": hit.header("etag")! } })]);
    answers.push(["bypass", await sent(server, "/v", { headers: { ...fr, authorization: "Bearer x" } })]);
    answers.push(["not stored", await sent(server, "/private", { headers: fr })]);
    answers.push(["recently uncacheable", await sent(server, "/private", { headers: fr })]);
    expect(answers.map(([what, r]) => [what, r.status, varyOf(r)])).toEqual([
      ["miss", 200, ["accept-encoding", "accept-language"]],
      ["hit", 200, ["accept-encoding", "accept-language"]],
      ["head", 200, ["accept-encoding", "accept-language"]],
      ["304", 304, ["accept-encoding", "accept-language"]],
      ["bypass", 200, ["accept-encoding", "accept-language"]],
      ["not stored", 200, ["accept-language"]],
      ["recently uncacheable", 200, ["accept-language"]],
    ]);
  });
});
