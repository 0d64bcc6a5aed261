/**
 * `wrap(fn, { schema })`: values checked against a Standard Schema validator (zod 3.24+, valibot 1,
 * arktype 2, or any object with a `~standard.validate`), implemented against the spec, with no
 * dependency on any of them.
 *
 * Why on read: a cached value outlives the deploy that wrote it. When the shape of a function's
 * result changes, the entries written before are still in Redis and S3; with a schema, such an
 * entry is a miss (counted in `errors.schema`, logged once per function), and the function's fresh
 * value replaces it, instead of a caller crashing on a field that is not there.
 *
 * What callers get is the validator's output (defaults filled, unknown keys stripped, transforms
 * applied), on hits and misses alike: the function's fresh value is checked too, so a result has
 * one shape whether or not it came from the cache. What is stored is the function's own value
 * (the validator's input), so transforms run again on each read and need not be idempotent. A
 * fresh value that does not pass is not stored, and the call rejects with a `SchemaError` (as if
 * the function had thrown: an expired entry within `staleIfError` is served instead).
 *
 * Validators may be async. Synchronous ones keep an in-process tier hit synchronous.
 *
 * @module
 */
import type { CacheContext } from "../context.ts";
import { ConfigError, SchemaError, type SchemaIssue } from "../errors.ts";
import type { ComputeJob, Decoder } from "../flow/job.ts";
import * as opt from "../util/check_options.ts";

/**
 * A Standard Schema validator (https://standardschema.dev, version 1): zod, valibot and arktype
 * schemas are ones. Only `~standard.validate` is called.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    /** The version of the standard. */
    readonly version: 1;
    /** The library's name. */
    readonly vendor: string;
    /** Validates a value: its output, or the issues found. */
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    /** The schema's types, for inference only. */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a Standard Schema's `validate` returns: the output, or the issues. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
    readonly issues: ReadonlyArray<{
      readonly message: string;
      readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
    }>;
  };

/** The `schema` option: anything with a version 1 `~standard.validate` (arktype's types are functions). */
export function schemaCheck(value: unknown, at: opt.OptionPath): StandardSchema {
  const standard = (typeof value === "object" || typeof value === "function") && value !== null
    ? (value as Partial<StandardSchema>)["~standard"]
    : undefined;
  if (typeof standard?.validate !== "function" || standard.version !== 1) {
    throw new ConfigError(
      `${opt.optionName(at)} must be a Standard Schema validator (version 1: zod 3.24+, valibot 1, arktype 2), got ${
        opt.describe(value)
      }`,
    );
  }
  return value as StandardSchema;
}

/** What a decoder's `local` returns. */
type LocalValue<T> = { readonly value: T } | undefined | Promise<{ readonly value: T } | undefined>;

/** How many issue paths a log line or message names at most. */
const MAX_PATHS = 3;

/** One wrapped function's schema check: its decoder of cached values and its job's computation. */
export class SchemaGuard {
  readonly #ctx: CacheContext;
  readonly #schema: StandardSchema;
  readonly #label: string;
  readonly #afterMiss: string;

  /**
   * `label` names the values in logs and errors (a function's `namespace/name`); `afterMiss` says
   * what becomes of a cached value that does not pass. @default the function's fresh value replaces it
   */
  constructor(
    ctx: CacheContext,
    schema: StandardSchema,
    names: { readonly label: string; readonly afterMiss?: string },
  ) {
    this.#ctx = ctx;
    this.#schema = schema;
    this.#label = names.label;
    this.#afterMiss = names.afterMiss ?? "the function's fresh value replaces it";
  }

