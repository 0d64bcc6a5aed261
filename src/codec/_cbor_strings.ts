/**
 * UTF-8 text for the CBOR decoder: short ASCII strings are built in JavaScript (a `TextDecoder`
 * call costs more than the loop), map keys are shared through a small cache (a table of rows
 * repeats the same few keys, and one string per key also makes property stores cheaper), and
 * everything else goes through a fatal `TextDecoder`, so invalid UTF-8 is an error, never
 * replacement characters.
 *
 * @module
 */

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
  switch (length) {
    case 0:
      return "";
    case 1: {
      const a = src[start] as number;
      return a < 0x80 ? fromCharCode(a) : undefined;
    }
    case 2: {
      const a = src[start] as number, b = src[start + 1] as number;
      return (a | b) < 0x80 ? fromCharCode(a, b) : undefined;
    }
    case 3: {
      const a = src[start] as number, b = src[start + 1] as number, c = src[start + 2] as number;
      return (a | b | c) < 0x80 ? fromCharCode(a, b, c) : undefined;
    }
    case 4: {
      const a = src[start] as number, b = src[start + 1] as number, c = src[start + 2] as number;
      const d = src[start + 3] as number;
      return (a | b | c | d) < 0x80 ? fromCharCode(a, b, c, d) : undefined;
    }
  }
  let text = "";
  let i = start;
  const stop = start + length;
  for (; i + 8 <= stop; i += 8) {
    const a = src[i] as number, b = src[i + 1] as number, c = src[i + 2] as number, d = src[i + 3] as number;
    const e = src[i + 4] as number, f = src[i + 5] as number, g = src[i + 6] as number, h = src[i + 7] as number;
    if ((a | b | c | d | e | f | g | h) >= 0x80) return undefined;
    text += fromCharCode(a, b, c, d, e, f, g, h);
  }
  for (; i < stop; i++) {
    const a = src[i] as number;
    if (a >= 0x80) return undefined;
    text += fromCharCode(a);
  }
  return text;
}
