// Smoke test of the response cache under Bun.serve: a plain handler wrapped with cacheHandler,
// behind a real listening server, against the local services.
import process from "node:process";
import { expect, test } from "bun:test";
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { cacheHandler } from "../../../src/http/handler.ts";
import { servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(process.env);

test("bun: cacheHandler under Bun.serve: miss, hit, HEAD, POST", async () => {
  const cache = createCache({
    store: upstashStore(services.upstash),
    blobs: s3BlobStore(services.s3),
    prefix: `rt-bun-http-${crypto.randomUUID()}`,
  });
  let runs = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: cacheHandler(cache, (request: Request) => {
      runs++;
      return new Response(`${request.method} #${runs}`, { headers: { "content-type": "text/plain" } });
    }),
  });
  try {
    const url = `http://127.0.0.1:${server.port}/greeting?b=2&a=1`;
    const miss = await fetch(url);
    expect(await miss.text()).toBe("GET #1");
    // Not "stored": a body without Content-Length is not known to fit yet (RFC 9211 §2.5).
    expect(miss.headers.get("cache-status")).toBe("Larder; fwd=uri-miss");
    await cache.flush();
    const hit = await fetch(`http://127.0.0.1:${server.port}/greeting?a=1&b=2`);
    expect(await hit.text()).toBe("GET #1");
    expect(hit.headers.get("cache-status")).toMatch(/^Larder; hit; ttl=\d+; detail=inline$/);
    const head = await fetch(url, { method: "HEAD" });
    expect(head.headers.get("cache-status")).toMatch(/^Larder; hit/);
    const post = await fetch(url, { method: "POST" });
    expect(await post.text()).toBe("POST #2");
    expect(runs).toBe(2);
  } finally {
    server.stop(true);
  }
}, 30_000);
