/**
 * The one seeded generator the repository's tools share (fault injection, benchmark data, test
 * values): same seed, same sequence, on every runtime.
 *
 * @module
 */

/** mulberry32: a small seeded generator of floats uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
