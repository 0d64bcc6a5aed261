/**
 * A script that exits right after a miss, on the embedded cache (no services), run by
 * test/unit/first_hour.test.ts with Node, Bun and Deno: its background write is still pending when
 * it exits, unless it is told to flush first (`flush` as its argument). The warning, if any, is on
 * its standard error.
 *
 * @module
 */
import { createCache } from "../../mod.ts";

const flush = (globalThis as { Deno?: { args: string[] } }).Deno?.args.includes("flush") ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.includes("flush");
const cache = createCache({ prefix: "exit-warning", globalStats: false });
const report = cache.wrap(async (month: string) => ({ month, rows: Array.from({ length: 100 }, (_, i) => i) }), {
  name: "report",
});
await report("2024-01");
if (flush) await cache.flush();
console.log(`pending ${cache.stats().writes.pending}`);
const deno = (globalThis as { Deno?: { exit(code: number): never } }).Deno;
if (deno) deno.exit(0);
else (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(0);
