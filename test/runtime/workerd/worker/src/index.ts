/**
 * The Worker of the workerd runtime suite. It imports Larder as a user would (`larder/workers`,
 * installed from the packed tarball) and runs the shared scenarios on request:
 *
 * - `GET /scenario?name=…`: one scenario of test/runtime/_scenarios.ts;
 * - `GET /waituntil/write?via=module|ctx|none`: a miss whose write is left to `waitUntil` from
 *   `cloudflare:workers` (the `larder/workers` default), to `ctx.waitUntil`, or to nothing;
 *   answers with the prefix, before the write is done;
 * - `GET /waituntil/read?prefix=…`: 200 when a fresh cache hits that entry, 404 otherwise;
 * - `GET /waituntil/lease?prefix=…`: one call of a function wrapped by a cache left without
 *   `waitUntil` (the first-hour mistake), created once per prefix and kept across requests as a
 *   module-level cache is; answers with the function's runs and the cache's misses and leases;
 * - `GET /get?prefix=…&key=…` and `POST /set?prefix=…&key=…`: entries shared with Node, to show
 *   that records cross runtimes both ways.
 *
 * - the response-cache routes of ./http.ts (`/http-scenario…`, `/app/…`, `/plain/…`);
 * - the dashboard routes of ./dashboard.ts (`/dashboard-scenario…`, `/_larder`);
 * - the R2 routes of ./blobs.ts (`/blob/…` for the blob conformance suite, `/r2/…`).
 *
 * Every answer is JSON; a failed assertion is a 500 with the error's stack.
 */
// A namespace import, like larder/workers' own: `env` is read in global scope below.
import * as workers from "cloudflare:workers";
import { type Cache, createCache } from "larder/workers";
import { upstashStore } from "larder/stores/upstash";
import { s3BlobStore } from "larder/blobs/s3";
import {
  assertDeepEqual,
  readBack,
  sampleValue,
  type ScenarioContext,
  scenarios,
  servicesCache,
  servicesFromEnv,
  writeInBackground,
} from "../../../_scenarios.ts";
import { handleBlobs } from "./blobs.ts";
import { handleDashboard } from "./dashboard.ts";
import { handleHttp } from "./http.ts";

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

const json = (body: unknown, status = 200): Response => Response.json(body, { status });

/**
 * A cache created in global scope with the in-process tier and its bus, as the README's Workers
 * quick start creates one: workerd refuses random values, timers and I/O there, so creating a
 * cache must use none of them (a bus token drawn at construction once stopped every Worker from
 * starting). `/global/roundtrip` uses it.
 */
const globalServices = servicesFromEnv((workers as unknown as { env: Record<string, string> }).env);
const globalCache = createCache({
  store: upstashStore(globalServices.upstash),
  blobs: s3BlobStore(globalServices.s3),
  prefix: "workerd-global-scope",
  memory: true,
});

/** The caches of `/waituntil/lease`, by prefix, with their function and its runs. */
const unkept = new Map<string, { cache: Cache; report: (id: string) => Promise<unknown>; runs: number }>();

async function handle(request: Request, env: Record<string, string>, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const param = (name: string): string => {
    const value = url.searchParams.get(name);
    if (!value) throw new Error(`missing ?${name}=`);
    return value;
  };
  const scenario: ScenarioContext = {
    lib: { createCache, upstashStore, s3BlobStore },
    services: servicesFromEnv(env),
    runtime: "workerd",
  };
  switch (url.pathname) {
    case "/scenarios":
      return json(scenarios.map((s) => s.name));
    case "/scenario": {
      const name = param("name");
      const found = scenarios.find((s) => s.name === name);
      if (!found) return json({ error: `no scenario ${name}` }, 404);
      await found.run(scenario);
      return json({ ok: true });
    }
    case "/waituntil/write": {
      const via = param("via");
      const options = via === "ctx"
        ? { waitUntil: ctx.waitUntil.bind(ctx) }
        : via === "none"
        ? { waitUntil: undefined }
        : {};
      return json({ prefix: await writeInBackground(scenario, options) });
    }
    case "/waituntil/lease": {
      const prefix = param("prefix");
      let entry = unkept.get(prefix);
      if (!entry) {
        const cache = servicesCache(scenario, prefix, { waitUntil: undefined, globalStats: false });
        const created = { cache, runs: 0, report: (_id: string): Promise<unknown> => Promise.resolve() };
        created.report = cache.wrap(async (id: string) => (created.runs++, sampleValue(id)), { name: "unkept" });
        unkept.set(prefix, created);
        entry = created;
      }
      await entry.report("k");
      const stats = entry.cache.stats();
      return json({ runs: entry.runs, misses: stats.misses, leases: stats.leases });
    }
    case "/waituntil/read":
      try {
        await readBack(scenario, param("prefix"));
        return json({ ok: true });
      } catch (error) {
        return json({ ok: false, error: String(error) }, 404);
      }
    case "/get": {
      const key = param("key");
      const cache = servicesCache(scenario, param("prefix"));
      assertDeepEqual(await cache.get(key), sampleValue(key), "the entry written by Node decodes identically");
      return json({ ok: true, stats: cache.stats().hits });
    }
    case "/set": {
      const key = param("key");
      const cache = servicesCache(scenario, param("prefix"));
      return json({ ok: await cache.set(key, sampleValue(key)) });
    }
    case "/global/roundtrip": {
      const key = param("key");
      const written = await globalCache.set(key, sampleValue(key));
      assertDeepEqual(await globalCache.get(key), sampleValue(key), "the global-scope cache reads its entry");
      return json({ ok: written, hits: globalCache.stats().hits, bus: globalCache.stats().bus });
    }
    default:
      return json({ error: "not found" }, 404);
  }
}

export default {
  async fetch(request: Request, env: Record<string, string>, ctx: ExecutionContext): Promise<Response> {
    try {
      return await handleBlobs(request, env) ?? await handleHttp(request, env, ctx) ??
        await handleDashboard(request, env) ?? await handle(request, env, ctx);
    } catch (error) {
      return json({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, 500);
    }
  },
};
