/**
 * UTF-8 text for the CBOR decoder: short ASCII strings are built in JavaScript (a `TextDecoder`
 * call costs more), map keys are shared through a small cache (a table of rows repeats the same
 * few keys, and one string per key also makes property stores cheaper), and everything else goes
 * through a fatal `TextDecoder`, so invalid UTF-8 is an error, never replacement characters.
 *
 * @module
 */

import { asciiString } from "./_cbor_ascii.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const fromCharCode = String.fromCharCode;

/** Strings up to this many bytes are tried as ASCII in JavaScript first. */
const SHORT_TEXT = 32;
/** Keys up to this many bytes (ASCII) go through the cache. */
const MAX_CACHED_KEY = 24;
const KEY_SLOTS = 4096;
const keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

/** The text of `length` UTF-8 bytes of `src` at `start`, or `undefined` when they are not valid UTF-8. */
export function decodeText(src: Uint8Array, start: number, length: number): string | undefined {
  if (length <= SHORT_TEXT) {
    const ascii = asciiText(src, start, length);
    if (ascii !== undefined) return ascii;
  }
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
  const key = asciiText(src, start, length) as string;
  keyCache[slot] = key;
  return key;
}

/** The text of `length` ASCII bytes, or `undefined` if one of them is not ASCII. */
function asciiText(src: Uint8Array, start: number, length: number): string | undefined {
  let bits = 0;
  for (let i = start, stop = start + length; i < stop; i++) bits |= src[i] as number;
  if (bits >= 0x80) return undefined;
  return length <= SHORT_TEXT
    ? asciiString(src, start, length)
    : fromCharCode.apply(null, src.subarray(start, start + length) as unknown as number[]);
}