  /**
   * `base` with its values checked: a cached value that does not pass is a miss (the decoder
   * throws a `SchemaError`, which the lookup counts) and leaves the in-process tier; one held by
   * the tier that no longer passes is dropped there, and the store is asked.
   */
  decoder<T>(base: Decoder<unknown>): Decoder<T> {
    const tier = this.#ctx.tier;
    const local = base.local;
    return {
      local: local && ((hash) => {
        const held = local(hash);
        const check = (copy: { readonly value: unknown } | undefined): LocalValue<T> => {
          if (copy === undefined) return undefined;
          const drop = (): undefined => void tier?.delete(hash);
          const checked = this.#validate(copy.value);
          if (checked instanceof Promise) {
            return checked.then((result) => (result.issues ? drop() : { value: result.value as T }), drop);
          }
          return checked.issues ? drop() : { value: checked.value as T };
        };
        return held instanceof Promise ? held.then(check) : check(held);
      }),
      decode: async (entry, fresh, since) => {
        const result = await this.#validate(await base.decode(entry, fresh, since));
        if (!result.issues) return result.value as T;
        tier?.delete(entry.record.k);
        const issues = normalized(result.issues);
        this.#ctx.backend.warnOnce(
          `schema:cached:${this.#label}`,
          `larder: ${this.#label}: a cached value does not match the schema (${where(issues)}): ` +
            `a miss, counted in errors.schema; ${this.#afterMiss}`,
        );
        throw new SchemaError(`${this.#label}: cached value does not match the schema (${where(issues)})`, issues);
      },
    };
  }

  /**
   * The computation of a job: `compute`'s value checked, the output returned to callers, and the
   * value itself stored (so that the validator runs on it again on each read).
   */
  computing<T>(
    compute: () => Promise<unknown>,
    ttlMs: number,
  ): Pick<ComputeJob<T>, "compute" | "persistAs"> {
    // One job computes at most once (a miss, or one background refresh), so one slot suffices.
    let input: unknown;
    return {
      compute: async () => {
        input = await compute();
        return await this.#fresh(input) as T;
      },
      persistAs: () => ({ value: input, ttlMs }),
    };
  }

  /** The output of the function's own value, or a `SchemaError` (counted, logged once per function). */
  async #fresh(value: unknown): Promise<unknown> {
    const result = await this.#validate(value);
    if (!result.issues) return result.value;
    const issues = normalized(result.issues);
    this.#ctx.stats.error("schema", "E_SCHEMA");
    this.#ctx.backend.warnOnce(
      `schema:fresh:${this.#label}`,
      `larder: ${this.#label}: the function's value does not match the schema (${where(issues)}): ` +
        "not cached; the call rejects with a SchemaError",
    );
    const first = issues[0];
    throw new SchemaError(
      `${this.#label}: the function's value does not match the schema (${where(issues)})${
        first ? `: ${first.message}` : ""
      }`,
      issues,
    );
  }

  /** The validator's result; a validator that throws fails the value (its error as the cause). */
  #validate(value: unknown): StandardResult<unknown> | Promise<StandardResult<unknown>> {
    const failed = (cause: unknown): StandardResult<unknown> => ({
      issues: [{ message: `the validator threw: ${cause instanceof Error ? cause.message : String(cause)}` }],
    });
    try {
      const result = this.#schema["~standard"].validate(value);
      return result instanceof Promise ? result.catch(failed) : result;
    } catch (cause) {
      return failed(cause);
    }
  }
}

/** Issues with their paths as plain keys. */
function normalized(issues: StandardResult<unknown>["issues"] & object): SchemaIssue[] {
  return issues.map((issue) => ({
    message: String(issue.message),
    ...(issue.path && issue.path.length > 0
      ? { path: issue.path.map((segment) => typeof segment === "object" ? segment.key : segment) }
      : {}),
  }));
}

/**
 * Where the issues are, for logs and messages: their count and first paths (`items.0.price`),
 * never the validator's messages, which may quote the value.
 */
function where(issues: readonly SchemaIssue[]): string {
  const paths = issues.slice(0, MAX_PATHS).map((issue) => issue.path?.map(String).join(".") || "(root)");
  const more = issues.length > MAX_PATHS ? `, and ${issues.length - MAX_PATHS} more` : "";
  return `${issues.length} issue${issues.length === 1 ? "" : "s"} at ${paths.join(", ")}${more}`;
}
