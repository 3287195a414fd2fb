/**
 * Sparkplug 3.0 array types (22–34), carried in `bytes_value`. Everything is little-endian
 * (Tahu Java writes LE for every type; the spec's big-endian Float/Double example bytes are
 * errata). BooleanArray: 4-byte LE element count, then bits MSB-first. StringArray: UTF-8
 * strings each terminated by 0x00. DateTimeArray: int64 ms since the epoch.
 */
import { DataType } from './datatypes';
import { MAX_ARRAY_ELEMENTS } from './limits';

export type ArrayElement = number | string | boolean;

const TWO_32 = 4294967296;

function int64At(view: DataView, offset: number, signed: boolean): number | string {
  const low = view.getUint32(offset, true);
  const high = signed ? view.getInt32(offset + 4, true) : view.getUint32(offset + 4, true);
  const n = high * TWO_32 + low;
  if (Number.isSafeInteger(n)) return n;
  return (signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true)).toString();
}

function checkCount(count: number): void {
  if (count > MAX_ARRAY_ELEMENTS) throw new RangeError(`array of ${count} elements exceeds the limit of ${MAX_ARRAY_ELEMENTS}`);
}

function fixed(bytes: Uint8Array, size: number, read: (view: DataView, offset: number) => ArrayElement): ArrayElement[] {
  if (bytes.length % size !== 0) {
    throw new RangeError(`array of ${bytes.length} bytes is not a multiple of the element size ${size}`);
  }
  checkCount(bytes.length / size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<ArrayElement>(bytes.length / size);
  for (let i = 0, o = 0; i < out.length; i++, o += size) out[i] = read(view, o);
  return out;
}

function booleans(bytes: Uint8Array): boolean[] {
  if (bytes.length < 4) throw new RangeError('BooleanArray shorter than its 4-byte count');
  const count = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (Math.ceil(count / 8) > bytes.length - 4) {
    throw new RangeError(`BooleanArray announces ${count} values but carries ${bytes.length - 4} bytes`);
  }
  checkCount(count);
  const out = new Array<boolean>(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[4 + (i >> 3)] & (0x80 >> (i & 7))) !== 0;
  return out;
}

const utf8 = new TextDecoder('utf-8');

function strings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      if (out.length === MAX_ARRAY_ELEMENTS) checkCount(out.length + 1);
      out.push(utf8.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  // a last string without its terminator is still a string (lenient: some writers omit it)
  if (start < bytes.length) out.push(utf8.decode(bytes.subarray(start)));
  return out;
}

/** Decodes the bytes of an array metric; throws RangeError on inconsistent lengths. */
export function decodeArray(type: number, bytes: Uint8Array): ArrayElement[] {
  switch (type) {
    case DataType.Int8Array: return fixed(bytes, 1, (v, o) => v.getInt8(o));
    case DataType.UInt8Array: return fixed(bytes, 1, (v, o) => v.getUint8(o));
    case DataType.Int16Array: return fixed(bytes, 2, (v, o) => v.getInt16(o, true));
    case DataType.UInt16Array: return fixed(bytes, 2, (v, o) => v.getUint16(o, true));
    case DataType.Int32Array: return fixed(bytes, 4, (v, o) => v.getInt32(o, true));
    case DataType.UInt32Array: return fixed(bytes, 4, (v, o) => v.getUint32(o, true));
    case DataType.Int64Array: return fixed(bytes, 8, (v, o) => int64At(v, o, true));
    case DataType.UInt64Array: return fixed(bytes, 8, (v, o) => int64At(v, o, false));
    case DataType.DateTimeArray: return fixed(bytes, 8, (v, o) => int64At(v, o, true));
    case DataType.FloatArray: return fixed(bytes, 4, (v, o) => v.getFloat32(o, true));
    case DataType.DoubleArray: return fixed(bytes, 8, (v, o) => v.getFloat64(o, true));
    case DataType.BooleanArray: return booleans(bytes);
    case DataType.StringArray: return strings(bytes);
    default: throw new RangeError(`data type ${type} is not an array type`);
  }
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v.trim());
  if (v instanceof Date) return BigInt(v.getTime());
  throw new TypeError(`not an integer: ${String(v)}`);
}

function toNum(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  return Number(v);
}

/** Encodes array elements the way decodeArray reads them (used for commands and tests). */
export function encodeArray(type: number, values: readonly unknown[]): Uint8Array {
  const sizes: Record<number, number> = {
    [DataType.Int8Array]: 1, [DataType.UInt8Array]: 1, [DataType.Int16Array]: 2, [DataType.UInt16Array]: 2,
    [DataType.Int32Array]: 4, [DataType.UInt32Array]: 4, [DataType.FloatArray]: 4, [DataType.Int64Array]: 8,
    [DataType.UInt64Array]: 8, [DataType.DateTimeArray]: 8, [DataType.DoubleArray]: 8,
  };
  if (type === DataType.BooleanArray) {
    const out = new Uint8Array(4 + Math.ceil(values.length / 8));
    new DataView(out.buffer).setUint32(0, values.length, true);
    values.forEach((b, i) => {
      if (b) out[4 + (i >> 3)] |= 0x80 >> (i & 7);
    });
    return out;
  }
  if (type === DataType.StringArray) {
    return Buffer.concat(values.map((s) => Buffer.from(`${String(s)}\0`, 'utf8')));
  }
  const size = sizes[type];
  if (!size) throw new RangeError(`data type ${type} is not an array type`);
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    switch (type) {
      case DataType.Int8Array: view.setInt8(o, toNum(v)); break;
      case DataType.UInt8Array: view.setUint8(o, toNum(v)); break;
      case DataType.Int16Array: view.setInt16(o, toNum(v), true); break;
      case DataType.UInt16Array: view.setUint16(o, toNum(v), true); break;
      case DataType.Int32Array: view.setInt32(o, toNum(v), true); break;
      case DataType.UInt32Array: view.setUint32(o, toNum(v), true); break;
      case DataType.FloatArray: view.setFloat32(o, toNum(v), true); break;
      case DataType.DoubleArray: view.setFloat64(o, toNum(v), true); break;
      default: view.setBigUint64(o, BigInt.asUintN(64, toBigInt(v)), true);
    }
  });
  return out;
}
