/**
 * A time limit and an abort signal for the wrapped function (src/core/flow/time_limit.ts and its
 * hook in get_or_compute.ts), on the in-process adapters: callers answered at `timeout` (a stale
 * entry within `staleIfError`, else a `TimeoutError` of the function) while the computation goes
 * on and its value is stored; the signal `fn` gets with `signal: true` firing at `abortAfter`; a
 * caller's own signal abandoning its wait without cancelling a shared computation. The function
 * is held by promises the test settles, so outcomes are counted, not timed. On the real services:
 * test/integration/write_side.test.ts.
 */
import { describe, expect, it } from "vitest";
import { type ComputeContext, createCache, TimeoutError } from "../../mod.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { recordingLogger } from "../helpers/chaos.ts";

/** A promise and the function that resolves it. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("wrap's timeout", () => {
  it("rejects with a TimeoutError of the function; the computation goes on and its late value is stored", async () => {
    const cache = createCache({ prefix: "to", logger: recordingLogger() });
    const gate = deferred<void>();
    let runs = 0;
    const slow = cache.wrap(async (id: number) => {
      runs++;
      await gate.promise;
      return { id, late: true };
    }, { name: "slow", timeout: 30 });
    const error = await slow(1).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).backend).toBe("function");
    expect((error as TimeoutError).code).toBe("E_TIMEOUT");
    expect((error as Error).message).toMatch(
      /default\/slow: no value within the 30 ms timeout; the computation goes on/,
    );
    expect(cache.stats().functionTimeouts).toBe(1);
    gate.resolve();
    await cache.flush();
    expect(await slow(1)).toEqual({ id: 1, late: true });
    expect(runs).toBe(1);
    expect(cache.stats().writes.ok).toBe(1);
  });

  it("serves an entry expired within staleIfError when the timeout passes, then stores the late value", async () => {
    let now = 1_700_000_000_000;
    const logger = recordingLogger();
    const cache = createCache({ prefix: "to2", now: () => now, logger });
    const gate = deferred<void>();
    let holding = false;
    let version = 0;
    const report = cache.wrap(async () => {
      version++;
      if (holding) await gate.promise;
      return `v${version}`;
    }, { name: "report", ttl: 1_000, staleIfError: "1h", timeout: 30 });
    expect(await report()).toBe("v1");
    await cache.flush();
    now += 5_000; // expired, within staleIfError
    holding = true;
    expect(await report()).toBe("v1");
    expect(cache.stats().staleIfError).toBe(1);
    expect(cache.stats().functionTimeouts).toBe(1);
    expect(logger.lines.some((l) => /default\/report: function timed out, serving the expired entry/.test(l.message)))
      .toBe(true);
    gate.resolve();
    await cache.flush();
    expect(await report()).toBe("v2");
    expect(version).toBe(2);
  });

  it("a call whose function finishes in time is answered as usual", async () => {
    const cache = createCache({ prefix: "to3" });
    const quick = cache.wrap(async (n: number) => n * 2, { name: "quick", timeout: "5s" });
    expect(await quick(21)).toBe(42);
    expect(cache.stats().functionTimeouts).toBe(0);
  });

  it("a second instance waiting on the timed-out computation's lease gets its value, without running it", async () => {
    const store = memoryStore();
    const a = createCache({ store, prefix: "to4" });
    const b = createCache({ store, prefix: "to4" });
    const gate = deferred<void>();
    let runs = 0;
    const load = async (id: number) => {
      runs++;
      await gate.promise;
      return { id };
    };
    const onA = a.wrap(load, { name: "load", timeout: 30 });
    const onB = b.wrap(load, { name: "load" });
    await expect(onA(7)).rejects.toThrow(TimeoutError);
    // The lease is still held by A's computation: B waits for its entry instead of running `load`.
    const fromB = onB(7);
    gate.resolve();
    expect(await fromB).toEqual({ id: 7 });
    expect(runs).toBe(1);
    expect(b.stats().leases.waited).toBe(1);
  });
});

describe("the function's signal (signal: true)", () => {
  it("fires at abortAfter with a TimeoutError; a function that honours it stores nothing", async () => {
    const cache = createCache({ prefix: "sig" });
    let seen: AbortSignal | undefined;
    const fetchReport = cache.wrap((_id: number, { signal }: ComputeContext) => {
      seen = signal;
      return new Promise<number>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }, { name: "fetchReport", abortAfter: 30, signal: true });
    const error = await fetchReport(1).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/default\/fetchReport: the function was aborted after 30 ms/);
    expect(seen?.aborted).toBe(true);
    await cache.flush();
    expect(cache.stats().writes).toMatchObject({ ok: 0, failed: 0, pending: 0 });
  });

  it("defaults to the timeout; with abortAfter later than the timeout, the late value is still stored", async () => {
    const cache = createCache({ prefix: "sig2" });
    const gate = deferred<void>();
    let signal: AbortSignal | undefined;
    const load = cache.wrap(async (id: number, context: ComputeContext) => {
      signal = context.signal;
      await gate.promise;
      return id;
    }, { name: "load", timeout: 20, abortAfter: "1m", signal: true });
    await expect(load(5)).rejects.toThrow(TimeoutError);
    expect(signal?.aborted).toBe(false);
    gate.resolve();
    await cache.flush();
    expect(cache.stats().writes.ok).toBe(1);
    expect(await load(5)).toBe(5);
  });

  it("needs a time to fire at, and abortAfter needs the signal", () => {
    const cache = createCache();
    expect(() => cache.wrap(async (_: ComputeContext) => 1, { name: "f", signal: true })).toThrow(
      /wrap\(f\): signal: true needs timeout or abortAfter/,
    );
    expect(() => cache.wrap(async () => 1, { name: "f", abortAfter: "1s" })).toThrow(/set signal: true/);
  });
});

describe("a caller's own signal (withSignal)", () => {
  it("abandons that caller's wait; the other caller sharing the computation gets the value, which is stored", async () => {
    const cache = createCache({ prefix: "ws" });
    const gate = deferred<void>();
    let runs = 0;
    const getUser = cache.wrap(async (id: number) => {
      runs++;
      await gate.promise;
      return { id };
    }, { name: "getUser" });
    const controller = new AbortController();
    const abandoning = getUser.withSignal(controller.signal)(42);
    const staying = getUser(42);
    controller.abort(new Error("client went away"));
    await expect(abandoning).rejects.toThrow("client went away");
    gate.resolve();
    expect(await staying).toEqual({ id: 42 });
    await cache.flush();
    expect(runs).toBe(1);
    expect(cache.stats().coalesced).toBe(1);
    expect(cache.stats().writes.ok).toBe(1);
    expect(await getUser(42)).toEqual({ id: 42 });
    expect(runs).toBe(1);
  });

  it("an already aborted signal starts nothing", async () => {
    const cache = createCache({ prefix: "ws2" });
    let runs = 0;
    const f = cache.wrap(async () => ++runs, { name: "f" });
    await expect(f.withSignal(AbortSignal.abort(new Error("gone")))()).rejects.toThrow("gone");
    await cache.flush();
    expect(runs).toBe(0);
    expect(cache.stats().misses).toBe(0);
  });
});
