/**
 * The CBOR decoder (RFC 8949) behind the `cbor` value codec. It reads what `_cbor_encode.ts` and
 * cbor-x 1.6 (records off) write, plus the rest of what such a reader is expected to accept:
 * non-minimal heads, float16 and float32, indefinite-length arrays and maps, tag 0 dates,
 * big-endian typed arrays, typed arrays over a tag-64 byte string (as cbor-x writes them where
 * there is no `Buffer`), a leading self-described-CBOR tag, and cbor-x's records (tag 57343
 * defines a shape and is one object of it, tags 57344–57599 are objects of a shape defined earlier
 * in the same payload: see `_cbor_shapes.ts`).
 *
 * It never trusts the input: a declared length or count larger than what the remaining bytes could
 * hold is refused before anything is allocated, nesting is limited to {@link MAX_DEPTH} levels,
 * and truncated input, trailing bytes, reserved heads, unknown tags and simple values,
 * indefinite-length strings, invalid UTF-8 and a break outside an indefinite-length item are all
 * `CodecError`s. Messages give the byte offset, never the bytes. Byte strings and typed arrays are
 * copies: they never alias the input. Records are held to what the encoder writes: a shape's keys
 * are distinct text strings, a record has exactly one value per key, a shape is used only after its
 * definition, and at most 256 shapes exist (the tag range), each no larger than the bytes that
 * define it.
 *
 * Untagged maps become plain objects, as cbor-x decodes them (`mapsAsObjects`): number, boolean,
 * BigInt, null and undefined keys become their string form; other keys are refused. A
 * `"__proto__"` key becomes an own property (cbor-x renames it).
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";
import { hexByte } from "../core/util/bytes.ts";
import { MAX_DEPTH } from "./_validate.ts";
import {
  bigintFromBytes,
  float16,
  LITTLE_ENDIAN,
  RECORD_SHAPES,
  swapBytes,
  TAG_BIGNUM,
  TAG_DATE_EPOCH,
  TAG_DATE_STRING,
  TAG_MAP,
  TAG_NEGATIVE_BIGNUM,
  TAG_OBJECT,
  TAG_RECORD_FIRST,
  TAG_RECORD_INLINE,
  TAG_SELF_DESCRIBED,
  TAG_SET,
  TAG_UINT8,
  TYPED_ARRAYS_BY_TAG,
} from "./_cbor_format.ts";
import { decodeKey, decodeText, useTextSource } from "./_cbor_strings.ts";

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
const TWO_32 = 0x100000000;
/** A break (0xff) was read where a data item may end an indefinite-length item. */
const BREAK: unique symbol = Symbol("break");

let src: Uint8Array = EMPTY;
let view: DataView = EMPTY_VIEW;
let pos = 0;
let end = 0;

/** A record shape: its keys, in order, whether one of them is `__proto__` (set as an own property), and its objects' maker. */
interface Shape {
  readonly keys: readonly string[];
  readonly protoKey: boolean;
  readonly make: PlainMaker;
}

/** A constructor of plain objects: `new make()` is `{}` (prototype `Object.prototype`, no own properties). */
type PlainMaker = new () => Record<string, unknown>;

/**
 * One maker per shape, kept across payloads (bounded), so that the objects of a shape get the same
 * hidden class in every payload: code that reads them stays monomorphic, as with `{}`. Why not `{}`:
 * V8 gives `{}` 4 in-object slots and puts further properties in a second allocation, whereas each
 * constructor's instances are sized to what it is used for (in-object slack tracking, up to 10).
 */
const makers = new Map<string, PlainMaker>();
const MAX_MAKERS = 1024;

function makerOf(keys: readonly string[]): PlainMaker {
  const id = JSON.stringify(keys);
  let make = makers.get(id);
  if (make === undefined) {
    if (makers.size >= MAX_MAKERS) makers.clear();
    make = plainMaker();
    makers.set(id, make);
  }
  return make;
}

function plainMaker(): PlainMaker {
  // A new closure each call: each has its own initial map, hence its own slack tracking.
  const make = function (): void {} as unknown as PlainMaker;
  make.prototype = Object.prototype;
  return make;
}

