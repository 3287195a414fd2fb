import * as zlib from 'zlib';

/** CRC-32 (IEEE) of `data`, continuing from `value` (the CRC of the bytes before it). */
export type Crc32 = (data: Uint8Array, value?: number) => number;

/**
 * Slicing-by-8 tables: TABLES[k * 256 + n] is the CRC of byte n followed by k zero bytes, so
 * eight bytes take eight lookups and one step instead of eight dependent steps.
 */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

/** CRC-32 in JavaScript: what Node versions older than 20.15 (no `zlib.crc32`) use for all data. */
export const crc32Js: Crc32 = (data, value = 0) => crc32OfRange(data, 0, data.length, value);

/** CRC-32 of data[start, end) in JavaScript, continuing from `value`: a range without a view of it. */
export function crc32OfRange(data: Uint8Array, start: number, end: number, value: number): number {
  const t = TABLES;
  let c = ~value;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const b = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c =
      t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^ t[256 + ((b >>> 16) & 0xff)] ^ t[b >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: Crc32 }).crc32;

/**
 * Below this many bytes the JavaScript CRC is cheaper than the call into zlib, whose fixed cost
 * (≈ 60–120 ns) dominated for a spool record of ~100 bytes (measured on the 2-core benchmark
 * machine: zlib 163 ns, JavaScript 95 ns at 100 bytes; 187 vs 210 ns at 200).
 */
const NATIVE_FROM_BYTES = 160;

/** The native zlib CRC-32 for long data when available, else the JS one. */
export const crc32: Crc32 =
  typeof nativeCrc32 === 'function' ? (data, value = 0) => (data.length < NATIVE_FROM_BYTES ? crc32OfRange(data, 0, data.length, value) : nativeCrc32(data, value)) : crc32Js;

/** crc32 of data[start, end): short ranges without a view of them. */
export function crc32Range(data: Uint8Array, start: number, end: number, value = 0): number {
  return end - start < NATIVE_FROM_BYTES ? crc32OfRange(data, start, end, value) : crc32(data.subarray(start, end), value);
}
