/**
 * Name-based UUIDs (RFC 9562 version 5: SHA-1 of namespace bytes + UTF-8 name).
 *
 * The name is written into a reused buffer and hashed there: an event id is computed for every
 * row. `crypto.createHash` costs several times the two compression rounds in call overhead for
 * names of a few dozen bytes, so the hash is Node's one-shot `crypto.hash` (Node ≥ 20.12: one
 * call, the digest back as a 20-character latin1 string, no Hash object and no Buffer), and
 * SHA-1 in JavaScript where that is missing (test/lib/tags/uuid-v5.test.ts checks both against
 * node:crypto).
 *
 * Names can be written piece by piece straight into that buffer (`nameStart` … `nameFinish`),
 * so that an event id needs no intermediate name string; and the UUID text is produced as one
 * flat string from a byte buffer: a string concatenated from 21 pieces is a tree of cons strings
 * that V8 must flatten (allocating again) as soon as it is hashed, e.g. as a Map key — several
 * times the cost of the hash itself (bench/mapping.ts).
 */

import * as crypto from 'crypto';
import { grownBuffer } from '../buffer-growth';

type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'latin1') => string;
/** Node's one-shot hash (20.12 and later): an event id cost ≈ 0.15 µs less than with the JavaScript SHA-1 (1.14 → 0.98 µs) */
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;

const W = new Int32Array(80);
let block: Buffer = Buffer.alloc(4096);
/** write position of the name being built (the namespace takes bytes 0–15) */
let pos = 16;
/** "00".."ff" as two ASCII bytes per value */
const HEX_CHARS = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const h = (i < 16 ? '0' : '') + i.toString(16);
  HEX_CHARS[2 * i] = h.charCodeAt(0);
  HEX_CHARS[2 * i + 1] = h.charCodeAt(1);
}
const TEXT = Buffer.alloc(36);
/** Buffer's one-pass latin1 decoder (one flat one-byte string); toString as the fallback */
const latin1Slice: (this: Buffer, start: number, end: number) => string =
  (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, s: number, e: number) => string }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };
const DIGITS = new Uint8Array(24);

/** Room for `bytes` more name bytes and the SHA-1 padding after them (at most 72 bytes). */
function ensureRoom(bytes: number): void {
  const grown = grownBuffer(block, pos, bytes + 72);
  if (grown !== block) {
    block = grown;
    prefixes = [];
  }
}

/** block[0, len) by len, made once: hashing a name allocates no view of it */
let prefixes: Uint8Array[] = [];

function prefix(len: number): Uint8Array {
  return (prefixes[len] ??= new Uint8Array(block.buffer, block.byteOffset, len));
}

/** Writes the UTF-8 bytes of `s` at `at`; returns the new position. `block` must have room. */
function writeUtf8(s: string, at: number): number {
  const buf = block;
  let p = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[p++] = 0xf0 | (c >> 18);
          buf[p++] = 0x80 | ((c >> 12) & 63);
          buf[p++] = 0x80 | ((c >> 6) & 63);
          buf[p++] = 0x80 | (c & 63);
          continue;
        }
      }
      // a lone surrogate becomes U+FFFD, as in Buffer.from(s, 'utf8')
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 63);
      buf[p++] = 0x80 | (c & 63);
    }
  }
  return p;
}

/** Starts a name in `namespace` (16 bytes); the name is appended with the name* functions. */
export function nameStart(namespace: Uint8Array): void {
  block.set(namespace, 0);
  pos = 16;
}

/** Appends the UTF-8 bytes of `s`. */
export function nameText(s: string): void {
  ensureRoom(s.length * 3);
  pos = writeUtf8(s, pos);
}

/** Appends one ASCII character (by code). */
export function nameChar(code: number): void {
  ensureRoom(1);
  block[pos++] = code;
}

/**
 * Appends JSON.stringify(s) without building it: printable ASCII is copied in one pass; a
 * string with anything else is written again by nameJsonStringSlow.
 */
export function nameJsonString(s: string): void {
  const n = s.length;
  ensureRoom(n + 2);
  const buf = block;
  let p = pos;
  buf[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) return nameJsonStringSlow(s);
    buf[p++] = c;
  }
  buf[p++] = 0x22;
  pos = p;
}

/** nameJsonString of any string: UTF-8 as it is, or JSON.stringify's text when it needs escapes. */
function nameJsonStringSlow(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // quote, backslash, control characters and surrogates (lone ones are escaped): JSON.stringify decides
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      nameText(JSON.stringify(s));
      return;
    }
  }
  ensureRoom(s.length * 3 + 2);
  block[pos++] = 0x22;
  pos = writeUtf8(s, pos);
  block[pos++] = 0x22;
}

/** Appends String(n) (safe integers and short decimals digit by digit, other numbers through String). */
export function nameNumber(n: number): void {
  if (!Number.isSafeInteger(n)) {
    if (!nameShortDecimal(n)) nameText(String(n));
    return;
  }
  ensureRoom(17);
  let v = n;
  if (v < 0) {
    block[pos++] = 45;
    v = -v;
  }
  pos = writeDigits(v, pos);
}

