/**
 * `larder cleanup [--dry-run] [--grace 1h] [--json]`: deletes the payload blobs no record points
 * to, with a progress display on standard error and a summary on standard output.
 *
 * @module
 */
import type { CleanupSummary } from "../core/ops/cleanup.ts";
import type { Duration } from "../core/util/durations.ts";
import type { CommandContext } from "./command_types.ts";
import { EXIT_FAILURE, EXIT_OK } from "./exit_codes.ts";
import { bytes, count, duration, table } from "./format.ts";
import { progressDisplay } from "./progress.ts";

/** Runs the cleanup command. */
export async function cleanupCommand(context: CommandContext): Promise<number> {
  const { io, options } = context;
  const dryRun = options["dry-run"] === true;
  const grace = options.grace as string | undefined;
  const json = options.json === true;
  const config = await context.config({ blobs: true });
  const display = progressDisplay({ write: io.stderr, isTTY: io.isTTY, now: io.now ?? Date.now }, dryRun);
  let summary: CleanupSummary;
  try {
    summary = await config.cache.cleanup({
      dryRun,
      ...(grace === undefined ? {} : { grace: grace as Duration }),
      timeout: config.timeoutMs,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (progress) => display.update(progress),
    });
  } finally {
    display.end();
  }
  if (json) {
    io.stdout(`${JSON.stringify({ prefix: config.prefix, ...summary })}\n`);
  } else {
    io.stdout(
      `${dryRun ? "Dry run (nothing deleted)" : "Cleanup"} of prefix "${config.prefix}" ` +
        `(grace ${duration(summary.graceMs)}), ${duration(summary.durationMs)}:\n` +
        table([
          [
            "scanned",
            `${count(summary.scanned)} objects in ${plural(summary.pages, "page")}, ${bytes(summary.scannedBytes)}`,
          ],
          ["live", `${count(summary.live)} (a record points to them)`],
          ["recent", `${count(summary.recent)} (younger than the grace period, kept)`],
          ["foreign", `${count(summary.foreign)} (not named like Larder blobs, kept)`],
          ["orphans", `${count(summary.orphans)}, ${bytes(summary.orphanBytes)}`],
          ...(dryRun ? [] : [
            ["rescued", `${count(summary.rescued)} (a record or lease appeared before deletion, kept)`] as const,
            ["deleted", `${count(summary.deleted)}, ${bytes(summary.deletedBytes)}`] as const,
            ["failed", count(summary.failed)] as const,
          ]),
        ], "  "),
    );
  }
  if (summary.failed > 0) {
    io.stderr(`larder: cleanup: ${count(summary.failed)} object(s) could not be deleted\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
}
