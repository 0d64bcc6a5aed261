/**
 * Object keys as file paths for `larder/blobs/fs`, and back. Pure string work (no file system),
 * so it is checked with the web-standard core and tested on its own.
 *
 * A key is split on `/`; each segment becomes one directory (or, for the last, one file) whose
 * name is the segment's UTF-8 bytes with everything outside `a–z 0–9 _ -` written as `%XX`
 * (upper-case hex). So a name is always plain ASCII, and:
 *
 * - no name is `.` or `..`, and none holds a separator, NUL or anything a shell or another OS
 *   treats specially: whatever the key, the path stays under the directory;
 * - upper-case letters are escaped too, so keys differing only in case (`A`, `a`) stay apart on
 *   case-insensitive file systems (macOS, Windows), and no Unicode normalisation applies (APFS);
 * - the characters the encoding never produces mark the rest: a file is `<name>.blob`; an empty
 *   segment is `=`; a segment whose encoding is longer than {@link MAX_CHUNK} (file names have at
 *   most 255 bytes) is cut into chunks at escape boundaries, every chunk but the last a directory
 *   named `<chunk>+`; a file being written is `<file name>.tmp-<32 hex digits>`.
 *
 * Each key has exactly one path, and a path that is not exactly the encoding of its key (a file
 * someone else put there, a temporary file) is not an object: {@link keyOfPath} says so.
 *
 * | key                 | path under the directory          |
 * |---------------------|-----------------------------------|
 * | `myapp/3f2a9c`      | `myapp/3f2a9c.blob`               |
 * | `MyApp/a b`         | `%4Dy%41pp/a%20b.blob`            |
 * | `../etc/passwd`     | `%2E%2E/etc/passwd.blob`          |
 * | `a//b/`             | `a/=/b/=.blob`                    |
 *
 * @module
 */

/** Suffix of an object's file. */
export const FILE_SUFFIX = ".blob";
/** Marks a temporary file: `<file name>.tmp-<32 hex>`. */
export const TEMP_MARK = ".tmp-";
/** The name of an empty segment. */
const EMPTY = "=";
/** Ends every chunk of a long segment but the last. */
const CONTINUED = "+";
/**
 * Encoded bytes per name at most: with `.blob` and `.tmp-` + 32 hex digits, a temporary file's
 * name stays within the 255 bytes of ext4, APFS, NTFS and their kind.
 */
export const MAX_CHUNK = 200;

/** In `u` mode a surrogate pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const TEMP_NAME = /\.tmp-[0-9a-f]{32}$/;
const KEPT = /^[a-z0-9_-]$/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

/** The path components of `key` (the last one is the file), or undefined when it has a lone surrogate. */
export function pathOfKey(key: string): string[] | undefined {
  if (LONE_SURROGATE.test(key)) return undefined;
  const components: string[] = [];
  const segments = key.split("/");
  segments.forEach((segment, i) => {
    const chunks = chunksOf(encodeSegment(segment));
    const last = i === segments.length - 1;
    chunks.forEach((chunk, j) => {
      if (j < chunks.length - 1) components.push(chunk + CONTINUED);
      else components.push(last ? chunk + FILE_SUFFIX : chunk);
    });
  });
  return components;
}

/**
 * The directory components that hold every key starting with `prefix`: those of its segments
 * before the last `/` (all keys under them, and only those, can start with the prefix).
 */
export function directoryOfPrefix(prefix: string): string[] | undefined {
  if (LONE_SURROGATE.test(prefix)) return undefined;
  const segments = prefix.split("/").slice(0, -1);
  return segments.flatMap((segment) => {
    const chunks = chunksOf(encodeSegment(segment));
    return chunks.map((chunk, j) => (j < chunks.length - 1 ? chunk + CONTINUED : chunk));
  });
}

/** What a directory entry's name is, as the walk meets it. */
export type EntryKind = "file" | "directory" | "temporary" | "foreign";

/** Classifies a directory entry's name (`isDirectory`: as the file system reports it). */
export function kindOfName(name: string, isDirectory: boolean): EntryKind {
  if (isDirectory) return /^([a-z0-9_-]|%[0-9A-F]{2})+\+?$|^=$/.test(name) ? "directory" : "foreign";
  if (TEMP_NAME.test(name)) return "temporary";
  return name.endsWith(FILE_SUFFIX) ? "file" : "foreign";
}

/**
 * The key of a path found under the directory (its components from the directory down), or
 * undefined when the path is not exactly the encoding of a key.
 */
export function keyOfPath(components: readonly string[]): string | undefined {
  const segments: string[] = [];
  let pending = "";
  for (const [i, component] of components.entries()) {
    const last = i === components.length - 1;
    let name = component;
    if (last) {
      if (!name.endsWith(FILE_SUFFIX)) return undefined;
      name = name.slice(0, -FILE_SUFFIX.length);
    } else if (name.endsWith(CONTINUED)) {
      pending += name.slice(0, -CONTINUED.length);
      continue;
    }
    const segment = decodeSegment(pending + (name === EMPTY && pending === "" ? "" : name));
    if (segment === undefined) return undefined;
    segments.push(segment);
    pending = "";
  }
  const key = segments.join("/");
  // Only the canonical path of a key is that key's object (no second spelling of any key).
  const canonical = pathOfKey(key);
  return canonical !== undefined && canonical.length === components.length &&
      canonical.every((c, i) => c === components[i])
    ? key
    : undefined;
}

/** A temporary file's name for the object file `name`; `random` is 16 random bytes. */
export function temporaryName(name: string, random: Uint8Array): string {
  let hex = "";
  for (const byte of random) hex += byte.toString(16).padStart(2, "0");
  return `${name}${TEMP_MARK}${hex}`;
}

function encodeSegment(segment: string): string {
  if (segment === "") return EMPTY;
  let out = "";
  for (const char of segment) {
    if (KEPT.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

function decodeSegment(encoded: string): string | undefined {
  if (encoded === "") return "";
  if (!/^([a-z0-9_-]|%[0-9A-F]{2})+$/.test(encoded)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%") {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** Cuts an encoded segment into chunks of at most {@link MAX_CHUNK} bytes, never inside an escape. */
function chunksOf(encoded: string): string[] {
  const chunks: string[] = [];
  let rest = encoded;
  while (rest.length > MAX_CHUNK) {
    let cut = MAX_CHUNK;
    // `%XX` spans three characters: do not cut after its `%` or its first digit.
    if (rest[cut - 1] === "%") cut -= 1;
    else if (rest[cut - 2] === "%") cut -= 2;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  chunks.push(rest);
  return chunks;
}
