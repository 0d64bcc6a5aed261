// Types of the part of cbor-x 1.6.9 that Larder uses (from its index.d.ts, without Node's
// Buffer and stream types), written by scripts/vendor-cbor-x.ts (do not edit).

/** cbor-x encoder and decoder options. */
export interface Options {
  alwaysUseFloat?: boolean;
  /** 0: never, 1: always, 3: decimal round, 4: decimal fit. */
  useFloat32?: 0 | 1 | 3 | 4;
  useRecords?: boolean;
  structures?: object[];
  structuredClone?: boolean;
  mapsAsObjects?: boolean;
  variableMapSize?: boolean;
  copyBuffers?: boolean;
  bundleStrings?: boolean;
  useTimestamp32?: boolean;
  largeBigIntToFloat?: boolean;
  encodeUndefinedAsNil?: boolean;
  maxSharedStructures?: number;
  maxOwnStructures?: number;
  useSelfDescribedHeader?: boolean;
  useToJSON?: boolean;
  keyMap?: object;
  shouldShareStructure?: (keys: string[]) => boolean;
  getStructures?(): object[];
  saveStructures?(structures: object[]): boolean | void;
  onInvalidDate?: () => unknown;
  tagUint8Array?: boolean;
  pack?: boolean;
  sequential?: boolean;
}

/** A tag extension. */
export interface Extension<T, R> {
  Class: new (...args: never[]) => T;
  tag: number;
  encode(value: T, encodeFn: (data: R) => Uint8Array): Uint8Array;
  decode(item: R): T;
}

/** Decodes CBOR. */
export declare class Decoder {
  constructor(options?: Options);
  // deno-lint-ignore no-explicit-any
  decode(bytes: Uint8Array): any;
}

/** Encodes CBOR. */
export declare class Encoder extends Decoder {
  encode(value: unknown): Uint8Array;
}

/** Registers a tag extension (global to this copy of cbor-x). */
export declare function addExtension<T, R>(extension: Extension<T, R>): void;
