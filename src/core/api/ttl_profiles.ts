/**
 * TTL profiles: named durations (`short`, `default`, `long`, or any names a cache declares), so
 * code says what kind of data an entry is and operators retune how long each kind lives without
 * touching the code (`LARDER_TTL_<NAME>` through `larder/env`). Wherever an entry's TTL is given
 * (`createCache`, `wrap`, `set`, the response cache) a profile name is accepted in place of a
 * duration. Names start with a letter and durations with a digit, so the two never clash. Every
 * name is resolved when the options are checked (start-up, `wrap` time): an unknown one is a
 * `ConfigError` listing the known ones, never a silent default.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import * as opt from "../util/check_options.ts";
import { type Duration, toMs } from "../util/durations.ts";
import { DEFAULTS } from "../defaults.ts";

/**
 * A time to live: a duration, or the name of a TTL profile (`"short"`, `"default"`, `"long"`, or
 * one declared in `createCache({ ttlProfiles })`).
 */
export type Ttl = Duration | "short" | "default" | "long" | (string & Record<never, never>);

/** Profile durations in ms, by name. */
export type TtlProfiles = ReadonlyMap<string, number>;

/** A TTL as an options check returns it: milliseconds, or a profile still to be resolved against a cache's profiles. */
export type TtlSpec = number | { readonly profile: string };

const PROFILE_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** A profile name: 1–32 lower-case letters, digits or `_`, starting with a letter (it maps to `LARDER_TTL_<NAME>`). */
export function profileName(value: unknown, at: opt.OptionPath): string {
  if (typeof value !== "string" || !PROFILE_NAME.test(value)) {
    throw new ConfigError(
      `${
        opt.optionName(at)
      } must be a duration or a TTL profile name (1-32 lower-case letters, digits or "_", starting with a letter); got ${
        typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : opt.describe(value)
      }`,
    );
  }
  return value;
}

/**
 * The check of a TTL option: a duration (a number under 1000 is reported as doubtful, see
 * {@link opt.duration}), or a profile name (resolved by {@link ttlMs}).
 */
export function ttlCheck(value: unknown, at: opt.OptionPath): TtlSpec {
  return typeof value === "string" && /^[a-z]/i.test(value.trim())
    ? { profile: profileName(value.trim(), at) }
    : opt.duration(value, at);
}

/** The milliseconds of a checked TTL; a profile this cache does not know is a `ConfigError` naming `where`. */
export function ttlMs(profiles: TtlProfiles, spec: TtlSpec, where: string): number {
  if (typeof spec === "number") return spec;
  const ms = profiles.get(spec.profile);
  if (ms === undefined) {
    throw new ConfigError(
      `${where}: unknown TTL profile "${spec.profile}"; known profiles: ${
        [...profiles.keys()].join(", ")
      } (declare more with createCache({ ttlProfiles }))`,
    );
  }
  return ms;
}

/**
 * The profiles of a cache: the built-in ones (`DEFAULTS.cache.ttlProfiles`), those of `declared`
 * (`ttlProfiles`, which may redefine a built-in one), then `overrides` (`ttlOverrides`, from
 * `LARDER_TTL_*`), which may only retune a profile that exists: a name nobody declared is
 * most likely a typo in a variable's name.
 */
export function resolveProfiles(
  declared: ReadonlyMap<string, number>,
  overrides: ReadonlyMap<string, number>,
): TtlProfiles {
  const profiles = new Map<string, number>();
  for (const [name, value] of Object.entries(DEFAULTS.cache.ttlProfiles)) {
    profiles.set(name, toMs(value, `ttlProfiles.${name}`));
  }
  for (const [name, ms] of declared) profiles.set(name, ms);
  for (const [name, ms] of overrides) {
    if (!profiles.has(name)) {
      throw new ConfigError(
        `createCache: ttlOverrides.${name} (LARDER_TTL_${name.toUpperCase()} in the environment) names no TTL profile; known profiles: ${
          [...profiles.keys()].join(", ")
        }`,
      );
    }
    profiles.set(name, ms);
  }
  return profiles;
}
