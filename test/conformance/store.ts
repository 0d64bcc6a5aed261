/**
 * Larder's published store suite (`larder/testing`) bound to vitest, for this repository's own
 * adapter tests: `describeStoreConformance(name, factory, options)` without the runner.
 *
 * @module
 */
import * as vitest from "vitest";
import {
  describeStoreConformance as describeWith,
  type StoreConformanceOptions,
} from "../../src/testing/conformance.ts";

export { type ManualClock, manualClock } from "../../src/testing/conformance.ts";

/** Registers the store contract tests, on vitest, for the adapter `factory` builds. */
export function describeStoreConformance(
  name: string,
  factory: Parameters<typeof describeWith>[1],
  options: Omit<StoreConformanceOptions, "runner"> = {},
): void {
  describeWith(name, factory, { ...options, runner: vitest });
}
