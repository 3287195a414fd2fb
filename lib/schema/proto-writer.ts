import * as protobuf from 'protobufjs';
import { varintSize, writeVarint } from '../varint';

/**
 * Encoding of row objects as protobuf records, compiled once from the record's message type
 * (the stream's descriptor). For a message of singular scalar fields (the usual table shape)
 * each row is written in one pass straight into the caller's buffer — no protobufjs Writer, no
 * Buffer per record — and the bytes are identical to `type.encode(row).finish()`. Any row the
 * fast path does not cover exactly (a value of an unusual JS type, a lone surrogate, a missing
 * required field, an object that is not a plain object) is encoded by protobufjs instead, so
 * every row gets protobufjs' encoding either way.
 */

/** A growable byte buffer (LineWriter satisfies it). */
export interface ByteSink {
  buf: Buffer;
  len: number;
  ensure(n: number): void;
}

type Kind =
  | 'string' | 'bytes' | 'bool' | 'double' | 'float' | 'int32' | 'uint32' | 'sint32' | 'fixed32' | 'sfixed32'
  | 'int64' | 'uint64' | 'sint64' | 'fixed64' | 'sfixed64';

interface FieldSpec {
  name: string;
  kind: Kind;
  tag: number[];
  required: boolean;
  /** Object.prototype has a property of this name: check that the row's own one is meant. */
  inheritable: boolean;
}

const WIRE: Record<Kind, number> = {
  string: 2, bytes: 2, bool: 0, double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5,
  int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1,
};

const TWO_32 = 4294967296;
const hasOwn = Object.prototype.hasOwnProperty;

function varintBytes(n: number): number[] {
  const out = new Uint8Array(varintSize(n));
  writeVarint(out, 0, n);
  return [...out];
}

/** Writes a uint32 (0 ≤ n < 2^32) as a varint at w.len (room already ensured). */
function writeVarint32(w: ByteSink, n: number): void {
  w.len = writeVarint(w.buf, w.len, n);
}

/** Writes the 64-bit value hi:lo (unsigned 32-bit halves) as a varint (room already ensured). */
function writeVarint64(w: ByteSink, lo: number, hi: number): void {
  if (hi === 0) return writeVarint32(w, lo);
  const buf = w.buf;
  let o = w.len;
  while (hi !== 0) {
    buf[o++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo >= 0x80) {
    buf[o++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[o++] = lo;
  w.len = o;
}

// Two's complement halves of a safe integer (protobufjs' LongBits.fromNumber), kept in module
// state so that no tuple is allocated per value.
let bLo = 0;
let bHi = 0;
function splitInt64(v: number): void {
  const a = v < 0 ? -v : v;
  let lo = a >>> 0;
  let hi = ((a - lo) / TWO_32) >>> 0;
  if (v < 0) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  bLo = lo;
  bHi = hi;
}

// String.prototype.isWellFormed (ES2024) is in every Node this package supports (≥ 20).
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** UTF-8 of a string with its length prefix; false for a lone surrogate (protobufjs encodes those its own way). */
function writeString(w: ByteSink, s: string): boolean {
  const n = s.length;
  if (n < 43) {
    // at most 126 bytes: the length is one byte; copy ASCII directly
    w.ensure(1 + n * 3);
    const buf = w.buf;
    const lenAt = w.len;
    let o = lenAt + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        if (!isWellFormed(s)) return false;
        const bytes = buf.write(s, lenAt + 1, 'utf8');
        buf[lenAt] = bytes;
        w.len = lenAt + 1 + bytes;
        return true;
      }
      buf[o++] = c;
    }
    buf[lenAt] = n;
    w.len = o;
    return true;
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes !== n && !isWellFormed(s)) return false;
  w.ensure(5 + bytes);
  writeVarint32(w, bytes);
  w.len += w.buf.write(s, w.len, 'utf8');
  return true;
}

/** Writes one field's value (tag already written); false when protobufjs must encode the row. */
function writeValue(w: ByteSink, kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string' && writeString(w, v);
    case 'double':
      if (typeof v !== 'number') return false;
      w.ensure(8);
      w.buf.writeDoubleLE(v, w.len);
      w.len += 8;
      return true;
    case 'float':
      if (typeof v !== 'number') return false;
      w.ensure(4);
      w.buf.writeFloatLE(v, w.len);
      w.len += 4;
      return true;
    case 'bool':
      if (typeof v !== 'boolean') return false;
      w.ensure(1);
      w.buf[w.len++] = v ? 1 : 0;
      return true;
    case 'int32':
      if (typeof v !== 'number' || (v | 0) !== v) return false;
      w.ensure(10);
      if (v >= 0) writeVarint32(w, v);
      else writeVarint64(w, v >>> 0, 0xffffffff);
      return true;
    case 'uint32':
      if (typeof v !== 'number' || v >>> 0 !== v) return false;
      w.ensure(5);
      writeVarint32(w, v);
      return true;
    case 'sint32':
      if (typeof v !== 'number' || (v | 0) !== v) return false;
      w.ensure(5);
      writeVarint32(w, ((v << 1) ^ (v >> 31)) >>> 0);
      return true;
    case 'fixed32':
      if (typeof v !== 'number' || v >>> 0 !== v) return false;
      w.ensure(4);
      w.buf.writeUInt32LE(v, w.len);
      w.len += 4;
      return true;
    case 'sfixed32':
      if (typeof v !== 'number' || (v | 0) !== v) return false;
      w.ensure(4);
      w.buf.writeInt32LE(v, w.len);
      w.len += 4;
      return true;
    case 'bytes': {
      if (!(v instanceof Uint8Array)) return false;
      const n = v.byteLength;
      w.ensure(5 + n);
      writeVarint32(w, n);
      w.buf.set(v, w.len);
      w.len += n;
      return true;
    }
    default: {
      // 64-bit kinds from a safe integer; Long, bigint and decimal strings go to protobufjs
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
      w.ensure(10);
      if (kind === 'sint64') {
        splitInt64(v);
        // zigzag: (n << 1) ^ (n >> 63) over the two halves
        const mask = bHi >> 31;
        const hi = (((bHi << 1) | (bLo >>> 31)) ^ mask) >>> 0;
        const lo = ((bLo << 1) ^ mask) >>> 0;
        writeVarint64(w, lo, hi);
        return true;
      }
      if (kind === 'fixed64' || kind === 'sfixed64') {
        splitInt64(v);
        w.buf.writeUInt32LE(bLo, w.len);
        w.buf.writeUInt32LE(bHi, w.len + 4);
        w.len += 8;
        return true;
      }
      if (v >= 0 && v < TWO_32) writeVarint32(w, v);
      else {
        splitInt64(v);
        writeVarint64(w, bLo, bHi);
      }
      return true;
    }
  }
}

