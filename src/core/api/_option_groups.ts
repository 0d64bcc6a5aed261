/**
 * Validation of `createCache`'s option groups (`memory`, `lease`, `breaker`, `limits`,
 * `globalStats`) and of its plain values: each failure a `ConfigError` naming the option.
 *
 * @module
 */
import { toMs } from "../util/durations.ts";
import { ConfigError } from "../errors.ts";
import { checkName } from "../record/key_material.ts";
import type { NamespaceLimits, ResolvedOptions } from "./options.ts";
import type { Logger } from "../types.ts";

/**
 * A switchable group of options: `false` turns it off, `true` or an object turns it on, and
 * `undefined` gives the group's default. Unknown keys are refused like unknown options.
 */
function group<K extends string>(
  value: unknown,
  name: string,
  keys: readonly K[],
  onByDefault: boolean,
): Partial<Record<K, unknown>> | undefined {
  if (value === undefined) value = onByDefault;
  if (value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== "object" || value === null) {
    throw new ConfigError(`createCache: ${name} must be true, false or { ${keys.map((k) => `${k}?`).join(", ")} }`);
  }
  for (const key of Object.keys(value)) {
    if (!(keys as readonly string[]).includes(key)) {
      throw new ConfigError(`createCache: unknown option "${name}.${key}"`);
    }
  }
  return value as Partial<Record<K, unknown>>;
}

/** `memory`: the in-process tier (off by default). */
export function resolveMemory(value: unknown): ResolvedOptions["memory"] {
  const memory = group(value, "memory", ["maxBytes", "ttl"], false);
  return memory && {
    maxBytes: positiveInt(memory.maxBytes ?? 32 * 1024 * 1024, "memory.maxBytes"),
    ttlMs: toMs(memory.ttl ?? "5s", "createCache: memory.ttl"),
  };
}

/** `lease`: cross-instance stampede protection (on by default). */
export function resolveLease(value: unknown): ResolvedOptions["lease"] {
  const lease = group(value, "lease", ["ttl", "wait"], true);
  return lease && {
    ttlMs: toMs(lease.ttl ?? "15s", "createCache: lease.ttl"),
    waitMs: toMs(lease.wait ?? "30s", "createCache: lease.wait"),
  };
}

/** `limits`: bounds per namespace, each with at least one of `maxEntries` and `maxBytes`. */
export function resolveLimits(value: unknown): ResolvedOptions["limits"] {
  const limits = new Map<string, NamespaceLimits>();
  if (value === undefined) return limits;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("createCache: limits must be an object of { [namespace]: { maxEntries?, maxBytes? } }");
  }
  for (const [namespace, bounds] of Object.entries(value)) {
    checkName(namespace, "createCache: limits: namespace");
    const what = `limits.${namespace}`;
    if (typeof bounds !== "object" || bounds === null) {
      throw new ConfigError(`createCache: ${what} must be { maxEntries?, maxBytes? }`);
    }
    for (const key of Object.keys(bounds)) {
      if (key !== "maxEntries" && key !== "maxBytes") {
        throw new ConfigError(`createCache: unknown option "${what}.${key}"`);
      }
    }
    const { maxEntries, maxBytes } = bounds as { maxEntries?: unknown; maxBytes?: unknown };
    if (maxEntries === undefined && maxBytes === undefined) {
      throw new ConfigError(`createCache: ${what} needs maxEntries, maxBytes or both`);
    }
    limits.set(namespace, {
      maxEntries: maxEntries === undefined ? 0 : positiveInt(maxEntries, `${what}.maxEntries`),
      maxBytes: maxBytes === undefined ? 0 : positiveInt(maxBytes, `${what}.maxBytes`),
    });
  }
  return limits;
}

/** `globalStats`: the report interval in ms, or `undefined` when off. */
export function resolveGlobalStats(value: unknown): number | undefined {
  const stats = group(value, "globalStats", ["interval"], true);
  return stats && toMs(stats.interval ?? "30s", "createCache: globalStats.interval");
}

/** `breaker`: the per-backend circuit breaker (on by default). */
export function resolveBreaker(value: unknown): ResolvedOptions["breaker"] {
  const breaker = group(value, "breaker", ["threshold", "cooldown"], true);
  return breaker && {
    threshold: positiveInt(breaker.threshold ?? 5, "breaker.threshold"),
    cooldownMs: toMs(breaker.cooldown ?? "10s", "createCache: breaker.cooldown"),
  };
}

/** The entry of `table` named `name`, or a `ConfigError` listing the names. */
export function pick<T>(table: Record<string, T>, name: unknown, what: string): T {
  const found = typeof name === "string" && Object.hasOwn(table, name) ? table[name] : undefined;
  if (found === undefined) {
    throw new ConfigError(
      `createCache: ${what} must be one of ${Object.keys(table).map((k) => `"${k}"`).join(", ")}; got ${
        JSON.stringify(name)
      }`,
    );
  }
  return found;
}

/** `value` when it is a positive safe integer, else a `ConfigError` naming `what`. */
export function positiveInt(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`createCache: ${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** The default logger: warnings and errors to `console`. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(message, fields ?? ""),
  error: (message, fields) => console.error(message, fields ?? ""),
};
