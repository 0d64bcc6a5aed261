/// <reference lib="deno.ns" />
/**
 * Run by zstd.test.ts with `deno run --no-prompt` and no permission at all: Larder's zstd must load
 * and work without reading a file (nor the network, nor the environment). Writes and reads back a
 * value large enough to be compressed, in the embedded default cache, and prints what was stored.
 *
 * @module
 */
import { createCache } from "../../../mod.ts";

const cache = createCache();
const value = { rows: Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `customer ${i % 50}` })) };
await cache.set("report", value);
const back = await cache.get<typeof value>("report");
if (JSON.stringify(back) !== JSON.stringify(value)) throw new Error("the value read back differs");
const { record } = await cache.inspect("report");
const stats = cache.stats();
console.log(
  JSON.stringify({ compression: record?.compression, encodedBytes: record?.encodedBytes, errors: stats.errors.total }),
);
