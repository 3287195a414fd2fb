import { timeToDays, timeToMicros } from './time-values';
import { formatType, type ColumnSchema, type DeltaType, type TableSchema } from './types';

/**
 * Validation of JSON rows against a table, following the package's JSON row conventions:
 * TIMESTAMP/TIMESTAMP_NTZ and BIGINT are integer numbers (micros for timestamps; decimal-integer
 * strings accepted for int64), DATE an integer of days, BINARY a base64 string, VARIANT any JSON
 * value, STRUCT and MAP objects, ARRAY arrays; absent or null = NULL. A row is accepted or
 * rejected whole: an unknown column, a missing NOT NULL column or a value of the wrong type
 * rejects it. Column names match exactly, or else case-insensitively (as Delta does).
 *
 * The normalizer also brings an accepted row into its stored form: NULLs left out, VARIANT as
 * JSON text, int64 strings as numbers when they fit exactly, DECIMAL as decimal text, BINARY
 * as base64. It returns the input object itself when nothing had to change, which lets callers
 * keep the text they parsed instead of serialising again.
 */

export type Row = Record<string, unknown>;

/** Why a value does not fit; `path` is the column (dotted for struct fields). */
export class RowError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`column '${path}': ${reason}`);
  }
}

type Convert = (value: unknown, path: string) => unknown;

export interface RowNormalizerOptions {
  /**
   * Also take a `Date` or ISO 8601 text for TIMESTAMP/TIMESTAMP_NTZ and DATE columns (turned into
   * micros / days). For the sending side; the emulator keeps to what Zerobus takes (integers).
   */
  acceptDates?: boolean;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DECIMAL_TEXT = /^[+-]?(\d+)(?:\.(\d+))?$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function wrongType(type: DeltaType, value: unknown, path: string): never {
  throw new RowError(path, `expected ${formatType(type)}, got ${describe(value)}`);
}

function isPlainObject(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function intConverter(type: DeltaType, min: number, max: number): Convert {
  return (v, path) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    return wrongType(type, v, path);
  };
}

/** An integer converter that, when asked to, first turns a Date or ISO text into that integer. */
function withDates(integer: Convert, toInteger: (v: unknown) => number | undefined, opts: RowNormalizerOptions): Convert {
  if (!opts.acceptDates) return integer;
  return (v, path) => {
    if (typeof v === 'number') return integer(v, path);
    const n = toInteger(v);
    return n === undefined ? integer(v, path) : integer(n, path);
  };
}

function int64Converter(type: DeltaType): Convert {
  return (v, path) => {
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return v;
      return wrongType(type, v, path);
    }
    if (typeof v === 'string' || typeof v === 'bigint') {
      const text = String(v);
      if (!/^-?\d{1,19}$/.test(text)) return wrongType(type, v, path);
      const big = BigInt(text);
      if (big < INT64_MIN || big > INT64_MAX) throw new RowError(path, `${text} is out of the BIGINT range`);
      const n = Number(big);
      return Number.isSafeInteger(n) ? n : big.toString();
    }
    return wrongType(type, v, path);
  };
}

export function checkDecimalText(text: string, precision: number, scale: number): string | null {
  const m = DECIMAL_TEXT.exec(text);
  if (!m) return `expected DECIMAL(${precision},${scale}), got ${describe(text)}`;
  const intDigits = m[1].replace(/^0+(?=\d)/, '');
  const fraction = m[2] ?? '';
  if (fraction.length > scale) return `${text} has more than ${scale} digits after the decimal point`;
  if ((intDigits === '0' ? 0 : intDigits.length) > precision - scale) return `${text} does not fit DECIMAL(${precision},${scale})`;
  return null;
}

function decimalConverter(type: { kind: 'decimal'; precision: number; scale: number }): Convert {
  return (v, path) => {
    let text: string;
    if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
    else if (typeof v === 'string') text = v;
    else return wrongType(type, v, path);
    if (/e/i.test(text)) text = Number(text).toFixed(type.scale);
    const problem = checkDecimalText(text, type.precision, type.scale);
    if (problem) throw new RowError(path, problem);
    return text;
  };
}

function mapKeyCheck(type: DeltaType): (key: string) => boolean {
  switch (type.kind) {
    case 'string':
      return () => true;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return (k) => /^-?\d+$/.test(k);
    case 'boolean':
      return (k) => k === 'true' || k === 'false';
    default:
      return () => false;
  }
}

