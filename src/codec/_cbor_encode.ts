/**
 * The CBOR encoder (RFC 8949) behind the `cbor` value codec. It expects a value that has passed
 * the codec's validation walk, and still refuses, with a `CodecError`, anything it has no encoding
 * for (a getter may return something else the second time it is read).
 *
 * The bytes are those cbor-x 1.6 writes with records off and `tagUint8Array` on, except that `-0`
 * is kept (as a float16): integers up to 32 bits as CBOR integers and other numbers as float64;
 * BigInts in 64 bits as 8-byte integers and others as tag 2/3 bignums; plain objects as maps with
 * a 16-bit count (32-bit past 65 535 keys); `Map` as tag 259, `Set` as tag 258, `Date` as tag 1
 * (whole seconds as a 32-bit integer, otherwise float64 seconds), `RegExp` as tag 27,
 * `Uint8Array` as tag 64 and other typed arrays under their RFC 8746 little-endian tags. With
 * `rowShapes`, arrays of same-shape objects are written as cbor-x's records (`_cbor_shapes.ts`).
 *
 * Bytes are written into one growable buffer, kept between calls up to {@link SCRATCH_MAX_BYTES}.
 * Given a byte limit, the buffer never grows past it (plus a few bytes of slack): the encoder
 * stops with a `TooLargeError` as soon as its output would pass the limit, having held about the
 * limit, however large the value.
 *
 * @module
 */
import { CodecError, TooLargeError } from "../core/errors.ts";
import { MAX_DEPTH } from "./_validate.ts";
import {
  bigintToBytes,
  LITTLE_ENDIAN,
  swapBytes,
  TAG_BIGNUM,
  TAG_DATE_EPOCH,
  TAG_MAP,
  TAG_NEGATIVE_BIGNUM,
  TAG_OBJECT,
  TAG_RECORD_FIRST,
  TAG_RECORD_INLINE,
  TAG_SET,
  TAG_UINT8,
  TYPED_ARRAY_TAGS,
  type TypedArray,
  type TypedArrayClass,
} from "./_cbor_format.ts";
import { READ_ONLY_DATE, READ_ONLY_MAP, READ_ONLY_SET } from "../core/util/deep_freeze.ts";
import { isRowArray, NEW_SHAPE, newShapeTable, shapeId, type ShapeTable } from "./_cbor_shapes.ts";

/** The largest buffer kept for the next call; larger outputs get a buffer of their own. */
const SCRATCH_MAX_BYTES: number = 1 << 20;
const INITIAL_BYTES = 8192;
/** Room every write may use without checking: the largest head (9 bytes) and a tag. */
const SLACK = 16;
/** Strings shorter than this are written by a loop when they are ASCII; longer ones by `encodeInto`. */
const SHORT_STRING = 64;

const textEncoder = new TextEncoder();
const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const DATE_PROTO = Date.prototype;
const MAP_PROTO = Map.prototype;
const SET_PROTO = Set.prototype;
const REGEXP_PROTO = RegExp.prototype;
const UINT8_PROTO = Uint8Array.prototype;
const TYPED_PROTOS: ReadonlyMap<object, number> = new Map(
  [...TYPED_ARRAY_TAGS].map(([ctor, tag]: [TypedArrayClass, number]): [object, number] => [ctor.prototype, tag]),
);
const TWO_64 = 1n << 64n;
const MINUS_TWO_64 = -TWO_64;

let scratch: Uint8Array | undefined;
let buf: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(buf.buffer);
/** Writes below this position need no capacity check beyond what {@link SLACK} covers. */
let safeEnd = 0;
let pos = 0;
let busy = false;
/** The output limit of the current call. */
let maxBytes = Infinity;
/** Whether the current call writes row arrays as records. */
let rowShapes = false;
/** The shapes of the current call, made when the first row array is met. */
let shapes: ShapeTable | undefined;
/** How many row arrays enclose what is being written: inside one, plain objects are records. */
let inRows = 0;

