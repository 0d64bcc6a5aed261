/**
 * The R2 part of the workerd suite's Worker: `r2BlobStore(env.BLOBS)` from the packed package, on
 * the R2 bucket Miniflare binds (wrangler.toml `[[r2_buckets]]`):
 *
 * - `POST /blob/call|settle|abort`: the store's calls, driven by the blob conformance suite on
 *   the test side (test/runtime/_blob_proxy.ts);
 * - `GET /r2/config-errors`: what `r2BlobStore` says when given something other than a binding;
 * - `GET /r2/abort-order`: the order in which an aborted put and get, and the binding's own
 *   calls underneath, settle;
 * - `GET /r2/cache?prefix=…`: a cache on the local Redis with its blobs in R2: a large value
 *   missed, then hit from its blob.
 */
import { createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { r2BlobStore, type R2BucketBinding } from "larder/blobs/r2";
import type { BlobStore } from "larder";
import { serveBlobCalls } from "../../../_blob_proxy.ts";
import { assert, assertDeepEqual, largeValue, servicesFromEnv } from "../../../_scenarios.ts";

type Env = Record<string, unknown>;
const json = (body: unknown, status = 200): Response => Response.json(body, { status });
const serve = serveBlobCalls();
let store: BlobStore | undefined;

/** Answers the R2 routes; undefined for other paths. */
export async function handleBlobs(request: Request, env: Env): Promise<Response | undefined> {
  const url = new URL(request.url);
  const bucket = env.BLOBS as R2BucketBinding;
  if (url.pathname.startsWith("/blob/")) return await serve(request, store ??= r2BlobStore(bucket));
  if (url.pathname === "/r2/config-errors") {
    const attempts: [string, () => unknown][] = [
      ["undefined", () => r2BlobStore(env.NO_SUCH_BINDING as R2BucketBinding)],
      ["a bucket name", () => r2BlobStore("larder-cache" as unknown as R2BucketBinding)],
      ["an S3 options object", () => r2BlobStore({ bucket: "b" } as unknown as R2BucketBinding)],
      ["bad maxObjectBytes", () => r2BlobStore(bucket, { maxObjectBytes: 0 })],
      ["an unknown option", () => r2BlobStore(bucket, { maxBytes: 1 } as never)],
      ["the binding", () => r2BlobStore(bucket)],
    ];
    return json(attempts.map(([label, attempt]) => {
      try {
        attempt();
        return { label, ok: true };
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        return { label, code, message };
      }
    }));
  }
  if (url.pathname === "/r2/abort-order") {
    // The binding cannot be cancelled: an aborted call must reject with the signal's reason
    // before the binding's own call settles, not after it.
    const events: string[] = [];
    const watched: R2BucketBinding = {
      get: (key) => bucket.get(key).finally(() => events.push("binding get settled")),
      put: (key, value) => bucket.put(key, value).finally(() => events.push("binding put settled")),
      delete: (keys) => bucket.delete(keys),
      list: (options) => bucket.list(options),
      head: (key) => bucket.head(key),
    };
    const blobs = r2BlobStore(watched);
    const key = `r2-abort-${crypto.randomUUID()}`;
    for (const operation of ["put", "get"] as const) {
      const controller = new AbortController();
      const reason = new Error(`abort ${operation}`);
      const pending = operation === "put"
        ? blobs.put(key, new Uint8Array(8 * 1024 * 1024))
        : blobs.get(key, { signal: controller.signal });
      if (operation === "put") {
        // The put above fills the object; this one is the aborted one.
        await pending;
        events.length = 0;
        const aborted = blobs.put(key, new Uint8Array(8 * 1024 * 1024), { signal: controller.signal });
        controller.abort(reason);
        await aborted.then(
          () => events.push("put resolved"),
          (e) => events.push(e === reason ? "put rejected with the reason" : `put: ${e}`),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      } else {
        controller.abort(reason);
        await pending.then(
          () => events.push("get resolved"),
          (e) => events.push(e === reason ? "get rejected with the reason" : `get: ${e}`),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    await blobs.delete(key);
    return json(events);
  }
  if (url.pathname === "/r2/cache") {
    const services = servicesFromEnv(env as Record<string, string>);
    const cache = createCache({
      store: upstashStore(services.upstash),
      blobs: r2BlobStore(bucket),
      prefix: url.searchParams.get("prefix") ?? "r2-cache",
      waitUntil: undefined,
    });
    let runs = 0;
    const report = cache.wrap(async (id: string) => (runs++, largeValue(id, 300_000)), { name: "r2-report" });
    assertDeepEqual(await report("a"), largeValue("a", 300_000), "miss");
    await cache.flush();
    assertDeepEqual(await report("a"), largeValue("a", 300_000), "hit");
    assert(runs === 1, "the hit did not run the function");
    return json({ ok: true, hits: cache.stats().hits });
  }
  return undefined;
}
