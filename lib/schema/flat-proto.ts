import * as protobuf from 'protobufjs';
import { isUtf8 } from 'buffer';
import type { LineWriter } from './line-writer';
import { RowError } from './rows';
import type { ColumnSchema } from './types';

/**
 * The fast path of PROTO ingest: for a record message whose fields are all singular scalars (the
 * usual shape, e.g. the OT events table), one pass over the bytes checks the wire format and
 * writes the stored JSON line as bytes — no message object, no Long, no JS string per row.
 * Anything else (nested, repeated, map fields, VARIANT/DECIMAL/TINYINT/SMALLINT columns, a field
 * given twice, a non-finite double) is left to the general decoder, which gives the same rows.
 */

/** Thrown when the record must go through the general decoder. */
export const FALLBACK = Symbol('fallback');

type Reader =
  | 'string' | 'bytes' | 'int32' | 'uint32' | 'sint32' | 'int64' | 'uint64' | 'sint64' | 'bool'
  | 'fixed32' | 'sfixed32' | 'fixed64' | 'sfixed64' | 'float' | 'double';

interface Spec {
  reader: Reader;
  wire: number;
  key: Buffer; // '"column":'
  keyComma: Buffer; // ',"column":'
  required: boolean;
  column: ColumnSchema;
  index: number;
}

const WIRE: Record<Reader, number> = {
  string: 2, bytes: 2, int32: 0, uint32: 0, sint32: 0, int64: 0, uint64: 0, sint64: 0, bool: 0,
  fixed32: 5, sfixed32: 5, float: 5, fixed64: 1, sfixed64: 1, double: 1,
};

const FAST_COLUMN_KINDS = new Set(['string', 'int32', 'int64', 'float', 'double', 'boolean', 'binary', 'date', 'timestamp', 'timestamp_ntz']);
const TWO_32 = 4294967296;

// Varint results, kept in module state to avoid allocating a tuple per read.
let vLo = 0;
let vHi = 0;
let vPos = 0;

function readVarint(buf: Buffer, pos: number, end: number): void {
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw new Error('truncated varint');
    b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      vLo = lo >>> 0;
      vHi = 0;
      vPos = pos;
      return;
    }
  }
  if (pos >= end) throw new Error('truncated varint');
  b = buf[pos++];
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (let shift = 3; shift < 38; shift += 7) {
      if (pos >= end) throw new Error('truncated varint');
      b = buf[pos++];
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift >= 31) throw new Error('varint too long');
    }
  }
  vLo = lo >>> 0;
  vHi = hi >>> 0;
  vPos = pos;
}

