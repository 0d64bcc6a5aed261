/**
 * The little XML the S3 adapter reads and writes: ListObjects pages, DeleteObjects requests
 * and their results. S3's documents are flat and machine-written, so each field is found by
 * element name; what matters is exact text: entities and character references decoded in one
 * pass (`&amp;lt;` is the text `&lt;`), CDATA kept literally, line ends normalised as XML
 * parsers do, and anything malformed refused rather than guessed.
 *
 * @module
 */
import { BlobError } from "../core/errors.ts";
import type { BlobObject } from "../core/types.ts";

/** One ListObjects page. */
export interface ListResult {
  /** The listed objects, in the server's order. */
  readonly objects: BlobObject[];
  /** The marker of the next page (`NextMarker`, else the last key), when the listing is truncated. */
  readonly next: string | undefined;
}

/** Parses a ListObjects (version 1) result (`<ListBucketResult>`). Throws a `BlobError` when malformed. */
export function parseListResult(xml: string): ListResult {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw malformed("list", "no ListBucketResult element");
  const objects = elements(xml, "Contents").map((contents): BlobObject => {
    const key = only(contents, "Key");
    const size = Number(only(contents, "Size"));
    const lastModified = Date.parse(only(contents, "LastModified"));
    if (!Number.isSafeInteger(size) || size < 0) throw malformed("list", "an object has no valid Size");
    if (!Number.isFinite(lastModified)) throw malformed("list", "an object has no valid LastModified");
    return { key, size, lastModified };
  });
  const truncated = optional(xml, "IsTruncated")?.trim();
  if (truncated !== undefined && truncated !== "true" && truncated !== "false") {
    throw malformed("list", "IsTruncated is neither true nor false");
  }
  let next: string | undefined;
  if (truncated === "true") {
    // Without a delimiter S3 sends no NextMarker: the next page starts after the last key.
    next = optional(xml, "NextMarker") || objects.at(-1)?.key;
    if (!next) throw malformed("list", "a truncated listing names no next marker and no object");
  }
  return { objects, next };
}

/** The keys a DeleteObjects result (`<DeleteResult>`) reports as not deleted, with their codes. */
export function parseDeleteResult(xml: string): { key: string; code: string }[] {
  if (!/<DeleteResult[\s>/]/.test(xml)) throw malformed("deleteMany", "no DeleteResult element");
  return elements(xml, "Error").map((error) => ({
    key: only(error, "Key"),
    code: optional(error, "Code") ?? "UnknownError",
  }));
}

/** The body of a quiet DeleteObjects request for `keys` (each must pass {@link isXmlSafe}). */
export function deleteRequestBody(keys: readonly string[]): string {
  const objects = keys.map((key) => `<Object><Key>${escapeXml(key)}</Key></Object>`).join("");
  return `<?xml version="1.0" encoding="UTF-8"?>` +
    `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects}</Delete>`;
}

// XML 1.0 cannot carry these characters at all, not even as references, nor lone surrogates.
const NOT_XML =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` can be written in an XML 1.0 document. */
export function isXmlSafe(text: string): boolean {
  return !NOT_XML.test(text);
}

/** Escapes `text` for element content; whitespace other than spaces as references, so it survives normalisation. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The text content of an element: CDATA literally, references decoded, line ends normalised. Throws on bad references. */
export function decodeXmlText(raw: string): string {
  let out = "";
  const pattern = /<!\[CDATA\[([\s\S]*?)\]\]>/g;
  let last = 0;
  for (const match of raw.matchAll(pattern)) {
    out += decodeReferences(raw.slice(last, match.index));
    out += normaliseLineEnds(match[1]!);
    last = match.index + match[0].length;
  }
  return out + decodeReferences(raw.slice(last));
}

function decodeReferences(text: string): string {
  if (text.includes("<")) throw malformed("xml", "unexpected markup inside a text element");
  return normaliseLineEnds(text).replace(/&([^;&\s]{0,10});?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) throw malformed("xml", "an unterminated character reference");
    const named = NAMED[name];
    if (named !== undefined) return named;
    const code = /^#x[0-9a-f]{1,6}$/i.test(name)
      ? parseInt(name.slice(2), 16)
      : /^#[0-9]{1,7}$/.test(name)
      ? Number(name.slice(1))
      : Number.NaN;
    if (!(code >= 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
      throw malformed("xml", `an unknown or invalid reference "&${name.slice(0, 10)};"`);
    }
    return String.fromCodePoint(code);
  });
}

function normaliseLineEnds(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** The raw contents of every `<name>…</name>` (or `<name/>`) in `xml`. Same-name nesting is not expected in S3 documents. */
function elements(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? "");
}

/** The decoded text of the first `<name>` in `xml`, or undefined. */
function optional(xml: string, name: string): string | undefined {
  const [raw] = elements(xml, name);
  return raw === undefined ? undefined : decodeXmlText(raw);
}

/** The decoded text of the one `<name>` in `xml`; throws when it is missing. */
function only(xml: string, name: string): string {
  const value = optional(xml, name);
  if (value === undefined) throw malformed("xml", `an element has no ${name}`);
  return value;
}

function malformed(operation: string, detail: string): BlobError {
  return new BlobError(`s3 ${operation}: malformed response: ${detail}`);
}