/** The shapes defined so far in the current payload, by id (0–255); made at the first definition. */
let shapes: (Shape | undefined)[] | undefined;

/** Decodes one CBOR data item that fills `bytes` exactly; throws a `CodecError` otherwise. */
export function decodeCbor(bytes: Uint8Array): unknown {
  // A subclass (Node's Buffer) would make slices views into the input, and decoded bytes Buffers.
  src = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  pos = 0;
  end = bytes.length;
  useTextSource(src, view);
  try {
    // A leading self-described-CBOR tag (d9 d9 f7) marks the payload as CBOR and means nothing else.
    if (end >= 3 && bytes[0] === 0xd9 && bytes[1] === 0xd9 && bytes[2] === 0xf7) pos = 3;
    const value = read(0);
    if (value === BREAK) throw fail("a break outside an indefinite-length item", pos - 1);
    if (pos !== end) throw fail(`${end - pos} trailing byte(s) after the value`, pos);
    return value;
  } finally {
    // Do not pin the payload until the next decode.
    src = EMPTY;
    view = EMPTY_VIEW;
    useTextSource(EMPTY, EMPTY_VIEW);
    shapes = undefined;
  }
}

/** A `CodecError` for malformed input at byte `at`. */
function fail(reason: string, at: number): CodecError {
  return new CodecError(`cbor: ${reason} (at byte ${at})`);
}

function truncated(at: number): CodecError {
  return fail("payload ends in the middle of a value", at);
}

/** The argument of a head whose additional information is `info` (24–27: 1, 2, 4 or 8 bytes follow). */
function argument(info: number, start: number): number {
  if (info < 24) return info;
  let n: number;
  switch (info) {
    case 24:
      if (pos + 1 > end) throw truncated(start);
      return src[pos++] as number;
    case 25:
      if (pos + 2 > end) throw truncated(start);
      n = view.getUint16(pos);
      pos += 2;
      return n;
    case 26:
      if (pos + 4 > end) throw truncated(start);
      n = view.getUint32(pos);
      pos += 4;
      return n;
    case 27:
      if (pos + 8 > end) throw truncated(start);
      // Above 2^53 this loses precision, but any length that large is refused anyway.
      n = view.getUint32(pos) * TWO_32 + view.getUint32(pos + 4);
      pos += 8;
      return n;
    default:
      throw fail(
        info === 31 ? "an indefinite length where none is allowed" : `reserved head 0x${hexByte(src[start])}`,
        start,
      );
  }
}

/** Reads one data item; returns {@link BREAK} for a break code, which only indefinite items accept. */
function read(depth: number): unknown {
  if (pos >= end) throw truncated(pos);
  const start = pos;
  const initial = src[pos++] as number;
  const info = initial & 0x1f;
  switch (initial >> 5) {
    case 0:
      if (info === 27) return readUint64(start);
      return argument(info, start);
    case 1:
      if (info === 27) return -1n - readUint64(start);
      return -1 - argument(info, start);
    case 2:
      return readBytes(info, start);
    case 3:
      if (info === 31) throw fail("indefinite-length text strings are not supported", start);
      return readText(argument(info, start), start);
    case 4:
      return readArray(info, depth, start);
    case 5:
      return readMap(info, depth, start);
    case 6:
      return readTagged(argument(info, start), depth, start);
    default:
      return readSimple(info, start);
  }
}

function readUint64(start: number): bigint {
  if (pos + 8 > end) throw truncated(start);
  const n = view.getBigUint64(pos);
  pos += 8;
  return n;
}

function readSimple(info: number, start: number): unknown {
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 25:
      if (pos + 2 > end) throw truncated(start);
      pos += 2;
      return float16(src[pos - 2] as number, src[pos - 1] as number);
    case 26:
      if (pos + 4 > end) throw truncated(start);
      pos += 4;
      return view.getFloat32(pos - 4);
    case 27:
      if (pos + 8 > end) throw truncated(start);
      pos += 8;
      return view.getFloat64(pos - 8);
    case 31:
      return BREAK;
    default:
      throw fail(info < 28 ? `unsupported simple value` : `reserved head 0x${hexByte(src[start])}`, start);
  }
}

