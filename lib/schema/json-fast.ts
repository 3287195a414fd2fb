import { isUtf8 } from 'buffer';
import type { LineWriter } from './line-writer';
import type { ColumnSchema } from './types';

/**
 * The fast path of JSON ingest: a JSON record that is already in stored form — a flat object
 * whose keys are exact column names, each given once, with no nulls, values of scalar columns
 * in the form the normalizer keeps unchanged, every NOT NULL column present, no raw newline —
 * is checked in one pass over its UTF-8 bytes (strict JSON grammar) and stored as those bytes.
 * That is the line the general path (JSON.parse, createRowNormalizer, the text trimmed) stores
 * for such a record. Everything else — nulls, other column kinds, case-folded names, numbers
 * the fast path does not evaluate, invalid JSON, invalid UTF-8 — is declined (false) and goes
 * to the general path, which accepts or rejects it with its exact message.
 */

const enum K {
  String,
  Int, // 32-bit and smaller, DATE: a plain integer within [min, max]
  Int64, // BIGINT, TIMESTAMP(_NTZ): a number without fraction or exponent (the normalizer takes any integer number)
  Number, // FLOAT, DOUBLE: any JSON number
  Boolean,
  Other,
}

interface Col {
  name: Buffer;
  kind: K;
  min: number;
  max: number;
  required: boolean;
}

const RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  date: [-2147483648, 2147483647],
};

function kindOf(type: ColumnSchema['type']): K {
  switch (type.kind) {
    case 'string':
      return K.String;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'date':
      return K.Int;
    case 'int64':
    case 'timestamp':
    case 'timestamp_ntz':
      return K.Int64;
    case 'float':
    case 'double':
      return K.Number;
    case 'boolean':
      return K.Boolean;
    default:
      return K.Other;
  }
}

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d; // '\n' is declined: the general path re-serialises such text
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

// Results of the number scanner (module state: no tuple per value).
let nEnd = 0;
let nInt = false; // no fraction, no exponent: an integer value whatever its size
let nPlain = false; // and at most 15 digits: nValue is exact
let nValue = 0;

/** Scans a JSON number at pos; false when the grammar is broken. */
function scanNumber(buf: Buffer, pos: number, end: number): boolean {
  const negative = buf[pos] === 0x2d;
  if (negative) pos++;
  if (pos >= end) return false;
  let value = 0;
  let digits = 0;
  if (buf[pos] === 0x30) {
    pos++;
    digits = 1;
  } else if (isDigit(buf[pos])) {
    while (pos < end && isDigit(buf[pos])) {
      value = value * 10 + (buf[pos++] - 0x30);
      digits++;
    }
  } else return false;
  let int = true;
  if (pos < end && buf[pos] === 0x2e) {
    pos++;
    if (pos >= end || !isDigit(buf[pos])) return false;
    while (pos < end && isDigit(buf[pos])) pos++;
    int = false;
  }
  if (pos < end && (buf[pos] === 0x65 || buf[pos] === 0x45)) {
    pos++;
    if (pos < end && (buf[pos] === 0x2b || buf[pos] === 0x2d)) pos++;
    if (pos >= end || !isDigit(buf[pos])) return false;
    while (pos < end && isDigit(buf[pos])) pos++;
    int = false;
  }
  nEnd = pos;
  nInt = int;
  nPlain = int && digits <= 15;
  nValue = negative ? -value : value;
  return true;
}

/**
 * The fast line writer for a table's columns: appends the record buf[start, end) as a stored
 * line and returns true, or returns false (nothing written) when the general path must decide.
 */
