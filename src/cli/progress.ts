/**
 * The cleanup's progress display. On a terminal, one line on standard error rewritten in place
 * (at most ten times a second) and ended when the work is done; elsewhere (CI logs, files) a
 * plain line after the first page and then at most every `intervalMs`, so logs stay readable.
 *
 * @module
 */
import type { CleanupProgress } from "../core/ops/cleanup.ts";
import { bytes, count } from "./format.ts";

/** Options of {@link progressDisplay}. */
export interface ProgressOptions {
  /** Where lines go (standard error). */
  readonly write: (text: string) => void;
  /** Whether `write` goes to a terminal. */
  readonly isTTY: boolean;
  /** Clock in ms. */
  readonly now: () => number;
  /** Between plain lines when not a terminal. @default 10000 */
  readonly intervalMs?: number;
}

/** Receives progress reports; `end()` finishes the display. */
export interface ProgressDisplay {
  /** Shows `progress` if it is time to. */
  update(progress: CleanupProgress): void;
  /** Shows the last state and ends the line (terminal). */
  end(): void;
}

/** One line describing `progress`. */
function describeProgress(p: CleanupProgress, dryRun: boolean): string {
  const parts = [
    `${count(p.pages)} page${p.pages === 1 ? "" : "s"}`,
    `${count(p.scanned)} objects scanned (${bytes(p.scannedBytes)})`,
    `${count(p.orphans)} orphan${p.orphans === 1 ? "" : "s"} (${bytes(p.orphanBytes)})`,
  ];
  if (!dryRun) parts.push(`${count(p.deleted)} deleted`);
  if (p.rescued > 0) parts.push(`${count(p.rescued)} rescued`);
  if (p.failed > 0) parts.push(`${count(p.failed)} failed`);
  return `cleanup: ${parts.join(", ")}`;
}

/** A display for a cleanup (dry run or not). */
export function progressDisplay(options: ProgressOptions, dryRun: boolean): ProgressDisplay {
  const interval = options.isTTY ? 100 : options.intervalMs ?? 10_000;
  let last: CleanupProgress | undefined;
  let shownAt = -Infinity;
  let shown: CleanupProgress | undefined;
  const show = (progress: CleanupProgress): void => {
    const line = describeProgress(progress, dryRun);
    options.write(options.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    shown = progress;
    shownAt = options.now();
  };
  return {
    update(progress: CleanupProgress): void {
      last = progress;
      // In logs, only whole pages: the step that ends a page (deletion, or the check in a dry run).
      if (!options.isTTY && progress.phase !== (dryRun ? "checked" : "deleted")) return;
      if (options.now() - shownAt >= interval) show(progress);
    },
    end(): void {
      // Plain output needs no final line: the summary follows on standard output.
      if (!options.isTTY) return;
      if (last !== undefined && last !== shown) show(last);
      if (shown !== undefined) options.write("\n");
    },
  };
}
