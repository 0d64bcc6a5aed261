/**
 * The conformance suite of the metadata store role ({@link MetadataStore}): every adapter runs it,
 * against the real backend, so each one meets the same contract, which is Redis's: `SET … PX`
 * (`NX` when `ifAbsent`), `GET`, `DEL`, `EXISTS`, batches in order, expired keys absent.
 *
 * @module
 */
import type { MetadataStore, StoreOp, StoreResult } from "../core/types.ts";
import { expect } from "./_expect.ts";
import { abortedSignal, expectAbortSettles, type ManualClock, pollUntil } from "./_helpers.ts";
import { adapterUnderTest, type SuiteOptions } from "./_runner.ts";
import { scriptTests } from "./_store_scripts.ts";
import { busTests } from "./_store_bus.ts";

/** What `additionalTests` get: the suite's store and a per-test key namer. */
export interface StoreTestContext {
  /** The store the suite created (valid inside tests, not at collection time). */
  readonly store: () => MetadataStore;
  /** `name` under this test's random prefix. */
  readonly key: (name: string) => string;
}

/** Options of {@link describeStoreConformance}: the runner, `additionalTests`, `teardown`, and the store's clock. */
export interface StoreConformanceOptions extends SuiteOptions<MetadataStore, StoreTestContext> {
  /**
   * The clock the store was given: TTL tests then move it instead of sleeping. Without it they
   * use real time (TTLs of 150–200 ms, polled).
   */
  clock?: ManualClock;
}

/** Values a store must keep exactly, as strings, by what they look like. */
const STRING_VALUES: Readonly<Record<string, string>> = {
  "empty": "",
  "number-like": "123",
  "float-like": "1.50",
  "null-like": "null",
  "boolean-like": "true",
  "JSON object": '{"a":1,"b":[true,null]}',
  "JSON string": '"quoted"',
  "whitespace": "  \t\n\r\n  ",
  "unicode": "héllo 日本語 🎉 e\u0301",
  "NUL and controls": "a\u0000b\u0001c\u001f",
  "base64": "AAECAwQFBgcICQ==+/",
  "Redis syntax": "*3\r\n$3\r\nSET\r\n",
};