export function compileJsonLineWriter(columns: ColumnSchema[]): (buf: Buffer, start: number, end: number, w: LineWriter) => boolean {
  const cols: Col[] = columns.map((c) => {
    const [min, max] = RANGES[c.type.kind] ?? [0, 0];
    return { name: Buffer.from(c.name, 'utf8'), kind: kindOf(c.type), min, max, required: !c.nullable };
  });
  const requiredCount = cols.filter((c) => c.required).length;
  const seen = new Uint32Array(cols.length);
  let generation = 0;

  /** Index of the column whose name is buf[ks, ke), trying `guess` first; -1 if none. */
  const findColumn = (buf: Buffer, ks: number, ke: number, guess: number): number => {
    const n = ke - ks;
    for (let t = 0; t < cols.length; t++) {
      const i = (guess + t) % cols.length;
      const name = cols[i].name;
      if (name.length !== n) continue;
      let k = 0;
      while (k < n && name[k] === buf[ks + k]) k++;
      if (k === n) return i;
    }
    return -1;
  };

  return (buf, start, end, w) => {
    if (cols.length === 0) return false;
    if (++generation === 0xffffffff) {
      seen.fill(0);
      generation = 1;
    }
    const gen = generation;
    let pos = start;
    while (pos < end && isWs(buf[pos])) pos++;
    if (pos >= end || buf[pos] !== 0x7b) return false; // {
    const objStart = pos++;
    let ascii = true;
    let requiredSeen = 0;
    let guess = 0;
    while (pos < end && isWs(buf[pos])) pos++;
    if (pos < end && buf[pos] === 0x7d) return false; // {}: no columns given, let the general path judge
    for (;;) {
      // key
      if (pos >= end || buf[pos] !== 0x22) return false;
      const ks = ++pos;
      while (pos < end) {
        const c = buf[pos];
        if (c === 0x22) break;
        if (c === 0x5c || c < 0x20 || c >= 0x80) return false; // escapes and non-ASCII names: general path
        pos++;
      }
      if (pos >= end) return false;
      const index = findColumn(buf, ks, pos, guess);
      pos++;
      if (index < 0) return false;
      const col = cols[index];
      if (col.kind === K.Other || seen[index] === gen) return false;
      seen[index] = gen;
      guess = index + 1;
      while (pos < end && isWs(buf[pos])) pos++;
      if (pos >= end || buf[pos] !== 0x3a) return false; // :
      pos++;
      while (pos < end && isWs(buf[pos])) pos++;
      if (pos >= end) return false;
      // value
      const c = buf[pos];
      switch (col.kind) {
        case K.String: {
          if (c !== 0x22) return false;
          pos++;
          for (;;) {
            if (pos >= end) return false;
            const b = buf[pos];
            if (b === 0x22) break;
            if (b < 0x20) return false;
            if (b === 0x5c) {
              const e = buf[pos + 1];
              if (e === 0x75) {
                if (pos + 6 > end || !isHex(buf[pos + 2]) || !isHex(buf[pos + 3]) || !isHex(buf[pos + 4]) || !isHex(buf[pos + 5])) return false;
                pos += 6;
                continue;
              }
              if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return false;
              pos += 2;
              continue;
            }
            if (b >= 0x80) ascii = false;
            pos++;
          }
          pos++;
          break;
        }
        case K.Boolean:
          if (c === 0x74 && buf[pos + 1] === 0x72 && buf[pos + 2] === 0x75 && buf[pos + 3] === 0x65 && pos + 4 <= end) pos += 4;
          else if (c === 0x66 && buf[pos + 1] === 0x61 && buf[pos + 2] === 0x6c && buf[pos + 3] === 0x73 && buf[pos + 4] === 0x65 && pos + 5 <= end) pos += 5;
          else return false;
          break;
        default: {
          if (c !== 0x2d && !isDigit(c)) return false;
          if (!scanNumber(buf, pos, end)) return false;
          // the normalizer takes any integer number for 64-bit columns, and checks the range of smaller ones
          if (col.kind === K.Int64 && !nInt) return false;
          if (col.kind === K.Int && (!nPlain || nValue < col.min || nValue > col.max)) return false;
          pos = nEnd;
        }
      }
      if (col.required) requiredSeen++;
      while (pos < end && isWs(buf[pos])) pos++;
      if (pos >= end) return false;
      if (buf[pos] === 0x2c) {
        pos++;
        while (pos < end && isWs(buf[pos])) pos++;
        continue;
      }
      if (buf[pos] !== 0x7d) return false;
      break;
    }
    const objEnd = ++pos;
    while (pos < end && isWs(buf[pos])) pos++;
    if (pos !== end || requiredSeen !== requiredCount) return false;
    if (!ascii && !isUtf8(buf.subarray(objStart, objEnd))) return false;
    const n = objEnd - objStart;
    w.ensure(n + 1);
    buf.copy(w.buf, w.len, objStart, objEnd);
    w.len += n;
    w.buf[w.len++] = 10;
    w.lines++;
    return true;
  };
}
