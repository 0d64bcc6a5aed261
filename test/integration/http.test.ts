/**
 * The response cache against the real services: round trips counted at the Upstash bridge and
 * the S3 proxy (an inline hit is one store request; a blob hit one store request and one S3 GET
 * issued together; a miss one store request before the handler runs, the write after the
 * answer), one handler run for concurrent requests, stale windows, invalidation, limits and
 * option validation.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { cacheResponses } from "../../src/hono/middleware.ts";
import { cacheHandler, responseKey } from "../../src/http/handler.ts";
import { servicesCache } from "../helpers/cache.ts";
import { addFaults, removeFaults, requireServices, scriptCommands, trafficOf } from "../helpers/services.ts";
import { largeBody, sameBytes } from "../runtime/_http_scenarios.ts";

const services = requireServices();

const setup = (options: CacheOptions = {}) => servicesCache("http", options);

const requestsOf = trafficOf;

describe("round trips", () => {
  it("miss: one store request before the handler runs, the write after the answer; inline hit: one store request", async () => {
    const { cache, prefix } = setup();
    const seenByHandler: number[] = [];
    const handler = cacheHandler(cache, async () => {
      seenByHandler.push((await requestsOf(prefix)).store.length);
      return new Response("small body");
    });
    const miss = await handler(new Request("https://app.example/a"));
    expect(await miss.text()).toBe("small body");
    expect(seenByHandler).toEqual([1]);
    // Before the background write: the lookup alone (the record, else the lease: one script).
    expect((await requestsOf(prefix)).store.map(scriptCommands)).toEqual([["EVAL"]]);
    await cache.flush();
    const { mark } = await requestsOf(prefix);
    const hit = await handler(new Request("https://app.example/a"));
    expect(hit.headers.get("cache-status")).toMatch(/^Larder; hit; ttl=\d+; detail=inline$/);
    const traffic = await requestsOf(prefix, mark);
    expect(traffic.store).toHaveLength(1);
    expect(traffic.s3).toHaveLength(0);
  });

  it("blob hit: one store request and one S3 GET, issued together; the zstd bytes are served as stored", async () => {
    const { cache, prefix } = setup();
    const body = largeBody(2 * 1024 * 1024);
    const handler = cacheHandler(cache, () => new Response(body as Uint8Array<ArrayBuffer>));
    await (await handler(new Request("https://app.example/big"))).arrayBuffer();
    await cache.flush();
    // A slow store for this prefix makes "concurrent" visible at the servers: the S3 GET must
    // arrive while the store request is still being answered.
    await addFaults(services.upstash.url, [{ match: prefix, latencyMs: 150 }], services.upstash.token);
    try {
      const { mark } = await requestsOf(prefix);
      const hit = await handler(new Request("https://app.example/big", { headers: { "accept-encoding": "zstd" } }));
      expect(hit.headers.get("content-encoding")).toBe("zstd");
      const encoded = new Uint8Array(await hit.arrayBuffer());
      // The bytes served are the stored payload (its checksum is the ETag), and they decode to the body.
      const sha = new Uint8Array(await crypto.subtle.digest("SHA-256", encoded));
      const checksum = [...sha].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 32);
      expect(hit.headers.get("etag")).toBe(`"${checksum}-zstd"`);
      const decoded = await handler(new Request("https://app.example/big", { headers: { "accept-encoding": "gzip" } }));
      expect(sameBytes(new Uint8Array(await decoded.arrayBuffer()), body)).toBe(true);
      const traffic = await requestsOf(prefix, mark);
      expect(traffic.store).toHaveLength(2);
      expect(traffic.s3.map((e) => e.method)).toEqual(["GET", "GET"]);
      expect(traffic.s3[0]!.startMs).toBeLessThan(traffic.store[0]!.endMs!);
      expect(cache.stats().hits.blob).toBe(2);
    } finally {
      await removeFaults(services.upstash.url, prefix, services.upstash.token);
    }
  });
});

describe("policy", () => {
  it("concurrent requests for one key run the handler once (the lease)", async () => {
    const { cache } = setup();
    let runs = 0;
    const handler = cacheHandler(cache, async () => {
      runs++;
      await new Promise((done) => setTimeout(done, 150));
      return new Response("computed once");
    });
    const answers = await Promise.all(Array.from({ length: 8 }, () => handler(new Request("https://app.example/c"))));
    expect(await Promise.all(answers.map((a) => a.text()))).toEqual(Array(8).fill("computed once"));
    expect(runs).toBe(1);
    expect(cache.stats().leases.waited).toBe(7);
  });

  it("a key whose response is not storable skips the lookup and the lease for a while (no queueing behind the lease)", async () => {
    const { cache, prefix } = setup();
    let runs = 0;
    const handler = cacheHandler(cache, async () => {
      runs++;
      await new Promise((done) => setTimeout(done, 100));
      return new Response("personal", { headers: { "cache-control": "private" } });
    });
    const first = await handler(new Request("https://app.example/me"));
    expect(first.headers.get("cache-status")).toBe("Larder; fwd=uri-miss; detail=private");
    await cache.flush();
    const { mark } = await requestsOf(prefix);
    const started = performance.now();
    const next = await Promise.all(Array.from({ length: 5 }, () => handler(new Request("https://app.example/me"))));
    expect(performance.now() - started).toBeLessThan(400); // 5 × 100 ms if they queued behind one another
    expect(next.map((r) => r.headers.get("cache-status"))).toEqual(
      Array(5).fill("Larder; fwd=bypass; detail=recently-uncacheable"),
    );
    expect((await requestsOf(prefix, mark)).store).toHaveLength(0);
    expect(runs).toBe(6);
  });

  it("stale-while-revalidate in Hono: the stale response at once, one background run, then the fresh one", async () => {
    const { cache } = setup({ staleWhileRevalidate: "1m" });
    let version = 0;
    const app = new Hono();
    app.get("/v", cacheResponses(cache), (c) => {
      version++;
      // max-age, not s-maxage: s-maxage forbids serving stale in a shared cache (RFC 9111 §5.2.2.10).
      c.header("cache-control", "max-age=1");
      return c.text(`v${version}`);
    });
    expect(await (await app.request("/v")).text()).toBe("v1");
    await cache.flush();
    await new Promise((done) => setTimeout(done, 1100));
    const stale = await app.request("/v");
    expect(await stale.text()).toBe("v1");
    expect(stale.headers.get("cache-status")).toMatch(/^Larder; hit; ttl=-\d+; detail=inline-stale$/);
    expect(stale.headers.get("server-timing")).toContain('desc="stale"');
    await cache.flush();
    expect(version).toBe(2);
    const fresh = await app.request("/v");
    expect(await fresh.text()).toBe("v2");
    expect(fresh.headers.get("cache-status")).toMatch(/^Larder; hit; ttl=[01]; detail=inline$/);
  });

  it("stale-if-error: a 5xx from the handler serves the expired response", async () => {
    const { cache } = setup({ staleIfError: "1m" });
    let failing = false;
    const handler = cacheHandler(
      cache,
      () =>
        failing
          ? new Response("down", { status: 503 })
          : new Response("good", { headers: { "cache-control": "max-age=1" } }),
    );
    await handler(new Request("https://app.example/sie"));
    await cache.flush();
    await new Promise((done) => setTimeout(done, 1100));
    failing = true;
    const served = await handler(new Request("https://app.example/sie"));
    expect(served.status).toBe(200);
    expect(await served.text()).toBe("good");
    expect(served.headers.get("cache-status")).toMatch(
      /^Larder; fwd=stale; fwd-status=503; ttl=-\d+; detail=inline-stale-if-error$/,
    );
    expect(cache.stats().staleIfError).toBe(1);
    const other = await handler(new Request("https://app.example/other"));
    expect(other.status).toBe(503);
    expect(other.headers.get("cache-status")).toBe("Larder; fwd=uri-miss; detail=status");
  });

  it("a body over maxValueBytes passes through uncached, with a log line", async () => {
    const { cache, logger } = setup({ maxValueBytes: 10_000 });
    const body = largeBody(50_000);
    let runs = 0;
    const handler = cacheHandler(cache, () => {
      runs++;
      return new Response(new Blob([body as Uint8Array<ArrayBuffer>]).stream());
    });
    // Not "stored": its size is unknown until read (RFC 9211 §2.5). Then the key skips the cache
    // for a while, like any response that cannot be stored.
    for (const status of ["fwd=uri-miss", "fwd=bypass; detail=recently-uncacheable"]) {
      const response = await handler(new Request("https://app.example/large"));
      expect(response.headers.get("cache-status")).toBe(`Larder; ${status}`);
      expect(sameBytes(new Uint8Array(await response.arrayBuffer()), body)).toBe(true);
      await cache.flush();
    }
    expect(runs).toBe(2);
    expect(cache.stats().writes).toMatchObject({ ok: 0, skipped: 1 });
    expect(logger.lines.some((l) => l.message.includes("over maxValueBytes"))).toBe(true);
    const declared = cacheHandler(
      cache,
      () => new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-length": "50000" } }),
    );
    expect((await declared(new Request("https://app.example/declared"))).headers.get("cache-status"))
      .toBe("Larder; fwd=uri-miss; detail=too-large");
  });

  it("cache.delete(responseKey(url)) invalidates; query order and ignored parameters share an entry", async () => {
    const { cache } = setup();
    let runs = 0;
    const handler = cacheHandler(cache, () => new Response(`run ${++runs}`), { query: ["a", "b"] });
    expect(await (await handler(new Request("https://app.example/q?b=2&a=1&utm=x"))).text()).toBe("run 1");
    await cache.flush();
    expect(await (await handler(new Request("https://app.example/q?a=1&b=2"))).text()).toBe("run 1");
    expect(responseKey("https://app.example/q?b=2&utm=x&a=1", { query: ["a", "b"] })).toBe(
      "GET https://app.example/q?a=1&b=2",
    );
    expect(await cache.delete(responseKey("https://app.example/q?a=1&b=2"))).toBe(true);
    expect(await (await handler(new Request("https://app.example/q?a=1&b=2"))).text()).toBe("run 2");
  });

  it("tags (fixed or from the request) and namespaces invalidate responses like any entry", async () => {
    const { cache } = setup();
    let runs = 0;
    const handler = cacheHandler(cache, (request) => new Response(`${new URL(request.url).pathname} ${++runs}`), {
      namespace: "pages",
      tags: (request) => ["pages", `page:${new URL(request.url).pathname}`],
    });
    const text = async (path: string): Promise<string> =>
      await (await handler(new Request(`https://app.example${path}`))).text();
    expect([await text("/a"), await text("/b")]).toEqual(["/a 1", "/b 2"]);
    await cache.flush();
    expect([await text("/a"), await text("/b")]).toEqual(["/a 1", "/b 2"]);
    await cache.invalidateTag("page:/a");
    expect([await text("/a"), await text("/b")]).toEqual(["/a 3", "/b 2"]);
    await cache.flush();
    await cache.invalidateTag("pages");
    expect([await text("/a"), await text("/b")]).toEqual(["/a 4", "/b 5"]);
    await cache.flush();
    await cache.invalidateNamespace("pages");
    expect(await text("/b")).toBe("/b 6");
  });

  it("statuses, Vary and custom keys", async () => {
    const { cache } = setup();
    let runs = 0;
    const notFound = cacheHandler(cache, () => new Response(`gone ${++runs}`, { status: 404 }), {
      statuses: [200, 404],
    });
    await notFound(new Request("https://app.example/missing"));
    await cache.flush();
    const again = await notFound(new Request("https://app.example/missing"));
    expect([again.status, await again.text()]).toEqual([404, "gone 1"]);
    const varied = cacheHandler(cache, () => new Response("x", { headers: { vary: "cookie" } }));
    expect((await varied(new Request("https://app.example/v"))).headers.get("cache-status"))
      .toBe("Larder; fwd=uri-miss; detail=vary");
    const byTenant = cacheHandler(cache, (r) => new Response(r.headers.get("x-tenant")), {
      key: (r) => `tenant:${r.headers.get("x-tenant")}`,
    });
    await byTenant(new Request("https://app.example/t1", { headers: { "x-tenant": "acme" } }));
    await cache.flush();
    const hit = await byTenant(new Request("https://app.example/other-path", { headers: { "x-tenant": "acme" } }));
    expect(hit.headers.get("cache-status")).toMatch(/hit/);
    expect(await cache.has("tenant:acme")).toBe(true);
  });

  it("Hono: background writes go to c.executionCtx.waitUntil", async () => {
    const { cache } = setup();
    const app = new Hono();
    app.get("/w", cacheResponses(cache), (c) => c.text("kept alive"));
    const tasks: Promise<unknown>[] = [];
    const executionCtx = {
      waitUntil: (task: Promise<unknown>) => void tasks.push(task),
      passThroughOnException() {},
      props: {},
    };
    await app.request("/w", {}, undefined, executionCtx);
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    await Promise.all(tasks);
    const hit = await app.request("/w");
    expect(hit.headers.get("cache-status")).toMatch(/^Larder; hit/);
  });
});

describe("options", () => {
  it("refuses invalid options and objects that are not caches, with ConfigErrors", () => {
    const { cache } = setup();
    const handler = () => new Response("x");
    const bad: [unknown, RegExp][] = [
      [{ ttl: "soon" }, /ttl/],
      [{ vary: ["bad header"] }, /vary/],
      [{ statuses: [] }, /statuses/],
      [{ statuses: [99] }, /statuses/],
      [{ key: "x" }, /key/],
      [{ cacheAuthorized: "yes" }, /cacheAuthorized/],
      [{ namespace: "a b" }, /namespace/],
      [{ tll: "1m" }, /unknown option "tll"/],
      [{ tags: ["has space"] }, /tag/],
      [{ tags: "pages" }, /tags must be an array/],
    ];
    for (const [options, message] of bad) {
      expect(() => cacheHandler(cache, handler, options as never)).toThrow(message);
      expect(() => cacheResponses(cache, options as never)).toThrow(message);
    }
    expect(() => cacheResponses({} as never)).toThrow(expect.objectContaining({ code: "E_CONFIG" }));
    expect(() => cacheHandler(cache, "handler" as never)).toThrow(/handler must be a function/);
  });
});
