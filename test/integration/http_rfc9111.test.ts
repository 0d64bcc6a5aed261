/**
 * The response cache as a shared cache in the sense of RFC 9111, over the wire: a Hono app
 * (`cacheResponses`) and a plain fetch handler (`cacheHandler`) served by a real HTTP server on
 * a loopback port, read with a raw HTTP/1.1 client, on the real local services. Every
 * `Cache-Status` these tests see is parsed as an RFC 8941 List (see `sent`).
 *
 * Each test names the section it checks.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { cacheResponses } from "../../src/hono/middleware.ts";
import type { ResponseCacheOptions } from "../../src/http/_options.ts";
import { cacheHandler } from "../../src/http/handler.ts";
import { servicesCache } from "../helpers/cache.ts";
import { parseCacheStatus } from "../helpers/cache_status.ts";
import { listen, type LoopbackServer, type RawRequest, rawRequest } from "../helpers/raw_http.ts";
import { leaseKey, recordKey } from "../../src/core/record/key_layout.ts";
import {
  addFaults,
  rawRedisKeys,
  rawRedisPttl,
  removeFaults,
  requireServices,
  trafficOf,
} from "../helpers/services.ts";

const services = requireServices();
const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serveOn(fetch: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  const server = await listen(fetch);
  servers.push(server);
  return server;
}

/** Sends a request; every Cache-Status in the answer must parse (RFC 9211 §2 over RFC 8941). */
async function sent(server: LoopbackServer, path: string, request?: RawRequest) {
  const response = await rawRequest(server, path, request);
  for (const value of response.all("cache-status")) parseCacheStatus(value);
  return response;
}

/** A test clock: starts at the real time, moved by hand (Redis TTLs still run on real time). */
function testClock(): { now: () => number; advance: (ms: number) => void } {
  let at = Date.now();
  return { now: () => at, advance: (ms) => void (at += ms) };
}

/** A Hono app cached with `cacheResponses` on every method (`app.use`), routes added by `routes`. */
function honoApp(
  cacheOptions: CacheOptions & { prefix: string },
  options: ResponseCacheOptions,
  routes: (app: Hono) => void,
) {
  const { cache, logger } = servicesCache("rfc", cacheOptions);
  const app = new Hono();
  app.use("*", cacheResponses(cache, options));
  routes(app);
  return { app, cache, logger };
}

