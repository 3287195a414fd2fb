/**
 * The key under which the duplicate window remembers an event: 128 bits (four int32 words) of
 * MurmurHash3 x86_128 over a byte encoding of what makes an event the same event — source
 * system, tag path, timestamp, value and quality code, the fields of its event_id.
 *
 * It is not the event_id (docs/DESIGN.md §5: a UUID v5 over the text of those fields, which zerobus-out
 * computes for the row): the receiver only has to recognise resends, once per event received,
 * and the text form (shortest round-trip digits of every double) plus SHA-1 cost several times
 * this. The encoding is injective — strings carry their length, numbers their 8 IEEE bytes,
 * every field a type tag — so different events can only share a key through a 128-bit hash
 * collision. Where it is stricter than the event_id (5 vs 5n, NaN payloads, -0 vs 0) a resend
 * merely goes through once more, and zerobus-out gives it the same event_id anyway.
 */
import type { TagEvent } from '../tags/event';
import { canonicalValueText } from '../tags';
import { grownBuffer } from '../buffer-growth';

let buf: Buffer = Buffer.alloc(1024);
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
let pos = 0;

function room(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  buf = grownBuffer(buf, pos, bytes);
  // a grown Buffer may be a slice of Node's shared pool: the view starts at its offset
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function putString(tag: number, s: string): void {
  const n = s.length;
  room(5 + 2 * n);
  buf[pos++] = tag;
  view.setUint32(pos, n);
  pos += 4;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    buf[pos++] = c >>> 8;
    buf[pos++] = c & 0xff;
  }
}

function putNumber(n: number): void {
  room(9);
  buf[pos++] = 0x64; // 'd'
  view.setFloat64(pos, n);
  pos += 8;
}

function putField(v: unknown): void {
  switch (typeof v) {
    case 'number':
      return putNumber(v);
    case 'string':
      return putString(0x73 /* s */, v);
    case 'boolean':
      room(1);
      buf[pos++] = v ? 0x74 /* t */ : 0x66; /* f */
      return;
    case 'undefined':
      room(1);
      buf[pos++] = 0x75; // 'u'
      return;
    case 'bigint':
      return putString(0x62 /* b */, v.toString());
    default:
      if (v === null) {
        room(1);
        buf[pos++] = 0x7a; // 'z'
        return;
      }
      return putString(0x6f /* o */, canonicalValueText(v));
  }
}

/** Writes the key of `event` (as normalised by the receiver) into out[at..at+3]. */
export function dedupKey(event: TagEvent, out: Int32Array, at: number): void {
  pos = 0;
  putField(event.sourceSystem);
  putString(0x73, event.tagPath);
  putField(event.timestamp);
  putField(event.value);
  putField(event.qualityCode);
  murmur128(buf, pos, out, at);
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function word(data: Uint8Array, i: number): number {
  return data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
}

/** MurmurHash3_x86_128 of data[0, len) into out[at..at+3] (h1..h4). */
export function murmur128(data: Uint8Array, len: number, out: Int32Array, at: number, seed = 0): void {
  let h1 = seed | 0, h2 = seed | 0, h3 = seed | 0, h4 = seed | 0;
  const blocks = len & ~15;
  for (let i = 0; i < blocks; i += 16) {
    // four lanes as in the reference, each with its own constants and rotations (so not a loop)
    let k1 = word(data, i), k2 = word(data, i + 4), k3 = word(data, i + 8), k4 = word(data, i + 12);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  let k1 = 0, k2 = 0, k3 = 0, k4 = 0;
  const tail = len - blocks;
  for (let j = tail - 1; j >= 0; j--) {
    const b = data[blocks + j] << ((j & 3) * 8);
    if (j >= 12) k4 |= b;
    else if (j >= 8) k3 |= b;
    else if (j >= 4) k2 |= b;
    else k1 |= b;
  }
  if (tail > 12) h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
  if (tail > 8) h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
  if (tail > 4) h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  if (tail > 0) h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[at] = h1;
  out[at + 1] = h2;
  out[at + 2] = h3;
  out[at + 3] = h4;
}
