/**
 * An entry's decoded value as text, for operators who enabled `showPayload`: JSON-like, with the
 * types CBOR keeps (Date, Map, Set, BigInt, typed arrays, undefined) spelled out, and cut off at
 * {@link MAX_VALUE_CHARS}. The page escapes it like any other text.
 *
 * @module
 */
import { toHex } from "./_core.ts";

/** Longest value text shown. */
const MAX_VALUE_CHARS: number = 64 * 1024;

function plain(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (value === undefined) return "(undefined)";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return "(circular)";
  seen.add(value);
  try {
    return container(value, seen);
  } finally {
    seen.delete(value); // only the path to the root counts: a value shared by two fields is not a cycle
  }
}

function container(value: object, seen: WeakSet<object>): unknown {
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  if (value instanceof RegExp) return String(value);
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, Math.min(value.byteLength, 64));
    const hex = toHex(bytes);
    return `${value.constructor.name}(${value.byteLength} bytes: ${hex}${value.byteLength > 64 ? "…" : ""})`;
  }
  if (value instanceof Map) return { "(Map)": [...value].map(([k, v]) => [plain(k, seen), plain(v, seen)]) };
  if (value instanceof Set) return { "(Set)": [...value].map((v) => plain(v, seen)) };
  if (Array.isArray(value)) return value.map((v) => plain(v, seen));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, seen)]));
}

/** `value` as indented text, at most {@link MAX_VALUE_CHARS} characters. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(plain(value, new WeakSet()), null, 2) ?? String(value);
  return text.length > MAX_VALUE_CHARS
    ? `${text.slice(0, MAX_VALUE_CHARS)}\n… (cut off at ${MAX_VALUE_CHARS} characters)`
    : text;
}
