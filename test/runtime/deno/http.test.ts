/// <reference lib="deno.ns" />
// Smoke test of the response cache under Deno.serve: a plain handler wrapped with cacheHandler,
// behind a real listening server, against the local services.
import { createCache } from "../../../mod.ts";
import { upstashStore } from "../../../src/stores/upstash.ts";
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { cacheHandler } from "../../../src/http/handler.ts";
import { assert, servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(Deno.env.toObject());

Deno.test("deno: cacheHandler under Deno.serve: miss, hit, HEAD, POST", async () => {
  const cache = createCache({
    store: upstashStore(services.upstash),
    blobs: s3BlobStore(services.s3),
    prefix: `rt-deno-http-${crypto.randomUUID()}`,
  });
  let runs = 0;
  const handler = cacheHandler(cache, (request: Request, _info: Deno.ServeHandlerInfo) => {
    runs++;
    return new Response(`${request.method} #${runs}`, { headers: { "content-type": "text/plain" } });
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handler);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/greeting?b=2&a=1`;
    const miss = await fetch(url);
    assert(await miss.text() === "GET #1", "the miss is the handler's answer");
    assert(
      // Not "stored": a body without Content-Length is not known to fit yet (RFC 9211 §2.5).
      miss.headers.get("cache-status") === "Larder; fwd=uri-miss",
      `miss: ${miss.headers.get("cache-status")}`,
    );
    await cache.flush();
    const hit = await fetch(`http://127.0.0.1:${server.addr.port}/greeting?a=1&b=2`);
    assert(await hit.text() === "GET #1", "the hit is the stored answer");
    assert(
      hit.headers.get("cache-status")?.startsWith("Larder; hit; ttl=") === true,
      `hit: ${hit.headers.get("cache-status")}`,
    );
    const head = await fetch(url, { method: "HEAD" });
    await head.body?.cancel();
    assert(head.headers.get("cache-status")?.startsWith("Larder; hit") === true, "HEAD is served from the GET entry");
    const post = await fetch(url, { method: "POST" });
    assert(await post.text() === "POST #2", "POST passes through");
    assert(runs === 2, `runs: ${runs}`);
  } finally {
    await server.shutdown();
  }
});
