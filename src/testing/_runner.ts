/**
 * What the conformance suites need of a test runner, and the setup they share. The runner: the five functions that vitest, jest,
 * bun:test, node:test and Deno's std/testing/bdd all provide under these names. The suites take
 * them as a value ({@link TestRunner}) instead of importing a runner, so one suite runs anywhere.
 *
 * @module
 */
import { randomPrefix } from "./_helpers.ts";

/** A test body: it may return a promise, which the runner awaits. */
export type TestBody = () => void | Promise<void>;

/**
 * The runner's `describe`, `it`, `beforeAll`, `afterAll` and `beforeEach`, e.g.
 * `import * as vitest from "vitest"` (or `{ describe, it, beforeAll, afterAll, beforeEach }` from
 * `bun:test`, `node:test`, `@std/testing/bdd`).
 */
export interface TestRunner {
  /** Groups tests under `name`. */
  describe(name: string, body: () => void): unknown;
  /**
   * Registers a test. `timeoutMs` is passed as the third argument, which vitest, jest and bun:test
   * take as the test's timeout; the suites pass it only to the few tests that need minutes.
   */
  it(name: string, body: TestBody, timeoutMs?: number): unknown;
  /** Runs `body` once before the group's tests. */
  beforeAll(body: TestBody): unknown;
  /** Runs `body` once after the group's tests. */
  afterAll(body: TestBody): unknown;
  /** Runs `body` before each test of the group. */
  beforeEach(body: TestBody): unknown;
}

/** The options every conformance suite takes; each suite adds its own. */
export interface SuiteOptions<Adapter, Context> {
  /** The test runner's `describe`, `it`, `beforeAll`, `afterAll` and `beforeEach`. */
  runner: TestRunner;
  /** Adapter-specific tests, registered inside the suite's `describe`. */
  additionalTests?: (context: Context) => void;
  /** Called once after the suite (close connections…). */
  teardown?: (adapter: Adapter) => Promise<void> | void;
}

/**
 * Registers the hooks that give a suite its adapter (built once by `factory`, which the suite
 * wraps to keep it; torn down once) and a fresh random prefix per test, returned as a getter
 * (valid inside tests, not at collection time).
 */
export function adapterUnderTest<Adapter, Context>(
  factory: () => Promise<Adapter> | Adapter,
  options: SuiteOptions<Adapter, Context> & { readonly label: string },
): { readonly prefix: () => string } {
  const { beforeAll, afterAll, beforeEach } = options.runner;
  let adapter: Adapter | undefined;
  let prefix = "";
  beforeAll(async () => {
    adapter = await factory();
  });
  afterAll(async () => {
    if (adapter !== undefined) await options.teardown?.(adapter);
  });
  beforeEach(() => {
    prefix = randomPrefix(options.label);
  });
  return { prefix: () => prefix };
}
