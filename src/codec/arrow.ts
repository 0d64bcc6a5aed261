/**
 * Arrow tables as cached values: `larder/arrow`. An analytical query's result is often an Apache
 * Arrow `Table` already (DuckDB, DataFusion, Polars, Flight); stored as CBOR rows it would be
 * converted to one object per row and back. This codec stores the table as an Arrow IPC stream
 * instead — the columns' buffers as they are, schema and types included (dictionaries, 64-bit
 * integers, timestamps, nested types) — and reads it back with the columns as views on one copy of
 * the decompressed payload: decoding is a copy and a walk over the schema, not a parse per value.
 * The README's "Arrow tables" section and bench/arrow.ts give the numbers against CBOR rows.
 *
 * Opt in with `createCache({ codecs: [arrowCodec()] })`. The entry records the codec as `arrow`
 * and is compressed like any payload; values that are not tables go to the cache's codec as
 * before. Every cache that reads these entries needs the codec too (one without it counts a miss
 * in `errors.codec` and logs the fix). `apache-arrow` is an optional peer dependency that only
 * this entry point loads: `larder` itself never imports it. A table is recognised by
 * `instanceof Table` of the `apache-arrow` this module resolves, so the application must share it
 * (the peer dependency sees to that on npm).
 *
 * @example
 * ```ts ignore
 * import { createCache } from "larder";
 * import { arrowCodec } from "larder/arrow";
 * import { tableFromArrays } from "apache-arrow";
 *
 * const cache = createCache({ codecs: [arrowCodec()] });
 * const daily = cache.wrap(async (day: string) => tableFromArrays({ id: Int32Array.of(1, 2), total: [9.5, 3] }), {
 *   name: "daily",
 * });
 * const table = await daily("2024-05-01"); // a Table, on a miss and on a hit
 * ```
 *
 * @module
 */
import { Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { CodecError } from "../core/errors.ts";
import type { ValueExtension } from "../core/types.ts";

/** The codec name recorded in entries that hold an Arrow table. */
export const ARROW_CODEC = "arrow";

/** A codec (name `arrow`) for Apache Arrow `Table` values, stored as Arrow IPC streams. */
export function arrowCodec(): ValueExtension {
  return {
    name: ARROW_CODEC,
    accepts: (value: unknown): boolean => value instanceof Table,
    encode(value: unknown): Uint8Array {
      try {
        return tableToIPC(value as Table, "stream");
      } catch (cause) {
        throw new CodecError(`arrow: table could not be written as Arrow IPC: ${(cause as Error).message}`, { cause });
      }
    },
    decode(bytes: Uint8Array): unknown {
      // The table's columns are views on the buffer it is read from: a copy of our own, at offset
      // 0 (so every column is aligned and viewed, not copied again), which no caller shares — the
      // bytes given may be a decompressor's memory or the in-process tier's copy.
      const own = bytes.slice();
      try {
        return tableFromIPC(own);
      } catch (cause) {
        throw new CodecError(`arrow: payload is not an Arrow IPC stream: ${(cause as Error).message}`, { cause });
      }
    },
  };
}
