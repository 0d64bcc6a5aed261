/**
 * zstd compression through WebAssembly (`@bokuweb/zstd-wasm` 0.0.27): the default compressor.
 *
 * `decompress(bytes, maxBytes)` reads the frame header itself before anything reaches WASM and
 * refuses, with a `TooLargeError`, a frame that declares more than `maxBytes` or declares no
 * size at all (every frame written here declares it); the output buffer is then exactly the
 * declared size. Malformed frames are `CodecError`s.
 *
 * Each copy of Larder runs zstd in an instance of its own (`_zstd_wasm.ts`), never through the
 * package's `init()` and its process-wide instance: an application that uses `@bokuweb/zstd-wasm`
 * itself, or loads it twice, and Larder cannot disturb each other. The compiled module comes from
 * `wasm`, which `createCache` fills per runtime: from `larder`, the `zstd.wasm` embedded in Larder
 * (`_zstd_embedded.ts`: no file read, so no `--allow-read` on Deno); from `larder/workers`, the
 * `zstd.wasm` shipped with Larder, imported as a module (wrangler turns it into a
 * `WebAssembly.Module`, as Workers cannot compile WASM from bytes at run time). Other bundlers for
 * such runtimes can pass the compiled module themselves.
 *
 * Memory: the WASM heap grows to the largest job ever run and never shrinks. Compressing N bytes
 * needs about 2·N plus zstd's context (a few MB at level 3, tens of MB at 19); decompressing
 * needs the compressed plus the decompressed size. Under the Workers 128 MB isolate limit, keep
 * `maxValueBytes` at or below about 32 MiB.
 *
 * @example On Cloudflare Workers
 * ```ts ignore
 * import { createCache } from "larder/workers"; // brings its own compiled zstd.wasm
 * const cache = createCache({ store, blobs });
 * ```
 *
 * @example A compiled module from elsewhere
 * ```ts ignore
 * import zstdWasm from "./zstd.wasm"; // @bokuweb/zstd-wasm 0.0.27's dist/web/zstd.wasm
 * const cache = createCache({ store, blobs, zstd: { wasm: zstdWasm } });
 * ```
 *
 * @module
 */
import { CodecError, ConfigError, isCacheError, TooLargeError } from "../core/errors.ts";
import type { Compressor } from "../core/types.ts";
import { checkMaxBytes } from "./_limits.ts";
import { readZstdFrameHeader } from "./_zstd_frame.ts";
import { instantiateZstd, type ZstdBinding } from "./_zstd_wasm.ts";

/** The compiled `zstd.wasm` of `@bokuweb/zstd-wasm` 0.0.27, or a function that resolves to it (called once, on first use). */
export type ZstdWasm = WebAssembly.Module | (() => Promise<WebAssembly.Module>);

/** Options of {@link zstdCompressor}. */
export interface ZstdOptions {
  /** Compression level, 1 (fastest) to 19 (smallest); decompression speed barely depends on it. @default 3 */
  level?: number;
  /** Where the compiled module comes from (`createCache` passes its runtime's default when the user gives none). */
  wasm: ZstdWasm;
}

/** Lowest accepted level. zstd's negative ("fast") levels are not offered. */
const MIN_ZSTD_LEVEL = 1;
/** Highest accepted level (20–22 need far more memory than a Worker has to spare). */
const MAX_ZSTD_LEVEL = 19;

/** The zstd compressor, with a decompression that lends its output instead of copying it. */
export interface ZstdCompressor extends Compressor {
  /**
   * Like `decompress`, but calls `use` with the output where zstd wrote it, inside the WASM
   * memory, instead of copying it out (a copy of the whole decompressed payload saved: ~1 ms and
   * an allocation of its size at 10 MB). The view is valid only during the call, which must be
   * synchronous and must not run zstd (refused); decode it there, keep nothing that aliases it.
   */
  decompressWith<T>(bytes: Uint8Array, maxBytes: number, use: (raw: Uint8Array) => T): Promise<T>;
}