/** Writes the decimal digits of the safe integer v ≥ 0 at `at`; returns the new position. */
function writeDigits(v: number, at: number): number {
  let k = 0;
  do {
    const q = Math.floor(v / 10);
    DIGITS[k++] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  let p = at;
  while (k > 0) block[p++] = DIGITS[--k];
  return p;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];
const SHORT_LIMIT = 2 ** 51;

/**
 * String(n) of a number with at most 6 decimals (a timestamp with microseconds, a scaled
 * reading such as 21.37), without V8's shortest-digits search and the string it allocates;
 * false, having written nothing, for any other number.
 *
 * Why this is String(n): with m = round(|n|·10^k) and m / 10^k === |n| (a division of two
 * exact doubles, correctly rounded like parsing the text), the decimal m·10^-k reads back as n.
 * With m < 2^51 the spacing of doubles near n is below 10^-k, so no other decimal with k or
 * fewer decimals reads back as n: m·10^-k without its trailing zeros is the shortest, which is
 * what String prints, in plain notation (|n| ≥ 10^-6, far below 10^21). The smallest k that
 * works gives it, so trying k upwards finds it.
 */
function nameShortDecimal(n: number): boolean {
  const a = n < 0 ? -n : n;
  for (let k = 1; k <= 6; k++) {
    const scale = POW10[k];
    const m = Math.round(a * scale);
    if (m >= SHORT_LIMIT) return false; // also NaN-free: NaN and ±Infinity fail here or below
    if (m / scale !== a) continue;
    ensureRoom(24);
    if (n < 0) block[pos++] = 45;
    const whole = Math.floor(m / scale);
    let frac = m - whole * scale;
    pos = writeDigits(whole, pos);
    block[pos++] = 46; // '.'
    // k digits of the fraction with leading zeros; m / scale was not an integer, so frac > 0,
    // and the smallest k leaves no trailing zero
    let at = pos + k;
    pos = at;
    while (at > pos - k) {
      const q = Math.floor(frac / 10);
      block[--at] = 48 + (frac - q * 10);
      frac = q;
    }
    return true;
  }
  return false;
}

/** Hashes the name built since nameStart and returns its UUID v5 text. */
export function nameFinish(): string {
  digest(pos);
  return uuidText();
}

/** Hashes the name built since nameStart; writeUuidText then writes its UUID text where it is wanted. */
export function nameDigest(): void {
  digest(pos);
}

/** nameFinish() with the JavaScript SHA-1, whatever Node offers: for tests of that fallback. */
export function nameFinishWithJsSha1(): string {
  sha1Js(pos);
  return uuidText();
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
  nameStart(namespace);
  nameText(name);
  return nameFinish();
}

/** The latest digest: the UUID's first 16 bytes as four big-endian int32 words, version and variant set. */
const WORDS = new Int32Array(4);

/** SHA-1 of block[0, len) ⇒ WORDS. */
function digest(len: number): void {
  if (oneShotHash) {
    const d = oneShotHash('sha1', prefix(len), 'latin1');
    setWords(wordOf(d, 0), wordOf(d, 4), wordOf(d, 8), wordOf(d, 12));
  } else sha1Js(len);
}

/** Big-endian int32 of the four digest bytes at `at` of a latin1 digest string. */
function wordOf(d: string, at: number): number {
  return (d.charCodeAt(at) << 24) | (d.charCodeAt(at + 1) << 16) | (d.charCodeAt(at + 2) << 8) | d.charCodeAt(at + 3);
}

/** SHA-1 in JavaScript of block[0, len) ⇒ WORDS (pads the block in place). */
function sha1Js(len: number): void {
  const buf = block;
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
  setWords(h0, h1, h2, h3);
}

/** The first 16 bytes of a digest (big-endian words) ⇒ WORDS, with version 5 in byte 6 and the RFC variant in byte 8. */
function setWords(h0: number, h1: number, h2: number, h3: number): void {
  WORDS[0] = h0;
  WORDS[1] = (h1 & 0xffff00ff) | ((((h1 >>> 8) & 0x0f) | 0x50) << 8);
  WORDS[2] = (h2 & 0x00ffffff) | ((((h2 >>> 24) & 0x3f) | 0x80) << 24);
  WORDS[3] = h3;
}

/** WORDS as UUID text, one flat string. */
function uuidText(): string {
  writeUuidText(TEXT, 0);
  return latin1Slice.call(TEXT, 0, 36);
}

/**
 * Writes the UUID text of the latest digest (36 ASCII bytes, dashes included) at `at` of `out`;
 * returns the position after it.
 */
export function writeUuidText(out: Uint8Array, at: number): number {
  const h1 = WORDS[1], h2 = WORDS[2];
  hex4(out, at, WORDS[0]);
  out[at + 8] = 45; // '-'
  hex2(out, at + 9, h1 >>> 16);
  out[at + 13] = 45;
  hex2(out, at + 14, h1);
  out[at + 18] = 45;
  hex2(out, at + 19, h2 >>> 16);
  out[at + 23] = 45;
  hex2(out, at + 24, h2);
  hex4(out, at + 28, WORDS[3]);
  return at + 36;
}

/** The 4 bytes of `v` as 8 hex digits at `at` (unrolled: a loop measured ≈ 50 ns slower per id). */
function hex4(out: Uint8Array, at: number, v: number): void {
  hex2(out, at, v >>> 16);
  hex2(out, at + 4, v);
}

/** The low 2 bytes of `v` as 4 hex digits at `at`. */
function hex2(out: Uint8Array, at: number, v: number): void {
  hex(out, at, (v >>> 8) & 0xff);
  hex(out, at + 2, v & 0xff);
}

function hex(out: Uint8Array, at: number, byte: number): void {
  out[at] = HEX_CHARS[2 * byte];
  out[at + 1] = HEX_CHARS[2 * byte + 1];
}
