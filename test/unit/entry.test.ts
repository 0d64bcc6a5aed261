import { describe, expect, it } from "vitest";
import { formatRecord, parseRecord, RECORD_VERSION } from "../../src/core/record/entry.ts";
import { stampRecord, storedStamps } from "../../src/core/record/generations.ts";
import { IntegrityError } from "../../src/core/errors.ts";
import { Histogram } from "../../src/core/stats/histogram.ts";

const hash = "a".repeat(64);
const record = {
  v: RECORD_VERSION,
  k: hash,
  c: "cbor",
  z: "zstd",
  t: 1,
  e: 2,
  n: 3,
  s: 4,
  h: hash,
  p: "AAAA",
} as const;

const stamps = [["p:v:all", "x1", "s1"], ["p:v:ns:default", "x2", "s2"]] as const;
const stored = (fields: object): string => stampRecord(stamps, JSON.stringify(fields));

describe("record format", () => {
  it("round-trips, with the generation stamps in front where store scripts find them", () => {
    const text = stampRecord(stamps, formatRecord(record));
    expect(text.startsWith('{"g":[["p:v:all","x1","s1"],["p:v:ns:default","x2","s2"]],"v":')).toBe(true);
    expect(parseRecord(text)).toEqual({ g: stamps, ...record });
    expect(storedStamps(text)).toEqual(stamps);
    expect(storedStamps(formatRecord(record))).toEqual([]);
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "42"],
    ["another version", stored({ ...record, v: 1 })],
    ["no generation stamps", JSON.stringify(record)],
    ["a malformed stamp", JSON.stringify({ g: [["k", "x"]], ...record })],
    ["an empty token", JSON.stringify({ g: [["k", "", "s"]], ...record })],
    ["a short key hash", stored({ ...record, k: "abc" })],
    ["a negative size", stored({ ...record, n: -1 })],
    ["a fractional expiry", stored({ ...record, e: 1.5 })],
    ["both payload and blob", stored({ ...record, b: "x/y" })],
    ["neither payload nor blob", stored({ ...record, p: undefined })],
    ["an odd codec name", stored({ ...record, c: "../x" })],
  ])("rejects %s", (_, text) => {
    expect(() => parseRecord(text)).toThrow(IntegrityError);
  });
});

describe("Histogram", () => {
  it("reports percentiles within one bucket (~9 %) of the true value", () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 … 100 ms
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeGreaterThanOrEqual(50);
    expect(s.p50).toBeLessThanOrEqual(50 * 1.1);
    expect(s.p99).toBeGreaterThanOrEqual(99);
    expect(s.p99).toBeLessThanOrEqual(100);
    expect(s.max).toBe(100);
    // The exact total, not bucket bounds: 0.1 + 0.2 + … + 100.
    expect(s.sum).toBe(50_050);
  });

  it("ignores invalid samples and is empty-safe", () => {
    const h = new Histogram();
    expect(h.summary()).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, sum: 0 });
    h.record(-1);
    h.record(Number.NaN);
    h.record(1e12);
    expect(h.summary().count).toBe(1);
    expect(h.summary().sum).toBe(1e12);
  });
});
