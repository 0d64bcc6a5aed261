/**
 * `cache.invalidating()` and `recache` (src/core/api/invalidate_on_write.ts) on the in-process
 * adapters, with fault injection where a failure is the point: the invalidation only after the
 * write succeeded (never before, never when it throws), templates filled before the write,
 * failures reported with the write's outcome, recache bounded, awaited or in the background, and
 * refusing to serve what the invalidation marked stale. Across instances on the real services:
 * test/integration/write_side.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { createCache, KeyError, StoreError } from "../../mod.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { memoryStore } from "../../src/stores/memory.ts";
import { ChaosStore, recordingLogger } from "../helpers/chaos.ts";

interface User {
  readonly id: number;
  readonly name: string;
}

/** A cache over a switchable store, a user table, its wrapped reader and a writer. */
function setup() {
  const store = new ChaosStore(memoryStore());
  const logger = recordingLogger();
  const cache = createCache({ store, prefix: "iw", logger });
  const table = new Map<number, string>([[42, "Ada"], [7, "Grace"]]);
  const load = vi.fn(async (id: number): Promise<User> => ({ id, name: table.get(id) ?? "?" }));
  const getUser = cache.wrap(load, { key: "user:{id}", tags: ["user:{id}"], params: ["id"] });
  const save = async (id: number, name: string): Promise<{ saved: number }> => {
    table.set(id, name);
    return { saved: id };
  };
  return { cache, store, logger, table, load, getUser, save };
}

