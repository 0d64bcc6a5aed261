/**
 * Reads a zstd frame header (RFC 8878 §3.1.1) in plain TypeScript, so that a payload's declared
 * size is checked against the caller's limit before a single byte is handed to WASM.
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";

/** The fields of a zstd frame header that decide whether and how to decompress it. */
export interface ZstdFrameHeader {
  /** Decompressed size declared by the frame, or `undefined` when the frame does not declare it. */
  readonly contentSize: number | undefined;
  /** Window size the frame needs, in bytes (equal to `contentSize` for single-segment frames). */
  readonly windowSize: number | undefined;
  /** Whether the frame ends with a content checksum. */
  readonly checksum: boolean;
  /** Length of the header in bytes (magic number included). */
  readonly headerBytes: number;
}

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const; // 0xFD2FB528, little-endian
/** Largest window a zstd decoder is required to support on 32-bit targets (wasm32). */
const MAX_WINDOW_LOG = 31;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;

/** Parses the frame header at the start of `bytes`; throws a `CodecError` when it is not one we can decode. */
export function readZstdFrameHeader(bytes: Uint8Array): ZstdFrameHeader {
  if (bytes.length < 6) throw malformed(`${bytes.length} bytes is too short for a zstd frame`);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2] || bytes[3] !== MAGIC[3]) {
    // Skippable frames (magic 0x184D2A5?) are valid zstd but carry no data; we never write them.
    const skippable = ((bytes[0] as number) & 0xf0) === 0x50 && bytes[1] === 0x2a && bytes[2] === 0x4d &&
      bytes[3] === 0x18;
    throw malformed(skippable ? "payload starts with a skippable frame" : "bad magic number");
  }
  const descriptor = bytes[4] as number;
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  if ((descriptor & 0x08) !== 0) throw malformed("reserved bit set in the frame header descriptor");
  const checksum = (descriptor & 0x04) !== 0;
  const dictionaryIdFlag = descriptor & 0x03;

  let position = 5;
  let windowSize: number | undefined;
  if (!singleSegment) {
    const windowDescriptor = bytes[position++] as number;
    const windowLog = 10 + (windowDescriptor >> 3);
    if (windowLog > MAX_WINDOW_LOG) throw malformed(`window of 2^${windowLog} bytes`);
    const base = 2 ** windowLog;
    windowSize = base + (base / 8) * (windowDescriptor & 0x07);
  }
  const dictionaryIdBytes = DICTIONARY_ID_BYTES[dictionaryIdFlag] as number;
  const contentSizeBytes = contentSizeFlag === 0 && singleSegment ? 1 : CONTENT_SIZE_BYTES[contentSizeFlag] as number;
  const headerBytes = position + dictionaryIdBytes + contentSizeBytes;
  // Every frame has at least one 3-byte block header after its frame header.
  if (bytes.length < headerBytes + 3) throw malformed("truncated frame");

  const dictionaryId = readLittleEndian(bytes, position, dictionaryIdBytes);
  // We never compress with a dictionary, so a frame that needs one is not ours.
  if (dictionaryId !== 0) throw malformed(`frame needs dictionary ${dictionaryId}`);
  position += dictionaryIdBytes;

  let contentSize: number | undefined;
  if (contentSizeBytes > 0) {
    contentSize = readLittleEndian(bytes, position, contentSizeBytes);
    if (contentSizeBytes === 2) contentSize += 256;
  }
  if (singleSegment) windowSize = contentSize;
  return { contentSize, windowSize, checksum, headerBytes };
}

// Up to 8 bytes as a number: exact below 2^53, and above that still larger than any limit we compare it to.
function readLittleEndian(bytes: Uint8Array, start: number, length: number): number {
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 256 + (bytes[start + i] as number);
  return value;
}

function malformed(reason: string): CodecError {
  return new CodecError(`zstd: malformed payload (${reason})`);
}
