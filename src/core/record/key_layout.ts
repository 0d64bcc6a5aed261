/**
 * Where an entry lives. The key hash is SHA-256 over the canonical encoding of everything that
 * identifies the entry: the key-format version, the prefix, the namespace, and either the wrapped
 * function's identity with its arguments or the user's own key. Both storage keys derive from
 * the hash alone, so a reader can fetch the record and the blob at the same time.
 *
 * @module
 */
import { sha256Hex } from "../util/bytes.ts";
import { canonicalize } from "./key_material.ts";
import { ConfigError } from "../errors.ts";

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

/** The Redis key of an entry's record. */
export function recordKey(prefix: string, hash: string): string {
  return `${prefix}:e:${hash}`;
}

/** The object key of an entry's payload in the bucket. */
export function blobKey(prefix: string, hash: string): string {
  return `${prefix}/${hash}`;
}

/** A namespace's eviction bookkeeping: entries by last use, their payload sizes, and entries by expiry. */
export function lruKeys(prefix: string, namespace: string): { key: string; sizes: string; expiries: string } {
  return {
    key: `${prefix}:lru:${namespace}`,
    sizes: `${prefix}:lrs:${namespace}`,
    expiries: `${prefix}:lrx:${namespace}`,
  };
}

/** The hash of counters every instance adds to (see `Cache.globalStats`). */
export function statsKey(prefix: string): string {
  return `${prefix}:stats`;
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
