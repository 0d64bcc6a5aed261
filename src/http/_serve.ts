/**
 * Answers from a stored response: its status and headers, the body as stored when the client
 * accepts its compression (`Content-Encoding: zstd` or `gzip`, no decompression) or decoded
 * otherwise, a strong `ETag` derived from the stored payload's checksum (unless the handler set
 * its own; for an encrypted entry, the checksum of the payload decrypted, so that a rewrite of the
 * same response keeps its validator although its ciphertext, under a new IV, is new), `304 Not Modified` on a matching `If-None-Match`, `Age` (counting the age the
 * response had when stored), the route's `Vary`, and the cache's
 * `Cache-Status` and `Server-Timing` entries.
 *
 * @module
 */
import type { StoredEntry } from "../core/flow/lookup.ts";
import { inflatePayload, type PayloadConfig } from "../core/record/entry.ts";
import { sha256Hex } from "../core/util/bytes.ts";
import { addVary } from "./_answer.ts";
import type { StoredHead } from "./_meta.ts";

/** How to answer from a stored response. */
export interface StoredAnswer {
  /** The stored entry (its record and verified bytes). */
  readonly stored: StoredEntry;
  /** Its status and headers. */
  readonly head: StoredHead;
  /** The request being answered. */
  readonly request: Request;
  /** Payload settings, to decode for clients that do not accept the stored compression. */
  readonly payload: PayloadConfig;
  /** Request headers the key varies on (added to `Vary`). */
  readonly vary: readonly string[];
  /** Send headers only (HEAD). */
  readonly headOnly: boolean;
  /** Now, ms since the epoch. */
  readonly now: number;
  /** The `Cache-Status` parameters of this answer, e.g. `hit; ttl=60; detail=inline`. */
  readonly cacheStatus: string;
  /** The `Server-Timing` entry of this answer. */
  readonly serverTiming: string;
}

/** Headers a 304 carries (RFC 9110 §15.4.5), besides the cache's own. */
const NOT_MODIFIED_HEADERS = new Set(["cache-control", "content-location", "date", "etag", "expires", "vary"]);

/** The response for a stored entry. Rejects only when decoding a stored body fails. */
export async function answerFromStore(answer: StoredAnswer): Promise<Response> {
  const { stored, head, request } = answer;
  const headers = new Headers();
  for (const [name, value] of head.headers) headers.append(name, value);
  const compression = stored.record.z;
  const passThrough = compression === "none" || accepts(request.headers.get("accept-encoding"), compression);
  const etag = headers.get("etag") ?? `"${(await plainChecksum(stored)).slice(0, 32)}"`;
  const encodedEtag = compression === "none" ? etag : suffixed(etag, compression);
  headers.set("etag", passThrough ? encodedEtag : etag);
  addVary(headers, [...answer.vary, ...(compression === "none" ? [] : ["accept-encoding"])]);
  // Its age when stored (a received Age, or the apparent age from Date) plus its time here (RFC 9111 §4.2.3).
  headers.set("age", String(Math.max(0, Math.floor((head.ageMs + answer.now - stored.record.t) / 1000))));
  headers.append("cache-status", `Larder; ${answer.cacheStatus}`);
  headers.append("server-timing", answer.serverTiming);

  if (matches(request.headers.get("if-none-match"), [etag, encodedEtag])) {
    for (const [name] of [...headers]) {
      if (!NOT_MODIFIED_HEADERS.has(name) && !["age", "cache-status", "server-timing"].includes(name)) {
        headers.delete(name);
      }
    }
    return new Response(null, { status: 304, headers });
  }
  const body = passThrough ? stored.bytes : await inflatePayload(stored.record, stored.bytes, answer.payload);
  if (passThrough && compression !== "none") headers.set("content-encoding", compression);
  headers.set("content-length", String(body.byteLength));
  // workerd compresses a body itself when Content-Encoding is set, unless told it already is.
  const init = { status: head.status, headers, encodeBody: "manual" } as ResponseInit;
  return new Response(answer.headOnly ? null : body as Uint8Array<ArrayBuffer>, init);
}

/**
 * The checksum of the payload as it would be stored without encryption: the record's own, or for
 * a sealed payload (whose record checksums the ciphertext, which a new IV makes new on every
 * write) the SHA-256 of the bytes decrypted. Clients receive those bytes, so it tells them nothing
 * more; it is never stored.
 */
async function plainChecksum(stored: StoredEntry): Promise<string> {
  return stored.record.y === undefined ? stored.record.h : await sha256Hex(stored.bytes);
}

/** Whether an `Accept-Encoding` value accepts `coding` (q > 0, by name or by `*`). */
export function accepts(acceptEncoding: string | null, coding: string): boolean {
  let wildcard = false;
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name = "", ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const acceptable = q === undefined || Number(q.slice(2)) > 0;
    if (name === coding) return acceptable;
    if (name === "*") wildcard = acceptable;
  }
  return wildcard;
}

/** `"abc"` → `"abc-zstd"` (`W/` kept): the validator of the encoded representation. */
function suffixed(etag: string, suffix: string): string {
  return etag.endsWith('"') ? `${etag.slice(0, -1)}-${suffix}"` : `${etag}-${suffix}`;
}

/** Weak comparison (RFC 9110 §13.1.2): any listed tag, or `*`, matches one of `etags`. */
function matches(ifNoneMatch: string | null, etags: readonly string[]): boolean {
  if (ifNoneMatch === null) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, "");
  const mine = new Set(etags.map(opaque));
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || mine.has(opaque(tag)));
}
