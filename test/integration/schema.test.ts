/**
 * `wrap(fn, { schema })` against the real services, with two real Standard Schema libraries (zod
 * 4 and valibot 1): entries written by a previous deploy in another shape are misses (counted in
 * `errors.schema`, logged once per function) that the fresh value replaces in Redis; async
 * validators; the validator's output (transforms applied) is what callers get, from the store and
 * from the in-process tier, while the function's own value is what is stored; a fresh value that
 * does not pass rejects the call and is not stored. `cache.get(key, { schema })` too.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isCacheError, SchemaError } from "../../mod.ts";
import type { StandardSchema } from "../../src/core/api/schema.ts";
import type { CacheOptions } from "../../src/core/api/options.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { prometheusText } from "../../src/metrics/prometheus.ts";
import { servicesCache } from "../helpers/cache.ts";
import { rawRedisGet, rawRedisKeys, requireServices } from "../helpers/services.ts";

requireServices();

/** The shape a deploy changed to: `currency` is new. */
interface Report {
  total: number;
  currency: string;
}

/** The same schemas in each library: the new shape, an async one, and one that transforms. */
const libraries: Record<string, {
  readonly report: StandardSchema<unknown, Report>;
  readonly reportAsync: StandardSchema<unknown, Report>;
  readonly withCents: StandardSchema<unknown, Report & { cents: number }>;
}> = {
  zod: {
    report: z.object({ total: z.number(), currency: z.string() }),
    reportAsync: z.object({ total: z.number(), currency: z.string() }).refine(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return r.total >= 0;
    }, "total must not be negative"),
    withCents: z.object({ total: z.number(), currency: z.string() }).transform((r) => ({
      ...r,
      cents: Math.round(r.total * 100),
    })),
  },
  valibot: {
    report: v.object({ total: v.number(), currency: v.string() }),
    reportAsync: v.pipeAsync(
      v.object({ total: v.number(), currency: v.string() }),
      v.checkAsync(async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return r.total >= 0;
      }, "total must not be negative"),
    ),
    withCents: v.pipe(
      v.object({ total: v.number(), currency: v.string() }),
      v.transform((r) => ({ ...r, cents: Math.round(r.total * 100) })),
    ),
  },
};

/** The stored values of the records under `prefix` (decoded by a cache without schema, as the wrapped `name`). */
async function storedValues(prefix: string, name: string, args: number[], options: CacheOptions = {}) {
  const { cache } = servicesCache("schema", { ...options, prefix });
  const raw = cache.wrap(async (_n: number): Promise<unknown> => "not stored", { name });
  const values = await Promise.all(args.map((n) => raw(n)));
  expect(cache.stats().hits.total).toBe(args.length);
  return values;
}

