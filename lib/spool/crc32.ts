import * as zlib from 'zlib';

/** CRC-32 (IEEE) of `data`, continuing from `value` (the CRC of the bytes before it). */
export type Crc32 = (data: Uint8Array, value?: number) => number;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Table-driven CRC-32, for Node versions older than 20.15 that lack `zlib.crc32`. */
export const crc32Js: Crc32 = (data, value = 0) => {
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

const nativeCrc32 = (zlib as { crc32?: Crc32 }).crc32;

/** Below this many bytes the JS loop is cheaper than the call into zlib (e.g. the 8-byte seq of a frame). */
const NATIVE_FROM_BYTES = 48;

/** The native zlib CRC-32 when available (an order of magnitude faster on long data), else the JS one. */
export const crc32: Crc32 =
  typeof nativeCrc32 === 'function' ? (data, value = 0) => (data.length < NATIVE_FROM_BYTES ? crc32Js(data, value) : nativeCrc32(data, value)) : crc32Js;
