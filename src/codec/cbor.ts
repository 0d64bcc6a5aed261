/**
 * The CBOR value codec (RFC 8949, through cbor-x): the default, because it gives back what was
 * stored — `Date`, `Map` (with any keys), `Set`, `BigInt` (any size up to 65 536 bits), every typed
 * array, `RegExp`, `undefined` (top level, in arrays, as object values), `NaN` and `±Infinity`.
 *
 * Values it cannot give back unchanged are rejected with a `CodecError` naming the path:
 * functions, symbols, circular references, class instances (including `Error`, `Promise`,
 * `WeakMap`, Node's `Buffer` and subclasses of the built-ins above), `ArrayBuffer` and `DataView`
 * (wrap them in a `Uint8Array`), sparse arrays, symbol-keyed properties, own `__proto__`
 * properties, strings with unpaired surrogates, and Dates too far from 1970 to round-trip.
 * Accepted normalisations: `-0` is stored as `0`, objects with a `null` prototype come back as
 * ordinary objects, and an object reached twice (not circularly) comes back as two copies.
 *
 * It uses cbor-x's no-eval build with records off, so neither encoding nor decoding ever
 * generates code (Cloudflare Workers forbid `new Function` inside requests), and the native
 * `cbor-extract` add-on is never loaded (it breaks Deno and Bun).
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
import { addExtension, Decoder, Encoder, type Options } from "cbor-x/index-no-eval";
import { CodecError, isCacheError } from "../core/errors.ts";
import type { ValueCodec } from "../core/types.ts";
import { type BuiltinKind, checkValue, type ValuePolicy } from "./_validate.ts";

/**
 * Every option that changes the bytes, spelled out (cbor-x's defaults differ by runtime and entry
 * point). Records written with these options decode identically with cbor-x's default entry.
 */
export const CBOR_OPTIONS: Readonly<Options> = {
  // Plain CBOR maps, no record structures: payloads are self-contained and decoding never compiles
  // a reader with `new Function` (forbidden on workerd), whichever cbor-x entry decodes them.
  useRecords: false,
  // CBOR maps decode to plain objects; `Map`s are written with tag 259 and decode to `Map`.
  mapsAsObjects: true,
  // cbor-x tags Uint8Array only when Node's Buffer exists: force it so every runtime writes the
  // same bytes and a Uint8Array never comes back as a Buffer.
  tagUint8Array: true,
  // Decoded typed arrays own their memory instead of pinning (and aliasing) the whole payload.
  copyBuffers: true,
  // Numbers are never narrowed to float32; BigInts over 64 bits are bignums (tags 2/3), not floats.
  useFloat32: 0,
  largeBigIntToFloat: false,
  useTimestamp32: false,
  // No value sharing (cycles are rejected before encoding), no string bundling, no packing.
  structuredClone: false,
  bundleStrings: false,
  pack: false,
  sequential: false,
  variableMapSize: false,
  useSelfDescribedHeader: false,
};

/** Largest BigInt stored, in bits: encoding a BigInt costs time quadratic in its size. */
export const MAX_BIGINT_BITS = 65536;

const BUILTINS: ReadonlyMap<object, BuiltinKind> = new Map<object, BuiltinKind>([
  [Date.prototype, "date"],
  [Map.prototype, "map"],
  [Set.prototype, "set"],
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
};

let encoder: Encoder | undefined;
let decoder: Decoder | undefined;

/** The CBOR codec (name `"cbor"`). Encoding validates the whole value first; see the module doc. */
export function cborCodec(): ValueCodec {
  return {
    name: "cbor",
    encode(value: unknown): Uint8Array {
      checkValue(value, CBOR_POLICY);
      encoder ??= new Encoder({ ...CBOR_OPTIONS });
      let out: Uint8Array;
      try {
        out = encoder.encode(value);
      } catch (error) {
        throw new CodecError(`cbor codec failed to encode the value: ${messageOf(error)}`, { cause: error });
      }
      // cbor-x returns a view into its scratch buffer (a Buffer on Node), where later encodes
      // append. A small value must not pin a big scratch buffer (it may sit in a memory store for
      // hours): copy it. A value filling most of the buffer is re-viewed as a plain Uint8Array.
      return out.length * 2 >= out.buffer.byteLength
        ? new Uint8Array(out.buffer, out.byteOffset, out.length)
        : new Uint8Array(out);
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw new CodecError("cbor codec can only decode a Uint8Array");
      if (decoder === undefined) {
        installBignumDecoders();
        decoder = new Decoder({ ...CBOR_OPTIONS });
      }
      // A Buffer (or other subclass) as the source would make decoded byte strings Buffers.
      const source = bytes.constructor === Uint8Array
        ? bytes
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      try {
        return decoder.decode(source);
      } catch (error) {
        if (isCacheError(error)) throw error;
        throw new CodecError(`cbor codec cannot decode the payload: ${messageOf(error)}`, { cause: error });
      }
    },
  };
}

let bignumsInstalled = false;

/**
 * cbor-x decodes bignums (tags 2 and 3) one byte at a time with a shift of the whole value, which
 * is quadratic: a crafted 10 MB bignum would hang the decoder. These give the same values in
 * O(n log n). cbor-x's tag table is global to the no-eval build, and the results are identical, so
 * other users of that build only see the speed-up.
 */
function installBignumDecoders(): void {
  if (bignumsInstalled) return;
  bignumsInstalled = true;
  const positive = (bytes: unknown): bigint => {
    if (!(bytes instanceof Uint8Array)) throw new Error("bignum content must be a byte string");
    return bytesToBigInt(bytes, 0, bytes.length);
  };
  const extension = (tag: number, decode: (item: unknown) => bigint) =>
    addExtension({ tag, decode } as unknown as Parameters<typeof addExtension>[0]);
  extension(2, positive);
  extension(3, (bytes) => -1n - positive(bytes));
}

function bytesToBigInt(bytes: Uint8Array, start: number, end: number): bigint {
  const length = end - start;
  if (length <= 6) {
    let value = 0;
    for (let i = start; i < end; i++) value = value * 256 + (bytes[i] as number);
    return BigInt(value);
  }
  const mid = start + (length >> 1);
  return (bytesToBigInt(bytes, start, mid) << BigInt((end - mid) * 8)) | bytesToBigInt(bytes, mid, end);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
