/**
 * What identifies an entry, and its key hash. The hash is SHA-256 over the canonical encoding of
 * everything that identifies the entry: the key-format version, the prefix, the namespace, and
 * either the wrapped function's identity with its arguments or the user's own key. Equal inputs
 * always give equal text and different inputs never do: every value carries a type tag and a
 * length, object keys are sorted, Map and Set entries are sorted by their own encoding. Values
 * that have no stable identity (functions, symbols, class instances, cycles) are refused with a
 * {@link KeyError}. Both storage keys derive from the hash alone (record/key_layout.ts).
 *
 * @module
 */
import { sha256Hex, toHex } from "../util/bytes.ts";
import { ConfigError, KeyError } from "../errors.ts";

const MAX_DEPTH = 256;

/** Bump when the canonical encoding or the hashed material changes: old entries then miss. */
const KEY_FORMAT = "larder-key/1";
const encoder = new TextEncoder();

/** What identifies an entry: a wrapped function's call, or a key given to `get`/`set`. */
export type EntryIdentity =
  | { readonly kind: "call"; readonly fn: string; readonly args: unknown }
  | { readonly kind: "key"; readonly key: string };

/** SHA-256 hex of the entry's identity. Throws a `KeyError` for arguments with no stable encoding. */
export function keyHash(prefix: string, namespace: string, identity: EntryIdentity): Promise<string> {
  // Two self-delimiting encodings back to back are unambiguous; keeping the arguments apart
  // makes error paths read `args[0].cb` rather than a position inside the whole material.
  const text = identity.kind === "call"
    ? canonicalize([KEY_FORMAT, prefix, namespace, "call", identity.fn], "key") + canonicalize(identity.args, "args")
    : canonicalize([KEY_FORMAT, prefix, namespace, "key", identity.key], "key");
  return sha256Hex(encoder.encode(text));
}

/** Encodes `value` canonically; `path` names the value in error messages. */
export function canonicalize(value: unknown, path = "args"): string {
  return encode(value, path, new Set());
}

/** `seen` holds the objects on the path from the root to `value`: its size is the depth. */
function encode(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case "undefined":
      return "u";
    case "boolean":
      return value ? "t" : "f";
    case "number":
      return `d${Object.is(value, -0) ? "-0" : String(value)};`;
    case "bigint":
      return `b${value.toString()};`;
    case "string":
      return `s${value.length}:${value}`;
    case "function":
      throw new KeyError(
        `${path} is a function, which cannot be part of a cache key; pass a \`key\` option that maps the arguments to plain data`,
      );
    case "symbol":
      throw new KeyError(`${path} is a symbol, which cannot be part of a cache key`);
  }
  if (value === null) return "n";
  const object = value as object;
  if (seen.size >= MAX_DEPTH) throw new KeyError(`${path} is nested more than ${MAX_DEPTH} levels deep`);
  if (seen.has(object)) throw new KeyError(`${path} is a circular reference`);
  seen.add(object);
  try {
    return encodeObject(object, path, seen);
  } finally {
    seen.delete(object);
  }
}

function encodeObject(object: object, path: string, seen: Set<object>): string {
  if (Array.isArray(object)) {
    let out = `a${object.length}[`;
    for (let i = 0; i < object.length; i++) out += encode(object[i], `${path}[${i}]`, seen);
    return `${out}]`;
  }
  if (object instanceof Date) return `D${object.getTime()};`;
  if (ArrayBuffer.isView(object)) {
    const bytes = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
    return `T${object.constructor.name}:${bytes.length}:${toHex(bytes)}`;
  }
  if (object instanceof ArrayBuffer) return `B${object.byteLength}:${toHex(new Uint8Array(object))}`;
  if (object instanceof Map) {
    const entries = Array.from(
      object,
      ([k, v], i) => encode(k, `${path}.<key ${i}>`, seen) + encode(v, `${path}.get(${describeKey(k)})`, seen),
    );
    return `M${entries.length}{${entries.sort().join("")}}`;
  }
  if (object instanceof Set) {
    const items = Array.from(object, (v, i) => encode(v, `${path}.<item ${i}>`, seen));
    return `S${items.length}{${items.sort().join("")}}`;
  }
  if (object instanceof RegExp) return `R${encode(object.source, path, seen)}${object.flags};`;
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
    throw new KeyError(
      `${path} is an instance of ${name}; only plain objects, arrays, Date, Map, Set, RegExp, typed arrays and primitives can be part of a cache key (pass a \`key\` option to choose what identifies a call)`,
    );
  }
  if (Object.getOwnPropertySymbols(object).length > 0) {
    throw new KeyError(`${path} has symbol-keyed properties, which cannot be part of a cache key`);
  }
  const keys = Object.keys(object).sort();
  let out = `o${keys.length}{`;
  for (const key of keys) {
    out += `s${key.length}:${key}${encode((object as Record<string, unknown>)[key], `${path}.${key}`, seen)}`;
  }
  return `${out}}`;
}

function describeKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : typeof key;
}

/**
 * Collapses runs of whitespace to one space and trims, outside quoted literals (`'…'`, `"…"`,
 * `` `…` ``), so that the same SQL query written on one line or many gets one key.
 * Whitespace inside literals is data and is kept.
 */
export function normalizeQueryText(text: string): string {
  let out = "";
  let quote = "";
  let pendingSpace = false;
  for (const char of text) {
    if (quote) {
      out += char;
      if (char === quote) quote = "";
      continue;
    }
    if (/\s/.test(char)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) out += " ";
    pendingSpace = false;
    out += char;
    if (char === "'" || char === '"' || char === "`") quote = char;
  }
  return out;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Validates a prefix or namespace: it becomes part of Redis keys and object keys. */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== "string" || !NAME_PATTERN.test(value)) {
    throw new ConfigError(
      `${what} must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit; got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}