/** Options of {@link encodeCbor}. */
export interface CborEncodeOptions {
  /** Write arrays of same-shape objects with their keys once (`_cbor_shapes.ts`). @default false */
  readonly rowShapes?: boolean;
}

/**
 * Encodes `value` (already validated) into a new `Uint8Array` that owns its memory. Throws a
 * `TooLargeError` as soon as the output passes `limit` bytes.
 */
export function encodeCbor(value: unknown, limit: number = Infinity, options?: CborEncodeOptions): Uint8Array {
  // A getter inside the value could call the codec again; the buffer is shared, so refuse.
  if (busy) throw new CodecError("cbor codec cannot encode while it is already encoding (a getter encoded a value)");
  busy = true;
  maxBytes = limit;
  rowShapes = options?.rowShapes === true;
  use(scratch ?? new Uint8Array(INITIAL_BYTES));
  try {
    write(value, 0);
    if (pos > maxBytes) throw tooLarge();
    // A small result is copied out so that it does not pin a large buffer; a large one takes its
    // own buffer with it (at most twice its size: buffers double).
    if (buf.length <= SCRATCH_MAX_BYTES) {
      scratch = buf;
      return buf.slice(0, pos);
    }
    return pos * 2 >= buf.length ? buf.subarray(0, pos) : buf.slice(0, pos);
  } finally {
    busy = false;
    maxBytes = Infinity;
    rowShapes = false;
    shapes = undefined;
    inRows = 0;
    buf = new Uint8Array(0);
    view = new DataView(buf.buffer);
    safeEnd = pos = 0;
  }
}

function use(next: Uint8Array): void {
  buf = next;
  view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  safeEnd = next.length - SLACK;
}

/**
 * Makes room for `bytes` more bytes after `pos` plus {@link SLACK}. `bytes` may overstate what
 * will be written by up to {@link SLACK} (a head's longest form), so the limit is checked with
 * that much leeway here, and exactly once written (by {@link write} and at the end).
 */
function reserve(bytes: number): void {
  const needed = pos + bytes + SLACK;
  if (needed <= buf.length) return;
  if (pos + bytes > maxBytes + SLACK) throw tooLarge();
  // Doubling, but never past the limit and its slack.
  const next = new Uint8Array(Math.min(Math.max(needed, buf.length * 2), maxBytes + 2 * SLACK));
  next.set(buf.subarray(0, pos));
  if (next.length <= SCRATCH_MAX_BYTES) scratch = next;
  use(next);
}

/** Writes the head of a data item: major type and argument (lengths, counts, tags, small integers). */
function head(major: number, n: number): void {
  const m = major << 5;
  if (n < 24) {
    buf[pos++] = m | n;
  } else if (n < 0x100) {
    buf[pos++] = m | 24;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = m | 25;
    buf[pos++] = n >> 8;
    buf[pos++] = n & 0xff;
  } else if (n < 0x100000000) {
    buf[pos++] = m | 26;
    view.setUint32(pos, n);
    pos += 4;
  } else {
    buf[pos++] = m | 27;
    view.setUint32(pos, Math.floor(n / 0x100000000));
    view.setUint32(pos + 4, n >>> 0);
    pos += 8;
  }
}

function tooLarge(): TooLargeError {
  return new TooLargeError(`cbor codec: the value takes more than ${maxBytes} bytes once encoded`);
}

function write(value: unknown, depth: number): void {
  if (pos > safeEnd) {
    if (pos > maxBytes) throw tooLarge();
    reserve(SLACK);
  }
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      return writeNumber(value);
    case "object":
      if (value === null) {
        buf[pos++] = 0xf6;
        return;
      }
      return writeObject(value, depth);
    case "boolean":
      buf[pos++] = value ? 0xf5 : 0xf4;
      return;
    case "undefined":
      buf[pos++] = 0xf7;
      return;
    case "bigint":
      return writeBigInt(value);
    default:
      throw new CodecError(`cbor codec cannot encode a ${typeof value}`);
  }
}

