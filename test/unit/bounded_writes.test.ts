/**
 * A write stops encoding as soon as the value passes `maxValueBytes`: a value that would encode to
 * about 200 MB, with `maxValueBytes` at 1 MiB, is refused with a `TooLargeError` (by `set`) or
 * skipped (by `wrap`'s background write, counted in `writes.skipped`) at a cost of a few MB, not
 * the ~1 GB of RSS that encoding it whole took. Measured in a child process of its own, for both
 * value codecs. (No services: the embedded default cache; the bound is in the encoders.)
 *
 * Those values are refused by the validation walk's lower bound of the size, before encoding.
 * A value whose bound fits but whose encoding does not (Dates: at least one byte each by the
 * bound, ten in CBOR) reaches the CBOR encoder, which stops once its output passes the limit.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { describe, expect, it } from "vitest";
import type { MeasuredWrite, OversizedWriteConfig } from "../helpers/oversized_write_child.ts";

const CHILD = fileURLToPath(new URL("../helpers/oversized_write_child.ts", import.meta.url));
const MiB = 1024 * 1024;
/** What a refused write may cost at most: far below the encoded size (~200 MB). */
const RSS_BOUND = 40 * MiB;

function runChild(config: OversizedWriteConfig): Promise<readonly MeasuredWrite[]> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(config)], {
      execArgv: ["--import", "tsx", "--expose-gc"],
      env: process.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.once("message", (message: { writes?: readonly MeasuredWrite[]; failed?: string }) => {
      if (message.writes) resolve(message.writes);
      else reject(new Error(`child failed: ${message.failed}`));
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}) without a result`)));
  });
}

describe("a write stops encoding at maxValueBytes", () => {
  for (const codec of ["cbor", "json"] as const) {
    it(
      `${codec}: a ~200 MB value with maxValueBytes 1 MiB is refused at once, with small RSS, and counted as skipped`,
      async () => {
        const writes = await runChild({
          codec,
          rows: 200_000,
          rowBytes: 1_000,
          rowKind: "strings",
          maxValueBytes: MiB,
        });
        for (const write of writes) {
          const figures = `${codec} ${write.via}: sampled peak +${(write.sampledPeak / MiB).toFixed(1)} MiB, ` +
            `kernel peak +${(write.kernelPeak / MiB).toFixed(1)} MiB`;
          console.log(figures);
          expect(write.sampledPeak, figures).toBeLessThan(RSS_BOUND);
          expect(write.kernelPeak, figures).toBeLessThan(RSS_BOUND);
          expect(write.stats.writes.ok, write.via).toBe(0);
          if (write.via === "set") {
            expect(write.error).toMatchObject({ name: "TooLargeError", code: "E_TOO_LARGE" });
            expect(write.error?.message).toMatch(/over maxValueBytes \(1048576\)/);
          } else {
            expect(write.returned).toBe(true);
            expect(write.stats.writes.skipped).toBe(1);
            expect(write.stats.errors.byCode).toEqual({ E_TOO_LARGE: 1 });
            expect(write.warnings.join("\n")).toMatch(/result not cached: .*over maxValueBytes \(1048576\)/);
          }
        }
      },
      120_000,
    );
  }

  it(
    "cbor: a value whose size bound fits but whose encoding does not stops in the encoder, holding about the limit",
    async () => {
      // 4 000 000 Dates: a bound of 4 MB, under 4 MiB; an encoding of 40 MB.
      const maxValueBytes = 4 * MiB;
      const writes = await runChild({ codec: "cbor", rows: 4_000_000, rowBytes: 0, rowKind: "dates", maxValueBytes });
      for (const write of writes) {
        const figures = `cbor dates ${write.via}: sampled peak +${(write.sampledPeak / MiB).toFixed(1)} MiB, ` +
          `kernel peak +${(write.kernelPeak / MiB).toFixed(1)} MiB`;
        console.log(figures);
        // The buffer doubles up to the limit (the last two sizes live together while copying, the
        // earlier ones not yet given back), never to the 40 MB of the whole encoding.
        expect(write.kernelPeak, figures).toBeLessThan(6 * maxValueBytes);
        expect(write.stats.writes.ok).toBe(0);
        if (write.via === "set") {
          expect(write.error).toMatchObject({ name: "TooLargeError" });
          expect(write.error?.message).toMatch(/^encoded value is over maxValueBytes \(4194304\): cbor codec/);
        } else {
          expect(write.stats.writes.skipped).toBe(1);
        }
      }
    },
    120_000,
  );
});
