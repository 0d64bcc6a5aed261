/**
 * What the CBOR encoder and decoder agree on: the tag numbers of the wire format (RFC 8949 and the
 * IANA CBOR tag registry), the typed-array classes of RFC 8746, and the conversions both sides
 * need (byte order, half-precision floats, bignum bytes). The format is the one cbor-x 1.6 writes
 * with records off and `tagUint8Array` on, so records written by either decode with the other,
 * plus one extension: arrays of same-shape objects as cbor-x's records (`_cbor_shapes.ts`).
 *
 * @module
 */
import { toHex } from "../core/util/bytes.ts";

/** Tag 0: a date as an RFC 3339 text string (decoded only; never written). */
export const TAG_DATE_STRING = 0;
/** Tag 1: a date as seconds since 1970, an integer or a float. */
export const TAG_DATE_EPOCH = 1;
/** Tag 2: a non-negative bignum (a byte string, big-endian). */
export const TAG_BIGNUM = 2;
/** Tag 3: a negative bignum, -1 - n. */
export const TAG_NEGATIVE_BIGNUM = 3;
/** Tag 27: a "generic object" `[className, ...args]`; only `["RegExp", source, flags]` is used. */
export const TAG_OBJECT = 27;
/** Tag 64: a `Uint8Array` (RFC 8746 uint8). */
export const TAG_UINT8 = 64;
/** Tag 258: a `Set`, as an array of its values. */
export const TAG_SET = 258;
/** Tag 259: a `Map`, as a CBOR map with keys of any type. */
export const TAG_MAP = 259;
/** Tag 55799: "self-described CBOR", a no-op marker (accepted at the start of a payload only). */
export const TAG_SELF_DESCRIBED = 55799;
/**
 * Tag 57343: an "inline record" (kriszyp/cbor-records, as cbor-x 1.6 writes and reads it): an
 * array `[id, [key…], value…]` that defines the shape `id` (57344–57599) and is one object of it.
 */
export const TAG_RECORD_INLINE = 57343;
/** Tags 57344–57599: a record of a shape defined earlier in the same payload, as an array of its values. */
export const TAG_RECORD_FIRST = 57344;
/** How many record shapes one payload can define: the size of the tag range (57344–57599). */
export const RECORD_SHAPES = 256;

/** A typed-array class of RFC 8746 other than `Uint8Array`. */
export type TypedArrayClass =
  | Uint8ClampedArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** A typed array of one of the {@link TypedArrayClass} classes. */
export type TypedArray = InstanceType<TypedArrayClass>;

/** Little-endian tag of each typed-array class (RFC 8746 §2.1; the big-endian tag is 4 less for multi-byte ones). */
export const TYPED_ARRAY_TAGS: ReadonlyMap<TypedArrayClass, number> = new Map<TypedArrayClass, number>([
  [Uint8ClampedArray, 68],
  [Uint16Array, 69],
  [Uint32Array, 70],
  [BigUint64Array, 71],
  [Int8Array, 72],
  [Int16Array, 77],
  [Int32Array, 78],
  [BigInt64Array, 79],
  [Float32Array, 85],
  [Float64Array, 86],
]);

/** Whether this machine stores typed-array elements little-endian (every current JS engine does). */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each `size`-byte group of `bytes` in place (endianness conversion). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = t;
    }
  }
}

/** A typed-array class and the byte order of its tag. */
export interface TypedArrayTag {
  readonly ctor: TypedArrayClass;
  readonly little: boolean;
}

/** Every typed-array tag of RFC 8746 that maps to a JavaScript class, both byte orders. */
export const TYPED_ARRAYS_BY_TAG: ReadonlyMap<number, TypedArrayTag> = new Map<number, TypedArrayTag>();
for (const [ctor, tag] of TYPED_ARRAY_TAGS) {
  (TYPED_ARRAYS_BY_TAG as Map<number, TypedArrayTag>).set(tag, { ctor, little: true });
  if (ctor.BYTES_PER_ELEMENT > 1) {
    (TYPED_ARRAYS_BY_TAG as Map<number, TypedArrayTag>).set(tag - 4, { ctor, little: false });
  }
}

/** An IEEE 754 half-precision float from its two bytes, big-endian (RFC 8949 Appendix D). */
export function float16(high: number, low: number): number {
  const exponent = (high >> 2) & 0x1f;
  const mantissa = ((high & 3) << 8) | low;
  const magnitude = exponent === 0
    ? mantissa * 2 ** -24
    : exponent === 31
    ? (mantissa === 0 ? Infinity : NaN)
    : (mantissa + 1024) * 2 ** (exponent - 25);
  return high & 0x80 ? -magnitude : magnitude;
}

/** The non-negative integer of `length` big-endian bytes at `start`, in linear time (BigInt parses hexadecimal text in linear time). */
export function bigintFromBytes(bytes: Uint8Array, start: number, length: number): bigint {
  return BigInt(`0x0${toHex(bytes.subarray(start, start + length))}`);
}

/** The big-endian bytes of a non-negative BigInt, without leading zeros (none for 0). */
export function bigintToBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0);
  let hex = n.toString(16);
  if (hex.length & 1) hex = `0${hex}`;
  const bytes = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substring(i * 2, i * 2 + 2), 16);
  return bytes;
}
