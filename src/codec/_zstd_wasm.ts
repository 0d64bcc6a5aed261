/**
 * Larder's own minimal replacement of the emscripten glue of zstd's WASM build
 * (`@bokuweb/zstd-wasm` 0.0.27): {@link instantiateZstd} turns a compiled `zstd.wasm` into a
 * private instance, with its own memory, that only Larder calls.
 *
 * The package's own loader is never used: its `init()` (re)initialises one emscripten instance
 * per process, shared with the application and any other copy of the package, and an application
 * that calls `init()` itself corrupts the state Larder relies on (and the other way round). The
 * package does not export its emscripten `Module`, so its `instantiateWasm` hook cannot be reached
 * from outside either; this glue provides the few imports the build needs.
 *
 * One instance per module object: every compressor of one copy of Larder shares it, which is
 * safe because each operation runs synchronously from its `malloc` to its `free`. The caller has
 * already checked the frame header (see `_zstd_frame.ts`) and sizes the buffers. The WASM heap
 * grows to the largest job ever run and never shrinks. `decompressWith` lets the caller decode
 * the output where zstd wrote it instead of copying it out (~2 ms of a 10 MB decompression).
 *
 * The build exports the one-shot API only (`ZSTD_compress`, `ZSTD_decompress`, their dictionary
 * variants, `ZSTD_getFrameContentSize`, context create/free, `malloc`/`free`; decompression runs
 * through the dictionary variant, with no dictionary, on one context kept for the instance): no
 * `ZSTD_decompressStream` nor any other streaming entry point (checked on 0.0.27's exports, `f` to
 * `v`). A frame is therefore decompressed once it has fully arrived; overlapping decompression
 * with the download would need another build, or payloads cut into several frames.
 *
 * @module
 */
import { CodecError } from "../core/errors.ts";

/** zstd operations on one WASM instance. */
export interface ZstdBinding {
  /** Compresses `source` into one frame that declares its content size. */
  compress(source: Uint8Array, level: number): Uint8Array;
  /** Decompresses `source` into a buffer of exactly `contentSize` bytes (checked by the caller). */
  decompress(source: Uint8Array, contentSize: number): Uint8Array;
  /**
   * Decompresses `source` and calls `use` with the output where zstd wrote it, in this instance's
   * memory (no copy out), then frees it: the view is valid only during the call, and `use` must
   * not call zstd (refused). What `use` returns is returned.
   */
  decompressWith<T>(source: Uint8Array, contentSize: number, use: (output: Uint8Array) => T): T;
  /** Current size of this instance's WASM heap (its memory), in bytes. */
  heapBytes(): number;
  /** This instance's memory (for tests: what a view lent by {@link decompressWith} is a view of). */
  heapBuffer(): ArrayBufferLike;
}

// emscripten's limit for this build (getHeapMax in the package's glue).
const MAX_HEAP_BYTES = 2 ** 31;
const PAGE_BYTES = 65536;

const instances = new WeakMap<WebAssembly.Module, Promise<ZstdBinding>>();

/** The binding of a compiled `zstd.wasm`: a private instance, created once per module object. */
export function instantiateZstd(module: WebAssembly.Module): Promise<ZstdBinding> {
  let binding = instances.get(module);
  if (binding === undefined) {
    binding = instantiate(module);
    instances.set(module, binding);
    binding.catch(() => instances.delete(module));
  }
  return binding;
}

/** The exports of the package's zstd.wasm we use, by their minified names. */
interface ZstdExports {
  f: WebAssembly.Memory;
  g(): void; // __wasm_call_ctors
  h(code: number): number; // ZSTD_isError
  i(size: number): number; // ZSTD_compressBound
  m(dst: number, dstCapacity: number, src: number, srcSize: number, level: number): number; // ZSTD_compress
  n(): number; // ZSTD_createDCtx
  // ZSTD_decompress_usingDict, without a dictionary: ZSTD_decompressDCtx, which the build does not export.
  q(dctx: number, dst: number, cap: number, src: number, size: number, dict: number, dictSize: number): number;
  s(size: number): number; // malloc
  t(pointer: number): void; // free
}

