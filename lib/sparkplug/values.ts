/**
 * Turns the `value` oneof of a decoded metric (or DataSet cell, template parameter, property)
 * into a JSON-friendly JavaScript value, driven by the Sparkplug data type.
 *
 * Choices (documented in the node help):
 * - whichever oneof member is set is read, not only the one the type prescribes (UInt32 comes
 *   in int_value per spec and in long_value from Tahu);
 * - signed 8/16/32-bit values arrive as 32-bit two's complement in the unsigned int_value;
 *   a value that is still out of range for Int8/Int16 is read as 8/16-bit two's complement;
 * - 64-bit integers: number when exactly representable, else a decimal string (see int64.ts);
 * - DateTime: ms since the epoch (number);
 * - Bytes: base64 string; File: an object with the metadata and the content in base64;
 * - DataSet: `{ columns, types, rows }` with Ignition column type names;
 * - arrays: JS arrays (see arrays.ts).
 */
import type { TagValue } from '../tags/event';
import * as arrays from './arrays';
import * as datatypes from './datatypes';
import * as int64 from './int64';
import { MAX_DATASET_CELLS } from './limits';
import { has, type RawDataSet, type RawMetaData, type RawValueHolder } from './proto';

// Hot-path imports are bound once to locals: per-access export getters (as tsx/esbuild emit) cost
// measurably when every metric of every message goes through them.
const { decodeArray } = arrays;
const { DataType, ignitionDataType, isArrayType } = datatypes;
const { int64Value, uint64ToNumber } = int64;

export class SparkplugValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SparkplugValueError';
  }
}

function signed32(field: string | undefined, h: RawValueHolder, bits: 8 | 16 | 32): number | string {
  if (field === 'long_value') return int64Value(h.long_value, true);
  let v = numberOf(field, h);
  if (typeof v !== 'number') return v;
  v |= 0;
  if (bits === 8 && v > 127 && v <= 255) v -= 256;
  else if (bits === 16 && v > 32767 && v <= 65535) v -= 65536;
  return v;
}

function numberOf(field: string | undefined, h: RawValueHolder): number | string {
  switch (field) {
    case 'int_value': return h.int_value as number;
    case 'long_value': return int64Value(h.long_value, false);
    case 'float_value': return h.float_value as number;
    case 'double_value': return h.double_value as number;
    case 'boolean_value': return h.boolean_value ? 1 : 0;
    case 'string_value': {
      const n = Number(h.string_value);
      if (Number.isNaN(n)) throw new SparkplugValueError(`numeric value expected, got string "${h.string_value}"`);
      return n;
    }
    default: throw new SparkplugValueError(`numeric value expected, got ${field ?? 'no value'}`);
  }
}

