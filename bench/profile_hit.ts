/**
 * Hits of one tier and size in a loop, to profile (not part of `npm run bench`):
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile_hit.ts inline "1 KB" 5000
 *   npx tsx bench/profile_summary.ts /tmp/prof/<the larger file>.cpuprofile
 *
 * Tiers: memory, inline, s3. Sizes: 1 KB, 100 KB, 1 MB, 10 MB. The services run in a child
 * process (its own profile, if any, is the smaller file).
 *
 * @module
 */
import process from "node:process";
import { makeRows, SIZES } from "./_data.ts";
import { type Tier, tierCache } from "./_fixtures.ts";
import { startBenchServices } from "./_services.ts";

const [tier = "inline", label = "1 KB", count = "3000"] = process.argv.slice(2);
const size = SIZES.find((s) => s.label === label);
if (!["memory", "shared", "inline", "s3"].includes(tier) || size === undefined) {
  console.error(`usage: profile_hit.ts <memory|shared|inline|s3> <${SIZES.map((s) => s.label).join("|")}> [count]`);
  process.exit(2);
}
const services = await startBenchServices();
try {
  const cache = tierCache(services.env, `profile-${Date.now().toString(36)}`, tier as Tier, [
    { label, size: label, shape: "rows", jsonBytes: size.bytes, rows: makeRows(size.bytes) },
  ]);
  await cache.rows(label, 0);
  await cache.cache.flush();
  for (let i = 0; i < 200; i++) await cache.rows(label, 0);
  const n = Number(count);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < n; i++) await cache.rows(label, 0);
  const used = process.cpuUsage(cpu);
  const wallUs = ((performance.now() - started) / n) * 1000;
  console.log(
    `${n} ${tier} hits of ${label}: ${wallUs.toFixed(0)} µs wall, ${
      ((used.user + used.system) / n).toFixed(0)
    } µs CPU each`,
  );
  console.log(JSON.stringify(cache.cache.stats().hits));
} finally {
  await services.stop();
}
