/**
 * The workerd runtime suite. The Worker in ./worker is built the way users build one: Larder is
 * packed (`npm pack`), installed into the Worker's project (`npm install <tarball>`), and the
 * Worker is bundled by wrangler (`wrangler deploy --dry-run --outdir`, the bundle `wrangler
 * deploy` would upload, `.wasm` imports as compiled modules). Miniflare then runs that bundle
 * in workerd, and this file drives it with fetch against the local services.
 *
 * `larder/blobs/r2` is tested on the R2 bucket Miniflare binds to the Worker (`[[r2_buckets]]`
 * in its wrangler.toml): the blob conformance suite runs here, in vitest, on a store whose every
 * call is a request to the Worker, where `r2BlobStore(env.BLOBS)` makes the call on the real
 * binding (test/runtime/_blob_proxy.ts); the bucket is also read and written directly through
 * Miniflare, to compare the stored bytes.
 *
 * wrangler 4.86.0 and miniflare 4.20260426.0 are pinned: they are the last releases that support
 * Node 20 (later ones require Node 22).
 */
import type { Buffer } from "node:buffer";
import type { Readable } from "node:stream";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCache } from "larder";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import { buildAndPack } from "../../../scripts/_pack.ts";
import { carriesEmbeddedZstd } from "../../../scripts/zstd_wasm.ts";
import { assertDeepEqual, sampleValue, scenarios, servicesCache, servicesFromEnv } from "../_scenarios.ts";
import { httpScenarios, largeBody, sameBytes } from "../_http_scenarios.ts";
import { checkAnswers, dashboardScenarios } from "../_dashboard_scenarios.ts";
import { blobStoreProxy } from "../_blob_proxy.ts";
import { describeBlobConformance } from "../../conformance/blob.ts";
import { pseudoRandomBytes, randomPrefix, sameBytes as sameBlob } from "../../../src/testing/_helpers.ts";

const WORKER = resolve("test/runtime/workerd/worker");
const OUT = join(WORKER, ".build");
const services = servicesFromEnv(process.env);

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1" },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

let mf: Miniflare | undefined;
/** What workerd wrote on its standard output and error (the Worker's console). */
let stdio = "";