function readText(length: number, start: number): string {
  if (length > end - pos) throw fail(`a text string of ${length} bytes, past the end of the payload`, start);
  const text = decodeText(pos, length);
  if (text === undefined) throw fail("a text string that is not valid UTF-8", start);
  pos += length;
  return text;
}

/** A byte string, copied out of the input. */
function readBytes(info: number, start: number): Uint8Array<ArrayBuffer> {
  if (info === 31) throw fail("indefinite-length byte strings are not supported", start);
  const length = argument(info, start);
  if (length > end - pos) throw fail(`a byte string of ${length} bytes, past the end of the payload`, start);
  pos += length;
  return src.slice(pos - length, pos);
}

function enter(depth: number, start: number): void {
  if (depth >= MAX_DEPTH) throw fail(`nesting deeper than ${MAX_DEPTH} levels`, start);
}

function readArray(info: number, depth: number, start: number): unknown[] {
  enter(depth, start);
  const array: unknown[] = [];
  if (info === 31) {
    for (;;) {
      const item = read(depth + 1);
      if (item === BREAK) return array;
      array.push(item);
    }
  }
  const length = argument(info, start);
  // Every item takes at least one byte.
  if (length > end - pos) throw fail(`an array of ${length} items, past the end of the payload`, start);
  for (let i = 0; i < length; i++) {
    const item = read(depth + 1);
    if (item === BREAK) throw fail("a break inside a definite-length array", pos - 1);
    array.push(item);
  }
  return array;
}

function readMap(info: number, depth: number, start: number): Record<string, unknown> {
  enter(depth, start);
  const record: Record<string, unknown> = {};
  const indefinite = info === 31;
  const count = indefinite ? Infinity : argument(info, start);
  // Every entry takes at least two bytes.
  if (!indefinite && count * 2 > end - pos) {
    throw fail(`a map of ${count} entries, past the end of the payload`, start);
  }
  for (let i = 0; i < count; i++) {
    if (indefinite && pos < end && src[pos] === 0xff) {
      pos++;
      break;
    }
    const key = readKey(depth);
    setEntry(record, key, readValue(depth));
  }
  return record;
}

function setEntry(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

function readValue(depth: number): unknown {
  const value = read(depth + 1);
  if (value === BREAK) throw fail("a break in place of a map value", pos - 1);
  return value;
}

/** A map key of a plain object: a text string (read here when short), or a value converted as cbor-x does. */
function readKey(depth: number): string {
  const keyAt = pos;
  const head = src[pos] as number;
  if (head >= 0x60 && head < 0x78) {
    const length = head - 0x60;
    if (pos + 1 + length > end) throw truncated(keyAt);
    const text = decodeKey(pos + 1, length);
    if (text === undefined) throw fail("a text string that is not valid UTF-8", keyAt);
    pos += 1 + length;
    return text;
  }
  return propertyName(read(depth + 1), keyAt);
}

/** The property name of a map key in an untagged map, as cbor-x converts it. */
function propertyName(key: unknown, at: number): string {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return String(key);
    default:
      if (key === null) return "null";
      if (key === BREAK) throw fail("a break in a definite-length map or in place of a map key", at);
      throw fail(
        "a map key that is not a string, number, boolean, BigInt, null or undefined (only Maps, tag 259, take those)",
        at,
      );
  }
}

