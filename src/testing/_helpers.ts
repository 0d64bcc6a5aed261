/**
 * Helpers shared by the conformance suites (and the adapters' own tests): test clocks, polling,
 * abort checks, random keys and bytes.
 *
 * @module
 */
import { expect } from "./_expect.ts";

/** A clock the test moves by hand; pass `now` to an adapter and the clock to its suite. */
export interface ManualClock {
  /** Current time in ms since the epoch. */
  readonly now: () => number;
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
}

/** A {@link ManualClock} starting at `start`. */
export function manualClock(start = 1_700_000_000_000): ManualClock {
  let time = start;
  return {
    now: () => time,
    advance(ms: number): void {
      time += ms;
    },
  };
}

/** A fresh prefix per test, so suites can share one server. */
export function randomPrefix(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

/** Resolves once `check()` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; everyMs: number },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`condition not met within ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
}

/**
 * Asserts that `call` settles within `withinMs` after `controller` aborts, and that a rejection
 * is the abort reason itself (so the cache above can tell its own timeout from a failure).
 */
export async function expectAbortSettles(
  start: (signal: AbortSignal) => Promise<unknown>,
  withinMs: number,
): Promise<"resolved" | "rejected"> {
  const controller = new AbortController();
  const reason = new Error("conformance abort");
  const pending = start(controller.signal).then(
    () => "resolved" as const,
    (error: unknown) => {
      expect(error).toBe(reason);
      return "rejected" as const;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 1));
  const abortedAt = performance.now();
  controller.abort(reason);
  const outcome = await Promise.race([
    pending,
    new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), withinMs + 1_000)),
  ]);
  expect(outcome, "the call must settle after its signal aborts").not.toBe("hung");
  expect(performance.now() - abortedAt).toBeLessThan(withinMs);
  return outcome as "resolved" | "rejected";
}

/** A signal already aborted with a known reason. */
export function abortedSignal(): { signal: AbortSignal; reason: Error } {
  const reason = new Error("aborted before the call");
  const controller = new AbortController();
  controller.abort(reason);
  return { signal: controller.signal, reason };
}

/** Deterministic pseudo-random bytes (xorshift), cheaper than WebCrypto's 64 KiB-per-call limit. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** True when both byte arrays hold the same bytes (no huge diffs in failure output). */
export function sameBytes(a: Uint8Array | null, b: Uint8Array): boolean {
  if (a === null || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