function int64Text(lo: number, hi: number, signed: boolean): string {
  if (signed && hi & 0x80000000) {
    const n = -((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1);
    return Number.isSafeInteger(n) ? String(n) : JSON.stringify(((BigInt(hi) << 32n) | BigInt(lo)) - (1n << 64n) + '');
  }
  const n = hi * TWO_32 + lo;
  return Number.isSafeInteger(n) ? String(n) : JSON.stringify(((BigInt(hi) << 32n) | BigInt(lo)).toString());
}

function zigzag64Text(lo: number, hi: number): string {
  const negative = lo & 1;
  const uLo = ((lo >>> 1) | (hi << 31)) >>> 0;
  const uHi = hi >>> 1;
  const n = uHi * TWO_32 + uLo;
  if (Number.isSafeInteger(n)) return String(negative ? -n - 1 : n);
  const big = (BigInt(uHi) << 32n) | BigInt(uLo);
  return JSON.stringify((negative ? -big - 1n : big).toString());
}

/** Digits of 0 ≤ n < 2^31 at buf[o..]; returns the position after them. */
function writeSmall(buf: Buffer, o: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
  const after = o + digits;
  for (let k = after - 1; k >= o; k--) {
    const q = (n / 10) | 0;
    buf[k] = 48 + n - q * 10;
    n = q;
  }
  return after;
}

/** Writes a safe integer's decimal digits (no string in between), in int32 arithmetic. */
function writeInteger(w: LineWriter, n: number): void {
  w.ensure(22);
  const buf = w.buf;
  let o = w.len;
  if (n < 0) {
    buf[o++] = 45;
    n = -n;
  }
  if (n < 0x80000000) {
    w.len = writeSmall(buf, o, n);
    return;
  }
  // below 2^53 < 10^16: at most 8 digits above the last 8
  const hi = Math.floor(n / 1e8);
  let lo = n - hi * 1e8;
  o = writeSmall(buf, o, hi);
  for (let k = o + 7; k >= o; k--) {
    const q = (lo / 10) | 0;
    buf[k] = 48 + lo - q * 10;
    lo = q;
  }
  w.len = o + 8;
}

/**
 * A writer of the stored JSON line of one record, or null when this message shape needs the
 * general decoder. It appends the line (with its '\n') to the LineWriter and throws FALLBACK,
 * RowError or Error(reason); on a throw the writer is left as it was before the record.
 */
export function compileFlatWriter(columns: ColumnSchema[], messageType: protobuf.Type): ((buf: Buffer, start: number, end: number, w: LineWriter) => void) | null {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const byFolded = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const specs: Spec[] = [];
  const byNumber = new Map<number, Spec>();
  for (const field of messageType.fieldsArray) {
    if (field instanceof protobuf.MapField || field.repeated) return null;
    field.resolve();
    if (field.resolvedType) return null;
    const column = byName.get(field.name) ?? byFolded.get(field.name.toLowerCase());
    if (!column || !FAST_COLUMN_KINDS.has(column.type.kind)) return null;
    const reader = field.type as Reader;
    if (!(reader in WIRE)) return null;
    const key = JSON.stringify(column.name) + ':';
    const spec: Spec = { reader, wire: WIRE[reader], key: Buffer.from(key), keyComma: Buffer.from(',' + key), required: !column.nullable, column, index: specs.length };
    specs.push(spec);
    byNumber.set(field.id, spec);
  }
  const maxNumber = Math.max(0, ...byNumber.keys());
  if (maxNumber > 4096) return null;
  const table: (Spec | undefined)[] = new Array(maxNumber + 1);
  for (const [n, spec] of byNumber) table[n] = spec;
  const requiredCount = specs.filter((s) => s.required).length;
  const seen = new Uint32Array(specs.length);
  let generation = 0;

  // The record is buf[start, end): a record inside a whole request is read in place.
  const writeRecord = (buf: Buffer, start: number, end: number, w: LineWriter): void => {
    if (++generation === 0xffffffff) {
      seen.fill(0);
      generation = 1;
    }
    const gen = generation;
    let pos = start;
    let first = true;
    let requiredSeen = 0;
    w.ensure(1);
    w.buf[w.len++] = 123; // {
    while (pos < end) {
      let tag = buf[pos];
      if (tag < 0x80) pos++;
      else {
        readVarint(buf, pos, end);
        tag = vLo;
        pos = vPos;
      }
      const number = tag >>> 3;
      const wire = tag & 7;
      const spec = number <= maxNumber ? table[number] : undefined;
      if (spec === undefined) throw new Error(`unknown field number ${number}`);
      if (wire !== spec.wire) throw new Error(`field ${spec.column.name} has wire type ${wire}, expected ${spec.wire}`);
      if (seen[spec.index] === gen) throw FALLBACK; // repeated singular field: last one wins, leave it to protobufjs
      seen[spec.index] = gen;
      const key = first ? spec.key : spec.keyComma;
      first = false;
      w.ensure(key.length);
      for (let i = 0; i < key.length; i++) w.buf[w.len++] = key[i];
      switch (spec.reader) {
        case 'string': {
          readVarint(buf, pos, end);
          const start = vPos;
          pos = start + vLo;
          if (vHi !== 0 || pos > end) throw new Error(`field ${spec.column.name}: length beyond the end of the record`);
          w.ensure(pos - start + 2);
          const out = w.buf;
          let o = w.len;
          out[o++] = 34;
          let plain = true;
          let ascii = true;
          for (let i = start; i < pos; i++) {
            const c = buf[i];
            if (c < 0x20 || c === 34 || c === 92) {
              plain = false;
              break;
            }
            if (c >= 0x80) ascii = false;
            out[o++] = c;
          }
          if (!ascii && !isUtf8(buf.subarray(start, pos))) throw new Error(`field ${spec.column.name} is not valid UTF-8`);
          if (plain) {
            out[o++] = 34;
            w.len = o;
          } else {
            // characters JSON must escape: let JSON.stringify do it
            const text = buf.toString('utf8', start, pos);
            if (text.includes('\ufffd') && !isUtf8(buf.subarray(start, pos))) throw new Error(`field ${spec.column.name} is not valid UTF-8`);
            w.utf8(JSON.stringify(text));
          }
          break;
        }
        case 'bytes': {
          readVarint(buf, pos, end);
          const start = vPos;
          pos = start + vLo;
          if (vHi !== 0 || pos > end) throw new Error(`field ${spec.column.name}: length beyond the end of the record`);
          w.ascii('"' + buf.toString('base64', start, pos) + '"');
          break;
        }
        case 'fixed32':
        case 'sfixed32':
          if (pos + 4 > end) throw new Error(`field ${spec.column.name}: truncated`);
          writeInteger(w, spec.reader === 'fixed32' ? buf.readUInt32LE(pos) : buf.readInt32LE(pos));
          pos += 4;
          break;
        case 'float': {
          if (pos + 4 > end) throw new Error(`field ${spec.column.name}: truncated`);
          const v = buf.readFloatLE(pos);
          if (!Number.isFinite(v)) throw FALLBACK;
          w.ascii(String(v));
          pos += 4;
          break;
        }
        case 'double': {
          if (pos + 8 > end) throw new Error(`field ${spec.column.name}: truncated`);
          const v = buf.readDoubleLE(pos);
          if (!Number.isFinite(v)) throw FALLBACK;
          if (Number.isSafeInteger(v) && !Object.is(v, -0)) writeInteger(w, v);
          else w.ascii(String(v));
          pos += 8;
          break;
        }
        case 'fixed64':
        case 'sfixed64':
          if (pos + 8 > end) throw new Error(`field ${spec.column.name}: truncated`);
          w.ascii(int64Text(buf.readUInt32LE(pos), buf.readUInt32LE(pos + 4), spec.reader === 'sfixed64'));
          pos += 8;
          break;
        default: {
          readVarint(buf, pos, end);
          pos = vPos;
          switch (spec.reader) {
            case 'int32':
              writeInteger(w, vLo | 0);
              break;
            case 'uint32':
              writeInteger(w, vLo);
              break;
            case 'sint32':
              writeInteger(w, (vLo >>> 1) ^ -(vLo & 1));
              break;
            case 'bool':
              w.ascii(vLo !== 0 || vHi !== 0 ? 'true' : 'false');
              break;
            case 'sint64':
              w.ascii(zigzag64Text(vLo, vHi));
              break;
            default:
              if (vHi < 0x200000) writeInteger(w, vHi * TWO_32 + vLo);
              else w.ascii(int64Text(vLo, vHi, spec.reader === 'int64'));
          }
        }
      }
      if (spec.required) requiredSeen++;
    }
    if (pos !== end) throw new Error('truncated record');
    if (requiredSeen !== requiredCount) {
      const missing = specs.find((s) => s.required && seen[s.index] !== gen)!;
      throw new RowError(missing.column.name, 'NOT NULL column is missing');
    }
    w.ensure(2);
    w.buf[w.len++] = 125; // }
    w.buf[w.len++] = 10;
    w.lines++;
  };

  return (buf, start, end, w) => {
    const mark = w.len;
    try {
      writeRecord(buf, start, end, w);
    } catch (err) {
      w.len = mark;
      throw err;
    }
  };
}