function readTagged(tag: number, depth: number, start: number): unknown {
  if (tag >= TAG_RECORD_FIRST && tag < TAG_RECORD_FIRST + RECORD_SHAPES) return readRecord(tag, depth, start);
  switch (tag) {
    case TAG_RECORD_INLINE:
      return readShapeDefinition(depth, start);
    case TAG_DATE_EPOCH:
      return new Date(Math.round(readEpochSeconds(start) * 1000));
    case TAG_DATE_STRING:
      return new Date(readTextItem("tag 0 (date)", start));
    case TAG_BIGNUM:
    case TAG_NEGATIVE_BIGNUM:
      return readBignum(tag === TAG_NEGATIVE_BIGNUM, start);
    case TAG_UINT8:
      return readTypedBytes(start, tag);
    case TAG_SET:
      return readSet(depth, start);
    case TAG_MAP:
      return readTaggedMap(depth, start);
    case TAG_OBJECT:
      return readRegExp(start);
    case TAG_SELF_DESCRIBED:
      throw fail("tag 55799 inside a value (only a payload may start with it)", start);
  }
  const typed = TYPED_ARRAYS_BY_TAG.get(tag);
  if (typed === undefined) throw fail(`unsupported tag ${tag}`, start);
  const bytes = readTypedBytes(start, tag);
  const size = typed.ctor.BYTES_PER_ELEMENT;
  if (bytes.length % size !== 0) {
    throw fail(`tag ${tag} (${typed.ctor.name}) on ${bytes.length} bytes, not a multiple of ${size}`, start);
  }
  if (size > 1 && typed.little !== LITTLE_ENDIAN) swapBytes(bytes, size);
  return new typed.ctor(bytes.buffer);
}

/** The byte string under a typed-array tag, possibly itself under tag 64 (cbor-x without `Buffer`). */
function readTypedBytes(start: number, tag: number): Uint8Array<ArrayBuffer> {
  if (pos >= end) throw truncated(start);
  let initial = src[pos++] as number;
  if (initial === 0xd8 && tag !== TAG_UINT8 && pos < end && src[pos] === TAG_UINT8) {
    pos++;
    if (pos >= end) throw truncated(start);
    initial = src[pos++] as number;
  }
  if (initial >> 5 !== 2) throw fail(`tag ${tag} on something other than a byte string`, start);
  return readBytes(initial & 0x1f, start);
}

function readEpochSeconds(start: number): number {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  const info = initial & 0x1f;
  switch (initial >> 5) {
    case 0:
      if (info < 27) return argument(info, start);
      break;
    case 1:
      if (info < 27) return -1 - argument(info, start);
      break;
    case 7:
      if (info >= 25 && info <= 27) return readSimple(info, start) as number;
      break;
  }
  throw fail("tag 1 (date) on something other than a number of seconds", start);
}

function readBignum(negative: boolean, start: number): bigint {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial >> 5 !== 2) throw fail("a bignum (tag 2 or 3) that is not a byte string", start);
  const length = argument(initial & 0x1f, start);
  if (length > end - pos) throw fail(`a bignum of ${length} bytes, past the end of the payload`, start);
  const n = bigintFromBytes(src, pos, length);
  pos += length;
  return negative ? -1n - n : n;
}

function readSet(depth: number, start: number): Set<unknown> {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial >> 5 !== 4) throw fail("tag 258 (Set) on something other than an array", start);
  return new Set(readArray(initial & 0x1f, depth, start));
}

function readTaggedMap(depth: number, start: number): Map<unknown, unknown> {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial >> 5 !== 5) throw fail("tag 259 (Map) on something other than a map", start);
  enter(depth, start);
  const info = initial & 0x1f;
  const indefinite = info === 31;
  const count = indefinite ? Infinity : argument(info, start);
  if (!indefinite && count * 2 > end - pos) {
    throw fail(`a Map of ${count} entries, past the end of the payload`, start);
  }
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < count; i++) {
    const key = read(depth + 1);
    if (key === BREAK) {
      if (indefinite) break;
      throw fail("a break in a definite-length map", pos - 1);
    }
    const value = read(depth + 1);
    if (value === BREAK) throw fail("a break in place of a map value", pos - 1);
    map.set(key, value);
  }
  return map;
}

/**
 * The definite length of the array that must come next, as the content of a record tag. `what`
 * names the content in the error: a text, or a record's tag (its text is built only on failure:
 * this runs once per row).
 */
function readArrayHead(what: string | number, start: number): number {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial >> 5 !== 4 || (initial & 0x1f) === 31) {
    const name = typeof what === "number" ? `tag ${what} (record)` : what;
    throw fail(`${name} on something other than a definite-length array`, start);
  }
  return argument(initial & 0x1f, start);
}