function writeNumber(n: number): void {
  if (n >>> 0 === n) {
    if (n === 0 && 1 / n < 0) {
      // -0 (which `n >>> 0 === n` lets through): float16 0x8000.
      buf[pos++] = 0xf9;
      buf[pos++] = 0x80;
      buf[pos++] = 0;
    } else if (n < 24) {
      buf[pos++] = n;
    } else {
      head(0, n);
    }
  } else if (n >> 0 === n) {
    // A negative integer of 31 bits or fewer: -1 - n is its argument.
    head(1, -1 - n);
  } else if (n < 0 && n >= -0x100000000 && Math.floor(n) === n) {
    buf[pos++] = 0x3a;
    view.setUint32(pos, -1 - n);
    pos += 4;
  } else {
    buf[pos++] = 0xfb;
    view.setFloat64(pos, n);
    pos += 8;
  }
}

function writeString(s: string): void {
  const length = s.length;
  if (length < SHORT_STRING) {
    if (pos + length + 2 > safeEnd) reserve(length + 2);
    // ASCII: one byte per character, so the head is known before the loop.
    const start = pos + (length < 24 ? 1 : 2);
    let i = 0;
    for (; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
    }
    if (i === length) {
      head(3, length);
      pos += length;
      return;
    }
  }
  writeUtf8(s);
}

function writeUtf8(s: string): void {
  const max = s.length * 3;
  // Reserve the head for the longest possible UTF-8 form, then move the bytes back if it is shorter.
  const headBytes = max < 24 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  // Room for the longest form, or for what the limit leaves: a string that does not fit there is too large.
  const room = Math.min(max + headBytes, maxBytes + SLACK - pos);
  if (room < headBytes) throw tooLarge();
  reserve(room);
  const start = pos + headBytes;
  const { read, written } = textEncoder.encodeInto(s, buf.subarray(start, pos + room));
  if (read < s.length) throw tooLarge();
  const actual = written < 24 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
  if (actual < headBytes) buf.copyWithin(pos + actual, start, start + written);
  head(3, written);
  pos += written;
}

function writeBigInt(n: bigint): void {
  if (n >= 0n && n < TWO_64) {
    buf[pos++] = 0x1b;
    view.setBigUint64(pos, n);
    pos += 8;
  } else if (n < 0n && n > MINUS_TWO_64) {
    buf[pos++] = 0x3b;
    view.setBigUint64(pos, -1n - n);
    pos += 8;
  } else {
    const bytes = bigintToBytes(n < 0n ? -1n - n : n);
    buf[pos++] = 0xc0 | (n < 0n ? TAG_NEGATIVE_BIGNUM : TAG_BIGNUM);
    reserve(bytes.length + 9);
    head(2, bytes.length);
    buf.set(bytes, pos);
    pos += bytes.length;
  }
}

