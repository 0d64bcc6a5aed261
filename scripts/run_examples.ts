/**
 * `npm test` step "examples": runs every example in `examples/` against the local services, each
 * using Larder the way its users get it, and each asserting a miss then a hit:
 *
 * - `cloudflare-worker`: the packed tarball installed into the example, bundled by wrangler
 *   (`wrangler deploy --dry-run`), run in workerd by Miniflare with a local R2 bucket behind its
 *   `[[r2_buckets]]` binding; a miss, then a hit from the blob, which is in that bucket. Then
 *   again without the binding: the example's alternative, S3 (the local S3 server).
 * - `hono-worker`: likewise, a Hono app with `cacheResponses`: a miss, then the same response
 *   (bytes and headers) as a hit, then an invalidation and a miss again.
 * - `deno`: `deno run` with the example's deno.json, which imports `jsr:@larder/larder` as a JSR
 *   user would and resolves it to this repository through `links` (its deno.json exports and npm:
 *   imports); Deno fetches the npm dependencies into its own cache: no node_modules (checked), no
 *   npm install, no overrides.
 * - `bun`: the packed tarball installed into the example; the server started with `bun run`;
 *   two requests.
 * - `node-script`: the packed tarball installed into the example; `node main.js`.
 *
 * The examples read the usual variables (`UPSTASH_REDIS_REST_URL`, `AWS_ACCESS_KEY_ID`…), set
 * here from the `LARDER_TEST_*` ones. `npx tsx scripts/run_examples.ts [names…]` runs some.
 *
 * Each example's value is large enough to be compressed and stored as a blob, and after its hit
 * this script reads what the store holds under the example's prefix: one record, compressed
 * (zstd, or gzip where the example asks for it), pointing to a blob. A mistake of zstd (a Worker
 * bundle without its `.wasm`) or of S3 (a wrong region or signature: the local S3 checks them)
 * then fails here, where a small value stored inline would have hidden it.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { Miniflare } from "miniflare";
import { recordKey } from "../src/core/record/key_layout.ts";
import { buildAndPack } from "./_pack.ts";
import { carriesEmbeddedZstd } from "./zstd_wasm.ts";

const ROOT = resolve(".");
const BUN = join(ROOT, "node_modules/bun/bin/bun.exe");

/** One raw Redis command through the Upstash REST bridge. */
async function redis(command: readonly string[]): Promise<unknown> {
  const response = await fetch(process.env.LARDER_TEST_UPSTASH_URL!, {
    method: "POST",
    headers: { authorization: `Bearer ${process.env.LARDER_TEST_UPSTASH_TOKEN}`, "x-larder-uncounted": "1" },
    body: JSON.stringify(command),
  });
  const body = await response.json() as { result?: unknown; error?: string };
  if (body.error !== undefined) throw new Error(`redis ${command[0]}: ${body.error}`);
  return body.result;
}

/**
 * Asserts that the example's one entry (under `prefix`) is stored compressed with `compression`
 * and as a blob, from the record the store holds (its sizes are logged).
 */
async function assertCompressedBlob(label: string, prefix: string, compression = "zstd"): Promise<void> {
  const keys = await redis(["KEYS", recordKey(prefix, "*")]) as string[];
  if (keys.length !== 1) throw new Error(`${label}: ${keys.length} records under ${prefix}, not 1`);
  const record = JSON.parse(await redis(["GET", keys[0]!]) as string) as {
    z: string;
    n: number;
    s: number;
    b?: string;
  };
  if (record.z !== compression) throw new Error(`${label}: the entry is stored with ${record.z}, not ${compression}`);
  if (typeof record.b !== "string") {
    throw new Error(`${label}: the entry (${record.s} bytes stored) is inline: the example does not exercise blobs`);
  }
  console.log(`  ${label} stored: ${record.n} bytes, ${compression} ${record.s} bytes, blob ${record.b}`);
}