/** Tag 57343 over `[57344 + id, [key…], value…]`: defines shape `id` and returns its first object. */
function readShapeDefinition(depth: number, start: number): Record<string, unknown> {
  enter(depth, start);
  const length = readArrayHead("tag 57343 (record definition)", start);
  if (length < 2) throw fail("tag 57343 (record definition) on an array of fewer than 2 items", start);
  if (pos >= end) throw truncated(start);
  const idAt = pos;
  const initial = src[pos++] as number;
  const id = initial >> 5 === 0 ? argument(initial & 0x1f, idAt) : -1;
  if (id < TAG_RECORD_FIRST || id >= TAG_RECORD_FIRST + RECORD_SHAPES) {
    throw fail(
      `a record definition whose id is not a number from ${TAG_RECORD_FIRST} to ${
        TAG_RECORD_FIRST + RECORD_SHAPES - 1
      }`,
      idAt,
    );
  }
  const count = readArrayHead("the keys of a record definition", start);
  // Every key and every value takes at least one byte.
  if (count !== length - 2) throw fail(`a record definition with ${count} keys and ${length - 2} values`, start);
  if (count * 2 > end - pos) throw fail(`a record definition of ${count} keys, past the end of the payload`, start);
  const keys: string[] = [];
  let protoKey = false;
  for (let i = 0; i < count; i++) {
    const keyAt = pos;
    if (pos >= end) throw truncated(keyAt);
    if ((src[pos] as number) >> 5 !== 3) throw fail("a record key that is not a text string", keyAt);
    const key = readKey(depth);
    if (key === "__proto__") protoKey = true;
    keys.push(key);
  }
  if (count > 1 && new Set(keys).size !== count) throw fail("a record definition that repeats a key", start);
  const shape: Shape = { keys, protoKey, make: makerOf(keys) };
  (shapes ??= [])[id - TAG_RECORD_FIRST] = shape;
  return readShapedValues(shape, depth);
}

/** Tag 57344 + id over `[value…]`: an object of shape `id`, defined earlier in the payload. */
function readRecord(tag: number, depth: number, start: number): Record<string, unknown> {
  const shape = shapes?.[tag - TAG_RECORD_FIRST];
  if (shape === undefined) throw fail(`a record of shape ${tag} before any definition of it`, start);
  enter(depth, start);
  const length = readArrayHead(tag, start);
  if (length !== shape.keys.length) {
    throw fail(`a record of ${length} values for a shape of ${shape.keys.length} keys`, start);
  }
  return readShapedValues(shape, depth);
}

function readShapedValues(shape: Shape, depth: number): Record<string, unknown> {
  const keys = shape.keys;
  const record = new shape.make();
  if (shape.protoKey) {
    for (let i = 0; i < keys.length; i++) setEntry(record, keys[i] as string, readValue(depth));
    return record;
  }
  for (let i = 0; i < keys.length; i++) record[keys[i] as string] = readValue(depth);
  return record;
}

/** `["RegExp", source, flags?]` under tag 27 (cbor-x's "generic object"; other classes are refused). */
function readRegExp(start: number): RegExp {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial !== 0x82 && initial !== 0x83) throw fail("tag 27 on something other than a RegExp", start);
  if (readTextItem("tag 27", start) !== "RegExp") throw fail("tag 27 on something other than a RegExp", start);
  const source = readTextItem("tag 27 (RegExp)", start);
  const flags = initial === 0x83 ? readTextItem("tag 27 (RegExp)", start) : "";
  try {
    return new RegExp(source, flags);
  } catch {
    throw fail("tag 27 with an invalid regular expression", start);
  }
}

/** A definite-length text string that must come next, as part of a tagged value. */
function readTextItem(what: string, start: number): string {
  if (pos >= end) throw truncated(start);
  const initial = src[pos++] as number;
  if (initial >> 5 !== 3 || (initial & 0x1f) === 31) throw fail(`${what} on something other than a text string`, start);
  return readText(argument(initial & 0x1f, start), start);
}
