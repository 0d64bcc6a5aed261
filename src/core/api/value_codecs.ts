/**
 * `createCache({ codecs })`: codecs for particular kinds of values (Arrow tables, from
 * `larder/arrow`), checked here and added to the table of codecs a record may name. The core
 * knows them only through the `ValueExtension` contract (types.ts), so `larder` never loads what
 * they need (apache-arrow): an application pays only for the codecs it passes.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { ValueCodec, ValueExtension } from "../types.ts";
import * as opt from "../util/check_options.ts";

/** Names of the built-in encodings, which a codec given in `codecs` may not take. */
const RESERVED = new Set(["cbor", "json", "bytes"]);
/** A codec's name as records store it (record/entry.ts checks the same). */
const NAME = /^[a-z0-9]{1,16}$/;

/** The `codecs` option: codecs with distinct, unreserved names and `accepts`/`encode`/`decode` methods. */
export function extensionsCheck(value: unknown, at: opt.OptionPath): readonly ValueExtension[] {
  const where = opt.optionName(at);
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be an array of codecs, e.g. [arrowCodec()]`);
  const names = new Set<string>();
  for (const [index, codec] of value.entries()) {
    const item = `${where}[${index}]`;
    const methods = ["accepts", "encode", "decode"];
    if (
      typeof codec !== "object" || codec === null ||
      !methods.every((m) => typeof (codec as Record<string, unknown>)[m] === "function")
    ) {
      throw new ConfigError(`${item} must be a codec with accepts, encode and decode methods (e.g. arrowCodec())`);
    }
    const name = (codec as ValueExtension).name;
    if (typeof name !== "string" || !NAME.test(name)) {
      const got = typeof name === "string" ? JSON.stringify(name) : opt.describe(name);
      throw new ConfigError(`${item}: name must be 1-16 lower-case letters or digits, got ${got}`);
    }
    if (RESERVED.has(name)) throw new ConfigError(`${item}: name "${name}" is a built-in encoding's`);
    if (names.has(name)) throw new ConfigError(`${item}: a codec named "${name}" comes earlier in the list`);
    names.add(name);
  }
  return Object.freeze([...value as ValueExtension[]]);
}

/** The codecs a record may name: the built-in ones and those given. */
export function withExtensions(
  builtIn: Readonly<Record<string, ValueCodec>>,
  extensions: readonly ValueExtension[],
): Readonly<Record<string, ValueCodec>> {
  if (extensions.length === 0) return builtIn;
  return Object.freeze({ ...builtIn, ...Object.fromEntries(extensions.map((codec) => [codec.name, codec])) });
}
