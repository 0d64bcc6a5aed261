/**
 * Fault-injection wrappers for the role interfaces: the only fakes the suites use, and only to
 * inject faults around real adapters. Each wrapper counts the calls that reach it.
 */
import type {
  BlobGetOptions,
  BlobStore,
  CallOptions,
  MetadataStore,
  StoreOp,
  StoreResult,
} from "../../src/core/types.ts";

/** What a wrapped adapter does to calls. */
export type Fault =
  | "none"
  /** Rejects at once. */
  | "throw"
  /** Never answers until aborted (honours the signal). */
  | "hang"
  /** Never answers, even when aborted (an adapter that ignores its signal). */
  | "deaf"
  /** Answers with garbage: records become invalid, blobs get a flipped byte. */
  | "corrupt";

function stall(options: CallOptions | undefined, honourSignal: boolean): Promise<never> {
  return new Promise((_, reject) => {
    if (!honourSignal) return;
    options?.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
  });
}

/** A store wrapper whose behaviour the test switches with `fault`. */
export class ChaosStore implements MetadataStore {
  fault: Fault = "none";
  calls = 0;
  readonly name = "chaos-store";
  constructor(readonly inner: MetadataStore) {}

  async run(ops: readonly StoreOp[], options?: CallOptions): Promise<StoreResult[]> {
    this.calls++;
    if (this.fault === "throw") throw new Error("injected store failure");
    if (this.fault === "hang") return stall(options, true);
    if (this.fault === "deaf") return stall(options, false);
    const results = await this.inner.run(ops, options);
    if (this.fault === "corrupt") return results.map(corrupt);
    return results;
  }
}

/** A reply with its record text (plain or inside a `read` result) cut and garbled. */
function corrupt(result: StoreResult): StoreResult {
  const garble = (text: string): string => `${text.slice(0, -7)}garbage`;
  if (typeof result === "string") return garble(result);
  if (typeof result === "object" && result !== null && "value" in result && typeof result.value === "string") {
    return { ...result, value: garble(result.value) };
  }
  return result;
}

/** A blob store wrapper whose behaviour the test switches with `fault`. */
export class ChaosBlobs implements BlobStore {
  fault: Fault = "none";
  calls = 0;
  readonly name = "chaos-blobs";
  constructor(readonly inner: BlobStore) {}

  async put(key: string, body: Uint8Array, options?: CallOptions): Promise<void> {
    this.calls++;
    if (this.fault === "throw") throw new Error("injected blob failure");
    if (this.fault === "hang") return stall(options, true);
    if (this.fault === "deaf") return stall(options, false);
    return this.inner.put(key, body, options);
  }

  async get(key: string, options?: BlobGetOptions): Promise<Uint8Array | null> {
    this.calls++;
    if (this.fault === "throw") throw new Error("injected blob failure");
    if (this.fault === "hang") return stall(options, true);
    if (this.fault === "deaf") return stall(options, false);
    const body = await this.inner.get(key, options);
    if (this.fault === "corrupt" && body && body.length > 0) {
      const copy = body.slice();
      copy[copy.length >> 1]! ^= 0xff;
      return copy;
    }
    return body;
  }

  async delete(key: string, options?: CallOptions): Promise<void> {
    this.calls++;
    if (this.fault === "throw") throw new Error("injected blob failure");
    return this.inner.delete(key, options);
  }
}

/** A logger that keeps what it was told, for assertions. */
export function recordingLogger(): {
  lines: { level: string; message: string }[];
  debug(m: string): void;
  info(m: string): void;
  warn(m: string): void;
  error(m: string): void;
} {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    debug: (message) => lines.push({ level: "debug", message }),
    info: (message) => lines.push({ level: "info", message }),
    warn: (message) => lines.push({ level: "warn", message }),
    error: (message) => lines.push({ level: "error", message }),
  };
}