/** Registers the store contract tests for the adapter `factory` builds (once per suite). */
export function describeStoreConformance(
  name: string,
  factory: () => Promise<MetadataStore> | MetadataStore,
  options: StoreConformanceOptions,
): void {
  const { describe, it } = options.runner;
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;
    const under = adapterUnderTest(async () => (store = await factory()), { ...options, label: `conf-${name}` });
    const key = (n: string): string => `${under.prefix()}:${n}`;
    const run = (ops: StoreOp[]): Promise<StoreResult[]> => store.run(ops);
    const clock = options.clock;

    it("has a name", () => {
      expect(typeof store.name).toBe("string");
      expect(store.name.length).toBeGreaterThan(0);
    });

    it("answers an empty batch with no results", async () => {
      expect(await run([])).toEqual([]);
    });

    describe("get / set", () => {
      it("returns null for a missing key", async () => {
        expect(await run([{ type: "get", key: key("missing") }])).toStrictEqual([null]);
      });

      it("sets (true) and gets the value back", async () => {
        expect(await run([{ type: "set", key: key("k"), value: "v1", ttlMs: 60_000 }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: key("k") }])).toStrictEqual(["v1"]);
      });

      it("overwrites an existing value (true)", async () => {
        await run([{ type: "set", key: key("k"), value: "old", ttlMs: 60_000 }]);
        expect(await run([{ type: "set", key: key("k"), value: "new", ttlMs: 60_000 }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: key("k") }])).toStrictEqual(["new"]);
      });

      for (const [label, value] of Object.entries(STRING_VALUES)) {
        it(`keeps a ${label} value exactly, as a string`, async () => {
          await run([{ type: "set", key: key("v"), value, ttlMs: 60_000 }]);
          const [got] = await run([{ type: "get", key: key("v") }]);
          expect(typeof got).toBe("string");
          expect(got).toBe(value);
        });
      }

      it("keeps a 1 MiB value", async () => {
        const value = "0123456789abcdef".repeat(65_536);
        await run([{ type: "set", key: key("big"), value, ttlMs: 60_000 }]);
        const [got] = await run([{ type: "get", key: key("big") }]);
        expect(got === value, "1 MiB value round-trips").toBe(true);
      });

      for (
        const [label, suffix] of [
          ["spaces", "a key with spaces"],
          ["plus and percent", "a+b%2Bc%"],
          ["unicode", "ключ/日本/🎉"],
          ["glob characters", "*?[a-z]\\"],
          ["separators", "a:b/c|d#e&f=g?h"],
          ["newline", "line1\nline2"],
          ["long", "k".repeat(1_000)],
        ] as const
      ) {
        it(`accepts keys with ${label}, each its own entry`, async () => {
          const odd = key(suffix);
          await run([
            { type: "set", key: odd, value: "odd", ttlMs: 60_000 },
            { type: "set", key: key("plain"), value: "plain", ttlMs: 60_000 },
          ]);
          expect(await run([{ type: "get", key: odd }, { type: "exists", key: odd }])).toStrictEqual(["odd", true]);
          expect(await run([{ type: "del", key: odd }, { type: "get", key: key("plain") }])).toStrictEqual([
            1,
            "plain",
          ]);
        });
      }
    });

    describe("set with ifAbsent (NX)", () => {
      it("writes when absent (true), refuses when present (false) and keeps the old value", async () => {
        const k = key("lease");
        expect(await run([{ type: "set", key: k, value: "a", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([true]);
        expect(await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([false]);
        expect(await run([{ type: "get", key: k }])).toStrictEqual(["a"]);
      });

      it("writes again once the key is deleted", async () => {
        const k = key("lease");
        await run([{ type: "set", key: k, value: "a", ttlMs: 60_000, ifAbsent: true }]);
        expect(
          await run([
            { type: "del", key: k },
            { type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true },
            { type: "get", key: k },
          ]),
        ).toStrictEqual([1, true, "b"]);
      });

      it("treats ifAbsent: false as a plain set", async () => {
        const k = key("k");
        await run([{ type: "set", key: k, value: "a", ttlMs: 60_000 }]);
        expect(await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: false }])).toStrictEqual([true]);
        expect(await run([{ type: "get", key: k }])).toStrictEqual(["b"]);
      });

      it("lets exactly one of many concurrent writers win", async () => {
        const k = key("race");
        const results = await Promise.all(
          Array.from(
            { length: 20 },
            (_, i) => run([{ type: "set", key: k, value: `w${i}`, ttlMs: 60_000, ifAbsent: true }]),
          ),
        );
        const winners = results.flat().filter((r) => r === true);
        expect(winners).toHaveLength(1);
        const winner = results.findIndex((r) => r[0] === true);
        expect(await run([{ type: "get", key: k }])).toStrictEqual([`w${winner}`]);
      });
    });

    describe("del / exists", () => {
      it("del answers 1 for a removed key and 0 for a missing one", async () => {
        const k = key("k");
        await run([{ type: "set", key: k, value: "v", ttlMs: 60_000 }]);
        expect(await run([{ type: "del", key: k }])).toStrictEqual([1]);
        expect(await run([{ type: "del", key: k }, { type: "get", key: k }])).toStrictEqual([0, null]);
      });

      it("exists answers booleans", async () => {
        const k = key("k");
        expect(await run([{ type: "exists", key: k }])).toStrictEqual([false]);
        await run([{ type: "set", key: k, value: "", ttlMs: 60_000 }]);
        expect(await run([{ type: "exists", key: k }])).toStrictEqual([true]);
      });
    });

    describe("batches", () => {
      it("applies ops in order and answers one typed result per op", async () => {
        const a = key("a");
        const b = key("b");
        const results = await run([
          { type: "get", key: a },
          { type: "set", key: a, value: "1", ttlMs: 60_000 },
          { type: "get", key: a },
          { type: "set", key: a, value: "2", ttlMs: 60_000, ifAbsent: true },
          { type: "set", key: b, value: "x", ttlMs: 60_000, ifAbsent: true },
          { type: "set", key: a, value: "3", ttlMs: 60_000 },
          { type: "exists", key: a },
          { type: "get", key: a },
          { type: "del", key: a },
          { type: "del", key: a },
          { type: "exists", key: a },
          { type: "get", key: a },
          { type: "get", key: b },
        ]);
        expect(results).toStrictEqual([null, true, "1", false, true, true, true, "3", 1, 0, false, null, "x"]);
      });

      it("keeps the order of 200 ops", async () => {
        const ops: StoreOp[] = [];
        for (let i = 0; i < 100; i++) ops.push({ type: "set", key: key(`k${i}`), value: `v${i}`, ttlMs: 60_000 });
        for (let i = 99; i >= 0; i--) ops.push({ type: "get", key: key(`k${i}`) });
        const results = await run(ops);
        expect(results.slice(0, 100).every((r) => r === true)).toBe(true);
        expect(results.slice(100)).toStrictEqual(Array.from({ length: 100 }, (_, i) => `v${99 - i}`));
      });

      it("rejects a batch with a ttlMs that is not a positive integer", async () => {
        for (const ttlMs of [0, -5, 1.5]) {
          await expect(run([{ type: "set", key: key("bad"), value: "v", ttlMs }]), `ttlMs ${ttlMs}`).rejects
            .toThrow();
        }
      });
    });

    scriptTests({ runner: options.runner, store: () => store, run, key, clock });
    busTests({ runner: options.runner, store: () => store, run, key, clock });

    describe("counters and scans", () => {
      it("adds to hash fields and reads the hash back", async () => {
        const h = key("stats");
        expect(
          await run([
            { type: "hincr", key: h, field: "hits", by: 3 },
            { type: "hincr", key: h, field: "hits", by: 2 },
            { type: "hincr", key: h, field: "misses", by: 1 },
            { type: "hgetall", key: h },
            { type: "hgetall", key: key("none") },
          ]),
        ).toStrictEqual([3, 5, 1, { hits: "5", misses: "1" }, {}]);
      });

      it("scans every key matching a pattern, and deletes several keys in one op", async () => {
        const names = Array.from({ length: 30 }, (_, i) => key(`scan:${i}`));
        await run(names.map((k): StoreOp => ({ type: "set", key: k, value: "v", ttlMs: 60_000 })));
        await run([{ type: "hincr", key: key("scan:hash"), field: "f", by: 1 }]);
        const found = new Set<string>();
        let cursor = "0";
        do {
          const [step] = await run([{ type: "scan", cursor, match: key("scan:*"), count: 10 }]);
          const { cursor: next, keys } = step as { cursor: string; keys: string[] };
          keys.forEach((k) => found.add(k));
          cursor = next;
        } while (cursor !== "0");
        expect([...found].sort()).toStrictEqual([...names, key("scan:hash")].sort());
        const [first, ...more] = [...found];
        expect(await run([{ type: "del", key: first!, more }])).toStrictEqual([31]);
      });
    });

    describe("expiry", () => {
      if (clock) {
        it("keeps a key until its TTL passes, then behaves as absent", async () => {
          const k = key("ttl");
          await run([{ type: "set", key: k, value: "v", ttlMs: 1_000 }]);
          clock.advance(999);
          expect(await run([{ type: "get", key: k }, { type: "exists", key: k }])).toStrictEqual(["v", true]);
          clock.advance(2);
          expect(await run([{ type: "get", key: k }, { type: "exists", key: k }, { type: "del", key: k }]))
            .toStrictEqual([null, false, 0]);
        });

        it("lets NX write over an expired key", async () => {
          const k = key("lease");
          await run([{ type: "set", key: k, value: "a", ttlMs: 100, ifAbsent: true }]);
          clock.advance(101);
          expect(await run([{ type: "set", key: k, value: "b", ttlMs: 100, ifAbsent: true }, { type: "get", key: k }]))
            .toStrictEqual([true, "b"]);
        });

        it("resets the TTL on a plain set, and a refused NX does not extend it", async () => {
          const k = key("k");
          await run([{ type: "set", key: k, value: "a", ttlMs: 100 }]);
          clock.advance(60);
          await run([{ type: "set", key: k, value: "b", ttlMs: 100 }]);
          clock.advance(60);
          expect(await run([{ type: "get", key: k }])).toStrictEqual(["b"]);
          expect(await run([{ type: "set", key: k, value: "c", ttlMs: 60_000, ifAbsent: true }])).toStrictEqual([
            false,
          ]);
          clock.advance(41);
          expect(await run([{ type: "get", key: k }])).toStrictEqual([null]);
        });
      } else {
        const expiresWithin = async (k: string, ttlMs: number, since: number): Promise<void> => {
          await pollUntil(async () => (await run([{ type: "exists", key: k }]))[0] === false, {
            timeoutMs: ttlMs + 5_000,
            everyMs: 20,
          });
          // Gone, but not before its TTL (a little slack for clock granularity).
          expect(performance.now() - since).toBeGreaterThanOrEqual(ttlMs - 15);
        };

        it("keeps a key until its TTL passes, then behaves as absent", async () => {
          const k = key("ttl");
          const since = performance.now();
          expect(await run([{ type: "set", key: k, value: "v", ttlMs: 200 }, { type: "get", key: k }]))
            .toStrictEqual([true, "v"]);
          await expiresWithin(k, 200, since);
          expect(await run([{ type: "get", key: k }, { type: "del", key: k }])).toStrictEqual([null, 0]);
        });

        it("lets NX write over an expired key", async () => {
          const k = key("lease");
          const since = performance.now();
          await run([{ type: "set", key: k, value: "a", ttlMs: 150, ifAbsent: true }]);
          await expiresWithin(k, 150, since);
          expect(
            await run([{ type: "set", key: k, value: "b", ttlMs: 60_000, ifAbsent: true }, { type: "get", key: k }]),
          )
            .toStrictEqual([true, "b"]);
        });

        it("resets the TTL on a plain set, and a refused NX does not extend it", async () => {
          const k = key("k");
          await run([{ type: "set", key: k, value: "a", ttlMs: 150 }]);
          const since = performance.now();
          expect(
            await run([
              { type: "set", key: k, value: "b", ttlMs: 200 },
              { type: "set", key: k, value: "c", ttlMs: 60_000, ifAbsent: true },
              { type: "get", key: k },
            ]),
          ).toStrictEqual([true, false, "b"]);
          await expiresWithin(k, 200, since);
        });
      }
    });

    describe("abort", () => {
      it("rejects with the reason when the signal is already aborted", async () => {
        const { signal, reason } = abortedSignal();
        await expect(store.run([{ type: "get", key: key("k") }], { signal })).rejects.toBe(reason);
      });

      it("settles promptly when the signal aborts in flight", async () => {
        const ops: StoreOp[] = Array.from({ length: 50 }, (_, i) => ({ type: "get", key: key(`k${i}`) }));
        await expectAbortSettles((signal) => store.run(ops, { signal }), 1_000);
      });

      it("works normally with a signal that does not abort", async () => {
        const signal = new AbortController().signal;
        expect(
          await store.run([{ type: "set", key: key("k"), value: "v", ttlMs: 60_000 }, { type: "get", key: key("k") }], {
            signal,
          }),
        ).toStrictEqual([true, "v"]);
      });
    });

    options.additionalTests?.({ store: () => store, key });
  });
}
