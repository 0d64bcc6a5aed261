// @ts-self-types="./mod.d.ts"
// The part of cbor-x 1.6.9 that Larder uses, vendored by scripts/vendor-cbor-x.ts (do not edit).
export { addExtension, Encoder } from "./encode.js";
export { Decoder } from "./decode.js";
