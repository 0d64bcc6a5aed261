/**
 * Option checks shared by the adapters' factories. Each failure is a `ConfigError` naming the
 * factory and the option; messages never echo secrets.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** Throws unless `value` is a plain object or undefined (the options argument itself). */
export function checkOptionsObject(where: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) {
    throw new ConfigError(`${where}: options must be an object`);
  }
}

/** Returns `value`, or `fallback` when undefined; throws unless it is a positive safe integer. */
export function positiveInteger(where: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${where}: ${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** Returns `value`; throws unless it is a non-empty string. */
export function requiredString(where: string, name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ConfigError(`${where}: ${name} is required (a non-empty string)`);
  }
  return value;
}

/** Returns `value`, or undefined; throws unless it is undefined or a function. */
export function optionalFunction<T>(where: string, name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new ConfigError(`${where}: ${name} must be a function, got ${describe(value)}`);
  }
  return value;
}

/** A short description of a bad option value, safe for messages (never its contents when a string). */
export function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}
