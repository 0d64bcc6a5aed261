/**
 * The two ways to reach zstd's WASM build (`@bokuweb/zstd-wasm` 0.0.27), behind one small
 * interface:
 *
 * - {@link bundledZstd}: the package's own `init()`, which finds and compiles its `zstd.wasm` (Node,
 *   Deno, Bun). Loaded once per process, on first use.
 * - {@link instantiateZstd}: a `WebAssembly.Module` compiled by the host (Cloudflare Workers, where
 *   WASM cannot be compiled from bytes at run time), instantiated here with a minimal replacement
 *   of the package's emscripten glue. The package does not export its emscripten `Module`, so its
 *   `instantiateWasm` hook cannot be reached from outside; this glue plays that hook's part. Once
 *   per module object.
 *
 * Both run zstd's one-shot `ZSTD_compress`/`ZSTD_decompress` with buffers sized by the caller,
 * who has already checked the frame header (see `_zstd_frame.ts`). The WASM heap grows to the
 * largest job ever run and never shrinks.
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
  /** Current size of the WASM heap in bytes, when this binding can see it. */
  heapBytes(): number | undefined;
}

// emscripten's limit for this build (getHeapMax in the package's glue).
const MAX_HEAP_BYTES = 2 ** 31;
const PAGE_BYTES = 65536;
/** How long the package's `init()` may take: its glue never settles when instantiation fails. */
const INIT_TIMEOUT_MS = 10_000;

let bundled: Promise<ZstdBinding> | undefined;

/** The binding of the package's own build, initialised once per process through its `init()`. */
export function bundledZstd(): Promise<ZstdBinding> {
  bundled ??= loadBundled().catch((error: unknown) => {
    bundled = undefined; // let a later call retry
    throw error;
  });
  return bundled;
}

async function loadBundled(): Promise<ZstdBinding> {
  const zstd = await import("@bokuweb/zstd-wasm");
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      zstd.init(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`init() did not finish in ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  return {
    compress: (source, level) => zstd.compress(source, level),
    decompress: (source, contentSize) => {
      // The package sizes its output buffer from the frame header, which the caller has checked
      // to be exactly `contentSize`.
      const out = zstd.decompress(source);
      if (out.length !== contentSize) throw sizeMismatch(out.length, contentSize);
      return out;
    },
    heapBytes: () => undefined,
  };
}

const instances = new WeakMap<WebAssembly.Module, Promise<ZstdBinding>>();

/** The binding of a host-compiled `zstd.wasm`, instantiated once per module object. */
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
  r(dst: number, dstCapacity: number, src: number, srcSize: number): number; // ZSTD_decompress
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
    !["g", "h", "i", "m", "r", "s", "t"].every((k) => typeof exports[k as "g"] === "function")
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

  return {
    compress(source, level) {
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
    decompress(source, contentSize) {
      const src = alloc(source.length);
      let dst = 0;
      try {
        heap().set(source, src);
        dst = alloc(contentSize);
        const size = check(exports.r(dst, contentSize, src, source.length), "decompression of a malformed frame");
        if (size !== contentSize) throw sizeMismatch(size, contentSize);
        return heap().slice(dst, dst + size);
      } finally {
        exports.t(src);
        if (dst !== 0) exports.t(dst);
      }
    },
    heapBytes: () => memory.buffer.byteLength,
  };
}

function sizeMismatch(actual: number, declared: number): CodecError {
  return new CodecError(`zstd: frame decoded to ${actual} bytes but declared ${declared}`);
}
