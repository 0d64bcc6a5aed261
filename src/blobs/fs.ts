/**
 * Blobs in a local directory, for development and single-host deployments on Node, Bun and Deno
 * (which run `node:fs`; Deno needs `--allow-read` and `--allow-write` for the directory). Not for
 * Workers, and not shared between hosts: every instance that shares entries must see the same
 * directory (a network file system works if its `rename` is atomic).
 *
 * Writes are atomic: the bytes go to a temporary file beside the object's, are flushed to disk
 * (`fsync`), then renamed over it. A reader sees the old object or the new one, whole, never a
 * part of one, even when the writer crashes half-way or several write the same key at once (the
 * last rename wins). A crashed writer leaves its temporary file (`*.tmp-<hex>`): reads and
 * listings ignore it, and `list` (so `cache.cleanup()`) removes those older than
 * `staleTempAfter`.
 *
 * Keys become paths that never leave the directory, whatever they hold (`..`, `/` at the start,
 * backslashes, NUL, any Unicode): each `/`-separated segment is one directory or file whose
 * name is escaped to `a–z 0–9 _ -` and `%XX`, so distinct keys are distinct files even on
 * case-insensitive file systems (the mapping is in `_fs_paths.ts`).
 *
 * @example
 * ```ts
 * import { fsBlobStore } from "larder/blobs/fs";
 *
 * const blobs = fsBlobStore({ dir: ".cache/larder" }); // created on the first write
 * await blobs.put("reports/2024", new TextEncoder().encode("a large payload"));
 * console.log(new TextDecoder().decode((await blobs.get("reports/2024"))!)); // "a large payload"
 * console.log((await blobs.list!("reports/")).objects.map((o) => o.key)); // ["reports/2024"]
 * await blobs.delete("reports/2024");
 * ```
 *
 * As the cache's blob store: `createCache({ store, blobs: fsBlobStore({ dir: "/var/cache/myapp" }) })`.
 *
 * @module
 */
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import type { Duration } from "../core/util/durations.ts";
import { BlobError, ConfigError, isCacheError } from "../core/errors.ts";
import type * as roles from "../core/types.ts";
import * as opt from "../core/util/check_options.ts";
import { Expectation } from "./_expected.ts";
import { directoryOfPrefix, keyOfPath, kindOfName, pathOfKey, temporaryName } from "./_fs_paths.ts";
import { checkDeleteKeys, checkListArgs, compareCodePoints } from "./_listing.ts";
import { quoteKey } from "./_s3.ts";

/** Options of {@link fsBlobStore}. */
export interface FsBlobStoreOptions {
  /**
   * The directory that holds the objects, created (with its parents) on the first write. A
   * relative path is resolved against the working directory when the store is created.
   */
  dir: string;
  /**
   * Objects larger than this are refused by `get` (a `TooLargeError`) before being read. A `get`
   * with an expected size (as the cache's reads have) holds at most that size. @default 134217728 (128 MiB)
   */
  maxObjectBytes?: number;
  /**
   * Temporary files older than this are taken as left by a writer that crashed, and removed by
   * `list` when it walks past them. Longer than any write can take. @default "15m"
   */
  staleTempAfter?: Duration;
}

const WHERE = "fsBlobStore";

const OPTIONS = {
  dir: opt.satisfying<string>(
    (v) => typeof v === "string" && v !== "" && !v.includes("\0"),
    'the path of a directory (required), e.g. fsBlobStore({ dir: ".cache/larder" })',
  ),
  maxObjectBytes: opt.withDefault(opt.positiveInteger, 128 * 1024 * 1024),
  staleTempAfter: opt.withDefault(opt.duration, "15m"),
} satisfies opt.OptionChecks<FsBlobStoreOptions>;
/** Bytes per read or write call: an abort is noticed between two. */
const CHUNK = 1024 * 1024;
/** Files removed at once by `deleteMany`. */
const DELETE_CONCURRENCY = 16;
/** Error codes meaning "no such file" (ENOTDIR: a path component is a file, so the object cannot exist). */
const MISSING = new Set(["ENOENT", "ENOTDIR"]);

