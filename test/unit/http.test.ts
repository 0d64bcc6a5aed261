/**
 * The response cache's pure parts (keys, Cache-Control, Accept-Encoding, stored heads) and its
 * behaviour on the embedded default (in-process store and blobs).
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../mod.ts";
import { parseRecord, RECORD_VERSION } from "../../src/core/record/entry.ts";
import { decodeHead, encodeHead } from "../../src/http/_meta.ts";
import { resolveResponseOptions } from "../../src/http/_options.ts";
import { decide, parseCacheControl } from "../../src/http/_policy.ts";
import { contextOf } from "../../src/core/context.ts";
import { accepts } from "../../src/http/_serve.ts";
import { cacheHandler, responseKey } from "../../src/http/handler.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("keys", () => {
  it("sorts the query (stable for repeated names), filters it, drops the fragment, adds vary lines", () => {
    expect(responseKey("https://Example.com/r?b=2&a=1&a=0#top")).toBe("GET https://example.com/r?a=1&a=0&b=2");
    expect(responseKey("https://example.com/r?utm=x", { query: ["id"] })).toBe("GET https://example.com/r");
    const request = new Request("https://example.com/r", { headers: { "Accept-Language": " fr " } });
    expect(responseKey(request, { vary: ["Accept-Language", "x-missing"] })).toBe(
      "GET https://example.com/r\naccept-language: fr\nx-missing: ",
    );
  });
});

describe("headers", () => {
  it("parses Cache-Control directives", () => {
    const directives = parseCacheControl('Public, MAX-AGE=60, s-maxage="30", no-transform');
    expect([...directives]).toEqual([["public", true], ["max-age", "60"], ["s-maxage", "30"], ["no-transform", true]]);
  });

  it("reads Accept-Encoding with q-values and wildcards", () => {
    expect(accepts("gzip, zstd", "zstd")).toBe(true);
    expect(accepts("zstd;q=0, *", "zstd")).toBe(false);
    expect(accepts("br, *;q=0.1", "zstd")).toBe(true);
    expect(accepts("gzip", "zstd")).toBe(false);
    expect(accepts(null, "gzip")).toBe(false);
  });

  it("stores a head without per-answer and hop-by-hop headers, and refuses malformed metadata", () => {
    const response = new Response("x", {
      status: 201,
      headers: { "content-type": "text/plain", "content-length": "1", age: "3", connection: "close", "x-a": "1" },
    });
    expect(decodeHead(encodeHead(response, 0))).toEqual({
      status: 201,
      headers: [["content-type", "text/plain"], ["x-a", "1"]],
      ageMs: 0,
    });
    for (
      const bad of [undefined, "{", '{"v":1,"s":99,"h":[]}', '{"v":1,"s":200,"h":[["a"]]}', '{"v":2,"s":200,"h":[]}']
    ) {
      expect(() => decodeHead(bad)).toThrow(expect.objectContaining({ code: "E_INTEGRITY" }));
    }
  });

  it("records accept opaque metadata as a string only", () => {
    const record = {
      g: [["p:v:all", "x", "s"]],
      v: RECORD_VERSION,
      k: "a".repeat(64),
      c: "bytes",
      z: "none",
      t: 1,
      e: 2,
      n: 1,
      s: 1,
      h: "b".repeat(64),
      p: "AA==",
    };
    expect(parseRecord(JSON.stringify({ ...record, m: "{}" })).m).toBe("{}");
    expect(() => parseRecord(JSON.stringify({ ...record, m: { s: 200 } }))).toThrow(/malformed/);
  });
});

describe("freshness (RFC 9111 §4.2)", () => {
  const cache = createCache({ logger: quiet, ttl: "1h" });
  const config = resolveResponseOptions(contextOf(cache, "test"), {}, "test");
  const at = Date.parse("Mon, 07 Dec 2026 10:00:00 GMT");
  const decided = (headers: Record<string, string>) =>
    decide(new Response("x", { headers }), config, { maxBytes: 1000, at });
  const http = (ms: number): string => new Date(at + ms).toUTCString();

  it("RFC 9111 §4.2.1: Expires minus Date when there is no max-age; an invalid or past Expires is not stored", () => {
    expect(decided({ expires: http(60_000), date: http(0) })).toMatchObject({ store: true, ttlMs: 60_000 });
    expect(decided({ expires: http(60_000) })).toMatchObject({ store: true, ttlMs: 60_000 }); // Date: arrival
    expect(decided({ expires: http(60_000), "cache-control": "max-age=5" })).toMatchObject({ ttlMs: 5000 });
    expect(decided({ expires: "0" })).toEqual({ store: false, reason: "expired" });
    expect(decided({ expires: http(-1000), date: http(0) })).toEqual({ store: false, reason: "expired" });
    expect(decided({})).toMatchObject({ store: true, ttlMs: 3_600_000, ageMs: 0 }); // the ttl option
    expect(decided({ "cache-control": "s-maxage=0, max-age=60" })).toEqual({ store: false, reason: "max-age-zero" });
  });

  it("RFC 9111 §4.2.3, §5.1: the first member of a list-valued Age counts, an invalid Age is ignored, Date gives the apparent age", () => {
    const cc = { "cache-control": "max-age=10" };
    expect(decided({ ...cc, age: "3, 7" })).toMatchObject({ ttlMs: 7000, ageMs: 3000 });
    expect(decided({ ...cc, age: "-2" })).toMatchObject({ ttlMs: 10_000, ageMs: 0 });
    expect(decided({ ...cc, date: http(-4000) })).toMatchObject({ ttlMs: 6000, ageMs: 4000 });
    expect(decided({ ...cc, date: http(5000) })).toMatchObject({ ttlMs: 10_000, ageMs: 0 }); // a clock ahead
    expect(decided({ ...cc, date: http(-4000), age: "6" })).toMatchObject({ ttlMs: 4000, ageMs: 6000 });
    expect(decided({ ...cc, age: "10" })).toEqual({ store: false, reason: "already-stale" });
  });

  it("RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10: must-revalidate, proxy-revalidate and s-maxage forbid stale serving", () => {
    for (const value of ["max-age=9, must-revalidate", "max-age=9, proxy-revalidate", "s-maxage=9"]) {
      expect(decided({ "cache-control": value })).toMatchObject({ store: true, revalidate: true });
    }
    expect(decided({ "cache-control": "max-age=9, public" })).toMatchObject({ store: true, revalidate: false });
  });
});

describe("on the embedded default", () => {
  it("an entry without a stored head (written by cache.set) is not answered from: the handler answers, an integrity error is counted", async () => {
    const cache = createCache({ logger: quiet });
    const handler = cacheHandler(cache, () => new Response("from the handler"));
    await cache.set(responseKey("https://app.example/x"), new Uint8Array([1, 2, 3]));
    const response = await handler(new Request("https://app.example/x"));
    expect(await response.text()).toBe("from the handler");
    expect(response.headers.get("cache-status")).toBe("Larder; fwd=miss; detail=unusable-entry");
    expect(cache.stats().errors.integrity).toBe(1);
  });

  it("responses skip the in-process tier; a stored response is still readable as bytes with cache.get", async () => {
    const cache = createCache({ memory: true });
    const handler = cacheHandler(cache, () => new Response("body"));
    await handler(new Request("https://app.example/t"));
    await cache.flush();
    const hit = await handler(new Request("https://app.example/t"));
    expect(hit.headers.get("cache-status")).toMatch(/^Larder; hit; ttl=(3599|3600); detail=inline$/);
    expect(cache.stats().hits.memory).toBe(0);
    expect(new TextDecoder().decode(await cache.get<Uint8Array>(responseKey("https://app.example/t")))).toBe("body");
  });
});
