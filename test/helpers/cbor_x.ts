/**
 * cbor-x (a devDependency only) configured to read and write the `cbor` codec's wire format: what
 * Larder used to encode entries with, and what the cross-tests and the benchmarks compare against.
 *
 * @module
 */
import type { Options } from "cbor-x";

/**
 * Every cbor-x option that changes the bytes, as earlier versions of Larder set them (cbor-x's
 * defaults differ by runtime and entry point).
 */
export const CBOR_X_OPTIONS: Readonly<Options> = {
  // Plain CBOR maps, no record structures.
  useRecords: false,
  // CBOR maps decode to plain objects; `Map`s are written with tag 259 and decode to `Map`.
  mapsAsObjects: true,
  // cbor-x tags Uint8Array only when Node's Buffer exists: forced, as Larder did.
  tagUint8Array: true,
  // Decoded typed arrays own their memory.
  copyBuffers: true,
  // Numbers are never narrowed to float32; BigInts over 64 bits are bignums (tags 2/3), not floats.
  useFloat32: 0,
  largeBigIntToFloat: false,
  useTimestamp32: false,
  structuredClone: false,
  bundleStrings: false,
  pack: false,
  sequential: false,
  variableMapSize: false,
  useSelfDescribedHeader: false,
};
