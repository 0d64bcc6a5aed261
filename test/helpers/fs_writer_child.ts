/**
 * A writer process for the fs blob store's crash and concurrency tests
 * (test/conformance/_fs_specifics.ts): it writes one key again and again with
 * {@link versionBytes}, each version telling who wrote it and which version it is, so a reader
 * can tell a whole version from a torn or partial one ({@link checkVersion}).
 *
 * Started with `fork()` (`--import tsx`); its one argument is a JSON {@link WriterConfig}. It says
 * `ready`, starts writing on `go` (so that several writers start together), and exits after
 * `versions` writes (0: writes until killed), or when its parent goes away.
 *
 * @module
 */
import process from "node:process";
import { fsBlobStore } from "../../src/blobs/fs.ts";

/** What the test tells the writer. */
export interface WriterConfig {
  /** The store's directory. */
  readonly dir: string;
  /** The key every write goes to. */
  readonly key: string;
  /** This writer's number (1…), written into every version. */
  readonly writer: number;
  /** Writes to make; 0 for no end. */
  readonly versions: number;
  /** Size of each version. A multiple of 4. */
  readonly bytes: number;
}

/**
 * The bytes of version `version` by writer `writer`: 32-bit words, each a function of its index,
 * the writer and the version, so that any two versions differ in every word (a mix of two is
 * found wherever they meet) and a prefix has the wrong size.
 */
export function versionBytes(writer: number, version: number, bytes: number): Uint8Array {
  const words = new Uint32Array(bytes / 4);
  const tag = writer * 1_000_003 + version;
  words[0] = writer;
  words[1] = version;
  for (let i = 2; i < words.length; i++) words[i] = (Math.imul(i, 2654435761) + tag) >>> 0;
  return new Uint8Array(words.buffer);
}

/** The writer and version of `body` when it is exactly one whole version of `bytes` bytes; throws otherwise. */
export function checkVersion(body: Uint8Array, bytes: number): { writer: number; version: number } {
  if (body.byteLength !== bytes) throw new Error(`partial object: ${body.byteLength} of ${bytes} bytes`);
  const words = new Uint32Array(body.slice().buffer);
  const writer = words[0]!;
  const version = words[1]!;
  const tag = writer * 1_000_003 + version;
  for (let i = 2; i < words.length; i++) {
    if (words[i] !== (Math.imul(i, 2654435761) + tag) >>> 0) {
      throw new Error(`torn object: word ${i} is not writer ${writer}'s version ${version}`);
    }
  }
  return { writer, version };
}

if (process.send !== undefined && process.argv[2] !== undefined) {
  const config = JSON.parse(process.argv[2]) as WriterConfig;
  process.on("disconnect", () => process.exit(0));
  const blobs = fsBlobStore({ dir: config.dir });
  await new Promise<void>((go) => {
    process.once("message", () => go());
    process.send!("ready");
  });
  for (let version = 1; config.versions === 0 || version <= config.versions; version++) {
    await blobs.put(config.key, versionBytes(config.writer, version, config.bytes));
  }
  process.exit(0);
}