function exampleEnv(name: string): Record<string, string> {
  const get = (variable: string): string => {
    const value = process.env[variable];
    if (!value) {
      throw new Error(
        `${variable} is not set: run through \`npm test\` or \`npm run services -- …\``,
      );
    }
    return value;
  };
  return {
    UPSTASH_REDIS_REST_URL: get("LARDER_TEST_UPSTASH_URL"),
    UPSTASH_REDIS_REST_TOKEN: get("LARDER_TEST_UPSTASH_TOKEN"),
    S3_ENDPOINT: get("LARDER_TEST_S3_ENDPOINT"),
    S3_BUCKET: get("LARDER_TEST_S3_BUCKET"),
    S3_REGION: get("LARDER_TEST_S3_REGION"),
    AWS_ACCESS_KEY_ID: get("LARDER_TEST_S3_ACCESS_KEY_ID"),
    AWS_SECRET_ACCESS_KEY: get("LARDER_TEST_S3_SECRET_ACCESS_KEY"),
    CACHE_PREFIX: `example-${name}-${crypto.randomUUID()}`,
  };
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): void {
  const result = spawnSync(command, args, {
    cwd,
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env },
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} (in ${cwd}) exited ${result.status}`,
    );
  }
}

/** Installs the packed tarball into an example, as `npm install larder` would (without saving). */
function install(dir: string, tarball: string): void {
  rmSync(join(dir, "node_modules"), { recursive: true, force: true });
  // --omit=dev: the Worker example lists wrangler for its users; the repository's pinned one
  // (the last that runs on Node 20) builds it here.
  run(
    "npm",
    [
      "install",
      "--no-save",
      "--omit=dev",
      "--no-package-lock",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      tarball,
    ],
    dir,
  );
}

interface Counters {
  runs: number;
  hits: number;
  misses: number;
  /** Hits served from the blob store, and which one (the Worker example says). */
  blobHits?: number;
  blobs?: string;
}

/** Asserts the first answer was a miss and that a hit follows (the write lands in the background). */
async function missThenHit(
  label: string,
  get: () => Promise<Counters>,
): Promise<Counters> {
  const first = await get();
  console.log(`  ${label} first request: ${JSON.stringify(first)}`);
  if (first.runs !== 1 || first.misses !== 1 || first.hits !== 0) {
    throw new Error(`${label}: first request was not a miss`);
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const next = await get();
    if (next.hits >= 1) {
      console.log(`  ${label} next request:  ${JSON.stringify(next)}`);
      if (next.runs !== 1) {
        throw new Error(`${label}: the hit ran the function again`);
      }
      return next;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${label}: no hit after 5 s`);
}

/**
 * Installs the tarball into a Worker example, bundles it with wrangler, and starts it in Miniflare,
 * with a local R2 bucket behind each `[[r2_buckets]]` binding of its wrangler.toml (unless `r2` is false).
 */
