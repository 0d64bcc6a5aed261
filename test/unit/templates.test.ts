/**
 * Key and tag templates (src/core/record/templates.ts) and how `wrap` uses them, on the in-process
 * adapters: placeholders filled from positions, `params` or an object argument; a missing or
 * non-scalar value refused with a `KeyError` naming the placeholder (never the value), before the
 * function runs; what can be refused at wrap time refused then; the filled key the entry's
 * identity (the same as `cache.get`'s) and kept readable in the record. The same behaviours on the
 * real services: test/integration/write_side.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { createCache, resource } from "../../mod.ts";
import { ConfigError, KeyError } from "../../src/core/errors.ts";
import { compileTags, compileTemplate } from "../../src/core/record/templates.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { parseRecord } from "../../src/core/record/entry.ts";
import { memoryStore } from "../../src/stores/memory.ts";

describe("compileTemplate", () => {
  it("fills {0} by position, {name} by params, else from the first plain-object argument", () => {
    expect(compileTemplate("user:{0}", { what: "t" })([42])).toBe("user:42");
    expect(compileTemplate("m:{org}:{id}", { params: ["id", "org"], what: "t" })([7, "acme"])).toBe("m:acme:7");
    expect(compileTemplate("m:{org}:{id}", { what: "t" })(["x", { id: 7n, org: true }])).toBe("m:true:7");
    expect(compileTemplate("{{literal}}:{0}", { what: "t" })(["v"])).toBe("{literal}:v");
  });

  it("refuses a missing or non-scalar value with a KeyError naming the placeholder, never the value", () => {
    const fill = compileTemplate("user:{id}", { what: "wrap(getUser): key" });
    const refused = (args: unknown[]): KeyError => {
      try {
        fill(args);
      } catch (error) {
        expect(error).toBeInstanceOf(KeyError);
        return error as KeyError;
      }
      throw new Error("no KeyError");
    };
    expect(refused([{ name: "secret-name" }]).message).toMatch(/wrap\(getUser\): key: placeholder \{id\} has no value/);
    expect(refused([42]).message).toMatch(/\{id\}.*no argument is a plain object/);
    expect(refused([{ id: { nested: "secret-value" } }]).message).toMatch(/\{id\} is a object; templates take/);
    expect(refused([{ id: ["secret-value"] }]).message).toMatch(/\{id\} is an array/);
    expect(refused([{ id: null }]).message).toMatch(/\{id\} has no value/);
    expect(refused([{ id: Number.NaN }]).message).toMatch(/\{id\} is a non-finite number/);
    for (const args of [[{ name: "secret-name" }], [{ id: { nested: "secret-value" } }], [{ id: ["secret-value"] }]]) {
      expect(refused(args).message).not.toMatch(/secret/);
    }
  });

  it("refuses bad syntax and names params lack with a ConfigError", () => {
    expect(() => compileTemplate("user:{id", { what: "t" })).toThrow(ConfigError);
    expect(() => compileTemplate("user:{}", { what: "t" })).toThrow(/bad placeholder/);
    expect(() => compileTemplate("user:id}", { what: "t" })).toThrow(/"\}" with no "\{"/);
    expect(() => compileTemplate("user:{a-b}", { what: "t" })).toThrow(/bad placeholder/);
    expect(() => compileTemplate("user:{org}", { params: ["id"], what: "w" })).toThrow(
      /w: placeholder \{org\} is not one of params \(id\)/,
    );
  });

  it("compiles tag lists: fixed ones checked now, filled ones checked per call (a KeyError)", () => {
    expect(compileTags(["a", "b", "a"], { what: "t" })).toEqual(["a", "b"]);
    const tags = compileTags(["users", "user:{0}"], { what: "w: tags" });
    expect(typeof tags).toBe("function");
    expect((tags as (a: readonly unknown[]) => readonly string[])([42])).toEqual(["users", "user:42"]);
    expect(() => (tags as (a: readonly unknown[]) => readonly string[])(["has space"])).toThrow(KeyError);
    expect(() => (tags as (a: readonly unknown[]) => readonly string[])(["has space"])).toThrow(
      /w: tags: tag template "user:\{0\}"/,
    );
    expect(() => compileTags(['bad"quote:{0}'], { what: "w: tags" })).toThrow(ConfigError);
  });
});

describe("wrap with templates", () => {
  const setup = () => {
    const store = memoryStore();
    const cache = createCache({ store, prefix: "tpl" });
    return { cache, store };
  };

  it("a key template names the entry readably; the function's identity stays in its key (DESIGN invariant 1)", async () => {
    const { cache, store } = setup();
    const load = vi.fn(async (id: number) => ({ id, name: `user-${id}` }));
    const getUser = cache.wrap(load, { key: "user:{id}", params: ["id"], namespace: "users" });
    expect(await getUser(42)).toEqual({ id: 42, name: "user-42" });
    await cache.flush();
    expect(await getUser.peek(42)).toEqual({ id: 42, name: "user-42" });
    const inspection = await cache.inspect({ hash: await getUser.hashOf(42) });
    expect(inspection.record?.readableKey).toBe("user:42");
    const [text] = await store.run([{ type: "get", key: recordKey("tpl", inspection.hash) }]);
    expect(parseRecord(text as string).r).toBe("user:42");
    // A by-key entry under the same text is another entry: a template never aliases cache.get/set.
    expect(await cache.get("user:42", { namespace: "users" })).toBeUndefined();
    await cache.set("user:7", { id: 7, name: "by key" }, { namespace: "users" });
    expect(await getUser(7)).toEqual({ id: 7, name: "user-7" });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("two functions with the same key template never share an entry, even in caches that cannot see each other", async () => {
    const { store } = setup();
    const one = createCache({ store, prefix: "tpl", globalStats: false });
    const two = createCache({ store, prefix: "tpl", globalStats: false });
    const profile = one.wrap(async (id: number) => ({ profile: id }), { name: "profile", key: "user:{0}" });
    const posts = two.wrap(async (id: number) => ({ posts: [id] }), { name: "posts", key: "user:{0}" });
    expect(await profile(1)).toEqual({ profile: 1 });
    await one.flush();
    expect(await posts(1)).toEqual({ posts: [1] });
    expect(await profile.hashOf(1)).not.toBe(await posts.hashOf(1));
  });

  it("a missing or non-scalar placeholder rejects the call with a KeyError before the function runs", async () => {
    const { cache } = setup();
    const load = vi.fn(async (query: { id?: unknown }) => query);
    const getUser = cache.wrap(load, { key: "user:{id}" });
    await expect(getUser({})).rejects.toThrow(KeyError);
    await expect(getUser({})).rejects.toThrow(/wrap\(\w+\): key: placeholder \{id\} has no value/);
    await expect(getUser({ id: { deep: 1 } })).rejects.toThrow(/placeholder \{id\} is a object/);
    const tagged = cache.wrap(async (id: unknown) => id, { name: "tagged", tags: ["user:{0}"] });
    await expect(tagged(undefined)).rejects.toThrow(/wrap\(tagged\): tags: placeholder \{0\} has no value/);
    await expect(tagged("a b")).rejects.toThrow(/not a valid tag/);
    expect(load).not.toHaveBeenCalled();
    expect(await getUser({ id: 3 })).toEqual({ id: 3 });
  });

  it("refuses at wrap time what can be refused then", () => {
    const { cache } = setup();
    async function load(id: number) {
      return id;
    }
    expect(() => cache.wrap(load, { key: "user:{id}", params: ["userId"] })).toThrow(
      /wrap\(load\): key: placeholder \{id\} is not one of params \(userId\)/,
    );
    expect(() => cache.wrap(load, { key: "user:{id" })).toThrow(ConfigError);
    expect(() => cache.wrap(load, { key: "user" })).toThrow(
      /key must be a function of the arguments or a key template/,
    );
    expect(() => cache.wrap(load, { params: ["id"] })).toThrow(/params names the parameters of key and tag templates/);
    expect(() => cache.wrap(load, { params: ["id", "id"], key: "u:{id}" })).toThrow(/names "id" twice/);
    expect(() => cache.wrap(load, { key: "u:{id}", normalizeQuery: true, params: ["id"] })).toThrow(/normalizeQuery/);
    expect(() => cache.wrap(load, { tags: ["user:{org}"], params: ["id"] })).toThrow(/\{org\} is not one of params/);
    cache.wrap(load, { key: "user:{id}", params: ["id"] });
    // Another function with the same template keeps entries of its own (its name is in the key).
    expect(() =>
      cache.wrap(async function other(n: number) {
        return n * 2;
      }, { key: "user:{n}", params: ["n"] })
    )
      .not.toThrow();
    // Two anonymous functions with one template share its text as their name: refused, as two
    // functions inferred to the same name are.
    cache.wrap(async (n: number) => n * 3, { key: "triple:{n}", params: ["n"] });
    expect(() => cache.wrap(async (n: number) => n * 4, { key: "triple:{n}", params: ["n"] })).toThrow(
      /another function named "triple:\{n\}"/,
    );
    expect(() => cache.wrap(load, { key: "user:{id}", params: ["id"] })).not.toThrow();
  });

  it("an anonymous function needs no name with a key template", async () => {
    const { cache } = setup();
    const get = cache.wrap(async ({ id }: { id: number }) => id * 2, { key: "double:{id}" });
    expect(await get({ id: 21 })).toBe(42);
  });
});

describe("resource()", () => {
  it("derives the key template, its tags and the filled key", () => {
    const user = resource("user", "id");
    expect(user.key).toBe("user:{id}");
    expect(user.tags).toEqual(["user:{id}"]);
    expect(user.keyOf({ id: 42 })).toBe("user:42");
    expect(resource("member", "org", "id").keyOf({ org: "acme", id: 7 })).toBe("member:acme:7");
    expect(() => resource("user")).toThrow(ConfigError);
    expect(() => resource("us{er}", "id")).toThrow(ConfigError);
    expect(() => resource("user", "not-an-identifier")).toThrow(ConfigError);
    expect(() => user.keyOf({})).toThrow(KeyError);
  });
});
