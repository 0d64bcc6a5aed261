/**
 * Every key Larder writes, in one place: the Redis keys of the metadata store and the object keys
 * of the blob store. Everything that names a key — the core, `cleanup()` and `inspect()`, the
 * CLI, the scripts and the tests — builds it here; no other module spells a key shape.
 *
 * The part of a Redis key in braces is its Redis Cluster hash tag: only it decides the key's slot.
 * Entries spread over every shard while the keys one script needs share a slot.
 *
 * | key                                   | type       | holds                                                     | slot               | lives      |
 * | ------------------------------------- | ---------- | --------------------------------------------------------- | ------------------ | ---------- |
 * | `<prefix>:e:{<hash>}`                 | string     | an entry's record (record/entry.ts), generations in front | the entry's own    | TTL + stale |
 * | `<prefix>:l:{<hash>}`                 | string     | an entry's lease: its owner's token (`SET NX PX`)         | the record's       | lease TTL  |
 * | `<prefix>:v:all`                      | hash x, s  | the whole prefix's generation (`clear()` replaces it)     | its own            | no expiry  |
 * | `<prefix>:v:ns:<namespace>`           | hash x, s  | a namespace's generation                                  | its own            | no expiry  |
 * | `<prefix>:v:tag:<tag>`                | hash x, s  | a tag's generation (a URL's: tag `larder-url:<bucket>`)   | its own            | no expiry  |
 * | `<prefix>:lru:{<prefix>:<namespace>}` | sorted set | entry hash → last use (only namespaces with `limits`)     | the namespace's    | no expiry  |
 * | `<prefix>:lrs:{<prefix>:<namespace>}` | hash       | entry hash → stored bytes, and `#` → their total          | the namespace's    | no expiry  |
 * | `<prefix>:lrx:{<prefix>:<namespace>}` | sorted set | entry hash → when its record expires                      | the namespace's    | no expiry  |
 * | `<prefix>:stats`                      | hash       | counters every instance adds to (`globalStats()`)         | its own            | no expiry  |
 * | object `<prefix>/<hash>`              | blob       | a payload over `maxInlineBytes`, uploaded before its record | —                | `cleanup()` |
 *
 * Generation keys carry no hash tag: a tag's or a namespace's generation is read by every entry
 * that carries it, so each lives on its own slot rather than next to any entry. A namespace's
 * bookkeeping keys carry the prefix in their tag, so tenants' namespaces of one name stay apart.
 *
 * `<hash>` is an entry's key hash (record/key_material.ts): 64 lower-case hex characters, so a
 * reader derives both the record's key and the blob's from it and fetches them at once.
 * `<prefix>` and `<namespace>` are checked names (letters, digits, `.`, `_`, `-`), tags are
 * printable ASCII without quotes, backslashes or brackets (record/generations.ts), so no key
 * shape can be mistaken for another. Every store key of a prefix matches `<prefix>:*`, which is
 * what `clear()` scans; every object key starts with `<prefix>/`, which is what `cleanup()` lists.
 *
 * @module
 */

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

/** The generation key of everything under `prefix` (what `clear()` replaces). */
export function prefixGeneration(prefix: string): string {
  return `${prefix}:v:all`;
}

/** The generation key of a namespace. */
export function namespaceGeneration(prefix: string, namespace: string): string {
  return `${prefix}:v:ns:${namespace}`;
}

/** The generation key of a tag. */
export function tagGeneration(prefix: string, tag: string): string {
  return `${prefix}:v:tag:${tag}`;
}

/** What a generation key belongs to: the whole prefix, a namespace or a tag. */
export type GenerationTarget =
  | { readonly kind: "prefix" }
  | { readonly kind: "namespace" | "tag"; readonly name: string };

/** What the generation key `key` of `prefix` was made for, or `undefined` when it is not one. */
export function generationTarget(prefix: string, key: string): GenerationTarget | undefined {
  if (key === prefixGeneration(prefix)) return { kind: "prefix" };
  for (const kind of ["namespace", "tag"] as const) {
    const start = kind === "tag" ? tagGeneration(prefix, "") : namespaceGeneration(prefix, "");
    if (key.startsWith(start) && key.length > start.length) return { kind, name: key.slice(start.length) };
  }
  return undefined;
}

/** The generation keys of an entry, in the order they are stamped: the prefix's, the namespace's, each tag's. */
export function generationKeys(prefix: string, namespace: string, tags: readonly string[]): string[] {
  return [
    prefixGeneration(prefix),
    namespaceGeneration(prefix, namespace),
    ...tags.map((t) => tagGeneration(prefix, t)),
  ];
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

/** The kinds of a namespace's bookkeeping: last use, sizes, expiries. */
export type NamespaceKeyKind = "lru" | "lrs" | "lrx";

/**
 * A key of a namespace's bookkeeping, `<prefix>:<kind>:{<prefix>:<namespace>}`: all of a
 * namespace's kinds share one slot, and the prefix in the tag keeps tenants' namespaces of the
 * same name apart.
 */
export function namespaceKey(prefix: string, namespace: string, kind: NamespaceKeyKind): string {
  return `${prefix}:${kind}:{${prefix}:${namespace}}`;
}

/** The hash of counters every instance adds to (see `Cache.globalStats`). */
export function statsKey(prefix: string): string {
  return `${prefix}:stats`;
}

/** The `SCAN` pattern every store key of `prefix` matches (and no other prefix's). */
export function storeKeyPattern(prefix: string): string {
  return `${prefix}:*`;
}

/** What every object key of `prefix` starts with (what `cleanup()` lists). */
export function blobKeyPrefix(prefix: string): string {
  return `${prefix}/`;
}

const HASHED = /^([0-9a-f]{64})(?![0-9a-f])/;

/**
 * The entry hash an object key was made from by {@link blobKey}, or `undefined` when the object
 * is not named like one of `prefix`'s blobs. Anything after the hash is tolerated (a suffix of a
 * later version), never a longer run of hex.
 */
export function hashOfBlobKey(prefix: string, key: string): string | undefined {
  const start = blobKeyPrefix(prefix);
  return key.startsWith(start) ? HASHED.exec(key.slice(start.length))?.[1] : undefined;
}