function startWorker(name: string, tarball: string, options: { r2?: boolean } = {}): Miniflare {
  const dir = join(ROOT, "examples", name);
  const out = join(dir, ".build");
  install(dir, tarball);
  rmSync(out, { recursive: true, force: true });
  run(
    process.execPath,
    [
      join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      out,
    ],
    dir,
  );
  if (!readdirSync(out).some((file) => file.endsWith(".wasm"))) {
    throw new Error("wrangler did not emit zstd.wasm");
  }
  // larder/workers brings the compiled module: the bytes embedded for other runtimes stay out.
  if (carriesEmbeddedZstd(readFileSync(join(out, "index.js"), "utf8"))) {
    throw new Error(`${name}: the Worker bundle carries the embedded zstd.wasm as well`);
  }
  const toml = readFileSync(join(dir, "wrangler.toml"), "utf8");
  const r2Buckets = options.r2 === false
    ? []
    : [...toml.matchAll(/\[\[r2_buckets\]\]\s*binding\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
  return new Miniflare({
    scriptPath: join(out, "index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: /compatibility_date\s*=\s*"([^"]+)"/.exec(toml)?.[1] ??
      "2026-04-01",
    bindings: exampleEnv(name),
    r2Buckets,
  });
}

/**
 * Proves how the Deno example gets Larder, from `deno info --json`: its `@larder/larder` imports
 * resolve to the files this repository's deno.json exports (the JSR package), and every npm
 * package comes from Deno's own cache (none from a node_modules folder), cbor-x not among them.
 */
function checkDenoResolution(dir: string): void {
  const info = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["info", "--json", "main.ts"], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (info.status !== 0) throw new Error(`deno info exited ${info.status}`);
  const graph = JSON.parse(info.stdout) as {
    modules: { specifier: string; dependencies?: { specifier: string; code?: { specifier: string } }[] }[];
    npmPackages: Record<string, unknown>;
  };
  const exports = (JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { exports: Record<string, string> })
    .exports;
  const main = graph.modules.find((module) => module.specifier.endsWith("/examples/deno/main.ts"));
  for (const subpath of [".", "./stores/upstash", "./blobs/s3"]) {
    const specifier = `@larder/larder${subpath.slice(1)}`;
    const resolved = main?.dependencies?.find((dependency) => dependency.specifier === specifier)?.code?.specifier;
    const expected = pathToFileURL(join(ROOT, exports[subpath] as string)).href;
    if (resolved !== expected) throw new Error(`deno example: ${specifier} resolved to ${resolved}, not ${expected}`);
  }
  const fromNodeModules = graph.modules.filter((module) => module.specifier.includes("/node_modules/"));
  if (fromNodeModules.length > 0) throw new Error(`deno example loads ${fromNodeModules[0]?.specifier}`);
  const packages = Object.keys(graph.npmPackages);
  if (packages.some((name) => name.startsWith("cbor-"))) throw new Error(`deno example needs ${packages.join(", ")}`);
  console.log(
    `  deno: @larder/larder resolved through links to ${ROOT}; npm packages from Deno's cache: ${packages.join(", ")}`,
  );
}

const EXAMPLES: Record<string, (tarball: string) => Promise<void>> = {
  async "cloudflare-worker"(tarball) {
    for (const blobs of ["r2", "s3"]) {
      const mf = startWorker("cloudflare-worker", tarball, { r2: blobs === "r2" });
      try {
        const hit = await missThenHit(`worker (${blobs})`, async () => {
          const response = await mf.dispatchFetch(
            "http://example/forecast?city=paris",
          );
          if (!response.ok) {
            throw new Error(
              `worker answered ${response.status}: ${await response.text()}`,
            );
          }
          return await response.json() as Counters;
        });
        if (hit.blobs !== blobs || hit.blobHits !== 1) {
          throw new Error(`worker (${blobs}): the hit was not read from ${blobs} (${JSON.stringify(hit)})`);
        }
        const prefix = ((await mf.getBindings()) as Record<string, unknown>).CACHE_PREFIX as string;
        await assertCompressedBlob(`worker (${blobs})`, prefix);
        if (blobs === "r2") {
          // The payload is in the bucket behind the binding, under the cache's prefix.
          const bucket = await mf.getR2Bucket("CACHE_BUCKET") as unknown as {
            list(options: { prefix: string }): Promise<{ objects: { key: string; size: number }[] }>;
          };
          const { objects } = await bucket.list({ prefix: `${prefix}/` });
          if (objects.length !== 1) throw new Error(`worker (r2): ${objects.length} objects in the bucket, not 1`);
          console.log(`  worker (r2) bucket: ${objects[0]!.key} (${objects[0]!.size} bytes)`);
        }
      } finally {
        await mf.dispose();
      }
    }
  },

  async "hono-worker"(tarball) {
    const mf = startWorker("hono-worker", tarball);
    const report = async (): Promise<
      { status: string | null; body: string; etag: string | null }
    > => {
      const response = await mf.dispatchFetch("http://example/report/weekly");
      if (!response.ok) {
        throw new Error(
          `hono worker answered ${response.status}: ${await response.text()}`,
        );
      }
      return {
        status: response.headers.get("cache-status"),
        body: await response.text(),
        etag: response.headers.get("etag"),
      };
    };
    const stats = async (): Promise<{ runs: number }> =>
      await (await mf.dispatchFetch("http://example/stats")).json() as { runs: number };
    try {
      const miss = await report();
      console.log(`  hono-worker first request: ${miss.status}`);
      // No "stored": c.json sends no Content-Length, so the size is not known to fit yet.
      if (!miss.status?.startsWith("Larder; fwd=uri-miss")) {
        throw new Error(`hono-worker: first request was not a miss`);
      }
      let hit = await report();
      for (
        let attempt = 0;
        attempt < 50 && !hit.status?.startsWith("Larder; hit");
        attempt++
      ) {
        await new Promise((done) => setTimeout(done, 100));
        hit = await report();
      }
      console.log(
        `  hono-worker next request:  ${hit.status} (ETag ${hit.etag})`,
      );
      if (!hit.status?.startsWith("Larder; hit")) {
        throw new Error("hono-worker: no hit after 5 s");
      }
      if (hit.body !== miss.body) {
        throw new Error("hono-worker: the hit's body differs from the miss's");
      }
      if ((await stats()).runs !== 1) {
        throw new Error("hono-worker: the hit ran the report again");
      }
      const prefix = ((await mf.getBindings()) as Record<string, unknown>).CACHE_PREFIX as string;
      await assertCompressedBlob("hono-worker", prefix, "gzip");
      const health = await mf.dispatchFetch("http://example/health");
      const healthBody = await health.json() as { ok: boolean; store: { state: string }; blob: { state: string } };
      if (
        health.status !== 200 || !healthBody.ok || healthBody.store.state !== "ok" || healthBody.blob.state !== "ok"
      ) {
        throw new Error(`hono-worker: /health answered ${health.status} ${JSON.stringify(healthBody)}`);
      }
      const refreshed = await mf.dispatchFetch(
        "http://example/report/weekly/refresh",
        { method: "POST" },
      );
      if (!(await refreshed.json() as { deleted: boolean }).deleted) {
        throw new Error("hono-worker: nothing deleted");
      }
      const again = await report();
      console.log(`  hono-worker after refresh: ${again.status}`);
      if (
        !again.status?.startsWith("Larder; fwd=uri-miss") ||
        (await stats()).runs !== 2
      ) {
        throw new Error(
          "hono-worker: the invalidated report was not recomputed",
        );
      }
    } finally {
      await mf.dispose();
    }
  },

  async deno() {
    const dir = join(ROOT, "examples/deno");
    // Left by runs of an older version of this script (which installed the tarball with npm).
    rmSync(join(dir, "node_modules"), { recursive: true, force: true });
    checkDenoResolution(dir);
    // main.ts asserts a miss then a hit, counted by its own function and by cache.stats().
    const env = exampleEnv("deno");
    run(join(ROOT, "node_modules/.bin/deno"), ["run", "--allow-env", "--allow-net", "main.ts"], dir, env);
    await assertCompressedBlob("deno", env.CACHE_PREFIX!);
    if (existsSync(join(dir, "node_modules"))) throw new Error("deno created a node_modules folder in the example");
  },

  async bun(tarball) {
    const dir = join(ROOT, "examples/bun");
    install(dir, tarball);
    const env = exampleEnv("bun");
    const server = spawn(BUN, ["run", "server.ts"], {
      cwd: dir,
      env: { ...process.env, ...env, PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const base = await new Promise<string>((found, fail) => {
        let output = "";
        const timer = setTimeout(
          () => fail(new Error(`bun server did not start: ${output}`)),
          20_000,
        );
        server.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /listening on (\S+)/.exec(output);
          if (match?.[1]) {
            clearTimeout(timer);
            found(match[1].replace(/\/$/, ""));
          }
        });
        server.once(
          "exit",
          (code) => fail(new Error(`bun server exited ${code}: ${output}`)),
        );
      });
      const hit = await missThenHit("bun", async () => {
        const response = await fetch(`${base}/top?region=emea`);
        if (!response.ok) {
          throw new Error(
            `bun server answered ${response.status}: ${await response.text()}`,
          );
        }
        return await response.json() as Counters;
      });
      if (hit.blobHits !== 1) throw new Error(`bun: the hit was not read from S3 (${JSON.stringify(hit)})`);
      await assertCompressedBlob("bun", env.CACHE_PREFIX!);
    } finally {
      server.kill("SIGTERM");
    }
  },

  async "node-script"(tarball) {
    const dir = join(ROOT, "examples/node-script");
    install(dir, tarball);
    const env = exampleEnv("node");
    run(process.execPath, ["main.js"], dir, env);
    await assertCompressedBlob("node-script", env.CACHE_PREFIX!);
  },
};

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(EXAMPLES);
  const unknown = names.filter((name) => !(name in EXAMPLES));
  if (unknown.length > 0) {
    throw new Error(`unknown example(s) ${unknown.join(", ")}`);
  }
  const { tarball } = buildAndPack();
  let failed = 0;
  for (const name of names) {
    const started = performance.now();
    console.log(`\n● example ${name}`);
    try {
      await EXAMPLES[name]?.(tarball);
      console.log(
        `  PASS ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    } catch (error) {
      failed++;
      console.error(
        `  FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  console.log(`\nexamples: ${names.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