async function instantiate(module: WebAssembly.Module): Promise<ZstdBinding> {
  // Set once instantiated; the heap-growth import below needs it, and runs only after that.
  const state: { memory?: WebAssembly.Memory } = {};
  const imports = {
    a: {
      a: (code: number): never => { // proc_exit
        throw new Error(`zstd exited with status ${code}`);
      },
      b: (): void => {}, // _emscripten_runtime_keepalive_clear
      c: (): never => { // abort
        throw new Error("zstd aborted");
      },
      d: (): number => 0, // _setitimer_js: zstd sets no timers
      // emscripten_resize_heap: grow to exactly what malloc asked for (rounded to whole pages), not
      // emscripten's +20%, because on Workers every megabyte of a heap that never shrinks counts.
      e: (requested: number): number => {
        const memory = state.memory;
        if (memory === undefined) return 0;
        const wanted = requested >>> 0;
        const current = memory.buffer.byteLength;
        if (wanted > MAX_HEAP_BYTES) return 0;
        if (wanted <= current) return 1;
        try {
          memory.grow(Math.ceil((wanted - current) / PAGE_BYTES));
          return 1;
        } catch {
          return 0;
        }
      },
    },
  };
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (error) {
    throw new CodecError(`zstd: the WASM module could not be instantiated (${String(error)})`, { cause: error });
  }
  const exports = instance.exports as unknown as ZstdExports;
  if (
    !(exports.f instanceof WebAssembly.Memory) ||
    !["g", "h", "i", "m", "n", "q", "s", "t"].every((k) => typeof exports[k as "g"] === "function")
  ) {
    throw new CodecError("zstd: the WASM module is not the zstd.wasm of @bokuweb/zstd-wasm 0.0.27");
  }
  const memory = exports.f;
  state.memory = memory;
  exports.g();

  const heap = (): Uint8Array => new Uint8Array(memory.buffer);
  const alloc = (size: number): number => {
    const pointer = exports.s(Math.max(size, 1));
    if (pointer === 0) throw new CodecError(`zstd: WASM heap cannot grow by ${size} bytes`);
    return pointer;
  };
  const check = (result: number, operation: string): number => {
    if (exports.h(result)) throw new CodecError(`zstd: ${operation} failed (zstd error ${-result})`);
    return result >>> 0;
  };

  // decompressWith lends out a view of the heap: nothing may run on this instance until it returns.
  let lent = false;
  let dctx = 0;
  const decompressWith = <T>(source: Uint8Array, contentSize: number, use: (output: Uint8Array) => T): T => {
    if (lent) throw new CodecError("zstd: cannot run while a decompressed output is still in use");
    const src = alloc(source.length);
    let dst = 0;
    try {
      heap().set(source, src);
      dst = alloc(contentSize);
      // One decompression context for the instance's life: ZSTD_decompress would create and free
      // one (~95 KB, initialised) per call, which is most of a small payload's cost (1 KB of
      // rows: 2.6 → 1.4 µs). Each frame starts it afresh, so a malformed one leaves nothing behind.
      if (dctx === 0) dctx = exports.n();
      if (dctx === 0) throw new CodecError("zstd: WASM heap cannot hold a decompression context");
      const size = check(
        exports.q(dctx, dst, contentSize, src, source.length, 0, 0),
        "decompression of a malformed frame",
      );
      if (size !== contentSize) throw sizeMismatch(size, contentSize);
      lent = true;
      return use(heap().subarray(dst, dst + size));
    } finally {
      lent = false;
      exports.t(src);
      if (dst !== 0) exports.t(dst);
    }
  };

  return {
    compress(source, level) {
      if (lent) throw new CodecError("zstd: cannot run while a decompressed output is still in use");
      const bound = exports.i(source.length) >>> 0;
      const src = alloc(source.length);
      let dst = 0;
      try {
        heap().set(source, src);
        dst = alloc(bound);
        const size = check(exports.m(dst, bound, src, source.length, level), "compression");
        return heap().slice(dst, dst + size);
      } finally {
        exports.t(src);
        if (dst !== 0) exports.t(dst);
      }
    },
    decompress: (source, contentSize) => decompressWith(source, contentSize, (output) => output.slice()),
    decompressWith,
    heapBytes: () => memory.buffer.byteLength,
    heapBuffer: () => memory.buffer,
  };
}

function sizeMismatch(actual: number, declared: number): CodecError {
  return new CodecError(`zstd: frame decoded to ${actual} bytes but declared ${declared}`);
}
