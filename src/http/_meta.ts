/**
 * A stored response's status and headers, kept as the record's metadata beside its body. Headers
 * that describe one transfer (hop-by-hop, length, encoding) or one answer (`Age`, `Cache-Status`,
 * `Server-Timing`) are not stored; they are computed again for every answer. The response's age
 * when it was stored (RFC 9111 §4.2.3) is kept so that the `Age` of every hit includes it; entries
 * written before it was kept (no `a`) count as stored at age 0.
 *
 * @module
 */
import { IntegrityError } from "../core/errors.ts";

/** What is stored beside the body. */
export interface StoredHead {
  /** HTTP status. */
  readonly status: number;
  /** Header lines, lower-case names, in order (repeated names repeat). */
  readonly headers: readonly (readonly [string, string])[];
  /** Its age when it was stored, ms (a received `Age`, or its apparent age from `Date`). */
  readonly ageMs: number;
}

// `a` (age when stored) joined version 1 as an optional field: readers that predate it ignore it.
const META_VERSION = 1;
const NOT_STORED = new Set([
  "age",
  "cache-status",
  "connection",
  "content-encoding",
  "content-length",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "server-timing",
  "set-cookie",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The metadata string of `response`'s head, `ageMs` old when stored. */
export function encodeHead(response: Response, ageMs: number): string {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (!NOT_STORED.has(name)) headers.push([name, value]);
  });
  const age = Math.max(0, Math.round(ageMs));
  return JSON.stringify({ v: META_VERSION, s: response.status, h: headers, ...(age > 0 ? { a: age } : {}) });
}

/** Parses stored metadata; an `IntegrityError` when it is missing or malformed. */
export function decodeHead(meta: string | undefined): StoredHead {
  if (meta === undefined) throw new IntegrityError("response entry has no status and headers");
  let data: unknown;
  try {
    data = JSON.parse(meta);
  } catch (cause) {
    throw new IntegrityError("response entry metadata is not valid JSON", { cause });
  }
  const d = data as { v?: unknown; s?: unknown; h?: unknown; a?: unknown };
  const valid = typeof d === "object" && d !== null && d.v === META_VERSION &&
    Number.isInteger(d.s) && (d.s as number) >= 200 && (d.s as number) <= 599 &&
    Array.isArray(d.h) &&
    d.h.every((line) =>
      Array.isArray(line) && line.length === 2 && typeof line[0] === "string" && typeof line[1] === "string"
    ) &&
    (d.a === undefined || (Number.isSafeInteger(d.a) && (d.a as number) >= 0));
  if (!valid) throw new IntegrityError("response entry metadata is malformed");
  return { status: d.s as number, headers: d.h as [string, string][], ageMs: (d.a as number | undefined) ?? 0 };
}
