import { describe, expect, it } from "vitest";
import { canonicalize, keyHash, normalizeQueryText } from "../../src/core/record/key_material.ts";
import { KeyError } from "../../src/core/errors.ts";

describe("canonicalize", () => {
  it("ignores object key order, at every depth", () => {
    expect(canonicalize({ a: 1, b: { c: [1, 2], d: "x" } })).toBe(canonicalize({ b: { d: "x", c: [1, 2] }, a: 1 }));
  });

  it("ignores Map and Set insertion order", () => {
    expect(canonicalize(new Map<unknown, unknown>([["a", 1], [2, "b"]]))).toBe(
      canonicalize(new Map<unknown, unknown>([[2, "b"], ["a", 1]])),
    );
    expect(canonicalize(new Set([3, 1, 2]))).toBe(canonicalize(new Set([2, 3, 1])));
  });

  it("keeps values of different types apart", () => {
    const values: unknown[] = [
      1,
      "1",
      1n,
      true,
      "true",
      null,
      undefined,
      "null",
      [1],
      [[1]],
      { 0: 1 },
      new Map([[0, 1]]),
      new Set([1]),
      new Date(1),
      new Uint8Array([1]),
      new Int8Array([1]),
      new Uint8Array([1, 0]),
      -0,
      0,
      Number.NaN,
      "",
      [],
      {},
      ["a", "b"],
      ["ab"],
      ["a,b"],
      { a: undefined },
      { a: null },
      /x/g,
      /x/,
    ];
    const encoded = values.map((v) => canonicalize(v));
    expect(new Set(encoded).size).toBe(values.length);
  });

  it("cannot be confused by strings that look like encodings", () => {
    expect(canonicalize(["s1:a", "b"])).not.toBe(canonicalize(["s1:as1:b"]));
    expect(canonicalize({ a: "b", c: "d" })).not.toBe(canonicalize({ a: "bs1:cs1:d" }));
  });

  it.each([
    [[() => 1], /args\[0\] is a function/],
    [{ q: Symbol("x") }, /args\.q is a symbol/],
    [{ [Symbol("k")]: 1 }, /symbol-keyed/],
    [new (class Query {})(), /instance of Query/],
  ])("rejects %s with a KeyError naming the path", (value, message) => {
    expect(() => canonicalize(value)).toThrow(KeyError);
    expect(() => canonicalize(value)).toThrow(message);
  });

  it("rejects cycles but accepts shared references", () => {
    const shared = { x: 1 };
    expect(() => canonicalize([shared, shared])).not.toThrow();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow(/circular/);
  });
});

describe("keyHash", () => {
  it("separates prefix, namespace, function and kind", async () => {
    const hashes = await Promise.all([
      keyHash("p", "ns", { kind: "call", fn: "f", args: [1] }),
      keyHash("q", "ns", { kind: "call", fn: "f", args: [1] }),
      keyHash("p", "nt", { kind: "call", fn: "f", args: [1] }),
      keyHash("p", "ns", { kind: "call", fn: "g", args: [1] }),
      keyHash("p", "ns", { kind: "call", fn: "f", args: [2] }),
      keyHash("p", "ns", { kind: "key", key: "f" }),
    ]);
    expect(new Set(hashes).size).toBe(hashes.length);
    for (const hash of hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await keyHash("p", "ns", { kind: "call", fn: "f", args: [{ b: 1, a: 2 }] })).toBe(
      await keyHash("p", "ns", { kind: "call", fn: "f", args: [{ a: 2, b: 1 }] }),
    );
  });
});

describe("normalizeQueryText", () => {
  it("collapses whitespace outside literals and trims", () => {
    expect(normalizeQueryText("  SELECT *\n\tFROM  t\r\n WHERE x = 1  ")).toBe("SELECT * FROM t WHERE x = 1");
  });

  it("keeps whitespace inside quoted literals, including escaped quotes", () => {
    expect(normalizeQueryText("SELECT  'a   b',\n \"c  d\"  FROM t WHERE n = 'it''s  x'")).toBe(
      "SELECT 'a   b', \"c  d\" FROM t WHERE n = 'it''s  x'",
    );
  });
});
