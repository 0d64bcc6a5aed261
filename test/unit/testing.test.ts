/**
 * The published conformance suites (`larder/testing`) under a runner of their own making — proof
 * that they need nothing from vitest — pass a conforming adapter and fail a broken one.
 */
import { describe, expect, it } from "vitest";
import { memoryBlobStore } from "../../src/blobs/memory.ts";
import type { BlobStore, MetadataStore, StoreOp } from "../../src/core/types.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import {
  describeBlobConformance,
  describeStoreConformance,
  manualClock,
  type TestBody,
  type TestRunner,
} from "../../src/testing/conformance.ts";

interface Suite {
  readonly beforeEach: TestBody[];
  readonly parent: Suite | undefined;
}

/** A minimal runner: collects tests and hooks, then runs every test, recording its failure. */
function collectingRunner(): { runner: TestRunner; run: () => Promise<Map<string, unknown>> } {
  const root: Suite = { beforeEach: [], parent: undefined };
  let current = root;
  const beforeAll: TestBody[] = [];
  const afterAll: TestBody[] = [];
  const tests: { name: string; body: TestBody; suite: Suite }[] = [];
  const names: string[] = [];
  const runner: TestRunner = {
    describe(name, body) {
      const parent = current;
      current = { beforeEach: [], parent };
      names.push(name);
      body();
      names.pop();
      current = parent;
    },
    it(name, body) {
      tests.push({ name: [...names, name].join(" > "), body, suite: current });
    },
    beforeAll: (body) => void beforeAll.push(body),
    afterAll: (body) => void afterAll.push(body),
    beforeEach: (body) => void current.beforeEach.push(body),
  };
  const run = async (): Promise<Map<string, unknown>> => {
    const outcomes = new Map<string, unknown>();
    for (const hook of beforeAll) await hook();
    for (const test of tests) {
      const chain: Suite[] = [];
      for (let suite: Suite | undefined = test.suite; suite; suite = suite.parent) chain.unshift(suite);
      try {
        for (const suite of chain) for (const hook of suite.beforeEach) await hook();
        await test.body();
        outcomes.set(test.name, undefined);
      } catch (error) {
        outcomes.set(test.name, error);
      }
    }
    for (const hook of afterAll) await hook();
    return outcomes;
  };
  return { runner, run };
}

const failures = (outcomes: Map<string, unknown>): string[] =>
  [...outcomes].filter(([, error]) => error !== undefined).map(([name]) => name);

describe("larder/testing", () => {
  it("passes the memory adapters, with a runner that is not vitest", async () => {
    const clock = manualClock();
    const store = collectingRunner();
    describeStoreConformance("memory", () => memoryStore({ now: clock.now }), { runner: store.runner, clock });
    const blobs = collectingRunner();
    describeBlobConformance("memory", () => memoryBlobStore(), { runner: blobs.runner, largeBytes: 1024 * 1024 });
    const storeOutcomes = await store.run();
    const blobOutcomes = await blobs.run();
    expect(storeOutcomes.size).toBeGreaterThan(50);
    expect(blobOutcomes.size).toBeGreaterThan(25);
    expect(failures(storeOutcomes)).toEqual([]);
    expect(failures(blobOutcomes)).toEqual([]);
  });

  it("fails a store that ignores ifAbsent, and a blob store that returns other bytes", async () => {
    const inner = memoryStore();
    const careless: MetadataStore = {
      name: "careless",
      run: (ops, options) =>
        inner.run(ops.map((op): StoreOp => (op.type === "set" ? { ...op, ifAbsent: false } : op)), options),
    };
    const store = collectingRunner();
    describeStoreConformance("careless", () => careless, { runner: store.runner });
    const real = memoryBlobStore();
    const lossy: BlobStore = {
      ...real,
      name: "lossy",
      get: async (key, options) => (await real.get(key, options))?.map((byte) => byte ^ 1) ?? null,
    };
    const blobs = collectingRunner();
    describeBlobConformance("lossy", () => lossy, { runner: blobs.runner, largeBytes: 1024 * 1024 });
    const storeFailures = failures(await store.run());
    const blobFailures = failures(await blobs.run());
    expect(storeFailures.some((name) => name.includes("set with ifAbsent (NX)"))).toBe(true);
    expect(blobFailures).toContain(
      "BlobStore conformance: lossy > stores bytes and returns the same bytes as a Uint8Array",
    );
    expect(blobFailures).toContain("BlobStore conformance: lossy > keeps every byte value");
  }, 60_000);
});
