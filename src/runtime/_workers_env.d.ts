// Compile-time shapes of what src/runtime/workers.ts imports from the Workers toolchain. Not
// published (tsc does not emit .d.ts inputs): users' own Workers types declare these modules.

declare module "cloudflare:workers" {
  /** Keeps a promise alive after the response, in the current request's context. */
  export function waitUntil(promise: Promise<unknown>): void;
}

declare module "*.wasm" {
  /** wrangler imports a `.wasm` file as a compiled module. */
  const module: WebAssembly.Module;
  export default module;
}
