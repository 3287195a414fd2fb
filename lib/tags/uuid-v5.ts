/**
 * Name-based UUIDs (RFC 9562 version 5: SHA-1 of namespace bytes + UTF-8 name).
 *
 * The SHA-1 runs in JavaScript over a reused buffer: an event id is computed for every row,
 * and for names of a few dozen bytes a native `crypto` call costs several times more in
 * call overhead than the two compression rounds themselves (measured in bench/mapping.ts,
 * which also checks the result against node:crypto).
 */

const W = new Int32Array(80);
let block = new Uint8Array(4096);
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

/** Writes the UTF-8 bytes of `s` at `pos`; returns the new position. `block` must have room. */
function writeUtf8(s: string, pos: number): number {
  const buf = block;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[pos++] = c;
    else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[pos++] = 0xf0 | (c >> 18);
          buf[pos++] = 0x80 | ((c >> 12) & 63);
          buf[pos++] = 0x80 | ((c >> 6) & 63);
          buf[pos++] = 0x80 | (c & 63);
          continue;
        }
      }
      // a lone surrogate becomes U+FFFD, as in Buffer.from(s, 'utf8')
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    }
  }
  return pos;
}

/** Parses "xxxxxxxx-xxxx-…" into 16 bytes. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** UUID v5 of `name` in the namespace given as 16 bytes. */
export function uuidV5(namespace: Uint8Array, name: string): string {
  const maxLen = 16 + name.length * 3 + 72;
  if (block.length < maxLen) block = new Uint8Array(Math.max(maxLen, block.length * 2));
  const buf = block;
  buf.set(namespace, 0);
  const len = writeUtf8(name, 16);
  // SHA-1 padding: 0x80, zeros, 64-bit big-endian bit length, to a multiple of 64 bytes
  const total = ((len + 8) >> 6) * 64 + 64;
  buf[len] = 0x80;
  buf.fill(0, len + 1, total - 8);
  const bits = len * 8;
  buf[total - 8] = 0;
  buf[total - 7] = 0;
  buf[total - 6] = 0;
  buf[total - 5] = Math.floor(bits / 0x100000000) & 0xff;
  buf[total - 4] = bits >>> 24;
  buf[total - 3] = (bits >>> 16) & 0xff;
  buf[total - 2] = (bits >>> 8) & 0xff;
  buf[total - 1] = bits & 0xff;

  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476, h4 = 0xc3d2e1f0 | 0;
  const w = W;
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] = (buf[j] << 24) | (buf[j + 1] << 16) | (buf[j + 2] << 8) | buf[j + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, t = 0;
    // four rounds of 20 steps, unrolled by round so that no step branches
    for (let i = 0; i < 20; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 20; i < 40; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 40; i < 60; i++) {
      t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e - 0x70e44324 + w[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 60; i < 80; i++) {
      t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e - 0x359d3e2a + w[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  // first 16 bytes of the digest, version 5 in byte 6, RFC variant in byte 8
  const b6 = ((h1 >>> 8) & 0x0f) | 0x50;
  const b8 = ((h2 >>> 24) & 0x3f) | 0x80;
  return (
    HEX[h0 >>> 24] + HEX[(h0 >>> 16) & 0xff] + HEX[(h0 >>> 8) & 0xff] + HEX[h0 & 0xff] + '-' +
    HEX[h1 >>> 24] + HEX[(h1 >>> 16) & 0xff] + '-' +
    HEX[b6] + HEX[h1 & 0xff] + '-' +
    HEX[b8] + HEX[(h2 >>> 16) & 0xff] + '-' +
    HEX[(h2 >>> 8) & 0xff] + HEX[h2 & 0xff] +
    HEX[h3 >>> 24] + HEX[(h3 >>> 16) & 0xff] + HEX[(h3 >>> 8) & 0xff] + HEX[h3 & 0xff]
  );
}
