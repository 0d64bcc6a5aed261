/**
 * The conformance suite of the blob store role ({@link BlobStore}): every adapter runs it against
 * its real backend, so each one meets the same contract: bytes in, the same bytes out, `null`
 * for a missing object, idempotent deletes, any key the core may produce, aborts honoured, a
 * `get`'s expected size honoured (nothing larger returned, nothing copied before it is known), and
 * listing in pages and batch deletes (_blob_listing.ts).
 *
 * @module
 */
import { BLOB_PENDING_BYTES, type BlobStore } from "../core/types.ts";
import { abortedSignal, expectAbortSettles, pseudoRandomBytes, sameBytes } from "./_helpers.ts";
import { listingTests } from "./_blob_listing.ts";
import { expect } from "./_expect.ts";
import { adapterUnderTest, type SuiteOptions } from "./_runner.ts";

/** What `additionalTests` get: the suite's blob store and a per-test key namer. */
export interface BlobTestContext {
  /** The store the suite created (valid inside tests, not at collection time). */
  readonly blobs: () => BlobStore;
  /** `name` under this test's random prefix. */
  readonly key: (name: string) => string;
}

/** Options of {@link describeBlobConformance}: the runner, `additionalTests`, `teardown`, and the large object's size. */
export interface BlobConformanceOptions extends SuiteOptions<BlobStore, BlobTestContext> {
  /** Size of the large-object test. @default 10 MiB */
  largeBytes?: number;
}

/**
 * Keys the core never produces but an adapter must still handle: each maps to its own object
 * (a raw `+` signed as a space, or `%2B` decoded twice, would make some of them collide).
 */
export const ODD_KEYS: readonly string[] = [
  "plus+sign",
  "plus sign",
  "plus%2Bsign",
  "plus%20sign",
  "percent%",
  "percent%25",
  "unicode-é-日本-🎉",
  "e\u0301-combining",
  "rfc3986-!'()*",
  "reserved-$&=?#[]@,;:",
  "tilde~dash-under_dot.",
  "nested/path/segments",
  'quote"and\\backslash',
  "angle<brackets>|pipe^caret`grave{braces}",
  `${"long-segment-".repeat(14)}/${"x".repeat(200)}/${"y".repeat(200)}/${"z".repeat(200)}`,
];