async function call(
  path: string,
  init?: { method?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  if (!mf) throw new Error("the Worker is not running");
  const response = await mf.dispatchFetch(`http://worker${path}`, init);
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

beforeAll(async () => {
  const { tarball } = buildAndPack();
  rmSync(join(WORKER, "node_modules"), { recursive: true, force: true });
  rmSync(OUT, { recursive: true, force: true });
  run(
    "npm",
    ["install", "--no-save", "--no-package-lock", "--prefer-offline", "--no-audit", "--no-fund", tarball],
    WORKER,
  );
  run(
    process.execPath,
    [resolve("node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", OUT],
    WORKER,
  );
  const wasm = readdirSync(OUT).filter((file) => file.endsWith(".wasm"));
  expect(wasm, "wrangler emitted zstd.wasm as a separate module").toHaveLength(1);
  const toml = readFileSync(join(WORKER, "wrangler.toml"), "utf8");
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(toml)?.[1];
  const r2Buckets = [...toml.matchAll(/\[\[r2_buckets\]\]\s*binding\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
  expect(r2Buckets).toStrictEqual(["BLOBS"]);
  mf = new Miniflare({
    scriptPath: join(OUT, "index.js"),
    modules: true,
    // What wrangler declares for its output: `.wasm` files are compiled modules.
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    ...(compatibilityDate ? { compatibilityDate } : {}),
    // A local R2 bucket (in memory) behind each [[r2_buckets]] binding.
    r2Buckets,
    bindings: Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith("LARDER_TEST_"))),
    // The Worker's console, kept to check what Larder logs there (and still shown).
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      for (const stream of [stdout, stderr]) {
        stream.on("data", (chunk: Buffer) => {
          stdio += chunk.toString();
          process.stderr.write(chunk);
        });
      }
    },
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
});

describe("runtime scenarios: workerd (wrangler-built Worker in Miniflare)", () => {
  it("bundles zstd.wasm as a compiled module only: the bytes embedded for other runtimes are left out", () => {
    const bundle = readFileSync(join(OUT, "index.js"), "utf8");
    expect(carriesEmbeddedZstd(bundle)).toBe(false);
    // The control: the check does see the embedded bytes where they are.
    expect(carriesEmbeddedZstd(readFileSync(resolve("src/codec/_zstd_wasm_gzip.ts"), "utf8"))).toBe(true);
    console.log(`workerd: Worker bundle index.js is ${bundle.length} bytes`);
  });

  it("a cache created in global scope with the tier and its bus starts, and serves from the tier", async () => {
    const { status, body } = await call(`/global/roundtrip?key=${Date.now()}`);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.ok).toBe(true);
    expect((body.hits as { memory: number }).memory).toBeGreaterThanOrEqual(1);
    expect((body.bus as { mode: string }).mode).toBe("poll");
  });

  it("serves every shared scenario", async () => {
    const { body } = await call("/scenarios");
    expect(body).toEqual(scenarios.map((s) => s.name));
  });

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const { status, body } = await call(`/scenario?name=${encodeURIComponent(scenario.name)}`);
      expect(body).toEqual({ ok: true });
      expect(status).toBe(200);
    });
  }

  /** Writes in one request, then polls from later requests until a fresh cache hits. */
  async function writeThenPoll(via: string, attempts = 40): Promise<boolean> {
    const { status, body } = await call(`/waituntil/write?via=${via}`);
    expect(status, JSON.stringify(body)).toBe(200);
    const prefix = String(body.prefix);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const read = await call(`/waituntil/read?prefix=${encodeURIComponent(prefix)}`);
      if (read.status === 200) return true;
      expect(read.status, JSON.stringify(read.body)).toBe(404);
      await new Promise((done) => setTimeout(done, 100));
    }
    return false;
  }

  it("keeps a background write alive after the response with cloudflare:workers' waitUntil (larder/workers' default)", async () => {
    expect(await writeThenPoll("module")).toBe(true);
  });

  it("keeps a background write alive after the response with ctx.waitUntil", async () => {
    expect(await writeThenPoll("ctx")).toBe(true);
  });

  it("loses the write without waitUntil (the control: workerd stops a request's work after its response)", async () => {
    expect(await writeThenPoll("none", 10)).toBe(false);
  });

  it("a cache left without waitUntil: warns once with the fix, and the next request for a key is not stalled by a lease", async () => {
    const prefix = `rt-unkept-${crypto.randomUUID()}`;
    const first = await call(`/waituntil/lease?prefix=${prefix}`);
    expect(first.body).toEqual({ runs: 1, misses: 1, leases: { acquired: 0, waited: 0, givenUp: 0, takenOver: 0 } });
    // workerd froze the first request's write. Had it taken a lease, this request would wait for
    // it to expire (lease.ttl) and take it over: counted in `takenOver`, and logged after 1 s.
    const second = await call(`/waituntil/lease?prefix=${prefix}`);
    expect(second.body).toEqual({ runs: 2, misses: 2, leases: { acquired: 0, waited: 0, givenUp: 0, takenOver: 0 } });
    const warning = "larder: background writes are lost: this cache was given waitUntil: undefined; leave waitUntil " +
      "out (cloudflare:workers' own is used) or pass waitUntil: ctx.waitUntil.bind(ctx)";
    for (let i = 0; i < 50 && !stdio.includes(warning); i++) await new Promise((done) => setTimeout(done, 100));
    expect(stdio.split(warning).length - 1, stdio).toBe(1);
    expect(stdio).not.toContain("waited over 1 s");
  });

  it("reads, in workerd, an entry Node wrote (CBOR types intact, no code generation)", async () => {
    const node = { lib: { createCache, upstashStore, s3BlobStore }, services, runtime: "node" };
    const prefix = `rt-xrt-node-${crypto.randomUUID()}`;
    expect(await servicesCache(node, prefix).set("from-node", sampleValue("from-node"))).toBe(true);
    const { status, body } = await call(`/get?prefix=${prefix}&key=from-node`);
    expect(body).toMatchObject({ ok: true, stats: { total: 1, inline: 1 } });
    expect(status).toBe(200);
  });

  it("serves every shared response-cache scenario", async () => {
    const { body } = await call("/http-scenarios");
    expect(body).toEqual(httpScenarios.map((s) => s.name));
  });

  for (const scenario of httpScenarios) {
    it(`response cache, inside the Worker: ${scenario.name}`, async () => {
      const { status, body } = await call(`/http-scenario?name=${encodeURIComponent(scenario.name)}`);
      expect(body).toEqual({ ok: true });
      expect(status).toBe(200);
    });
  }

  /** Requests `path` until the answer is a hit (the write is kept alive only by the request's waitUntil). */
  async function untilHit(path: string, init?: RequestInit): Promise<Response> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await mf!.dispatchFetch(`http://worker${path}`, init as never) as unknown as Response;
      if (response.headers.get("cache-status")?.startsWith("Larder; hit")) return response;
      await response.arrayBuffer();
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`${path}: no hit after 5 s`);
  }

  it("a Hono app as the Worker: miss, then a hit written through c.executionCtx.waitUntil", async () => {
    const path = `/app/report/7?prefix=wd-hono-${crypto.randomUUID()}`;
    const miss = await mf!.dispatchFetch(`http://worker${path}`);
    // Not "stored": a body without Content-Length is not known to fit yet (RFC 9211 §2.5).
    expect(miss.headers.get("cache-status")).toBe("Larder; fwd=uri-miss");
    const missBody = await miss.text();
    const hit = await untilHit(path);
    expect(hit.headers.get("x-runs")).toBe(miss.headers.get("x-runs"));
    expect(hit.headers.get("content-type")).toBe(miss.headers.get("content-type"));
    expect(await hit.text()).toBe(missBody);
  });

  // workerd, like Cloudflare's edge, rewrites an incoming Accept-Encoding to "br, gzip": a zstd
  // entry is decoded for every client there, and a gzip entry is sent as stored.
  it("a Hono app as the Worker: 1 MB from S3, a gzip entry's bytes sent as stored (encodeBody manual)", async () => {
    const path = `/app/big?prefix=wd-big-gzip-${crypto.randomUUID()}`;
    const hit = await untilHit(path, { headers: { "accept-encoding": "gzip" } });
    expect(hit.headers.get("cache-status")).toMatch(/detail=blob$/);
    // Miniflare's dispatchFetch renames the header and its client inflates the body: what was on
    // the wire is told by Content-Length, the stored gzip payload's size.
    expect(hit.headers.get("content-encoding") ?? hit.headers.get("mf-content-encoding")).toBe("gzip");
    expect(Number(hit.headers.get("content-length"))).toBeLessThan(1024 * 1024 / 2);
    let received = new Uint8Array(await hit.arrayBuffer());
    if (String(received.length) === hit.headers.get("content-length")) {
      received = new Uint8Array(
        await new Response(new Blob([received]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer(),
      );
    }
    expect(sameBytes(received, largeBody(1024 * 1024))).toBe(true);
  });

  it("a Hono app as the Worker: a zstd entry is decoded (the runtime's Accept-Encoding has no zstd)", async () => {
    const path = `/app/big?prefix=wd-big-zstd-${crypto.randomUUID()}`;
    const hit = await untilHit(path, { headers: { "accept-encoding": "zstd" } });
    expect(hit.headers.get("content-encoding")).toBeNull();
    expect(hit.headers.get("content-length")).toBe(String(1024 * 1024));
    expect(sameBytes(new Uint8Array(await hit.arrayBuffer()), largeBody(1024 * 1024))).toBe(true);
  });

  it("cacheHandler as the Worker's fetch: miss, then a hit written through ctx.waitUntil", async () => {
    const path = `/plain/page?prefix=wd-plain-${crypto.randomUUID()}`;
    const miss = await mf!.dispatchFetch(`http://worker${path}`);
    // Not "stored": a body without Content-Length is not known to fit yet (RFC 9211 §2.5).
    expect(miss.headers.get("cache-status")).toBe("Larder; fwd=uri-miss");
    const missBody = await miss.text();
    const hit = await untilHit(path);
    expect(await hit.text()).toBe(missBody);
  });

  it("serves every shared dashboard scenario", async () => {
    const { body } = await call("/dashboard-scenarios");
    expect(body).toEqual(dashboardScenarios.map((s) => s.name));
  });

  for (const scenario of dashboardScenarios) {
    it(`dashboard, inside the Worker: ${scenario.name}`, async () => {
      const { status, body } = await call(`/dashboard-scenario?name=${encodeURIComponent(scenario.name)}`);
      expect(body).toEqual({ ok: true });
      expect(status).toBe(200);
    });
  }

  it("larder/dashboard as the Worker's fetch: the page with its CSP for the operator, 401 for anyone else", async () => {
    const { model } = await checkAnswers((headers, query = "") =>
      mf!.dispatchFetch(`http://worker/_larder${query}`, { headers }) as unknown as Promise<Response>
    );
    expect(model).toMatchObject({ scope: "operator", config: { store: "upstash", blobs: "s3" } });
  });

  it("reads, in Node, an entry workerd wrote", async () => {
    const prefix = `rt-xrt-workerd-${crypto.randomUUID()}`;
    const { body } = await call(`/set?prefix=${prefix}&key=from-workerd`, { method: "POST" });
    expect(body).toEqual({ ok: true });
    const node = { lib: { createCache, upstashStore, s3BlobStore }, services, runtime: "node" };
    const value = await servicesCache(node, prefix).get("from-workerd");
    assertDeepEqual(value, sampleValue("from-workerd"), "the entry workerd wrote decodes identically on Node");
  });
});

