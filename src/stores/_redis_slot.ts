/**
 * Redis Cluster key slots: CRC16 (XMODEM) of the key's hash tag (the text between the first `{`
 * and the next `}`, when not empty) or of the whole key, modulo 16384, over its UTF-8 bytes. The
 * TCP store uses it to know which node a script goes to (so a script is sent with `EVAL` the
 * first time on each node, keeping a batch in order) and whether two keys share a slot.
 *
 * @module
 */

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

const encoder = new TextEncoder();

/** The part of `key` that decides its slot: its hash tag, or the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** The cluster slot (0–16383) of `key`. */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of encoder.encode(hashTag(key))) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc % 16384;
}
