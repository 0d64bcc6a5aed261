/**
 * Where an entry lives. The key hash is SHA-256 over the canonical encoding of everything that
 * identifies the entry: the key-format version, the prefix, the namespace, and either the wrapped
 * function's identity with its arguments or the user's own key. Both storage keys derive from
 * the hash alone, so a reader can fetch the record and the blob at the same time.
 *
 * Every Redis key Larder writes, with its Redis Cluster hash tag (the part in braces decides the
 * slot), so that entries spread over every shard while the keys one script needs share a slot:
 *
 * | key | what | slot |
 * |---|---|---|
 * | `<prefix>:e:{<hash>}` | an entry's record ({@link recordKey}) | the entry's own |
 * | `<prefix>:l:{<hash>}` | its lease ({@link leaseKey}) | the record's |
 * | `<prefix>:lru:{<prefix>:<namespace>}` | a limited namespace's entries by last use ({@link lruKeys}) | the namespace's |
 * | `<prefix>:lrs:{<prefix>:<namespace>}` | their payload sizes ({@link lruKeys}) | the namespace's |
 * | `<prefix>:lrx:{<prefix>:<namespace>}` | their expiry times, so expired entries stop counting ({@link lruKeys}) | the namespace's |
 * | `<prefix>:v:all`, `<prefix>:v:ns:<namespace>`, `<prefix>:v:tag:<tag>` | generations (generations.ts) | each its own |
 * | `<prefix>:stats` | shared counters ({@link statsKey}) | its own |
 *
 * Generation keys carry no hash tag: a tag's or a namespace's generation is read by every entry
 * that carries it, so each lives on its own slot rather than next to any entry.
 *
 * @module
 */
import { sha256Hex } from "./bytes.ts";
import { canonicalize } from "./canonical.ts";
import { ConfigError } from "./errors.ts";

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

/** The Redis key of an entry's record: its key hash is its hash tag (entries spread over a cluster's slots). */
export function recordKey(prefix: string, hash: string): string {
  return `${prefix}:e:{${hash}}`;
}

/** The record key of an entry as `recordPrefix + hash + recordSuffix` (for store scripts that evict). */
export function recordKeyParts(prefix: string): { recordPrefix: string; recordSuffix: string } {
  return { recordPrefix: `${prefix}:e:{`, recordSuffix: "}" };
}

/** The Redis key of an entry's lease: the same hash tag as its record, so one script reads both. */
export function leaseKey(prefix: string, hash: string): string {
  return `${prefix}:l:{${hash}}`;
}

/** The object key of an entry's payload in the bucket. */
export function blobKey(prefix: string, hash: string): string {
  return `${prefix}/${hash}`;
}

/**
 * A namespace's eviction bookkeeping: entries by last use, their payload sizes, and entries by
 * expiry. Every key of it carries the namespace's hash tag ({@link namespaceKey}), so one script
 * updates them together on a cluster.
 */
export function lruKeys(prefix: string, namespace: string): { key: string; sizes: string; expiries: string } {
  return {
    key: namespaceKey(prefix, namespace, "lru"),
    sizes: namespaceKey(prefix, namespace, "lrs"),
    expiries: namespaceKey(prefix, namespace, "lrx"),
  };
}

/**
 * A key of a namespace's bookkeeping, `<prefix>:<kind>:{<prefix>:<namespace>}`: all of a
 * namespace's kinds share one slot, and the prefix in the tag keeps tenants' namespaces of the
 * same name apart.
 */
export function namespaceKey(prefix: string, namespace: string, kind: string): string {
  return `${prefix}:${kind}:{${prefix}:${namespace}}`;
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