/**
 * The fast writer of one row for `type`, or null when the message has fields it does not cover
 * (nested messages, enums, repeated or map fields). The writer appends the record at `w.len`
 * and returns true, or returns false (with `w.len` unchanged) when the row must go to protobufjs.
 */
export function compileRowWriter(type: protobuf.Type): ((row: unknown, w: ByteSink) => boolean) | null {
  type.root.resolveAll();
  const specs: FieldSpec[] = [];
  // protobufjs writes fields in field-number order
  for (const field of type.fieldsArray.slice().sort((a, b) => a.id - b.id)) {
    if (field instanceof protobuf.MapField || field.repeated || field.resolvedType) return null;
    const kind = field.type as Kind;
    if (!(kind in WIRE)) return null;
    specs.push({ name: field.name, kind, tag: varintBytes(((field.id << 3) | WIRE[kind]) >>> 0), required: field.required, inheritable: field.name in Object.prototype });
  }
  const count = specs.length;
  return (row, w) => {
    if (typeof row !== 'object' || row === null) return false;
    const proto = Object.getPrototypeOf(row);
    if (proto !== Object.prototype && proto !== null) return false; // class instances (e.g. protobufjs messages with defaults on the prototype)
    const r = row as Record<string, unknown>;
    const mark = w.len;
    for (let i = 0; i < count; i++) {
      const spec = specs[i];
      const v = r[spec.name];
      if (v === undefined || v === null) {
        if (spec.required) {
          w.len = mark;
          return false;
        }
        continue;
      }
      if (spec.inheritable && !hasOwn.call(r, spec.name)) continue; // inherited: protobufjs skips it
      const tag = spec.tag;
      w.ensure(tag.length);
      for (let k = 0; k < tag.length; k++) w.buf[w.len++] = tag[k];
      if (!writeValue(w, spec.kind, v)) {
        w.len = mark;
        return false;
      }
    }
    return true;
  };
}

/** Encodes rows of `type` into a ByteSink: the fast writer where it applies, protobufjs otherwise. */
export function createRowEncoder(type: protobuf.Type): (row: unknown, w: ByteSink) => void {
  const fast = compileRowWriter(type);
  return (row, w) => {
    if (fast !== null && fast(row, w)) return;
    const bytes = type.encode(row as protobuf.Message).finish();
    w.ensure(bytes.length);
    w.buf.set(bytes, w.len);
    w.len += bytes.length;
  };
}