function bytesOf(field: string | undefined, h: RawValueHolder): Uint8Array {
  if (field === 'bytes_value') return h.bytes_value as Uint8Array;
  throw new SparkplugValueError(`bytes value expected, got ${field ?? 'no value'}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function stringOf(field: string | undefined, h: RawValueHolder): string {
  if (field === 'string_value') return h.string_value as string;
  if (field === 'bytes_value') return Buffer.from(h.bytes_value as Uint8Array).toString('utf8');
  const v = numberOf(field, h);
  return String(v);
}

export function fileValue(bytes: Uint8Array | undefined, meta: RawMetaData | undefined): TagValue {
  const out: Record<string, TagValue> = {};
  if (meta) {
    if (meta.file_name) out.fileName = meta.file_name;
    if (meta.file_type) out.fileType = meta.file_type;
    if (meta.content_type) out.contentType = meta.content_type;
    if (meta.md5) out.md5 = meta.md5;
    if (meta.description) out.description = meta.description;
  }
  out.size = bytes ? bytes.length : 0;
  out.base64 = bytes ? base64(bytes) : '';
  return out;
}

/** Value of a basic (non-DataSet, non-Template) type; `field` is the oneof member that is set. */
export function basicValue(type: number, h: RawValueHolder, field: string | undefined, meta?: RawMetaData): TagValue {
  switch (type) {
    case DataType.Int8: return signed32(field, h, 8);
    case DataType.Int16: return signed32(field, h, 16);
    case DataType.Int32: return signed32(field, h, 32);
    case DataType.Int64:
    case DataType.DateTime:
      return field === 'long_value' ? int64Value(h.long_value, true) : signed32(field, h, 32);
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32: {
      const v = numberOf(field, h);
      return field === 'int_value' ? (v as number) >>> 0 : v;
    }
    case DataType.UInt64:
      return field === 'int_value' ? (h.int_value as number) >>> 0 : numberOf(field, h);
    case DataType.Float:
    case DataType.Double:
      return numberOf(field, h);
    case DataType.Boolean:
      if (field === 'boolean_value') return h.boolean_value as boolean;
      if (field === 'string_value') return h.string_value === 'true';
      return Number(numberOf(field, h)) !== 0;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return stringOf(field, h);
    case DataType.Bytes:
      return base64(bytesOf(field, h));
    case DataType.File:
      return fileValue(bytesOf(field, h), meta);
    default:
      if (isArrayType(type)) {
        try {
          return decodeArray(type, bytesOf(field, h));
        } catch (err) {
          throw new SparkplugValueError((err as Error).message);
        }
      }
      return inferredValue(h, field);
  }
}

/** Value without a known data type (Unknown, or types this host does not know): read what is set. */
export function inferredValue(h: RawValueHolder, field: string | undefined): TagValue {
  switch (field) {
    case 'int_value': return (h.int_value as number) >>> 0;
    case 'long_value': return int64Value(h.long_value, false);
    case 'float_value': return h.float_value as number;
    case 'double_value': return h.double_value as number;
    case 'boolean_value': return h.boolean_value as boolean;
    case 'string_value': return h.string_value as string;
    case 'bytes_value': return base64(h.bytes_value as Uint8Array);
    default: return null;
  }
}

/** The data type a value field implies when the metric carries no datatype. */
export function typeOfField(field: string | undefined): number {
  switch (field) {
    case 'int_value': return DataType.UInt32;
    case 'long_value': return DataType.UInt64;
    case 'float_value': return DataType.Float;
    case 'double_value': return DataType.Double;
    case 'boolean_value': return DataType.Boolean;
    case 'string_value': return DataType.String;
    case 'bytes_value': return DataType.Bytes;
    case 'dataset_value': return DataType.DataSet;
    case 'template_value': return DataType.Template;
    default: return DataType.Unknown;
  }
}

export interface DataSetValue {
  columns: string[];
  types: string[];
  rows: TagValue[][];
  [key: string]: TagValue;
}

/**
 * A DataSet as `{ columns, types, rows }`; cells without a value are null. The width is that of
 * the column names and types actually present: a declared `num_of_columns` that disagrees is an
 * error, never an allocation size, and rows × columns is bounded (MAX_DATASET_CELLS).
 */
export function dataSetValue(ds: RawDataSet): DataSetValue {
  const columns = ds.columns ?? [];
  const codes = ds.types ?? [];
  const width = Math.max(columns.length, codes.length);
  if (has(ds, 'num_of_columns')) {
    const declared = uint64ToNumber(ds.num_of_columns);
    if (declared !== width) {
      throw new SparkplugValueError(`DataSet declares ${declared} columns but carries ${width} column names/types`);
    }
  }
  const rowList = ds.rows ?? [];
  // a row costs at least one slot even without columns
  if (rowList.length * Math.max(width, 1) > MAX_DATASET_CELLS) {
    throw new SparkplugValueError(`DataSet of ${rowList.length} rows × ${width} columns exceeds the limit of ${MAX_DATASET_CELLS} cells`);
  }
  const rows: TagValue[][] = [];
  for (const row of rowList) {
    const elements = row.elements ?? [];
    const out = new Array<TagValue>(width);
    for (let c = 0; c < width; c++) {
      const cell = elements[c];
      const field = cell?.value;
      out[c] = cell && field ? basicValue(codes[c] ?? DataType.Unknown, cell, field) : null;
    }
    rows.push(out);
  }
  const types = [];
  for (let c = 0; c < width; c++) types.push(ignitionDataType(codes[c] ?? DataType.Unknown) ?? 'Unknown');
  const names = [];
  for (let c = 0; c < width; c++) names.push(columns[c] ?? `Col ${c + 1}`);
  return { columns: names, types, rows };
}
