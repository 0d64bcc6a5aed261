/**
 * The response-cache scenarios: a real Hono app with `cacheResponses`, and a plain fetch handler
 * with `cacheHandler`, exercised with `app.request()` / direct calls against the real local
 * services. Like _scenarios.ts, this module imports nothing at run time: the harness passes the
 * library and Hono in, so the same code runs under vitest on Node and inside a Worker in workerd.
 *
 * @module
 */
import type { Hono as HonoClass } from "hono";
import type { Cache } from "../../mod.ts";
import type { cacheHandler as CacheHandler } from "../../src/http/handler.ts";
import type { cacheResponses as CacheResponses } from "../../src/hono/middleware.ts";
import { assert, deadBackendsCache, type Library, type ScenarioContext, servicesCache } from "./_scenarios.ts";

/** What the HTTP scenarios need on top of the core library. */
export interface HttpLibrary extends Library {
  cacheResponses: typeof CacheResponses;
  cacheHandler: typeof CacheHandler;
  Hono: typeof HonoClass;
}

/** A scenario context whose library has the HTTP entry points. */
export interface HttpScenarioContext extends ScenarioContext {
  readonly lib: HttpLibrary;
}

/** One HTTP scenario. */
export interface HttpScenario {
  readonly name: string;
  run(ctx: HttpScenarioContext): Promise<void>;
}

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function prefixFor(ctx: ScenarioContext, label: string): string {
  return `rt-${ctx.runtime}-http-${label}-${crypto.randomUUID()}`;
}

