/**
 * The CBOR value codec (RFC 8949): the default, because it gives back what was stored — `Date`,
 * `Map` (with any keys), `Set`, `BigInt` (any size up to 65 536 bits), every typed array, `RegExp`,
 * `undefined` (top level, in arrays, as object values), `NaN`, `±Infinity` and `-0`.
 *
 * Values it cannot give back unchanged are rejected with a `CodecError` naming the path:
 * functions, symbols, circular references, class instances (including `Error`, `Promise`,
 * `WeakMap`, Node's `Buffer` and subclasses of the built-ins above), `ArrayBuffer` and `DataView`
 * (wrap them in a `Uint8Array`), sparse arrays, symbol-keyed properties, own `__proto__`
 * properties, strings with unpaired surrogates, and Dates too far from 1970 to round-trip.
 * Accepted normalisations: objects with a `null` prototype come back as ordinary objects, and an
 * object reached twice (not circularly) comes back as two copies.
 *
 * The encoder and decoder are Larder's own (`_cbor_encode.ts`, `_cbor_decode.ts`): no dependency,
 * no generated code (Cloudflare Workers forbid `new Function` inside requests), web-standard APIs
 * only. The format is the one cbor-x 1.6 writes with records off and `tagUint8Array` on, so
 * entries written by earlier versions of Larder (which used cbor-x) still decode, and those
 * versions decode what this one writes — except for one extension: arrays of same-shape objects
 * (query results) are written with each shape's keys once, as cbor-x's records (`_cbor_shapes.ts`
 * says why that format, and which arrays). Turn it off with `rowShapes: false` while versions of
 * Larder older than this one read the same entries. Decoding trusts nothing in the payload: see
 * `_cbor_decode.ts`.
 *
 * @example
 * ```ts
 * import { cborCodec } from "./cbor.ts";
 * const codec = cborCodec();
 * const bytes = codec.encode({ at: new Date(), ids: new Set([1n, 2n]) });
 * codec.decode(bytes); // { at: Date, ids: Set { 1n, 2n } }
 * ```
 *
 * @module
 */
import { CodecError, ConfigError, isCacheError } from "../core/errors.ts";
import type { EncodeOptions, ValueCodec } from "../core/types.ts";
import { READ_ONLY_DATE, READ_ONLY_MAP, READ_ONLY_SET } from "../core/util/deep_freeze.ts";
import { decodeCbor } from "./_cbor_decode.ts";
import { encodeCbor } from "./_cbor_encode.ts";
import { type BuiltinKind, checkValue, type ValuePolicy } from "./_validate.ts";

/**
 * Largest BigInt stored, in bits: far beyond real data, and earlier versions of Larder (on cbor-x,
 * whose bignum encoding is quadratic) refused larger ones too.
 */
const MAX_BIGINT_BITS = 65536;

const BUILTINS: ReadonlyMap<object, BuiltinKind> = new Map<object, BuiltinKind>([
  [Date.prototype, "date"],
  [Map.prototype, "map"],
  [Set.prototype, "set"],
  // The read-only ones of values shared by the in-process tier: stored as what they are.
  [READ_ONLY_DATE, "date"],
  [READ_ONLY_MAP, "map"],
  [READ_ONLY_SET, "set"],
  [RegExp.prototype, "leaf"],
  ...[
    Uint8Array,
    Uint8ClampedArray,
    Uint16Array,
    Uint32Array,
    BigUint64Array,
    Int8Array,
    Int16Array,
    Int32Array,
    BigInt64Array,
    Float32Array,
    Float64Array,
  ].map((ctor): [object, BuiltinKind] => [ctor.prototype, "leaf"]),
]);

/** What the CBOR codec accepts (see the module doc); used by the validation walk. */
export const CBOR_POLICY: ValuePolicy = {
  codec: "cbor",
  hint: "convert it to plain data (objects, arrays, Map, Set, Date, BigInt, typed arrays) before caching it",
  undefined: true,
  bigintBits: MAX_BIGINT_BITS,
  nonFinite: true,
  protoKey: false,
  wellFormedStrings: true,
  builtins: BUILTINS,
  // Every data item takes at least its one-byte head.
  sizes: { string: 1, key: 1, container: 1, entry: 0, atom: 1, number: () => 1 },
};

/** {@link CBOR_POLICY} when property names may be written once per shape (row shapes on). */
const CBOR_ROWS_POLICY: ValuePolicy = { ...CBOR_POLICY, sizes: { ...CBOR_POLICY.sizes, sharedKeys: true } };

/** Options of {@link cborCodec}. */
export interface CborCodecOptions {
  /**
   * Write arrays of at least 8 same-shape plain objects with each shape's keys once (cbor-x's
   * record tags 57343–57599): smaller and faster to decode. Versions of Larder before this option
   * existed cannot read such entries (a miss counted as an error, then a rewrite): turn it off
   * during a rollout while they still read the same store. Reading is unaffected by it.
   * @default true
   */
  readonly rowShapes?: boolean;
}

/**
 * The CBOR codec (name `"cbor"`). Encoding validates the whole value first; see the module doc.
 * With `maxBytes`, the validation walk stops once a lower bound of the size passes it, and the
 * encoder once its output does: a `TooLargeError` either way.
 */
export function cborCodec(options?: CborCodecOptions): ValueCodec {
  const rowShapes = options?.rowShapes ?? true;
  if (typeof rowShapes !== "boolean") {
    throw new ConfigError(`cborCodec: rowShapes must be true or false; got ${JSON.stringify(rowShapes)}`);
  }
  const policy = rowShapes ? CBOR_ROWS_POLICY : CBOR_POLICY;
  const encodeOptions = { rowShapes };
  return {
    name: "cbor",
    encode(value: unknown, options?: EncodeOptions): Uint8Array {
      const maxBytes = options?.maxBytes ?? Infinity;
      checkValue(value, policy, maxBytes);
      try {
        return encodeCbor(value, maxBytes, encodeOptions);
      } catch (error) {
        if (isCacheError(error)) throw error;
        throw new CodecError(`cbor codec failed to encode the value: ${messageOf(error)}`, { cause: error });
      }
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw new CodecError("cbor codec can only decode a Uint8Array");
      try {
        return decodeCbor(bytes);
      } catch (error) {
        // CodecErrors from the decoder name the problem and the byte offset; anything else (a
        // stack overflow) is wrapped the same way.
        const reason = isCacheError(error) ? error.message.replace(/^cbor: /, "") : messageOf(error);
        throw new CodecError(`cbor codec cannot decode the payload: ${reason}`, { cause: error });
      }
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
