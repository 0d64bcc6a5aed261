/**
 * An in-process metadata store with Redis semantics: `SET … PX` (with `NX` when `ifAbsent`),
 * `GET`, `DEL`, `EXISTS`, and expired keys that behave as absent. It is bounded by an entry
 * count and an estimate of memory use, evicting the least recently used entries, and needs no
 * timers. It is what `createCache()` uses when given no store, and a test double that behaves
 * like the real thing.
 *
 * @example
 * ```ts
 * import { memoryStore } from "larder/stores/memory";
 *
 * const store = memoryStore({ maxEntries: 1000 });
 * const results = await store.run([
 *   { type: "set", key: "lease", value: "owner-1", ttlMs: 5_000, ifAbsent: true },
 *   { type: "set", key: "lease", value: "owner-2", ttlMs: 5_000, ifAbsent: true },
 *   { type: "get", key: "lease" },
 * ]);
 * console.log(results); // [true, false, "owner-1"]
 * ```
 *
 * @module
 */
import { StoreError, TooLargeError } from "../core/errors.ts";
import type { CallOptions, MetadataStore, StoreOp, StoreResult } from "../core/types.ts";
import { Lru } from "../_lru.ts";
import { checkOptionsObject, describe, optionalFunction, positiveInteger } from "../_validate.ts";

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Entries kept at most; past it the least recently used are evicted. @default 10000 */
  maxEntries?: number;
  /**
   * Estimated memory kept at most, counted as 2 bytes per UTF-16 code unit of keys and values;
   * past it the least recently used entries are evicted. @default 33554432 (32 MiB)
   */
  maxBytes?: number;
  /** Clock in ms since the epoch, so tests can move time instead of sleeping. @default Date.now */
  now?: () => number;
}

const WHERE = "memoryStore";

/** Creates an in-process {@link MetadataStore} (name `"memory"`) with Redis semantics and bounded size. */
export function memoryStore(options?: MemoryStoreOptions): MetadataStore {
  checkOptionsObject(WHERE, options);
  const maxEntries = positiveInteger(WHERE, "maxEntries", options?.maxEntries, 10_000);
  const maxBytes = positiveInteger(WHERE, "maxBytes", options?.maxBytes, 32 * 1024 * 1024);
  const now = optionalFunction(WHERE, "now", options?.now) ?? Date.now;
  const entries = new Lru<string>({ maxEntries, maxBytes });

  function apply(op: StoreOp, at: number): StoreResult {
    switch (op.type) {
      case "get":
        return entries.get(op.key, at) ?? null;
      case "set":
        if (op.ifAbsent && entries.has(op.key, at)) return false;
        entries.set(op.key, op.value, sizeOf(op.key, op.value), at + op.ttlMs, at);
        return true;
      case "del":
        return entries.delete(op.key, at) ? 1 : 0;
      case "exists":
        return entries.has(op.key, at);
      case "getOrLease": {
        const value = entries.get(op.key, at);
        if (value !== undefined) return value;
        if (entries.has(op.leaseKey, at)) return false;
        entries.set(op.leaseKey, op.token, sizeOf(op.leaseKey, op.token), at + op.ttlMs, at);
        return true;
      }
      case "renewLease":
        if (entries.get(op.key, at) !== op.token) return false;
        entries.set(op.key, op.token, sizeOf(op.key, op.token), at + op.ttlMs, at);
        return true;
      case "releaseLease":
        return entries.get(op.key, at) === op.token && entries.delete(op.key, at);
    }
  }

  return {
    name: "memory",
    async run(ops: readonly StoreOp[], callOptions?: CallOptions): Promise<StoreResult[]> {
      callOptions?.signal?.throwIfAborted();
      if (!Array.isArray(ops)) throw new StoreError("memory run: ops must be an array");
      // Every op is checked before any is applied, so a bad batch has no effect at all.
      ops.forEach((op, i) => checkOp(op, i, maxBytes));
      const at = now();
      return ops.map((op) => apply(op, at));
    },
  };
}

function sizeOf(key: string, value: string): number {
  return 2 * (key.length + value.length);
}

function checkOp(op: StoreOp, index: number, maxBytes: number): void {
  const where = `memory run: ops[${index}]`;
  if (typeof op !== "object" || op === null) throw new StoreError(`${where} must be an object`);
  if (typeof op.key !== "string") throw new StoreError(`${where}.key must be a string`);
  switch (op.type) {
    case "get":
    case "del":
    case "exists":
      return;
    case "getOrLease":
    case "renewLease":
    case "releaseLease":
      if (op.type === "getOrLease" && typeof op.leaseKey !== "string") {
        throw new StoreError(`${where}.leaseKey must be a string`);
      }
      if (typeof op.token !== "string" || op.token === "") {
        throw new StoreError(`${where}.token must be a non-empty string`);
      }
      if (op.type !== "releaseLease" && (!Number.isSafeInteger(op.ttlMs) || op.ttlMs <= 0)) {
        throw new StoreError(`${where}.ttlMs must be a positive integer, got ${describe(op.ttlMs)}`);
      }
      return;
    case "set":
      if (typeof op.value !== "string") throw new StoreError(`${where}.value must be a string`);
      // Redis answers "ERR invalid expire time" for these; the store refuses them the same way.
      if (typeof op.ttlMs !== "number" || !Number.isSafeInteger(op.ttlMs) || op.ttlMs <= 0) {
        throw new StoreError(`${where}.ttlMs must be a positive integer, got ${describe(op.ttlMs)}`);
      }
      if (sizeOf(op.key, op.value) > maxBytes) {
        throw new TooLargeError(`${where}: entry of ~${sizeOf(op.key, op.value)} bytes exceeds maxBytes ${maxBytes}`);
      }
      return;
    default:
      throw new StoreError(`${where}.type ${JSON.stringify((op as { type: unknown }).type)} is not a store operation`);
  }
}
