/**
 * Argument checks shared by the compressors.
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";

/** Throws unless `maxBytes` is a usable limit (a `NaN` limit would compare false and let anything through). */
export function checkMaxBytes(maxBytes: number, compressor: string): void {
  if (typeof maxBytes !== "number" || !(maxBytes >= 0)) {
    throw new CodecError(`${compressor}: decompress needs a maxBytes limit of 0 or more; got ${String(maxBytes)}`);
  }
}