/** Creates a {@link roles.BlobStore} (name `"fs"`) over a local directory. */
export function fsBlobStore(options: FsBlobStoreOptions): roles.BlobStore {
  if (options === undefined) throw new ConfigError(`${WHERE}: options are required: fsBlobStore({ dir: "…" })`);
  const { dir, maxObjectBytes, staleTempAfter: staleTempMs } = opt.checkOptions(WHERE, options, OPTIONS);
  const root = resolve(dir);
  const rootPrefix = root.endsWith(sep) ? root : root + sep;

  function fileOf(operation: string, key: unknown): string {
    if (typeof key !== "string" || key.length === 0) {
      throw new BlobError(`fs ${operation}: key must be a non-empty string`);
    }
    const components = pathOfKey(key);
    if (components === undefined) {
      throw new BlobError(`fs ${operation}: key is not well-formed Unicode (lone surrogate)`);
    }
    const file = join(root, ...components);
    // The encoding never yields a separator, `.` or `..`; this only makes sure of it.
    if (!file.startsWith(rootPrefix)) {
      throw new BlobError(`fs ${operation}: key ${quoteKey(key)} maps outside the directory`);
    }
    return file;
  }

  function failure(operation: string, key: string | undefined, cause: unknown): BlobError {
    const code = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
    const target = key === undefined ? "" : ` ${quoteKey(key)}`;
    return new BlobError(`fs ${operation}${target} (dir ${root}) failed: ${code}`, { cause });
  }

  async function removeFile(file: string): Promise<void> {
    try {
      await unlink(file);
    } catch (error) {
      if (!MISSING.has(errorCode(error) ?? "")) throw error;
    }
  }

  return {
    name: "fs",

    async put(key: string, body: Uint8Array, callOptions?: roles.CallOptions): Promise<void> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      if (!(body instanceof Uint8Array)) throw new BlobError("fs put: body must be a Uint8Array");
      const file = fileOf("put", key);
      const parent = dirname(file);
      const temp = join(parent, temporaryName(basename(file), crypto.getRandomValues(new Uint8Array(16))));
      try {
        await mkdir(parent, { recursive: true });
        // "wx": a fresh file of our own, never one another writer has open.
        const handle = await open(temp, "wx");
        try {
          for (let offset = 0; offset < body.byteLength;) {
            signal?.throwIfAborted();
            const { bytesWritten } = await handle.write(body, offset, Math.min(CHUNK, body.byteLength - offset));
            offset += bytesWritten;
          }
          // On disk before it gets the object's name: after a power cut, the name never points
          // at a file whose blocks were not written yet.
          await handle.sync();
        } finally {
          await handle.close();
        }
        signal?.throwIfAborted();
        await rename(temp, file);
      } catch (error) {
        await unlink(temp).catch(() => {});
        if (signal?.aborted) throw signal.reason;
        throw failure("put", key, error);
      }
      await syncDirectory(parent);
    },

    async get(key: string, callOptions?: roles.BlobGetOptions): Promise<Uint8Array | null> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      const file = fileOf("get", key);
      const expected = new Expectation(callOptions?.expectedBytes, maxObjectBytes);
      let handle;
      try {
        handle = await open(file, "r");
      } catch (error) {
        if (MISSING.has(errorCode(error) ?? "")) return null;
        if (signal?.aborted) throw signal.reason;
        throw failure("get", key, error);
      }
      try {
        // The open file is one version of the object (a rename replaces the name, not the
        // file), so its size holds until it is read.
        const { size } = await handle.stat();
        if (size > expected.limit && !expected.settled && size <= expected.maxBytes) await expected.known(signal);
        if (size > expected.limit) throw expected.refusal("fs get", size);
        const bytes = new Uint8Array(size);
        let filled = 0;
        while (filled < size) {
          signal?.throwIfAborted();
          const { bytesRead } = await handle.read(bytes, filled, Math.min(CHUNK, size - filled), filled);
          // Shortened by someone else: return what there is; the caller verifies size and checksum.
          if (bytesRead === 0) return bytes.slice(0, filled);
          filled += bytesRead;
        }
        return bytes;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isCacheError(error)) throw error;
        throw failure("get", key, error);
      } finally {
        await handle.close().catch(() => {});
      }
    },

    async delete(key: string, callOptions?: roles.CallOptions): Promise<void> {
      callOptions?.signal?.throwIfAborted();
      const file = fileOf("delete", key);
      try {
        await removeFile(file);
      } catch (error) {
        throw failure("delete", key, error);
      }
    },

    async list(prefix: string, listOptions?: roles.BlobListOptions): Promise<roles.BlobListPage> {
      const { limit, cursor } = checkListArgs("fs", prefix, listOptions);
      const signal = listOptions?.signal;
      signal?.throwIfAborted();
      const base = directoryOfPrefix(prefix);
      // A prefix no key can have (a lone surrogate) lists nothing.
      if (base === undefined) return { objects: [] };
      const found = new Smallest(limit + 1);
      const walk = async (path: string, components: readonly string[]): Promise<void> => {
        signal?.throwIfAborted();
        let entries;
        try {
          entries = await readdir(path, { withFileTypes: true });
        } catch (error) {
          if (MISSING.has(errorCode(error) ?? "")) return;
          throw error;
        }
        for (const entry of entries) {
          const name = entry.name;
          const kind = kindOfName(name, entry.isDirectory());
          if (kind === "directory") await walk(join(path, name), [...components, name]);
          else if (kind === "temporary") await removeIfStale(join(path, name), staleTempMs);
          else if (kind === "file") {
            const key = keyOfPath([...components, name]);
            if (key === undefined || !key.startsWith(prefix)) continue;
            if (cursor !== undefined && compareCodePoints(key, cursor) <= 0) continue;
            found.add(key, join(path, name));
          }
        }
      };
      try {
        await walk(join(root, ...base), base);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw failure("list", undefined, error);
      }
      const candidates = found.sorted();
      const page = candidates.slice(0, limit);
      const described = await Promise.all(page.map(async ({ key, file }): Promise<roles.BlobObject | undefined> => {
        try {
          const info = await stat(file);
          return { key, size: info.size, lastModified: Math.floor(info.mtimeMs) };
        } catch {
          return undefined; // deleted since the walk
        }
      }));
      const objects = described.filter((object) => object !== undefined);
      const last = page.at(-1);
      return candidates.length > limit && last ? { objects, cursor: last.key } : { objects };
    },

    async deleteMany(keys: readonly string[], callOptions?: roles.CallOptions): Promise<roles.BlobDeleteResult> {
      checkDeleteKeys("fs", keys);
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      const files = keys.map((key) => fileOf("deleteMany", key));
      const failed: { key: string; code: string }[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < files.length) {
          const i = next++;
          try {
            await removeFile(files[i]!);
          } catch (error) {
            failed.push({ key: keys[i]!, code: errorCode(error) ?? "EIO" });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, files.length) }, worker));
      return { failed };
    },
  };
}

/** The `limit` smallest keys seen (in code point order), without holding every key of a large directory. */
class Smallest {
  #items: { key: string; file: string }[] = [];
  constructor(readonly limit: number) {}

  add(key: string, file: string): void {
    this.#items.push({ key, file });
    if (this.#items.length >= 4 * this.limit) this.#trim();
  }

  sorted(): { key: string; file: string }[] {
    this.#trim();
    return this.#items;
  }

  #trim(): void {
    this.#items.sort((a, b) => compareCodePoints(a.key, b.key));
    this.#items.length = Math.min(this.#items.length, this.limit);
  }
}

/** Removes a temporary file older than `maxAgeMs` (a crashed writer's); any failure is left for next time. */
async function removeIfStale(file: string, maxAgeMs: number): Promise<void> {
  try {
    const info = await stat(file);
    if (Date.now() - info.mtimeMs > maxAgeMs) await unlink(file);
  } catch {
    // Renamed or removed meanwhile, or not ours to remove: nothing to do.
  }
}

/** Flushes a directory's entries (the rename), where the platform allows it (not on Windows). */
async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // EISDIR/EPERM/EINVAL where directories cannot be opened or flushed: the rename is still atomic.
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
