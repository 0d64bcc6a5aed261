/**
 * A read never holds more than its record's stated size (plus a small margin), even when the S3
 * GET left before the record arrived: a body over that size is cut off while streaming and the
 * request aborted. Checked against the real services (redis-server behind the bridge, s3rver
 * behind the counting proxy) in a child process of its own, so the RSS measured is the read's:
 * a valid-looking record that says 40 KB, over an object of 120 MiB (within the default
 * `maxObjectBytes` of 128 MiB, so only the record's size can stop it), served with its
 * Content-Length and, through the proxy's `unsized` fault, without one.
 *
 * 120 MiB is what a hostile or stale object can realistically be, and large enough that reading
 * it whole (about 2× its size in RSS, as the body is collected and joined) is far from the bound
 * asserted; writing it to s3rver takes a second or two.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it } from "vitest";
import { blobKey } from "../../src/core/record/key_layout.ts";
import { keyHash } from "../../src/core/record/key_material.ts";
import type { BlobReadConfig, BlobReadMessage, MeasuredRead } from "../helpers/blob_read_child.ts";
import { addFaults, removeFaults, requireServices, trafficOf, uniquePrefix } from "../helpers/services.ts";

const services = requireServices();
const CHILD = fileURLToPath(new URL("../helpers/blob_read_child.ts", import.meta.url));
const MiB = 1024 * 1024;
const OBJECT_BYTES = 120 * MiB;
const RECORD_BYTES = 40_000;
/** What a read may cost at most: far below the object, well above Node's own noise. */
const RSS_BOUND = 40 * MiB;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Writes `bytes` zero bytes at `key` straight to S3 (not counted by the proxy, no fault). */
async function putLargeObject(key: string, bytes: number): Promise<void> {
  const { s3 } = services;
  const client = new AwsClient({ ...s3, service: "s3", retries: 0 });
  const url = `${s3.endpoint}/${s3.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const response = await client.fetch(url, {
    method: "PUT",
    // Zero pages: the runner's own memory stays small.
    body: new Uint8Array(bytes),
    headers: { "x-larder-uncounted": "1", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  });
  if (!response.ok) throw new Error(`S3 put ${key}: ${response.status} ${await response.text()}`);
}

/** Runs the child: it writes the entry, the object is replaced by a large one, the child reads twice. */
async function readOversizedBlob(unsized: boolean): Promise<{ reads: readonly MeasuredRead[]; prefix: string }> {
  const prefix = uniquePrefix("bounded-read");
  const config: BlobReadConfig = { prefix, key: "report", payloadBytes: RECORD_BYTES };
  const child = fork(CHILD, [JSON.stringify(config)], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    env: process.env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  const messages: BlobReadMessage[] = [];
  let wake = (): void => {};
  child.on("message", (message: BlobReadMessage) => {
    messages.push(message);
    wake();
  });
  child.on("exit", () => wake());
  const next = async (type: BlobReadMessage["type"]): Promise<BlobReadMessage> => {
    for (;;) {
      const found = messages.find((m) => m.type === type || m.type === "failed");
      if (found?.type === "failed") throw new Error(`child failed: ${found.error}`);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}) before "${type}"`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };

  await next("stored");
  const key = blobKey(prefix, await keyHash(prefix, "default", { kind: "key", key: "report" }));
  await putLargeObject(key, OBJECT_BYTES);
  if (unsized) await addFaults(services.s3.endpoint, [{ match: prefix, method: "GET", unsized: true }]);
  try {
    child.send("read");
    const result = await next("result");
    if (result.type !== "result") throw new Error("unreachable");
    return { reads: result.reads, prefix };
  } finally {
    if (unsized) await removeFaults(services.s3.endpoint, prefix);
  }
}

describe("a blob read holds at most its record's size", () => {
  for (const unsized of [false, true]) {
    it(
      `cuts off a 120 MiB object under a 40 KB record ${
        unsized ? "without" : "with"
      } Content-Length: small RSS, a counted integrity miss, the GET aborted`,
      async () => {
        const { reads, prefix } = await readOversizedBlob(unsized);
        for (const read of reads) {
          const figures = `${read.path}: sampled peak +${(read.sampledPeak / MiB).toFixed(1)} MiB, ` +
            `kernel peak +${(read.kernelPeak / MiB).toFixed(1)} MiB`;
          console.log(`${unsized ? "unsized" : "sized"} ${figures}`);
          expect(read.hit, read.path).toBe(false);
          expect(read.sampledPeak, figures).toBeLessThan(RSS_BOUND);
          expect(read.kernelPeak, figures).toBeLessThan(RSS_BOUND);
          // One miss, counted once, as an entry that does not verify.
          expect(read.stats.misses, read.path).toBe(1);
          expect(read.stats.errors, read.path).toMatchObject({ total: 1, integrity: 1, blob: 0 });
          expect(read.stats.errors.byCode, read.path).toEqual({ E_INTEGRITY: 1 });
          expect(read.warnings.join("\n"), read.path).toMatch(/larger than the 40000 bytes/);
        }
        // At the proxy: two GETs of the object, each abandoned by the client long before its end.
        const { s3 } = await trafficOf(prefix);
        const gets = s3.filter((entry) => entry.method === "GET");
        expect(gets).toHaveLength(2);
        for (const get of gets) {
          expect(get.aborted).toBe(true);
          expect(get.responseBytes).toBeLessThan(OBJECT_BYTES / 8);
          expect(get.faults).toEqual(unsized ? ["unsized"] : []);
        }
        console.log(`proxy: response bytes relayed before the cut: ${gets.map((g) => g.responseBytes).join(", ")}`);
      },
      120_000,
    );
  }
});
