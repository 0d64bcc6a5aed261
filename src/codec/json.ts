/**
 * The JSON value codec: UTF-8 JSON, for payloads other tools must read. Strict: it stores only
 * what `JSON.parse` gives back unchanged — `null`, booleans, finite numbers, strings, plain
 * objects and dense arrays — and rejects everything else with a `CodecError` naming the path
 * and pointing to the `cbor` codec: `undefined`, `BigInt`, `NaN`/`Infinity`, `Date` (JSON would
 * turn it into a string), `Map`, `Set`, typed arrays, class instances, functions, symbols,
 * circular references, sparse arrays and symbol-keyed properties. `-0` is stored as `0`.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "./json.ts";
 * const codec = jsonCodec();
 * codec.decode(codec.encode({ rows: [{ id: 1 }] })); // { rows: [{ id: 1 }] }
 * codec.encode({ at: new Date() }); // throws CodecError: json codec cannot store a Date at $.at; …
 * ```
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";
import type { ValueCodec } from "../core/types.ts";
import { checkValue, type ValuePolicy } from "./_validate.ts";

const POLICY: ValuePolicy = {
  codec: "json",
  hint:
    'use the "cbor" codec (createCache({ codec: "cbor" })), which keeps Date, Map, Set, BigInt, typed arrays and undefined',
  undefined: false,
  bigintBits: 0,
  nonFinite: false,
  // JSON.parse defines "__proto__" as an own property, so it round-trips.
  protoKey: true,
  // JSON.stringify escapes unpaired surrogates (\ud800), so any string round-trips.
  wellFormedStrings: false,
  builtins: new Map(),
};

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not silently replaced characters.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The JSON codec (name `"json"`). Encoding validates the whole value first; see the module doc. */
export function jsonCodec(): ValueCodec {
  return {
    name: "json",
    encode(value: unknown): Uint8Array {
      checkValue(value, POLICY);
      let text: string;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw new CodecError(`json codec failed to encode the value: ${String(error)}`, { cause: error });
      }
      return encoder.encode(text);
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw new CodecError("json codec can only decode a Uint8Array");
      try {
        return JSON.parse(decoder.decode(bytes));
      } catch (error) {
        // Not error.message: V8's JSON.parse messages quote the payload, and messages never carry payload bytes.
        throw new CodecError("json codec cannot decode the payload: not valid UTF-8 JSON", { cause: error });
      }
    },
  };
}