/** The zstd compressor (name `"zstd"`). Throws a `ConfigError` for an invalid level or `wasm`. */
export function zstdCompressor(options: ZstdOptions): ZstdCompressor {
  const level = options?.level ?? 3;
  if (!Number.isInteger(level) || level < MIN_ZSTD_LEVEL || level > MAX_ZSTD_LEVEL) {
    throw new ConfigError(`zstd: level must be an integer from ${MIN_ZSTD_LEVEL} to ${MAX_ZSTD_LEVEL}; got ${level}`);
  }
  const wasm = options?.wasm;
  if (!(wasm instanceof WebAssembly.Module) && typeof wasm !== "function") {
    throw new ConfigError("zstd: wasm must be a WebAssembly.Module or a function that resolves to one");
  }

  let binding: Promise<ZstdBinding> | undefined;
  const load = (): Promise<ZstdBinding> => {
    binding ??= loadBinding(wasm).catch((error: unknown) => {
      binding = undefined; // a later call retries
      throw isCacheError(error) ? error : new CodecError(
        `zstd: could not load the WASM module (${String(error)}); on Cloudflare Workers, ` +
          'import { createCache } from "larder/workers" (it brings zstd.wasm as a compiled module); ' +
          'elsewhere where WebAssembly cannot be compiled at run time, pass the compiled zstd.wasm as zstd: { wasm }, or use compression: "gzip"',
        { cause: error },
      );
    });
    return binding;
  };

  return {
    name: "zstd",
    async compress(bytes: Uint8Array): Promise<Uint8Array> {
      const zstd = await load();
      const out = run(() => zstd.compress(bytes, level), "compress");
      // Readers refuse frames without a declared size: make sure ours always carry it.
      if (readZstdFrameHeader(out).contentSize !== bytes.length) {
        throw new CodecError("zstd: compressed frame does not declare its content size");
      }
      return out;
    },
    async decompress(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
      const contentSize = boundedSize(bytes, maxBytes);
      const zstd = await load();
      return run(() => zstd.decompress(bytes, contentSize), "decompress");
    },
    async decompressWith<T>(bytes: Uint8Array, maxBytes: number, use: (raw: Uint8Array) => T): Promise<T> {
      const contentSize = boundedSize(bytes, maxBytes);
      const zstd = await load();
      let used = false;
      let result: T | undefined;
      // Errors of `use` (a decoder's CodecError) pass through as they are, not as zstd failures.
      const output = (raw: Uint8Array): undefined => {
        used = true;
        result = use(raw);
        return undefined;
      };
      try {
        zstd.decompressWith(bytes, contentSize, output);
      } catch (error) {
        if (used || isCacheError(error)) throw error;
        throw new CodecError("zstd: decompress failed (malformed frame)", { cause: error });
      }
      return result as T;
    },
  };
}

/** The content size `bytes` declares, refused (`TooLargeError`) when absent or over `maxBytes`. */
function boundedSize(bytes: Uint8Array, maxBytes: number): number {
  checkMaxBytes(maxBytes, "zstd");
  const { contentSize } = readZstdFrameHeader(bytes);
  if (contentSize === undefined) {
    throw new TooLargeError("zstd: frame does not declare its content size; refusing to decompress without a bound");
  }
  if (contentSize > maxBytes) {
    throw new TooLargeError(`zstd: frame declares ${contentSize} bytes, over the limit of ${maxBytes}`);
  }
  return contentSize;
}

function loadBinding(wasm: ZstdWasm): Promise<ZstdBinding> {
  if (typeof wasm !== "function") return instantiateZstd(wasm);
  return wasm().then((module: unknown) => {
    if (!(module instanceof WebAssembly.Module)) {
      throw new ConfigError("zstd: wasm() did not resolve to a WebAssembly.Module");
    }
    return instantiateZstd(module);
  });
}

function run(operation: () => Uint8Array, name: string): Uint8Array {
  try {
    return operation();
  } catch (error) {
    if (isCacheError(error)) throw error;
    throw new CodecError(`zstd: ${name} failed${name === "decompress" ? " (malformed frame)" : ""}`, { cause: error });
  }
}