for (const [library, schemas] of Object.entries(libraries)) {
  describe(`schema on read (${library})`, () => {
    it("an entry of the old shape is a miss, counted and logged once per function; the fresh value replaces it", async () => {
      const before = servicesCache("schema");
      const { prefix } = before;
      const old = before.cache.wrap(async (n: number) => ({ total: n }), { name: "report" });
      const oldOther = before.cache.wrap(async (n: number) => ({ total: n }), { name: "other" });
      await Promise.all([old(1), old(2), old(3), oldOther(1)]);
      await before.cache.flush();

      const after = servicesCache("schema", { prefix });
      const runs: number[] = [];
      const report = after.cache.wrap(async (n: number) => {
        runs.push(n);
        return { total: n, currency: "EUR" };
      }, { name: "report", schema: schemas.report });
      const other = after.cache.wrap(async (n: number) => ({ total: n, currency: "USD" }), {
        name: "other",
        schema: schemas.report,
      });
      expect(await report(1)).toEqual({ total: 1, currency: "EUR" });
      expect(await report(2)).toEqual({ total: 2, currency: "EUR" });
      expect(await other(1)).toEqual({ total: 1, currency: "USD" });
      expect(runs).toEqual([1, 2]);
      const stats = after.cache.stats();
      expect(stats.misses).toBe(3);
      expect(stats.errors).toMatchObject({ total: 3, schema: 3, byCode: { E_SCHEMA: 3 } });
      expect(prometheusText(after.cache)).toContain('larder_errors_total{source="schema"} 3');
      const logged = after.logger.lines.filter((l) => l.message.includes("does not match the schema"));
      expect(logged.map((l) => l.message)).toEqual([
        "larder: default/report: a cached value does not match the schema (1 issue at currency): " +
        "a miss, counted in errors.schema; the function's fresh value replaces it",
        "larder: default/other: a cached value does not match the schema (1 issue at currency): " +
        "a miss, counted in errors.schema; the function's fresh value replaces it",
      ]);
      await after.cache.flush();

      // Replaced in Redis: the next calls are hits, of the new shape; the untouched entry is still old.
      expect(await report(1)).toEqual({ total: 1, currency: "EUR" });
      expect(await report(2)).toEqual({ total: 2, currency: "EUR" });
      expect(runs).toEqual([1, 2]);
      expect(after.cache.stats().hits.inline).toBe(2);
      expect(await storedValues(prefix, "report", [1, 2, 3])).toEqual([
        { total: 1, currency: "EUR" },
        { total: 2, currency: "EUR" },
        { total: 3 },
      ]);
      // peek checks the schema too: the old entry is not returned.
      expect(await report.peek(3)).toBeUndefined();
      expect(after.cache.stats().errors.schema).toBe(4);
    });

    it("async validators: on a miss, a store hit and a memory hit; a cached value that fails the async check is a miss", async () => {
      for (const memory of [false, true]) {
        const writer = servicesCache("schema");
        const { prefix } = writer;
        const seed = writer.cache.wrap(async (n: number) => ({ total: n, currency: "EUR" }), { name: "async" });
        await seed(-1);
        await writer.cache.flush();
        const { cache } = servicesCache("schema", { prefix, memory });
        let runs = 0;
        const report = cache.wrap(async (n: number) => {
          runs++;
          return { total: Math.abs(n), currency: "EUR" };
        }, { name: "async", schema: schemas.reportAsync });
        const results = [await report(5)];
        await cache.flush();
        results.push(await report(5), await report(5));
        expect(results).toEqual(Array(3).fill({ total: 5, currency: "EUR" }));
        expect(cache.stats().hits).toMatchObject(memory ? { memory: 2 } : { inline: 2 });
        // Written by the seed with total -1: passes the shape, fails the async check.
        const fixed = await report(-1);
        expect(fixed).toEqual({ total: 1, currency: "EUR" });
        expect(runs).toBe(2);
        expect(cache.stats().errors.schema).toBe(1);
      }
    });

    it("callers get the validator's output (transformed) from the function, the store and the tier; the function's own value is stored", async () => {
      for (const memory of [false, { shared: true }] as const) {
        const { cache, prefix } = servicesCache("schema", { memory });
        const priced = cache.wrap(async (n: number) => ({ total: n + 0.25, currency: "EUR" }), {
          name: "priced",
          schema: schemas.withCents,
        });
        const fresh = await priced(1);
        await cache.flush();
        const fromStore = await servicesCache("schema", { prefix }).cache.wrap(
          async (_n: number): Promise<unknown> => "not run",
          { name: "priced", schema: schemas.withCents },
        )(1);
        const fromTier = await priced(1);
        for (const value of [fresh, fromStore, fromTier]) {
          expect(value).toEqual({ total: 1.25, currency: "EUR", cents: 125 });
        }
        expect(fromTier).not.toBe(fresh);
        expect(await storedValues(prefix, "priced", [1])).toEqual([{ total: 1.25, currency: "EUR" }]);
        const [key] = await rawRedisKeys(recordKey(prefix, "*"));
        expect(parseRecord((await rawRedisGet(key!))!).c).toBe("cbor");
        expect(cache.stats().errors.total).toBe(0);
      }
    });

    it("a fresh value that does not pass: the call rejects with a SchemaError, nothing is stored", async () => {
      const { cache, prefix } = servicesCache("schema");
      const broken = cache.wrap(async () => ({ total: "12" }), { name: "broken", schema: schemas.report });
      const error = await broken().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaError);
      expect(isCacheError(error) && error.code).toBe("E_SCHEMA");
      const issues = (error as SchemaError).issues.map((i) => i.path?.join("."));
      expect(issues.sort()).toEqual(["currency", "total"]);
      expect((error as Error).message).toContain("default/broken: the function's value does not match the schema");
      await cache.flush();
      expect(await rawRedisKeys(recordKey(prefix, "*"))).toEqual([]);
      expect(cache.stats().errors.schema).toBe(1);
      expect(cache.stats().writes.ok).toBe(0);
    });

    it("cache.get with a schema: a stored value of another shape is a miss, counted, logged once per namespace, left in place; a hit is the validator's output", async () => {
      const { cache, logger } = servicesCache("schema");
      await cache.set("report:old", { total: 1 });
      await cache.set("report:old2", { total: 2 });
      await cache.set("report:new", { total: 1.5, currency: "EUR" });
      expect(await cache.get("report:old", { schema: schemas.report })).toBeUndefined();
      expect(await cache.get("report:old2", { schema: schemas.report })).toBeUndefined();
      expect(await cache.get("report:new", { schema: schemas.withCents })).toEqual({
        total: 1.5,
        currency: "EUR",
        cents: 150,
      });
      expect(await cache.get("report:new", { schema: schemas.reportAsync })).toEqual({ total: 1.5, currency: "EUR" });
      const stats = cache.stats();
      expect(stats.errors).toMatchObject({ total: 2, schema: 2, byCode: { E_SCHEMA: 2 } });
      expect(stats.misses).toBe(2);
      expect(stats.hits.inline).toBe(2);
      const logged = logger.lines.filter((l) => l.message.includes("does not match the schema"));
      expect(logged.map((l) => l.message)).toEqual([
        'larder: get in namespace "default": a cached value does not match the schema (1 issue at currency): ' +
        "a miss, counted in errors.schema; get returns undefined; the entry stays until it is set again or expires",
      ]);
      // Without the schema, the values as stored: get replaced nothing.
      expect(await cache.get("report:old")).toEqual({ total: 1 });
      expect(await cache.get("report:new")).toEqual({ total: 1.5, currency: "EUR" });
      await expect(cache.get("report:new", { schema: { total: "number" } as never })).rejects.toThrow(
        /^get: schema must be a Standard Schema validator/,
      );
    });

    it("a fresh value that does not pass, with an expired entry within staleIfError: the entry is served", async () => {
      const { cache } = servicesCache("schema", { staleIfError: "1m" });
      let version = 0;
      const report = cache.wrap(async () => (++version === 1 ? { total: 1, currency: "EUR" } : { total: "bad" }), {
        name: "report",
        ttl: 50,
        schema: schemas.report,
      });
      expect(await report()).toEqual({ total: 1, currency: "EUR" });
      await cache.flush();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await report()).toEqual({ total: 1, currency: "EUR" });
      expect(version).toBe(2);
      expect(cache.stats()).toMatchObject({ staleIfError: 1, errors: { schema: 1 } });
    });
  });
}