function writeObject(value: object, depth: number): void {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === OBJECT_PROTO || proto === null) {
    nest(depth);
    if (inRows > 0) return writeShaped(value as Record<string, unknown>, depth);
    return writeRecord(value as Record<string, unknown>, depth);
  }
  if (proto === ARRAY_PROTO) {
    nest(depth);
    const array = value as unknown[];
    const length = array.length;
    const rows = rowShapes && inRows === 0 && isRowArray(array);
    head(4, length);
    if (rows) inRows++;
    for (let i = 0; i < length; i++) write(array[i], depth + 1);
    if (rows) inRows--;
    return;
  }
  if (proto === DATE_PROTO || proto === READ_ONLY_DATE) return writeDate(value as Date);
  if (proto === MAP_PROTO || proto === READ_ONLY_MAP) {
    nest(depth);
    tag(TAG_MAP);
    head(5, (value as Map<unknown, unknown>).size);
    for (const [key, item] of value as Map<unknown, unknown>) {
      write(key, depth + 1);
      write(item, depth + 1);
    }
    return;
  }
  if (proto === SET_PROTO || proto === READ_ONLY_SET) {
    nest(depth);
    tag(TAG_SET);
    head(4, (value as Set<unknown>).size);
    for (const item of value as Set<unknown>) write(item, depth + 1);
    return;
  }
  if (proto === UINT8_PROTO) {
    tag(TAG_UINT8);
    return writeBytes(value as Uint8Array, 1);
  }
  const typedTag = TYPED_PROTOS.get(proto as object);
  if (typedTag !== undefined) {
    tag(typedTag);
    return writeBytes(value as TypedArray, (value as TypedArray).BYTES_PER_ELEMENT);
  }
  if (proto === REGEXP_PROTO) {
    tag(TAG_OBJECT);
    buf[pos++] = 0x83;
    writeString("RegExp");
    writeString((value as RegExp).source);
    writeString((value as RegExp).flags);
    return;
  }
  throw new CodecError("cbor codec cannot encode an object of this class");
}

/** Containers nest at most {@link MAX_DEPTH} deep, as the validation walk and the decoder allow. */
function nest(depth: number): void {
  if (depth >= MAX_DEPTH) throw new CodecError(`cbor codec cannot encode a value nested more than ${MAX_DEPTH} levels`);
}

function writeRecord(record: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(record);
  const count = keys.length;
  // Always a 16-bit count (32-bit past 65 535), as cbor-x writes objects.
  if (count < 0x10000) {
    buf[pos++] = 0xb9;
    buf[pos++] = count >> 8;
    buf[pos++] = count & 0xff;
  } else {
    buf[pos++] = 0xba;
    view.setUint32(pos, count);
    pos += 4;
  }
  for (let i = 0; i < count; i++) {
    const key = keys[i] as string;
    writeString(key);
    write(record[key], depth + 1);
  }
}

/**
 * A plain object inside a row array, as a record: tag 57344 + id over its values when its shape
 * is known, tag 57343 over `[57344 + id, [keys], values]` when it defines it, a map when the
 * payload has no shape id left.
 */
function writeShaped(record: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(record);
  const count = keys.length;
  const found = shapeId(shapes ??= newShapeTable(), keys, depth);
  if (found < 0) return writeRecord(record, depth);
  const id = TAG_RECORD_FIRST + (found & ~NEW_SHAPE);
  // write() left SLACK bytes of room: enough for a tag, an array head and the id.
  if (found & NEW_SHAPE) {
    tag(TAG_RECORD_INLINE);
    head(4, count + 2);
    head(0, id);
    if (pos > safeEnd) reserve(SLACK);
    head(4, count);
    for (let i = 0; i < count; i++) writeString(keys[i] as string);
  } else {
    tag(id);
    head(4, count);
  }
  for (let i = 0; i < count; i++) write(record[keys[i] as string], depth + 1);
}

function writeDate(date: Date): void {
  tag(TAG_DATE_EPOCH);
  const ms = date.getTime();
  const seconds = ms / 1000;
  if (ms % 1000 === 0 && seconds >= 0 && seconds < 0x100000000) {
    buf[pos++] = 0x1a;
    view.setUint32(pos, seconds);
    pos += 4;
  } else {
    buf[pos++] = 0xfb;
    view.setFloat64(pos, seconds);
    pos += 8;
  }
}

function tag(number: number): void {
  head(6, number);
}

function writeBytes(array: Uint8Array | TypedArray, elementBytes: number): void {
  const length = array.byteLength;
  reserve(length + 9);
  head(2, length);
  buf.set(new Uint8Array(array.buffer, array.byteOffset, length), pos);
  if (!LITTLE_ENDIAN && elementBytes > 1) swapBytes(buf.subarray(pos, pos + length), elementBytes);
  pos += length;
}
