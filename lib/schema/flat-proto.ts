import * as protobuf from 'protobufjs';
import { RowError } from './rows';
import type { ColumnSchema } from './types';

/**
 * The fast path of PROTO ingest: for a record message whose fields are all singular scalars (the
 * usual shape, e.g. the OT events table), one pass over the bytes checks the wire format and
 * writes the stored JSON row directly — no message object, no Long, no second serialisation.
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
  key: string; // '"column":'
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

/**
 * A decoder from record bytes to the stored JSON line, or null when this message shape needs the
 * general decoder. The decoder throws FALLBACK, RowError or Error(reason).
 */
export function compileFlatDecoder(columns: ColumnSchema[], messageType: protobuf.Type): ((buf: Buffer) => string) | null {
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
    const spec: Spec = { reader, wire: WIRE[reader], key: JSON.stringify(column.name) + ':', required: !column.nullable, column, index: specs.length };
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

  return (buf) => {
    if (++generation === 0xffffffff) {
      seen.fill(0);
      generation = 1;
    }
    const gen = generation;
    const end = buf.length;
    let pos = 0;
    let out = '{';
    let requiredSeen = 0;
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
      let text: string;
      switch (spec.reader) {
        case 'string': {
          readVarint(buf, pos, end);
          const start = vPos;
          pos = start + vLo;
          if (vHi !== 0 || pos > end) throw new Error(`field ${spec.column.name}: length beyond the end of the record`);
          const s = buf.toString('utf8', start, pos);
          if (s.includes('\ufffd') && !Buffer.from(s, 'utf8').equals(buf.subarray(start, pos))) {
            throw new Error(`field ${spec.column.name} is not valid UTF-8`);
          }
          text = JSON.stringify(s);
          break;
        }
        case 'bytes': {
          readVarint(buf, pos, end);
          const start = vPos;
          pos = start + vLo;
          if (vHi !== 0 || pos > end) throw new Error(`field ${spec.column.name}: length beyond the end of the record`);
          text = '"' + buf.toString('base64', start, pos) + '"';
          break;
        }
        case 'fixed32':
        case 'sfixed32':
        case 'float': {
          if (pos + 4 > end) throw new Error(`field ${spec.column.name}: truncated`);
          const v = spec.reader === 'fixed32' ? buf.readUInt32LE(pos) : spec.reader === 'sfixed32' ? buf.readInt32LE(pos) : buf.readFloatLE(pos);
          if (!Number.isFinite(v)) throw FALLBACK;
          text = String(v);
          pos += 4;
          break;
        }
        case 'fixed64':
        case 'sfixed64':
        case 'double': {
          if (pos + 8 > end) throw new Error(`field ${spec.column.name}: truncated`);
          if (spec.reader === 'double') {
            const v = buf.readDoubleLE(pos);
            if (!Number.isFinite(v)) throw FALLBACK;
            text = String(v);
          } else {
            text = int64Text(buf.readUInt32LE(pos), buf.readUInt32LE(pos + 4), spec.reader === 'sfixed64');
          }
          pos += 8;
          break;
        }
        default: {
          readVarint(buf, pos, end);
          pos = vPos;
          switch (spec.reader) {
            case 'int32':
              text = String(vLo | 0);
              break;
            case 'uint32':
              text = String(vLo);
              break;
            case 'sint32':
              text = String((vLo >>> 1) ^ -(vLo & 1));
              break;
            case 'bool':
              text = vLo !== 0 || vHi !== 0 ? 'true' : 'false';
              break;
            case 'sint64':
              text = zigzag64Text(vLo, vHi);
              break;
            default:
              text = int64Text(vLo, vHi, spec.reader === 'int64');
          }
        }
      }
      if (spec.required) requiredSeen++;
      out += out.length === 1 ? spec.key + text : ',' + spec.key + text;
    }
    if (pos !== end) throw new Error('truncated record');
    if (requiredSeen !== requiredCount) {
      const missing = specs.find((s) => s.required && seen[s.index] !== gen)!;
      throw new RowError(missing.column.name, 'NOT NULL column is missing');
    }
    return out + '}';
  };
}