/** Registers the blob store contract tests for the adapter `factory` builds (once per suite). */
export function describeBlobConformance(
  name: string,
  factory: () => Promise<BlobStore> | BlobStore,
  options: BlobConformanceOptions,
): void {
  const { runner } = options;
  const { describe, it } = runner;
  describe(`BlobStore conformance: ${name}`, () => {
    let blobs: BlobStore;
    const under = adapterUnderTest(async () => (blobs = await factory()), { ...options, label: `conf-${name}` });
    const key = (n: string): string => `${under.prefix()}/${n}`;
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

    it("has a name", () => {
      expect(typeof blobs.name).toBe("string");
      expect(blobs.name.length).toBeGreaterThan(0);
    });

    it("returns null for a missing object", async () => {
      expect(await blobs.get(key("missing"))).toBeNull();
    });

    it("stores bytes and returns the same bytes as a Uint8Array", async () => {
      await blobs.put(key("a"), bytes("hello"));
      const got = await blobs.get(key("a"));
      expect(got).toBeInstanceOf(Uint8Array);
      expect(text(got)).toBe("hello");
    });

    it("replaces an object on put", async () => {
      await blobs.put(key("a"), bytes("first, longer"));
      await blobs.put(key("a"), bytes("second"));
      expect(text(await blobs.get(key("a")))).toBe("second");
    });

    it("keeps an empty object (empty bytes, not null)", async () => {
      await blobs.put(key("empty"), new Uint8Array(0));
      const got = await blobs.get(key("empty"));
      expect(got).toBeInstanceOf(Uint8Array);
      expect(got?.byteLength).toBe(0);
    });

    it("keeps every byte value", async () => {
      const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) & 0xff);
      await blobs.put(key("binary"), all);
      expect(sameBytes(await blobs.get(key("binary")), all)).toBe(true);
    });

    it("keeps a view's bytes only, not its whole buffer", async () => {
      const buffer = pseudoRandomBytes(1_000);
      const view = buffer.subarray(100, 300);
      await blobs.put(key("view"), view);
      expect(sameBytes(await blobs.get(key("view")), buffer.slice(100, 300))).toBe(true);
    });

    it(`keeps a large object (${((options.largeBytes ?? 10 * 1024 * 1024) / 1024 / 1024).toFixed(1)} MiB)`, async () => {
      const large = pseudoRandomBytes(options.largeBytes ?? 10 * 1024 * 1024);
      await blobs.put(key("large"), large);
      expect(sameBytes(await blobs.get(key("large")), large)).toBe(true);
    });

    it("is not affected by callers changing the bytes they passed or received", async () => {
      const body = bytes("original");
      await blobs.put(key("a"), body);
      body.fill(0x21);
      const first = await blobs.get(key("a"));
      expect(text(first)).toBe("original");
      first?.fill(0x21);
      expect(text(await blobs.get(key("a")))).toBe("original");
    });

    it("deletes, and deleting a missing object succeeds", async () => {
      await blobs.put(key("a"), bytes("x"));
      await blobs.delete(key("a"));
      expect(await blobs.get(key("a"))).toBeNull();
      await expect(blobs.delete(key("a"))).resolves.toBeUndefined();
      await expect(blobs.delete(key("never-existed"))).resolves.toBeUndefined();
    });

    it("keeps objects under different keys apart", async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => blobs.put(key(`k${i}`), bytes(`v${i}`))));
      const got = await Promise.all(Array.from({ length: 20 }, (_, i) => blobs.get(key(`k${i}`))));
      expect(got.map(text)).toStrictEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    });

    it("handles keys with characters that need encoding, each its own object", async () => {
      for (const odd of ODD_KEYS) await blobs.put(key(odd), bytes(`content of ${odd}`));
      for (const odd of ODD_KEYS) expect(text(await blobs.get(key(odd))), odd).toBe(`content of ${odd}`);
      for (const odd of ODD_KEYS) await blobs.delete(key(odd));
      for (const odd of ODD_KEYS) expect(await blobs.get(key(odd)), odd).toBeNull();
    });

    it("rejects an empty key", async () => {
      await expect(blobs.put("", bytes("x"))).rejects.toThrow();
      await expect(blobs.get("")).rejects.toThrow();
      await expect(blobs.delete("")).rejects.toThrow();
    });

    describe("abort", () => {
      it("rejects with the reason when the signal is already aborted, and stores nothing", async () => {
        const { signal, reason } = abortedSignal();
        await expect(blobs.put(key("a"), bytes("x"), { signal })).rejects.toBe(reason);
        await expect(blobs.get(key("a"), { signal })).rejects.toBe(reason);
        await expect(blobs.delete(key("a"), { signal })).rejects.toBe(reason);
        expect(await blobs.get(key("a"))).toBeNull();
      });

      it("settles promptly when a large put or get is aborted in flight", async () => {
        const large = pseudoRandomBytes(options.largeBytes ?? 10 * 1024 * 1024, 7);
        await expectAbortSettles((signal) => blobs.put(key("large"), large, { signal }), 1_000);
        await blobs.put(key("large"), large);
        await expectAbortSettles((signal) => blobs.get(key("large"), { signal }), 1_000);
      });

      it("works normally with a signal that does not abort", async () => {
        const signal = new AbortController().signal;
        await blobs.put(key("a"), bytes("x"), { signal });
        expect(text(await blobs.get(key("a"), { signal }))).toBe("x");
        await blobs.delete(key("a"), { signal });
      });
    });

    describe("expected size (BlobGetOptions.expectedBytes)", () => {
      const size = 300_000; // over BLOB_PENDING_BYTES: the store must wait for the size
      const later = <T>(value: T, ms = 30): Promise<T> =>
        new Promise((resolve) => setTimeout(() => resolve(value), ms));

      it("returns the object when it has the expected size, known at once or later", async () => {
        const object = pseudoRandomBytes(size, 11);
        await blobs.put(key("sized"), object);
        expect(sameBytes(await blobs.get(key("sized"), { expectedBytes: Promise.resolve(size) }), object)).toBe(true);
        expect(sameBytes(await blobs.get(key("sized"), { expectedBytes: later(size) }), object)).toBe(true);
        // undefined lifts the expectation.
        expect(sameBytes(await blobs.get(key("sized"), { expectedBytes: later(undefined) }), object)).toBe(true);
        // A missing object is null without waiting for the size.
        expect(await blobs.get(key("absent"), { expectedBytes: new Promise(() => {}) })).toBeNull();
      });

      it("refuses an object larger than expected with E_INTEGRITY, known at once or later", async () => {
        await blobs.put(key("larger"), pseudoRandomBytes(size, 12));
        for (const expectedBytes of [Promise.resolve(40_000), later(40_000), later(size - 1)]) {
          await expect(blobs.get(key("larger"), { expectedBytes })).rejects.toMatchObject({ code: "E_INTEGRITY" });
        }
        // A small object known to be larger than expected is refused too.
        await blobs.put(key("small"), pseudoRandomBytes(1_000, 13));
        await expect(blobs.get(key("small"), { expectedBytes: Promise.resolve(999) })).rejects.toMatchObject({
          code: "E_INTEGRITY",
        });
        expect(BLOB_PENDING_BYTES).toBe(64 * 1024);
      });

      it("does not answer before the size is known when the object is over the pending allowance", async () => {
        await blobs.put(key("waits"), pseudoRandomBytes(size, 14));
        let settled = false;
        let resolveSize: (bytes: number) => void = () => {};
        const pending = blobs.get(key("waits"), { expectedBytes: new Promise((resolve) => (resolveSize = resolve)) })
          .finally(() => (settled = true));
        await later(null, 100);
        expect(settled).toBe(false);
        resolveSize(size);
        expect((await pending)?.byteLength).toBe(size);
      });

      it("rejects with the abort reason when aborted while waiting for the size", async () => {
        await blobs.put(key("abort"), pseudoRandomBytes(size, 15));
        const controller = new AbortController();
        const reason = new Error("no longer needed");
        const pending = blobs.get(key("abort"), { signal: controller.signal, expectedBytes: new Promise(() => {}) });
        setTimeout(() => controller.abort(reason), 30);
        await expect(pending).rejects.toBe(reason);
      });
    });

    listingTests({ runner, blobs: () => blobs, oddKeys: ODD_KEYS });

    options.additionalTests?.({ blobs: () => blobs, key });
  });
}
