/**
 * Larder's published blob store suite (`larder/testing`) bound to vitest, for this repository's
 * own adapter tests: `describeBlobConformance(name, factory, options)` without the runner.
 *
 * @module
 */
import * as vitest from "vitest";
import { type BlobConformanceOptions, describeBlobConformance as describeWith } from "../../src/testing/conformance.ts";

export { ODD_KEYS } from "../../src/testing/conformance.ts";

/** Registers the blob store contract tests, on vitest, for the adapter `factory` builds. */
export function describeBlobConformance(
  name: string,
  factory: Parameters<typeof describeWith>[1],
  options: Omit<BlobConformanceOptions, "runner"> = {},
): void {
  describeWith(name, factory, { ...options, runner: vitest });
}
