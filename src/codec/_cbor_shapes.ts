/**
 * Row shapes: how the CBOR encoder writes an array of same-shape plain objects (a query result)
 * with each shape's keys once instead of once per row, and which arrays it does that for.
 *
 * **The format** is the record extension of cbor-x (kriszyp/cbor-records), not an invention of
 * ours: the first object of a shape is tag 57343 over `[id, [key…], value…]`, which defines shape
 * `id` (a number from 57344 to 57599) and is that object; every later object of the shape is tag
 * `id` over `[value…]`. Tags from 32768 up are IANA's first-come-first-served range; these have a
 * public specification (github.com/kriszyp/cbor-records) and an independent implementation:
 * cbor-x 1.6 decodes them whatever its options (they are its `useRecords` output), so the
 * cross-tests can check our bytes against a decoder we did not write. A private tag would have had
 * neither. A shape is known from its definition to the end of the payload, and nowhere else
 * (cbor-x can also share shapes across payloads; Larder never does).
 *
 * **Which arrays**: at least {@link MIN_ROWS} items, all plain objects, the first two with the same
 * keys in the same order (at least one). Inside such an array every plain object, however deep
 * (a row's nested customer, its line items), is written as a record, its shape defined at first
 * sight; past {@link RECORD_SHAPES} shapes in one payload, new shapes are written as maps. Values
 * without such an array are written byte for byte as before (and as cbor-x 1.6 with records off
 * writes them), so entries of earlier versions and the interop with cbor-x are unchanged for them.
 *
 * **Rollout**: a Larder version without this decoder refuses a payload that holds records (an
 * unsupported tag: a miss counted as an error, never a wrong value). While older versions still
 * read the same entries, write without row shapes (`cborCodec({ rowShapes: false })`).
 *
 * @module
 */
import { RECORD_SHAPES } from "./_cbor_format.ts";

/** Arrays shorter than this are never written as records: below it the keys cost little. */
export const MIN_ROWS = 8;

const OBJECT_PROTO = Object.prototype;

/** Whether `array` is written as rows (see the module doc). */
export function isRowArray(array: readonly unknown[]): boolean {
  const length = array.length;
  if (length < MIN_ROWS) return false;
  for (let i = 0; i < length; i++) {
    const item = array[i];
    if (typeof item !== "object" || item === null) return false;
    const proto: unknown = Object.getPrototypeOf(item);
    if (proto !== OBJECT_PROTO && proto !== null) return false;
  }
  const first = Object.keys(array[0] as object);
  return first.length > 0 && sameKeys(first, Object.keys(array[1] as object));
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A shape's id is new (its definition must be written) when the result has this bit. */
export const NEW_SHAPE = 0x1000;

/** The shapes of one payload being encoded. */
export interface ShapeTable {
  /** Shape ids by their keys (as JSON text: unambiguous for any key). */
  readonly ids: Map<string, number>;
  /** The last shape seen at each depth, tried first: rows and their nested objects repeat by depth. */
  readonly lastKeys: (readonly string[] | undefined)[];
  readonly lastIds: number[];
}

/** A table for a new payload. */
export function newShapeTable(): ShapeTable {
  return { ids: new Map(), lastKeys: [], lastIds: [] };
}

/**
 * The id (0–255) of the shape `keys` at `depth`, with {@link NEW_SHAPE} set when it is defined
 * now, or -1 when the payload has used up every id (the object is then written as a map).
 */
export function shapeId(table: ShapeTable, keys: readonly string[], depth: number): number {
  const last = table.lastKeys[depth];
  if (last !== undefined && sameKeys(last, keys)) return table.lastIds[depth] as number;
  const text = JSON.stringify(keys);
  let id = table.ids.get(text);
  let fresh = 0;
  if (id === undefined) {
    if (table.ids.size >= RECORD_SHAPES) return -1;
    id = table.ids.size;
    table.ids.set(text, id);
    fresh = NEW_SHAPE;
  }
  table.lastKeys[depth] = keys;
  table.lastIds[depth] = id;
  return id | fresh;
}
