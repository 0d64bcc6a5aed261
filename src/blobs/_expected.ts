/**
 * The expected size of a blob GET (`BlobGetOptions.expectedBytes`), as the adapters consume it:
 * a limit that starts at {@link BLOB_PENDING_BYTES} while the size is unknown and becomes the
 * expected size once the caller knows it. Adapters read a body chunk by chunk against
 * {@link Expectation.limit}, and wait for the size ({@link Expectation.known}) before taking a
 * chunk that would pass the pending limit.
 *
 * @module
 */
import { IntegrityError, TooLargeError } from "../core/errors.ts";
import { BLOB_PENDING_BYTES } from "../core/types.ts";

/** A GET's expected size, as it settles. */
export class Expectation {
  #settled: boolean;
  #bytes: number | undefined;
  readonly #promise: Promise<void>;

  /** `expected` from the call's options; `maxBytes`, the adapter's own limit. */
  constructor(expected: Promise<number | undefined> | undefined, readonly maxBytes: number) {
    this.#settled = expected === undefined;
    this.#promise = expected === undefined ? Promise.resolve() : expected.then(
      (bytes) => this.#settle(bytes),
      () => this.#settle(undefined),
    );
  }

  #settle(bytes: unknown): void {
    this.#settled = true;
    // A size that is not a count is no expectation at all (the adapter's own limit applies).
    this.#bytes = typeof bytes === "number" && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
  }

  /** Whether the expected size is known (or known to be absent). */
  get settled(): boolean {
    return this.#settled;
  }

  /** How many bytes of the body may be held now. */
  get limit(): number {
    if (!this.#settled) return Math.min(BLOB_PENDING_BYTES, this.maxBytes);
    return this.#bytes === undefined ? this.maxBytes : Math.min(this.#bytes, this.maxBytes);
  }

  /** Resolves once the expected size is known; rejects with the abort reason if `signal` fires first. */
  known(signal: AbortSignal | undefined): Promise<void> {
    if (this.#settled || signal === undefined) return this.#promise;
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const abort = (): void => reject(signal.reason);
      signal.addEventListener("abort", abort, { once: true });
      void this.#promise.then(() => {
        signal.removeEventListener("abort", abort);
        resolve();
      });
    });
  }

  /** The error for a body of at least `bytes` bytes, over the current limit (`where`: e.g. `s3 get`). */
  refusal(where: string, bytes: number): IntegrityError | TooLargeError {
    if (this.#settled && this.#bytes !== undefined && this.#bytes < this.maxBytes) {
      return new IntegrityError(
        `${where}: object of at least ${bytes} bytes is larger than the ${this.#bytes} bytes expected`,
      );
    }
    return new TooLargeError(`${where}: object of at least ${bytes} bytes exceeds maxObjectBytes ${this.maxBytes}`);
  }
}
