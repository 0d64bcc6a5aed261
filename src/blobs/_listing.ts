/**
 * What the adapters without a server-side listing share: the checks of `list` and `deleteMany`
 * arguments (the same errors every adapter gives) and key order. S3 lists keys in UTF-8 byte
 * order, which is code point order, not JavaScript's UTF-16 order; stores that sort keys
 * themselves sort the same way, so a cursor means the same thing everywhere.
 *
 * @module
 */
import { BlobError } from "../core/errors.ts";
import type { BlobListOptions } from "../core/types.ts";

/** Objects per `list` page and keys per `deleteMany` at most, as in S3. */
export const MAX_BATCH = 1000;

/** The checked arguments of a `list` call. */
export interface ListArgs {
  /** Objects per page. */
  readonly limit: number;
  /** The last key of the previous page, if any. */
  readonly cursor: string | undefined;
}

/** Checks `list`'s arguments (`where`: e.g. `"fs"`); throws a `BlobError` naming the bad one. */
export function checkListArgs(where: string, prefix: unknown, options: BlobListOptions | undefined): ListArgs {
  if (typeof prefix !== "string") throw new BlobError(`${where} list: prefix must be a string`);
  const limit = options?.limit ?? MAX_BATCH;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BATCH) {
    throw new BlobError(`${where} list: limit must be an integer from 1 to ${MAX_BATCH}`);
  }
  const cursor = options?.cursor;
  if (cursor !== undefined && (typeof cursor !== "string" || cursor === "")) {
    throw new BlobError(`${where} list: cursor must be a non-empty string from a previous page`);
  }
  return { limit, cursor };
}

/** Checks `deleteMany`'s keys: an array of at most {@link MAX_BATCH} non-empty strings. */
export function checkDeleteKeys(where: string, keys: unknown): readonly string[] {
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== "string" || key === "")) {
    throw new BlobError(`${where} deleteMany: keys must be an array of non-empty strings`);
  }
  if (keys.length > MAX_BATCH) {
    throw new BlobError(`${where} deleteMany: at most ${MAX_BATCH} keys per call, got ${keys.length}`);
  }
  return keys as readonly string[];
}

/** Orders strings by code point (UTF-16 order differs where surrogates meet U+E000–U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

function rank(unit: number): number {
  // Surrogates (astral code points) sort after U+E000–U+FFFF.
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}
