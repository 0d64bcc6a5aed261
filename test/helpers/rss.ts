/**
 * Peak memory of one operation, in a child process of its own (the suites that bound memory fork
 * one, so the figures are that operation's and not the test runner's). Two measures, both in
 * bytes over the resident size just before the operation (after a full GC):
 *
 * - `sampledPeak`: the highest RSS seen by a 1 ms sampler and at the end, which catches what an
 *   asynchronous operation holds while it waits;
 * - `kernelPeak`: the kernel's own peak RSS at the end, which also catches what a synchronous
 *   operation held between two samples. On Linux the peak is reset just before the operation
 *   (`/proc/self/clear_refs`, then `VmHWM`); elsewhere it is `getrusage`'s lifetime peak, which
 *   can only overstate (an earlier, higher peak minus the baseline).
 *
 * The child must run with `--expose-gc`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";

/** What {@link measurePeak} found. */
export interface PeakMemory<T> {
  /** The operation's result. */
  readonly result: T;
  /** RSS just before the operation, bytes. */
  readonly baseline: number;
  /** Highest sampled RSS minus the baseline, bytes. */
  readonly sampledPeak: number;
  /** The kernel's peak RSS at the end minus the baseline, bytes (an upper bound). */
  readonly kernelPeak: number;
}

/** Runs `operation` and measures its peak resident memory (see the module doc). */
export async function measurePeak<T>(operation: () => Promise<T>): Promise<PeakMemory<T>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("measurePeak needs node --expose-gc");
  gc();
  gc();
  const reset = resetPeak();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 1);
  try {
    const result = await operation();
    peak = Math.max(peak, process.memoryUsage.rss());
    const kernel = (reset ? linuxPeak() : undefined) ?? process.resourceUsage().maxRSS * 1024;
    return { result, baseline, sampledPeak: peak - baseline, kernelPeak: kernel - baseline };
  } finally {
    clearInterval(timer);
  }
}

/** Resets the kernel's peak RSS of this process (Linux); false where that is not possible. */
function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** The peak RSS since the last reset (Linux `VmHWM`), bytes. */
function linuxPeak(): number | undefined {
  try {
    const kB = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return kB === undefined ? undefined : Number(kB) * 1024;
  } catch {
    return undefined;
  }
}
