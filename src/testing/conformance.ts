/**
 * Larder's conformance suites, published so that an adapter written outside Larder — a metadata
 * store for another Redis client, a blob store for another object storage — can be checked
 * against the same contract Larder's own adapters meet: {@link describeStoreConformance} for the
 * `MetadataStore` role (Redis semantics, the `read`/`write` scripts, leases, generations, eviction
 * bookkeeping, expiry, aborts) and {@link describeBlobConformance} for the `BlobStore` role (bytes
 * in and out, odd keys, aborts, the expected size, listing and batch deletes when offered).
 *
 * The suites import no test runner: give them yours (vitest, jest, bun:test, node:test, Deno's
 * std/testing/bdd), and they register their tests with it. Run them against the real backend.
 *
 * @example
 * ```ts ignore
 * import * as vitest from "vitest";
 * import { describeBlobConformance } from "larder/testing";
 * import { myBlobStore } from "./my_blob_store.ts";
 *
 * describeBlobConformance("mine", () => myBlobStore({ bucket: "test" }), {
 *   runner: vitest,
 *   additionalTests: ({ blobs, key }) => {
 *     vitest.it("keeps an object under a long key", async () => {
 *       await blobs().put(key("a".repeat(500)), new Uint8Array([1]));
 *     });
 *   },
 * });
 * ```
 *
 * @module
 */
export { type BlobConformanceOptions, type BlobTestContext, describeBlobConformance, ODD_KEYS } from "./_blob_suite.ts";
export { AssertionFailure } from "./_expect.ts";
export { type ManualClock, manualClock } from "./_helpers.ts";
export type { SuiteOptions, TestBody, TestRunner } from "./_runner.ts";
export { describeStoreConformance, type StoreConformanceOptions, type StoreTestContext } from "./_store_suite.ts";
