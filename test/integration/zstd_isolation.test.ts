/**
 * Larder's zstd shares no mutable state with the application. `@bokuweb/zstd-wasm` keeps one
 * emscripten instance per process behind its `init()`, and a second `init()` (the application's
 * and Larder's) corrupts it: the application's frames fail ("Failed to compress with code -10")
 * and so do Larder's writes ("bad magic number"). An application that uses the package itself
 * (its own `init()`, its own levels, between Larder's writes and reads) must leave Larder's
 * entries intact, and Larder must leave the application's frames intact. Entries go
 * through the real services (redis-server behind the bridge, s3rver behind the proxy), inline and
 * as blobs; stored records are read back from Redis to see that zstd was really used.
 */
import * as appZstd from "@bokuweb/zstd-wasm";
import { describe, expect, it } from "vitest";
import { parseRecord } from "../../src/core/record/entry.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import { recordKey } from "../../src/core/record/key_layout.ts";
import { servicesCache } from "../helpers/cache.ts";
import { rawRedisGet } from "../helpers/services.ts";

/** Compressible rows, `count` of them: a few KB to a few MB of CBOR. */
const rows = (count: number, salt: string) =>
  Array.from({ length: count }, (_, i) => ({ id: i, name: `${salt}-customer-${i % 97}`, amount: (i * 7331) % 10_000 }));

/** The application's own use of the package: its data, its level, round-tripped through the package. */
function appRoundTrip(size: number, level: number): void {
  const data = new TextEncoder().encode("application data, ".repeat(Math.ceil(size / 18)).slice(0, size));
  let outcome: string;
  try {
    const frame = appZstd.compress(data, level);
    outcome = Buffer.from(appZstd.decompress(frame)).equals(Buffer.from(data)) ? "ok" : "different bytes";
  } catch (error) {
    outcome = String(error);
  }
  expect.soft(outcome, `the application's round trip of ${size} bytes at level ${level}`).toBe("ok");
}

describe("zstd shares nothing with the application's @bokuweb/zstd-wasm", () => {
  it("Larder's entries and the application's frames both survive the application initialising the package and compressing in between", async () => {
    const { cache, prefix } = servicesCache("zstd-app", { maxInlineBytes: 4096 });
    // The application's startup initialises the package and uses it.
    await appZstd.init();
    appRoundTrip(200_000, 10);
    const small = rows(150, "small"); // a few KB compressed: inline
    const large = rows(40_000, "large"); // hundreds of KB compressed: a blob
    await cache.set("small", small);
    appRoundTrip(1_000_000, 1);
    await cache.set("large", large);
    appRoundTrip(300_000, 19);
    appRoundTrip(250_000, 5);
    expect.soft(await cache.get("small")).toEqual(small);
    appRoundTrip(400_000, 12);
    expect.soft(await cache.get("large")).toEqual(large);
    const later = rows(30_000, "later");
    await cache.set("later", later);
    appRoundTrip(100_000, 3);
    expect.soft(await cache.get("later")).toEqual(later);

    // Every entry really went through zstd, inline and as a blob.
    const records = await Promise.all(
      ["small", "large", "later"].map(async (name) => {
        const text = await rawRedisGet(recordKey(prefix, await keyHash(prefix, "default", { kind: "key", key: name })));
        return parseRecord(text!);
      }),
    );
    expect(records.map((r) => [r.z, r.p === undefined ? "blob" : "inline"])).toEqual([
      ["zstd", "inline"],
      ["zstd", "blob"],
      ["zstd", "blob"],
    ]);
    const stats = cache.stats();
    expect(stats.writes).toMatchObject({ ok: 3, failed: 0, skipped: 0 });
    expect(stats.hits.total).toBe(3);
    expect(stats.errors.total).toBe(0);
  });
});