describe("HEAD (RFC 9110 §9.3.2, RFC 9111 §3)", () => {
  it("RFC 9111 §3: a HEAD miss in Hono (serveStatic) stores nothing; the next GET gets the file's bytes", async () => {
    const root = mkdtempSync(join(tmpdir(), "larder-static-"));
    const file = "x".repeat(3000);
    writeFileSync(join(root, "file.txt"), file);
    const prefix = `rfc-${crypto.randomUUID()}`;
    const { app, cache } = honoApp({ prefix }, { ttl: "5m" }, (a) => a.get("/*", serveStatic({ root })));
    const server = await serveOn(app.fetch);
    const head = await sent(server, "/file.txt", { method: "HEAD" });
    expect([head.status, head.body.length, head.header("content-length")]).toEqual([200, 0, "3000"]);
    expect(head.header("cache-status")).toBe("Larder; fwd=uri-miss; detail=head");
    await cache.flush();
    for (const expected of [/^Larder; fwd=uri-miss/, /^Larder; hit/]) {
      const get = await sent(server, "/file.txt");
      expect(get.header("cache-status")).toMatch(expected);
      expect(get.text()).toBe(file);
      await cache.flush();
    }
  });

  it("RFC 9111 §3: a HEAD miss in Hono (a handler answering HEAD with c.body(null)) takes no lease and stores nothing; a HEAD hit comes from the GET entry", async () => {
    const prefix = `rfc-${crypto.randomUUID()}`;
    let runs = 0;
    const { app, cache } = honoApp({ prefix }, { ttl: "5m" }, (a) =>
      a.get("/page", (c) => {
        runs++;
        c.header("content-type", "text/plain");
        return c.req.method === "HEAD" ? c.body(null) : c.body("the page body");
      }));
    const server = await serveOn(app.fetch);
    const { mark } = await trafficOf(prefix);
    const head = await sent(server, "/page", { method: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    // One lookup, and no lease key among its keys.
    const lookups = (await trafficOf(prefix, mark)).store;
    expect(lookups).toHaveLength(1);
    // Any entry's lease key starts like this (the hash and its closing brace follow).
    const leaseStart = leaseKey(prefix, "").slice(0, -1);
    expect(lookups[0]!.keys.some((k) => k.startsWith(leaseStart))).toBe(false);
    await cache.flush();
    expect(await rawRedisKeys(leaseKey(prefix, "*"))).toEqual([]);
    const get = await sent(server, "/page");
    expect(get.text()).toBe("the page body");
    await cache.flush();
    const headHit = await sent(server, "/page", { method: "HEAD" });
    expect(headHit.header("cache-status")).toMatch(/^Larder; hit; ttl=\d+; detail=inline$/);
    expect([headHit.body.length, headHit.header("content-length")]).toEqual([0, "13"]);
    expect(runs).toBe(2);
  });

  it("RFC 9111 §3: cacheHandler runs a HEAD miss as GET and stores the GET response", async () => {
    const { cache } = servicesCache("rfc");
    const methods: string[] = [];
    const handler = cacheHandler(cache, (request) => {
      methods.push(request.method);
      return request.method === "HEAD" ? new Response(null) : new Response("the whole body");
    });
    const server = await serveOn(handler);
    const head = await sent(server, "/doc", { method: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    await cache.flush();
    const get = await sent(server, "/doc");
    expect(get.header("cache-status")).toMatch(/^Larder; hit/);
    expect(get.text()).toBe("the whole body");
    expect(methods).toEqual(["GET"]);
  });
});

describe("invalidation by unsafe methods (RFC 9111 §4.4)", () => {
  /** Two instances (two caches, two servers) on one prefix; both cache GET and see every method. */
  async function twoInstances(options: ResponseCacheOptions = {}) {
    const prefix = `rfc-${crypto.randomUUID()}`;
    let runs = 0;
    const routes = (a: Hono): void => {
      a.get("/items/*", (c) => c.text(`${c.req.path} ${c.req.header("accept-language") ?? "-"} #${++runs}`));
      a.on(["POST", "PUT", "PATCH", "DELETE"], "/items/*", (c) => {
        const status = Number(c.req.header("x-status") ?? 200);
        for (const name of ["location", "content-location"]) {
          const value = c.req.header(`x-${name}`);
          if (value) c.header(name, value);
        }
        return c.text("done", status as 200);
      });
    };
    const one = honoApp({ prefix }, options, routes);
    const two = honoApp({ prefix }, options, routes);
    return { prefix, one, two, a: await serveOn(one.app.fetch), b: await serveOn(two.app.fetch) };
  }

  /** Both instances serve one public host, as behind a load balancer. */
  const on = (server: LoopbackServer, path: string, request: RawRequest = {}) =>
    sent(server, path, { host: "app.example", ...request });

  for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
    it(`RFC 9111 §4.4: a successful ${method} on another instance invalidates the stored GET response, in one store request`, async () => {
      const { prefix, one, a, b } = await twoInstances();
      expect((await on(a, "/items/1")).text()).toBe("/items/1 - #1");
      await one.cache.flush();
      expect((await on(a, "/items/1")).header("cache-status")).toMatch(/^Larder; hit/);
      const { mark } = await trafficOf(prefix);
      const unsafe = await on(b, "/items/1", { method, body: "{}" });
      expect([unsafe.status, unsafe.header("cache-status")]).toEqual([200, "Larder; fwd=method"]);
      expect((await trafficOf(prefix, mark)).store).toHaveLength(1);
      const after = await on(a, "/items/1");
      expect(after.text()).toBe("/items/1 - #2");
    });
  }

  it("RFC 9111 §4.4: every variant of the URI (vary) is invalidated, Authorization or not, and an error status invalidates nothing", async () => {
    const { one, a, b } = await twoInstances({ vary: ["accept-language"] });
    const fetchAll = async (): Promise<string[]> => {
      const texts: string[] = [];
      for (const l of ["fr", "de"]) {
        texts.push((await on(a, "/items/2", { headers: { "accept-language": l } })).text());
      }
      return texts;
    };
    expect(await fetchAll()).toEqual(["/items/2 fr #1", "/items/2 de #2"]);
    await one.cache.flush();
    const failed = await on(b, "/items/2", { method: "POST", headers: { "x-status": "409" } });
    expect(failed.status).toBe(409);
    expect(await fetchAll()).toEqual(["/items/2 fr #1", "/items/2 de #2"]);
    await on(b, "/items/2", { method: "POST", headers: { authorization: "Bearer t" } });
    expect(await fetchAll()).toEqual(["/items/2 fr #3", "/items/2 de #4"]);
  });

  it("RFC 9111 §4.4: Location and Content-Location are invalidated when same-origin, not when cross-origin", async () => {
    const { one, a, b } = await twoInstances();
    const other = { host: "other.example" };
    for (const path of ["/items/7", "/items/8?v=1", "/items/9"]) await on(a, path);
    await on(a, "/items/9", other);
    await one.cache.flush();
    await on(b, "/items/new", {
      method: "POST",
      headers: {
        "x-location": "/items/7",
        "x-content-location": "http://localhost/items/9",
      },
    });
    await on(b, "/items/new", {
      method: "POST",
      headers: {
        "x-location": "http://app.example/items/8?v=1",
        "x-content-location": "http://other.example/items/9",
      },
    });
    const texts: string[] = [];
    for (const path of ["/items/7", "/items/8?v=1", "/items/9"]) texts.push((await on(a, path)).text());
    expect(texts[0]).toMatch(/#5$/); // re-run: invalidated
    expect(texts[1]).toMatch(/#6$/);
    expect(texts[2]).toBe("/items/9 - #3"); // localhost is another origin than app.example
    expect((await on(a, "/items/9", other)).text()).toBe("/items/9 - #4"); // cross-origin: kept
  });

  it("RFC 9111 §4.4: when the invalidation fails, the response still goes out, and the failure is logged and counted", async () => {
    const { prefix, two, b } = await twoInstances();
    await addFaults(services.upstash.url, [{ match: `${prefix}:v:`, status: 503, count: 1 }], services.upstash.token);
    try {
      const response = await on(b, "/items/3", { method: "DELETE" });
      expect([response.status, response.text()]).toEqual([200, "done"]);
      expect(two.logger.lines.some((l) => l.level === "warn" && /invalidat/.test(l.message))).toBe(true);
      expect(two.cache.stats().errors.store).toBe(1);
    } finally {
      await removeFaults(services.upstash.url, `${prefix}:v:`, services.upstash.token);
    }
  });

  it("RFC 9111 §4.4: cacheHandler invalidates too", async () => {
    const { cache } = servicesCache("rfc");
    let runs = 0;
    const server = await serveOn(cacheHandler(cache, (r) => new Response(`${r.method} #${++runs}`)));
    expect((await sent(server, "/r")).text()).toBe("GET #1");
    await cache.flush();
    expect((await sent(server, "/r", { method: "PUT", body: "x" })).text()).toBe("PUT #2");
    expect((await sent(server, "/r")).text()).toBe("GET #3");
  });
});

describe("must-revalidate, proxy-revalidate, s-maxage (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10)", () => {
  const cases = [
    ["RFC 9111 §5.2.2.2", "max-age=30, must-revalidate"],
    ["RFC 9111 §5.2.2.8", "max-age=30, proxy-revalidate"],
    ["RFC 9111 §5.2.2.10", "s-maxage=30"],
  ] as const;
  for (const [section, cacheControl] of cases) {
    it(`${section}: "${cacheControl}" is never served stale: not by staleWhileRevalidate, staleIfError, or a stale-mode invalidation`, async () => {
      const clock = testClock();
      const { cache, prefix } = servicesCache("rfc", {
        now: clock.now,
        staleWhileRevalidate: "1m",
        staleIfError: "1m",
      });
      let mode: "ok" | "503" | "throw" = "ok";
      let runs = 0;
      const handler = cacheHandler(cache, () => {
        runs++;
        if (mode === "throw") throw new Error("down");
        if (mode === "503") return new Response("down", { status: 503 });
        return new Response(`v${runs}`, { headers: { "cache-control": cacheControl } });
      }, { tags: ["t"] });
      const server = await serveOn(handler);
      expect((await sent(server, "/m")).text()).toBe("v1");
      await cache.flush();
      // Not kept past its freshness for stale serving: the record's TTL is the freshness lifetime.
      const [record] = await rawRedisKeys(recordKey(prefix, "*"));
      expect(await rawRedisPttl(record!)).toBeLessThanOrEqual(30_000);
      // Past its freshness on the cache's clock (the record still exists in Redis, whose clock is real).
      clock.advance(31_000);
      const revalidated = await sent(server, "/m"); // stale-while-revalidate would answer v1
      expect([revalidated.text(), revalidated.header("cache-status")]).toEqual(["v2", "Larder; fwd=stale"]);
      await cache.flush();
      clock.advance(31_000);
      mode = "503";
      const failed = await sent(server, "/m"); // stale-if-error would answer v2
      expect([failed.status, failed.text()]).toEqual([503, "down"]);
      mode = "throw";
      expect((await sent(server, "/m")).status).toBe(500);
      mode = "ok";
      expect((await sent(server, "/m")).text()).toBe("v5");
      await cache.flush();
      await cache.invalidateTag("t", { mode: "stale" });
      expect((await sent(server, "/m")).text()).toBe("v6"); // a stale-mode invalidation would answer v5
    });
  }
});

describe("Age (RFC 9111 §4.2.3)", () => {
  it("RFC 9111 §4.2.3: a received Age counts: Age 2 with max-age=5 is fresh for 3 more seconds, and hits send the full age", async () => {
    const clock = testClock();
    const { cache } = servicesCache("rfc", { now: clock.now });
    let runs = 0;
    const handler = cacheHandler(
      cache,
      () => new Response(`#${++runs}`, { headers: { age: "2", "cache-control": "max-age=5" } }),
    );
    const server = await serveOn(handler);
    const miss = await sent(server, "/aged");
    expect([miss.header("age"), miss.header("cache-status")]).toEqual(["2", "Larder; fwd=uri-miss"]);
    await cache.flush();
    clock.advance(1000);
    const hit = await sent(server, "/aged");
    expect([hit.header("age"), hit.header("cache-status")]).toEqual(["3", "Larder; hit; ttl=2; detail=inline"]);
    clock.advance(2500);
    expect((await sent(server, "/aged")).text()).toBe("#2");
  });

  it("RFC 9111 §4.2.3: the apparent age from Date counts; a response older than its freshness lifetime is not stored", async () => {
    const clock = testClock();
    const { cache } = servicesCache("rfc", { now: clock.now });
    const dated = (ageMs: number, extra: Record<string, string>): Response =>
      new Response("x", { headers: { date: new Date(clock.now() - ageMs).toUTCString(), ...extra } });
    const server = await serveOn(cacheHandler(cache, (r) => {
      const path = new URL(r.url).pathname;
      if (path === "/old-date") return dated(10_000, { "cache-control": "max-age=5" });
      if (path === "/old-age") return new Response("x", { headers: { age: "6", "cache-control": "max-age=5" } });
      return dated(3_000, { "cache-control": "max-age=10" });
    }));
    for (const path of ["/old-date", "/old-age"]) {
      expect((await sent(server, path)).header("cache-status")).toBe("Larder; fwd=uri-miss; detail=already-stale");
    }
    await sent(server, "/recent-date");
    await cache.flush();
    const hit = await sent(server, "/recent-date");
    // Date has one-second resolution: 3 to 4 s old on arrival, so 6 or 7 s of freshness left.
    expect(hit.header("cache-status")).toMatch(/^Larder; hit; ttl=[67]; detail=inline$/);
    expect(hit.header("age")).toMatch(/^[34]$/);
    expect(cache.stats().writes.ok).toBe(1);
  });
});
