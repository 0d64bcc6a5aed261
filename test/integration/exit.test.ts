/**
 * A script that exits with its write pending (`process.exit()` right after a miss), on the real
 * services, run twice as a user would run it (test/helpers/exit_child.ts): the first run says
 * that its write was lost, and the second run's first call pays only what the orphaned lease
 * costs — counted (`leases.takenOver`), and measured (printed: the figure the README states).
 * With the default lease (5 s TTL) that is at most the TTL after the first run's last renewal; it
 * was the whole 15 s TTL before.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, expect, it } from "vitest";
import type { ExitChildConfig, ExitChildReport } from "../helpers/exit_child.ts";
import { requireServices, uniquePrefix } from "../helpers/services.ts";

requireServices();

function run(config: ExitChildConfig): { report: ExitChildReport; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "test/helpers/exit_child.ts", JSON.stringify(config)],
    {
      encoding: "utf8",
      env: process.env,
    },
  );
  if (result.status !== 0) throw new Error(`exit_child failed (${result.status}): ${result.stderr}`);
  return { report: JSON.parse(result.stdout.trim()) as ExitChildReport, stderr: result.stderr };
}

describe("a script that exits with its write pending", () => {
  it("says the write was lost, and the next run takes the orphaned lease over within the lease's TTL", () => {
    const prefix = uniquePrefix("exit");
    const first = run({ prefix, mode: "exit" });
    expect(first.report).toMatchObject({ leases: { acquired: 1, takenOver: 0 }, pending: 1 });
    expect(first.stderr).toContain("larder: 1 background write lost: await cache.flush() before exiting\n");

    const second = run({ prefix, mode: "flush" });
    // The first run's lease was never released: the second waited for it to expire, then computed.
    expect(second.report.leases).toEqual({ acquired: 1, waited: 0, givenUp: 0, takenOver: 1 });
    expect(second.stderr).toMatch(/larder: default\/report: waited over 1 s for key [0-9a-f]{12}, leased by another/);
    expect(second.stderr).not.toContain("lost");
    console.log(`exit: the next run's first call waited ${(second.report.callMs / 1000).toFixed(1)} s (lease TTL 5 s)`);

    // And a third run, after a clean exit, finds the entry at once.
    const third = run({ prefix, mode: "flush" });
    expect(third.report.leases).toEqual({ acquired: 0, waited: 0, givenUp: 0, takenOver: 0 });
  }, 60_000);
});