export function converterFor(type: DeltaType, opts: RowNormalizerOptions = {}): Convert {
  switch (type.kind) {
    case 'string':
      return (v, path) => (typeof v === 'string' ? v : wrongType(type, v, path));
    case 'int8':
      return intConverter(type, -128, 127);
    case 'int16':
      return intConverter(type, -32768, 32767);
    case 'int32':
      return intConverter(type, -2147483648, 2147483647);
    case 'date':
      return withDates(intConverter(type, -2147483648, 2147483647), timeToDays, opts);
    case 'int64':
      return int64Converter(type);
    case 'timestamp':
    case 'timestamp_ntz':
      return withDates(int64Converter(type), timeToMicros, opts);
    case 'float':
    case 'double':
      return (v, path) => (typeof v === 'number' ? v : wrongType(type, v, path));
    case 'boolean':
      return (v, path) => (typeof v === 'boolean' ? v : wrongType(type, v, path));
    case 'binary':
      return (v, path) => {
        if (typeof v === 'string' && v.length % 4 === 0 && BASE64.test(v)) return v;
        if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
        return typeof v === 'string' ? wrongType(type, 'a non-base64 string', path) : wrongType(type, v, path);
      };
    case 'variant':
      return (v) => JSON.stringify(v);
    case 'decimal':
      return decimalConverter(type);
    case 'array': {
      const element = converterFor(type.element, opts);
      return (v, path) => {
        if (!Array.isArray(v)) return wrongType(type, v, path);
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
          const item = v[i];
          const converted = item === null || item === undefined ? null : element(item, `${path}[${i}]`);
          if (converted !== item && !out) out = v.slice(0, i);
          if (out) out.push(converted);
        }
        return out ?? v;
      };
    }
    case 'map': {
      const keyOk = mapKeyCheck(type.key);
      const value = converterFor(type.value, opts);
      return (v, path) => {
        if (!isPlainObject(v)) return wrongType(type, v, path);
        let out: Row | undefined;
        const keys = Object.keys(v);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          if (!keyOk(key)) throw new RowError(path, `map key ${JSON.stringify(key)} is not a ${formatType(type.key)}`);
          const item = v[key];
          const converted = item === null || item === undefined ? null : value(item, `${path}[${JSON.stringify(key)}]`);
          if (converted !== item && !out) out = Object.fromEntries(keys.slice(0, i).map((k) => [k, v[k]]));
          if (out) out[key] = converted;
        }
        return out ?? v;
      };
    }
    case 'struct': {
      const fields = objectNormalizer(type.fields, opts);
      return (v, path) => {
        if (!isPlainObject(v)) return wrongType(type, v, path);
        return fields(v, path + '.');
      };
    }
  }
}

interface Entry {
  column: ColumnSchema;
  convert: Convert;
}

/** Normalises one object of column values; throws RowError. Returns `input` when unchanged. */
function objectNormalizer(columns: ColumnSchema[], opts: RowNormalizerOptions): (input: Row, prefix: string) => Row {
  const exact = new Map<string, Entry>();
  const folded = new Map<string, Entry>();
  for (const column of columns) {
    const entry = { column, convert: converterFor(column.type, opts) };
    exact.set(column.name, entry);
    folded.set(column.name.toLowerCase(), entry);
  }
  const required = columns.filter((c) => !c.nullable);

  /** Builds the stored form when something has to change (or reports the exact problem). */
  const rebuild = (input: Row, prefix: string): Row => {
    const out: Row = {};
    for (const key in input) {
      const value = input[key];
      const entry = exact.get(key) ?? folded.get(key.toLowerCase());
      if (!entry) throw new RowError(prefix + key, 'no such column in the table');
      if (value === null || value === undefined) continue;
      const name = entry.column.name;
      if (name !== key && out[name] !== undefined) throw new RowError(prefix + name, 'given twice (names differ only in case)');
      out[name] = entry.convert(value, prefix + name);
    }
    for (let i = 0; i < required.length; i++) {
      if (out[required[i].name] === undefined) throw new RowError(prefix + required[i].name, 'NOT NULL column is missing or null');
    }
    return out;
  };

  // The common case (exact names, no NULLs, values already in stored form) allocates nothing.
  return (input, prefix) => {
    let requiredSeen = 0;
    for (const key in input) {
      const value = input[key];
      const entry = exact.get(key);
      if (entry === undefined || value === null || value === undefined) return rebuild(input, prefix);
      if (entry.convert(value, prefix ? prefix + key : key) !== value) return rebuild(input, prefix);
      if (!entry.column.nullable) requiredSeen++;
    }
    return requiredSeen === required.length ? input : rebuild(input, prefix);
  };
}

/**
 * Returns a function that validates one JSON row and gives its stored form (the input object
 * itself when it was already in stored form), or throws RowError.
 */
export function createRowNormalizer(table: TableSchema, opts: RowNormalizerOptions = {}): (row: unknown) => Row {
  const normalize = objectNormalizer(table.columns, opts);
  return (row) => {
    if (!isPlainObject(row)) throw new RowError('(row)', `a row must be a JSON object, got ${describe(row)}`);
    return normalize(row, '');
  };
}

/** null when the row fits the table, else the reason (naming the column). */
export function createRowValidator(table: TableSchema): (row: Record<string, unknown>) => string | null {
  const normalize = createRowNormalizer(table);
  return (row) => {
    try {
      normalize(row);
      return null;
    } catch (err) {
      if (err instanceof RowError) return err.message;
      throw err;
    }
  };
}