describe("invalidating", () => {
  it("invalidates after the write succeeded and returns its result, with the same this and arguments", async () => {
    const { cache, getUser, save, load } = setup();
    expect(await getUser(42)).toEqual({ id: 42, name: "Ada" });
    await cache.flush();
    const seen: unknown[] = [];
    const self = { table: "users" };
    const updateUser = cache.invalidating(function (this: unknown, id: number, name: string) {
      seen.push(this, id, name);
      return save(id, name);
    }, { tags: ["user:{id}"], params: ["id", "name"] });
    expect(await updateUser.call(self, 42, "Ada L.")).toEqual({ saved: 42 });
    expect(seen).toEqual([self, 42, "Ada L."]);
    expect(await getUser(42)).toEqual({ id: 42, name: "Ada L." });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("never invalidates before the write: a read during the write still hits", async () => {
    const { cache, getUser, save } = setup();
    await getUser(42);
    await cache.flush();
    let duringWrite: unknown;
    const updateUser = cache.invalidating(async (id: number, name: string) => {
      duringWrite = await getUser.peek(42);
      return save(id, name);
    }, { tags: ["user:{0}"] });
    await updateUser(42, "Ada L.");
    expect(duringWrite).toEqual({ id: 42, name: "Ada" });
    expect(await getUser.peek(42)).toBeUndefined();
  });

  it("invalidates nothing when the write throws, and rethrows its error", async () => {
    const { cache, getUser, store } = setup();
    await getUser(42);
    await cache.flush();
    const before = store.calls;
    const failing = cache.invalidating(async (_id: number) => {
      throw new Error("constraint violated");
    }, { tags: ["user:{0}"], namespaces: ["default"] });
    await expect(failing(42)).rejects.toThrow("constraint violated");
    expect(store.calls).toBe(before);
    expect(await getUser.peek(42)).toEqual({ id: 42, name: "Ada" });
  });

  it("fills placeholders before the write: a call that cannot name its tags writes nothing", async () => {
    const { cache } = setup();
    const write = vi.fn(async (_query: { org?: string }) => "written");
    const update = cache.invalidating(write, { tags: ["org:{org}"] });
    await expect(update({})).rejects.toThrow(KeyError);
    await expect(update({})).rejects.toThrow(/invalidating\(\w+\): tags: placeholder \{org\} has no value/);
    expect(write).not.toHaveBeenCalled();
  });

  it("tag and namespace functions get the arguments, then the result", async () => {
    const { cache } = setup();
    await cache.set("a", 1, { tags: ["order:9"] });
    await cache.set("b", 2, { namespace: "reports" });
    const tags = vi.fn((_id: number, result: { order: number }) => [`order:${result.order}`]);
    const place = cache.invalidating(async (id: number) => ({ order: id + 8 }), {
      name: "place",
      tags,
      namespaces: () => ["reports"],
    });
    await place(1);
    expect(tags).toHaveBeenCalledWith(1, { order: 9 });
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.get("b", { namespace: "reports" })).toBeUndefined();
  });

  it("an invalidation that fails rejects with a StoreError saying the write succeeded; onError: log only logs", async () => {
    const { cache, store, logger, table, save } = setup();
    const strict = cache.invalidating(save, { tags: ["user:{0}"] });
    store.fault = "throw";
    const error = await strict(42, "Ada L.").then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(
      /invalidating\(save\): the write succeeded but the invalidation did not \(.*injected store failure/,
    );
    expect(table.get(42)).toBe("Ada L.");
    const lenient = cache.invalidating(save, { tags: ["user:{0}"], onError: "log" });
    expect(await lenient(7, "Grace H.")).toEqual({ saved: 7 });
    expect(table.get(7)).toBe("Grace H.");
    expect(
      logger.lines.some((l) =>
        l.level === "error" && /the write succeeded but the invalidation did not/.test(l.message)
      ),
    )
      .toBe(true);
  });

  it("refuses bad options at invalidating time", () => {
    const { cache, save, getUser } = setup();
    expect(() => cache.invalidating(save, {})).toThrow(/invalidating\(save\): name what the write invalidates/);
    expect(() => cache.invalidating(save, { tags: ["user:{id}"], params: ["userId"] })).toThrow(
      /placeholder \{id\} is not one of params/,
    );
    expect(() => cache.invalidating(save, { tags: ["x"], mode: "soft" as never })).toThrow(/mode must be one of/);
    expect(() => cache.invalidating(save, { tags: ["x"], recache: [[save as never, (id) => [id]]] })).toThrow(
      /recache\[0\] must be \[a function this cache's wrap\(\) returned/,
    );
    const other = createCache().wrap(async (id: number) => id, { name: "other" });
    expect(() => cache.invalidating(save, { tags: ["x"], recache: [[other, (id) => [id]]] })).toThrow(ConfigError);
    expect(() =>
      cache.invalidating(save, { tags: ["x"], recache: { calls: [[getUser, (id) => [id]]], concurrency: 0 } })
    )
      .toThrow(/recache\.concurrency must be a positive integer/);
  });
});

describe("recache", () => {
  it("awaited: the fresh value is stored when the write resolves", async () => {
    const { cache, getUser, save, load } = setup();
    await getUser(42);
    await cache.flush();
    const updateUser = cache.invalidating(save, {
      tags: ["user:{0}"],
      recache: { calls: [[getUser, (id) => [id]]], await: true },
    });
    await updateUser(42, "Ada L.");
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.stats().recaches).toEqual({ ok: 1, failed: 0, skipped: 0 });
    // Read from the store, not from a call in flight: the write is done.
    expect(await getUser.peek(42)).toEqual({ id: 42, name: "Ada L." });
  });

  it("in the background by default: flush() waits for it", async () => {
    const { cache, getUser, save, load } = setup();
    await getUser(42);
    await cache.flush();
    const updateUser = cache.invalidating(save, { tags: ["user:{0}"], recache: [[getUser, (id) => [id]]] });
    await updateUser(42, "Ada L.");
    await cache.flush();
    expect(cache.stats().recaches.ok).toBe(1);
    expect(await getUser.peek(42)).toEqual({ id: 42, name: "Ada L." });
    expect(await getUser(42)).toEqual({ id: 42, name: "Ada L." });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("recomputes an entry marked stale instead of serving it (mode: stale)", async () => {
    const { cache, getUser, save, load } = setup();
    await getUser(42);
    await cache.flush();
    const updateUser = cache.invalidating(save, {
      tags: ["user:{0}"],
      mode: "stale",
      recache: { calls: [[getUser, (id) => [id]]], await: true },
    });
    await updateUser(42, "Ada L.");
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.stats().stale).toBe(0);
    expect(await getUser.peek(42)).toEqual({ id: 42, name: "Ada L." });
  });

  it("skips (and says so once) a call whose entry the invalidation does not cover, and one whose arguments are undefined", async () => {
    const { cache, getUser, save, load, logger } = setup();
    const updateUser = cache.invalidating(save, {
      tags: ["org:acme"],
      recache: { calls: [[getUser, (id) => [id]], [getUser, () => undefined]], await: true },
    });
    await updateUser(42, "Ada L.");
    await updateUser(42, "Ada M.");
    expect(load).not.toHaveBeenCalled();
    expect(cache.stats().recaches).toEqual({ ok: 0, failed: 0, skipped: 2 });
    expect(logger.lines.filter((l) => /recache of default\/.* skipped: its entry carries none/.test(l.message)))
      .toHaveLength(1);
  });

  it("runs at most `concurrency` recomputations at once; a failing one is counted and logged, never thrown", async () => {
    const cache = createCache({ prefix: "iw2", logger: recordingLogger() });
    let running = 0;
    let most = 0;
    const load = cache.wrap(async (id: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (id === 3) throw new Error("row locked");
      return id;
    }, { name: "load", tags: ["rows"] });
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const writeAll = cache.invalidating(async (_ids: number[]) => "ok", {
      tags: ["rows"],
      recache: { calls: ids.map((id) => [load, () => [id]] as const), concurrency: 2, await: true },
    });
    expect(await writeAll(ids)).toBe("ok");
    expect(most).toBe(2);
    expect(cache.stats().recaches).toEqual({ ok: 7, failed: 1, skipped: 0 });
  });
});
