/**
 * Byte helpers on web-standard APIs only: SHA-256 (in JS for short inputs, WebCrypto for long
 * ones), base64 without `Buffer`, concatenation.
 *
 * @module
 */
import { sha256 } from "./sha256.ts";

/** The package's one hex table: each byte value as two lower-case hexadecimal digits. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/** A byte as two lower-case hexadecimal digits (`undefined`, past the end of an array, as `00`). */
export function hexByte(byte: number | undefined): string {
  return HEX[(byte ?? 0) & 0xff] as string;
}

/**
 * Inputs up to this size are hashed synchronously: cheaper than WebCrypto's thread-pool hop.
 * Measured (bench/sha256.ts, Node 20, p50): at 4 KiB the JS hash takes 19.7 µs, WebCrypto 24 µs
 * (18–26 µs from 64 B to 4 KiB: the hop); at 16 KiB 77 µs against 41–57 µs. The crossover is
 * near 5 KiB; below it WebCrypto's time is mostly waiting, above it the JS hash's is all CPU.
 */
const SYNC_HASH_MAX_BYTES = 4096;

/** SHA-256 of `bytes`, as 64 lower-case hex characters. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (bytes.length <= SYNC_HASH_MAX_BYTES) return toHex(sha256(bytes));
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}

const CHUNK = 0x8000;

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  // String.fromCharCode over chunks keeps the argument list under engines' limits.
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/** Decodes standard base64; throws on malformed input. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** `chunks` joined into one array of `total` bytes (the only chunk itself when there is one). */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteLength === total) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads `reader` to its end. `admit(total)` runs before each chunk is kept, with the total the
 * chunk would bring: it may wait (the chunk is held, nothing more is read), or throw to stop, and
 * then the reader is cancelled with the error (not awaited: cancelling one branch of a tee settles
 * only once the other branch is cancelled too) and the error is rethrown.
 */
export async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  admit: (total: number) => void | Promise<void>,
): Promise<{ chunks: Uint8Array[]; total: number }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, total };
      await admit(total + value.byteLength);
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw error;
  }
}