describeBlobConformance(
  "r2 (r2BlobStore(env.BLOBS) in workerd)",
  () =>
    blobStoreProxy("r2", async (path, init) => {
      if (!mf) throw new Error("the Worker is not running");
      return await mf.dispatchFetch(`http://worker${path}`, init as never) as unknown as Response;
    }),
  {
    additionalTests: r2Specifics,
    // Every byte crosses Miniflare's dispatchFetch twice, at a few MB/s on a loaded machine: the
    // large-object and abort-in-flight tests use 2 MiB (the adapter's abort is also checked
    // inside the Worker, by the order of events: "an aborted put or get rejects…" below).
    largeBytes: 2 * 1024 * 1024,
  },
);

function r2Specifics(): void {
  describe("r2 specifics", () => {
    /** The bucket as Miniflare reaches it from Node (typed here: @cloudflare/workers-types is not installed). */
    interface NodeSideBucket {
      get(key: string): Promise<{ size: number; arrayBuffer(): Promise<ArrayBuffer> } | null>;
      put(key: string, value: Uint8Array): Promise<unknown>;
    }
    const bucket = async () => await mf!.getR2Bucket("BLOBS") as unknown as NodeSideBucket;
    const proxy = () =>
      blobStoreProxy(
        "r2",
        async (path, init) => await mf!.dispatchFetch(`http://worker${path}`, init as never) as never,
      );

    it("stores exactly the bytes put, as R2 itself reads them, and reads what R2 stored", async () => {
      const key = `${randomPrefix("r2-bytes")}/k+ é`;
      const body = pseudoRandomBytes(200_000, 21);
      await proxy().put(key, body);
      const stored = await (await bucket()).get(key);
      expect(stored?.size).toBe(body.byteLength);
      expect(sameBlob(new Uint8Array(await stored!.arrayBuffer()), body)).toBe(true);
      const other = pseudoRandomBytes(70_000, 22);
      await (await bucket()).put(`${key}/2`, other);
      expect(sameBlob(await proxy().get(`${key}/2`), other)).toBe(true);
    });

    it("rejects what is not an R2 binding with a ConfigError that names the fix", async () => {
      const answers = await (await mf!.dispatchFetch("http://worker/r2/config-errors")).json() as {
        label: string;
        ok?: boolean;
        code?: string;
        message?: string;
      }[];
      expect(answers.map((a) => [a.label, a.ok ?? a.code])).toStrictEqual([
        ["undefined", "E_CONFIG"],
        ["a bucket name", "E_CONFIG"],
        ["an S3 options object", "E_CONFIG"],
        ["bad maxObjectBytes", "E_CONFIG"],
        ["an unknown option", "E_CONFIG"],
        ["the binding", true],
      ]);
      for (const answer of answers.slice(0, 3)) {
        expect(answer.message).toContain("pass env.<BINDING> from wrangler.toml [[r2_buckets]]");
      }
    });

    it("an aborted put or get rejects with the reason at once, before the binding's call settles", async () => {
      const events = await (await mf!.dispatchFetch("http://worker/r2/abort-order")).json();
      expect(events).toStrictEqual([
        "put rejected with the reason",
        "binding put settled",
        "get rejected with the reason",
        "binding get settled",
      ]);
    });

    it("a cache with its blobs in R2: a large value missed, then hit from its blob", async () => {
      const response = await mf!.dispatchFetch(`http://worker/r2/cache?prefix=r2-cache-${crypto.randomUUID()}`);
      const body = await response.json() as Record<string, unknown>;
      expect(body).toMatchObject({ ok: true, hits: { total: 1, blob: 1 } });
    });
  });
}
