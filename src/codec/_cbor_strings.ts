/**
 * UTF-8 text for the CBOR decoder: short ASCII strings are built in JavaScript (a `TextDecoder`
 * call costs more) and shared through small caches, one for map keys (a table of rows repeats the
 * same few keys, and one string per key also makes property stores cheaper) and one for values (a
 * table repeats its vocabularies: statuses, countries, currencies, names); everything else goes
 * through a fatal `TextDecoder`, so invalid UTF-8 is an error, never replacement characters.
 *
 * The value cache compares bytes, not characters: each slot keeps the UTF-8 bytes of its string
 * as 32-bit words, read from the payload four bytes at a time, so a hit costs about a quarter of
 * the loads of a character-by-character comparison, and short non-ASCII strings ("Müller",
 * "6 × 1 l") are shared too (a slot only ever holds bytes the fatal decoder accepted, so a hit
 * on the same bytes is the same valid string). Measured on the benchmark's 10 MB payloads
 * (bench/read_steps.ts' data, strings alone): 9.7 → 5.0 ms for the rows' 235k strings, 12 → 6 ms
 * for the order records' 201k (8k of them non-ASCII, each a `TextDecoder` call before). The
 * words take 288 KiB, allocated once per process.
 *
 * The value cache is about garbage collection more than CPU: a decoded 10 MB table allocates a
 * third fewer bytes when each repeated string is one string (measured: 23.5 → 16.5 MB retained,
 * GC time inside the decode 31 → 19 ms on the benchmark's rows). Strings are immutable, so sharing
 * them between decoded values (and payloads) is invisible to callers.
 *
 * @module
 */

import { asciiString } from "./_cbor_ascii.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strings up to this many bytes go through the value cache (ASCII ones built in JavaScript). */
const SHORT_TEXT = 32;
/** Keys up to this many bytes (ASCII) go through the cache. */
const MAX_CACHED_KEY = 24;
const KEY_SLOTS = 4096;
const keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

const VALUE_SLOTS = 8192;
const valueCache: (string | undefined)[] = new Array<string | undefined>(VALUE_SLOTS).fill(undefined);
/** Per slot, the UTF-8 bytes of its string as little-endian words: up to 8 whole words, then the rest (0–3 bytes). */
const WORDS_PER_SLOT = SHORT_TEXT / 4 + 1;
const valueWords = new Int32Array(VALUE_SLOTS * WORDS_PER_SLOT);
/** Per slot, the byte length of its string (0 with no string: a string of 0 bytes is never looked up). */
const valueLengths = new Uint8Array(VALUE_SLOTS);

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
/** The payload being decoded, and a `DataView` over exactly its bytes (set by {@link useTextSource}). */
let src: Uint8Array = EMPTY;
let view: DataView = EMPTY_VIEW;

/**
 * Makes `bytes` (and `bytesView`, a `DataView` over exactly them) the payload that
 * {@link decodeText} and {@link decodeKey} read; the decoder sets it for each payload and resets
 * it to an empty one afterwards, so that no payload stays pinned.
 */
export function useTextSource(bytes: Uint8Array, bytesView: DataView): void {
  src = bytes;
  view = bytesView;
}

/**
 * The text of `length` UTF-8 bytes of the current payload at `start`, or `undefined` when they
 * are not valid UTF-8. The caller checked that the `length` bytes are inside the payload.
 */
export function decodeText(start: number, length: number): string | undefined {
  if (length === 0) return "";
  return length <= SHORT_TEXT ? shortText(start, length) : utf8Text(start, length);
}

/** {@link decodeText} of 1 to {@link SHORT_TEXT} bytes, through the value cache. */
function shortText(start: number, length: number): string | undefined {
  // One pass hashes the bytes, four at a time; a repeated value (a status, a country, a name) is
  // then the string decoded last time: no allocation, and one copy of it in the decoded value.
  const words = length >>> 2;
  let hash = length;
  let at = start;
  for (let k = 0; k < words; k++, at += 4) {
    hash = Math.imul(hash ^ view.getInt32(at, true), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  let rest = 0;
  for (let shift = 0, stop = start + length; at < stop; at++, shift += 8) rest |= (src[at] as number) << shift;
  hash = Math.imul(hash ^ rest, 0x5bd1e995);
  const slot = (hash ^ (hash >>> 15)) & (VALUE_SLOTS - 1);
  const base = slot * WORDS_PER_SLOT;
  if (valueLengths[slot] === length) {
    let k = 0;
    while (k < words && valueWords[base + k] === view.getInt32(start + 4 * k, true)) k++;
    const cached = valueCache[slot];
    if (k === words && valueWords[base + words] === rest && cached !== undefined) return cached;
  }
  let bits = rest;
  for (let k = 0; k < words; k++) bits |= valueWords[base + k] = view.getInt32(start + 4 * k, true);
  const text = (bits & 0x80808080) === 0 ? asciiString(src, start, length) : utf8Text(start, length);
  if (text === undefined) {
    // Not valid UTF-8: the slot keeps no string, so these bytes never hit.
    valueLengths[slot] = 0;
    valueCache[slot] = undefined;
    return undefined;
  }
  valueWords[base + words] = rest;
  valueLengths[slot] = length;
  valueCache[slot] = text;
  return text;
}

/** UTF-8 through the fatal `TextDecoder`: `undefined` when invalid. */
function utf8Text(start: number, length: number): string | undefined {
  try {
    return decoder.decode(src.subarray(start, start + length));
  } catch {
    return undefined;
  }
}

/** Like {@link decodeText}, for map keys: short ASCII keys come from the key cache. */
export function decodeKey(start: number, length: number): string | undefined {
  if (length > MAX_CACHED_KEY) return decodeText(start, length);
  let hash = length;
  for (let i = start, stop = start + length; i < stop; i++) {
    const c = src[i] as number;
    if (c >= 0x80) return decodeText(start, length);
    hash = Math.imul(hash ^ c, 0x5bd1e995);
  }
  const slot = (hash ^ (hash >>> 15)) & (KEY_SLOTS - 1);
  const cached = keyCache[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached.charCodeAt(i) === src[start + i]) i++;
    if (i === length) return cached;
  }
  // ASCII, at most MAX_CACHED_KEY (≤ 32) bytes: checked above.
  const key = asciiString(src, start, length);
  keyCache[slot] = key;
  return key;
}
