/**
 * Reading a response body for storage without holding the answer back: the body is split (tee)
 * so that the client receives it as it is produced while the cache reads its own copy, at most
 * `maxBytes` of it. Past that the cache's copy is cancelled (the client's is untouched) and the
 * write is skipped with a `TooLargeError`, counted and logged by the background writer.
 *
 * @module
 */
import { concatBytes, readAll } from "../core/util/bytes.ts";
import { TooLargeError } from "../core/errors.ts";

/** The two uses of one body: the client's stream and the cache's bytes. */
export interface SplitBody {
  /** What to send (null when nothing is: HEAD, or a background refresh). */
  readonly client: ReadableStream<Uint8Array> | null;
  /** The whole body, or a rejection (too large, or the handler's stream failed). Never unhandled. */
  readonly stored: Promise<Uint8Array>;
}

/** Splits `body` between the client (when `forClient`) and the cache (at most `maxBytes`). */
export function splitBody(body: ReadableStream<Uint8Array> | null, maxBytes: number, forClient: boolean): SplitBody {
  let client: ReadableStream<Uint8Array> | null = null;
  let mine = body;
  if (body && forClient) [client, mine] = body.tee();
  const stored = readBounded(mine, maxBytes);
  // Awaited later by the background write; until then a rejection must not count as unhandled.
  stored.catch(() => {});
  return { client, stored };
}

/** Reads `body` whole into one `Uint8Array`, refusing (and cancelling it) past `maxBytes`. */
async function readBounded(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const { chunks, total } = await readAll(body.getReader(), (total) => {
    if (total > maxBytes) {
      throw new TooLargeError(`response body is over maxValueBytes (${maxBytes} bytes): not cached`);
    }
  });
  // A plain Uint8Array even for one chunk (a runtime may hand out a subclass, e.g. Node's Buffer):
  // encodePayload stores exactly those as raw bytes.
  return chunks.length === 1 ? new Uint8Array(chunks[0]!) : concatBytes(chunks, total);
}