/** A body of `size` bytes of text rows: compressible (zstd ~3×), deterministic, not trivial. */
export function largeBody(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let state = 0x2545f491;
  let offset = 0;
  for (let row = 0; offset < size; row++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const line = `${row},customer-${row % 977},${(state >>> 0) % 100000},${(state >>> 7) % 365}\n`;
    for (let i = 0; i < line.length && offset < size; i++) out[offset++] = line.charCodeAt(i);
  }
  return out;
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Byte equality (fast: test libraries walk typed arrays element by element, seconds for megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The handler's own headers: what a hit must give back unchanged. */
function handlerHeaders(response: Response): Record<string, string> {
  const added = new Set(["age", "cache-status", "content-length", "etag", "server-timing", "vary"]);
  return Object.fromEntries([...response.headers].filter(([name]) => !added.has(name)));
}

async function hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A Hono app whose routes count their runs, cached with `cacheResponses` on `cache`. */
function reportApp(ctx: HttpScenarioContext, cache: Cache, runs: Map<string, number>): InstanceType<typeof HonoClass> {
  const { Hono, cacheResponses } = ctx.lib;
  const count = (route: string): void => void runs.set(route, (runs.get(route) ?? 0) + 1);
  const app = new Hono();
  const cached = cacheResponses(cache, { ttl: "5m", vary: ["accept-language"] });
  app.get("/report/:id", cached, (c) => {
    count("report");
    c.header("x-report", c.req.param("id"));
    c.header("cache-control", "public, max-age=120");
    return c.json({ id: c.req.param("id"), language: c.req.header("accept-language") ?? "none", rows: [1, 2, 3] });
  });
  app.get("/no-store", cached, (c) => {
    count("no-store");
    c.header("cache-control", "no-store");
    return c.text("fresh every time");
  });
  app.get("/cookie", cached, (c) => {
    count("cookie");
    c.header("set-cookie", "session=abc; HttpOnly");
    return c.text("with a cookie");
  });
  app.get("/big", cached, (c) => {
    count("big");
    return c.body(largeBody(5 * 1024 * 1024) as Uint8Array<ArrayBuffer>, 200, { "content-type": "text/csv" });
  });
  return app;
}

const honoMissThenHit: HttpScenario = {
  name: "hono: miss then hit, identical status, headers and body bytes",
  async run(ctx) {
    const prefix = prefixFor(ctx, "hit");
    const runs = new Map<string, number>();
    const writer = servicesCache(ctx, prefix);
    const miss = await reportApp(ctx, writer, runs).request("/report/7?b=2&a=1");
    assert(miss.status === 200, `the miss answers 200 (${miss.status})`);
    // Not "stored": c.json sends no Content-Length, so whether the body fits is not known yet.
    assert(
      miss.headers.get("cache-status") === "Larder; fwd=uri-miss",
      `miss: ${miss.headers.get("cache-status")}`,
    );
    assert(/^larder;dur=[\d.]+;desc="miss"$/.test(miss.headers.get("server-timing") ?? ""), "miss: Server-Timing");
    const missBody = await bytesOf(miss);
    await writer.flush();

    // A fresh cache and app: the hit can only come from Redis.
    const hit = await reportApp(ctx, servicesCache(ctx, prefix), runs).request("/report/7?a=1&b=2");
    assert(runs.get("report") === 1, `the handler ran once (${runs.get("report")})`);
    assert(hit.status === 200, "the hit answers 200");
    assert(
      /^Larder; hit; ttl=(119|120); detail=inline$/.test(hit.headers.get("cache-status") ?? ""),
      `hit: ${hit.headers.get("cache-status")}`,
    );
    assert(/^larder;dur=[\d.]+;desc="hit"$/.test(hit.headers.get("server-timing") ?? ""), "hit: Server-Timing");
    assert(/^\d+$/.test(hit.headers.get("age") ?? ""), "hit: Age");
    assert(/^"[0-9a-f]{32}"$/.test(hit.headers.get("etag") ?? ""), `hit: ETag ${hit.headers.get("etag")}`);
    assert((hit.headers.get("vary") ?? "").includes("accept-language"), "hit: Vary names the vary option");
    assert(
      JSON.stringify(handlerHeaders(hit)) === JSON.stringify(handlerHeaders(miss)),
      `same headers: ${JSON.stringify(handlerHeaders(hit))} vs ${JSON.stringify(handlerHeaders(miss))}`,
    );
    assert(sameBytes(await bytesOf(hit), missBody), "same body bytes");
  },
};

const honoVary: HttpScenario = {
  name: "hono: vary separates entries",
  async run(ctx) {
    const cache = servicesCache(ctx, prefixFor(ctx, "vary"));
    const runs = new Map<string, number>();
    const app = reportApp(ctx, cache, runs);
    const get = async (language: string): Promise<Response> =>
      await app.request("/report/1", { headers: { "accept-language": language } });
    const fr = await (await get("fr")).json() as { language: string };
    await cache.flush();
    const de = await get("de");
    assert(de.headers.get("cache-status")?.includes("fwd=uri-miss") === true, "another language is a miss");
    assert((await de.json() as { language: string }).language === "de", "and gets its own response");
    await cache.flush();
    const frAgain = await get("fr");
    assert(frAgain.headers.get("cache-status")?.includes("hit") === true, "the first language hits");
    assert((await frAgain.json() as { language: string }).language === fr.language, "with its own response");
    assert(runs.get("report") === 2, `two runs for two languages (${runs.get("report")})`);
  },
};

const honoNotStored: HttpScenario = {
  name: "hono: no-store, Set-Cookie and Authorization are not cached",
  async run(ctx) {
    const cache = servicesCache(ctx, prefixFor(ctx, "nostore"));
    const runs = new Map<string, number>();
    const app = reportApp(ctx, cache, runs);
    for (const [path, reason] of [["/no-store", "no-store"], ["/cookie", "set-cookie"]] as const) {
      // Then the key skips the cache for a while (no lookup, no lease) in this process.
      for (const status of [`fwd=uri-miss; detail=${reason}`, "fwd=bypass; detail=recently-uncacheable"]) {
        const response = await app.request(path);
        assert(response.status === 200, `${path} answers`);
        assert(
          response.headers.get("cache-status") === `Larder; ${status}`,
          `${path}: ${response.headers.get("cache-status")}`,
        );
        await cache.flush();
      }
      assert(runs.get(path.slice(1)) === 2, `${path}: the handler ran each time`);
    }
    const cookie = await app.request("/cookie");
    assert(cookie.headers.get("set-cookie") === "session=abc; HttpOnly", "the cookie reaches the client");
    for (let i = 0; i < 2; i++) {
      const response = await app.request("/report/9", { headers: { authorization: "Bearer x" } });
      assert(
        response.headers.get("cache-status") === "Larder; fwd=bypass; detail=authorization",
        "Authorization bypasses",
      );
      await cache.flush();
    }
    assert(runs.get("report") === 2, "an authorized request always runs the handler");
    const stats = cache.stats();
    assert(
      stats.writes.ok === 0 && stats.hits.total === 0,
      `nothing stored or served: ${JSON.stringify(stats.writes)}`,
    );
  },
};

const honoConditional: HttpScenario = {
  name: "hono: 304 on a matching If-None-Match; HEAD from the GET entry, a HEAD miss not stored",
  async run(ctx) {
    const cache = servicesCache(ctx, prefixFor(ctx, "etag"));
    const runs = new Map<string, number>();
    const app = reportApp(ctx, cache, runs);
    // HEAD first: the middleware cannot run the route as GET, so a HEAD miss is not stored (the
    // handler may answer a HEAD without a body, which must never become the GET entry).
    const headMiss = await app.request("/report/3", { method: "HEAD" });
    assert(headMiss.status === 200 && (await bytesOf(headMiss)).length === 0, "HEAD miss: headers only");
    assert(
      headMiss.headers.get("cache-status") === "Larder; fwd=uri-miss; detail=head",
      `HEAD miss stores nothing: ${headMiss.headers.get("cache-status")}`,
    );
    await cache.flush();
    const miss = await app.request("/report/3");
    assert(miss.headers.get("cache-status")?.startsWith("Larder; fwd=uri-miss") === true, "GET after HEAD misses");
    await miss.arrayBuffer();
    await cache.flush();
    const hit = await app.request("/report/3");
    assert(hit.headers.get("cache-status")?.startsWith("Larder; hit") === true, "the next GET hits");
    const body = await bytesOf(hit);
    const etag = hit.headers.get("etag")!;
    const head = await app.request("/report/3", { method: "HEAD" });
    assert(head.headers.get("cache-status")?.startsWith("Larder; hit") === true, "HEAD hits the GET entry");
    assert(head.headers.get("content-length") === String(body.length), "HEAD: the GET's Content-Length");
    assert((await bytesOf(head)).length === 0, "HEAD: no body");
    const notModified = await app.request("/report/3", { headers: { "if-none-match": `W/"zzz", ${etag}` } });
    assert(notModified.status === 304, `matching If-None-Match: 304 (${notModified.status})`);
    assert(notModified.headers.get("etag") === etag, "304 carries the ETag");
    assert(notModified.headers.get("cache-control") === "public, max-age=120", "and Cache-Control");
    assert(!notModified.headers.has("content-type"), "but no representation headers");
    assert((await bytesOf(notModified)).length === 0, "and no body");
    const other = await app.request("/report/3", { headers: { "if-none-match": '"other"' } });
    assert(other.status === 200, "a different ETag gets the body");
    assert(runs.get("report") === 2, `two runs, the HEAD's and the GET's (${runs.get("report")})`);
  },
};

const honoLargeZstd: HttpScenario = {
  name: "hono: a 5 MB body from S3, zstd bytes as stored to a client that accepts them, decoded for one that does not",
  async run(ctx) {
    const prefix = prefixFor(ctx, "big");
    const runs = new Map<string, number>();
    const writer = servicesCache(ctx, prefix, { compression: "zstd" });
    const miss = await reportApp(ctx, writer, runs).request("/big", { headers: { "accept-encoding": "zstd" } });
    assert(miss.headers.get("content-encoding") === null, "the miss is the handler's own (identity) response");
    assert(sameBytes(await bytesOf(miss), largeBody(5 * 1024 * 1024)), "the miss streams the handler's body");
    await writer.flush();
    assert(writer.stats().writes.ok === 1, `stored (${JSON.stringify(writer.stats().writes)})`);

    const reader = servicesCache(ctx, prefix, { compression: "zstd" });
    const app = reportApp(ctx, reader, runs);
    const encoded = await app.request("/big", { headers: { "accept-encoding": "gzip, zstd" } });
    assert(
      encoded.headers.get("content-encoding") === "zstd",
      `Content-Encoding: ${encoded.headers.get("content-encoding")}`,
    );
    assert(
      /detail=blob$/.test(encoded.headers.get("cache-status") ?? ""),
      `from S3: ${encoded.headers.get("cache-status")}`,
    );
    const zstdBytes = await bytesOf(encoded);
    assert(ZSTD_MAGIC.every((b, i) => zstdBytes[i] === b), "a zstd frame");
    assert(zstdBytes.length < 5 * 1024 * 1024 / 2, `compressed (${zstdBytes.length} bytes)`);
    assert(encoded.headers.get("content-length") === String(zstdBytes.length), "Content-Length of the encoded bytes");
    // The stored payload's checksum is the ETag: the bytes served are the bytes stored.
    const etag = encoded.headers.get("etag") ?? "";
    assert(etag === `"${(await hex(zstdBytes)).slice(0, 32)}-zstd"`, `ETag of the stored bytes (${etag})`);

    const plain = await app.request("/big", { headers: { "accept-encoding": "gzip, br" } });
    assert(plain.headers.get("content-encoding") === null, "decoded for a client without zstd");
    assert(sameBytes(await bytesOf(plain), largeBody(5 * 1024 * 1024)), "the original bytes");
    assert(runs.get("big") === 1, `one run (${runs.get("big")})`);
    assert(reader.stats().hits.blob === 2, `two S3 hits (${JSON.stringify(reader.stats().hits)})`);
  },
};

const honoFailOpen: HttpScenario = {
  name: "hono: fail-open with a dead store (the handler's response comes back)",
  async run(ctx) {
    const cache = deadBackendsCache(ctx, "http-dead");
    const runs = new Map<string, number>();
    const app = reportApp(ctx, cache, runs);
    for (let i = 0; i < 2; i++) {
      const response = await app.request("/report/5");
      assert(response.status === 200, "the handler's status");
      assert((await response.json() as { id: string }).id === "5", "the handler's body");
      assert(response.headers.get("x-report") === "5", "the handler's headers");
      await cache.flush();
    }
    assert(runs.get("report") === 2, "the handler ran each time");
    assert(cache.stats().errors.store >= 1, "store failures counted");
  },
};

const handlerMissThenHit: HttpScenario = {
  name: "cacheHandler: a plain fetch handler, miss then hit, HEAD, POST passes through",
  async run(ctx) {
    const prefix = prefixFor(ctx, "handler");
    let runs = 0;
    const plain = async (request: Request, _env?: unknown, _ctx?: unknown): Promise<Response> => {
      runs++;
      return new Response(`${request.method} ${new URL(request.url).pathname} #${runs}`, {
        headers: { "content-type": "text/plain", "cache-control": "s-maxage=30" },
      });
    };
    const writer = servicesCache(ctx, prefix);
    const tasks: Promise<unknown>[] = [];
    const workerCtx = { waitUntil: (task: Promise<unknown>) => void tasks.push(task) };
    const first = await ctx.lib.cacheHandler(writer, plain)(new Request("https://app.example/page"), {}, workerCtx);
    assert(await first.text() === "GET /page #1", "the miss");
    assert(tasks.length >= 1, "the write was handed to the request's waitUntil");
    await Promise.all(tasks);

    const handler = ctx.lib.cacheHandler(servicesCache(ctx, prefix), plain);
    const hit = await handler(new Request("https://app.example/page"));
    assert(await hit.text() === "GET /page #1", "the hit");
    assert(
      /^Larder; hit; ttl=(29|30); detail=inline$/.test(hit.headers.get("cache-status") ?? ""),
      `s-maxage sets the TTL: ${hit.headers.get("cache-status")}`,
    );
    const head = await handler(new Request("https://app.example/page", { method: "HEAD" }));
    assert(
      head.headers.get("cache-status")?.startsWith("Larder; hit") === true && await head.text() === "",
      "HEAD hit",
    );
    const post = await handler(new Request("https://app.example/page", { method: "POST" }));
    assert(await post.text() === "POST /page #2", "POST runs the handler");
    assert(post.headers.get("cache-status") === "Larder; fwd=method", "POST: fwd=method");
    assert(runs === 2, `runs: ${runs}`);
  },
};

/** Every HTTP scenario, in order. */
export const httpScenarios: readonly HttpScenario[] = [
  honoMissThenHit,
  honoVary,
  honoNotStored,
  honoConditional,
  honoLargeZstd,
  honoFailOpen,
  handlerMissThenHit,
];
