import * as protobuf from 'protobufjs';
import { readDescriptor } from './descriptor';
import { createWireChecker } from './wire-check';
import { compileFlatWriter, FALLBACK } from './flat-proto';
import { LineWriter } from './line-writer';
import { checkDecimalText, RowError, type Row } from './rows';
import { formatType, type ColumnSchema, type DeltaType, type TableSchema } from './types';

/**
 * A client's record descriptor checked against a table, and the decoder that turns one record
 * (the message's binary encoding) into the stored JSON row: int64 as numbers (decimal text
 * beyond 2^53), BYTES as base64, VARIANT as its JSON text, absent fields as NULL. An empty
 * repeated or map field is NULL for a nullable column (protobuf cannot tell the two apart) and
 * an empty collection for a NOT NULL one.
 */

type Decoded = Record<string, unknown>;
type Convert = (value: unknown, path: string) => unknown;

const INT32_FAMILY = ['int32', 'sint32', 'sfixed32'];
const INT64_FAMILY = ['int64', 'sint64', 'sfixed64', ...INT32_FAMILY, 'uint32', 'fixed32'];

function scalarsFor(type: DeltaType): string[] {
  switch (type.kind) {
    case 'string':
    case 'variant':
    case 'decimal':
      return ['string'];
    case 'int8':
    case 'int16':
    case 'int32':
    case 'date':
      return INT32_FAMILY;
    case 'int64':
    case 'timestamp':
    case 'timestamp_ntz':
      return INT64_FAMILY;
    case 'float':
      return ['float'];
    case 'double':
      return ['double', 'float'];
    case 'boolean':
      return ['bool'];
    case 'binary':
      return ['bytes'];
    default:
      return [];
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

function int64Value(v: unknown): unknown {
  if (typeof v === 'number') return v;
  const long = v as { toNumber(): number; toString(): string };
  const n = long.toNumber();
  return Number.isSafeInteger(n) ? n : long.toString();
}

function rangeCheck(min: number, max: number, type: DeltaType): Convert {
  return (v, path) => {
    const n = v as number;
    if (n < min || n > max) throw new RowError(path, `${n} is out of the ${formatType(type)} range`);
    return n;
  };
}

/** Converter of one singular decoded value of `field` into the column type (compatibility already checked). */
function valueConverter(type: DeltaType, fieldType: string, resolved: protobuf.Type | null): Convert {
  switch (type.kind) {
    case 'int8':
      return rangeCheck(-128, 127, type);
    case 'int16':
      return rangeCheck(-32768, 32767, type);
    case 'int64':
    case 'timestamp':
    case 'timestamp_ntz':
      return fieldType === 'int32' || fieldType === 'sint32' || fieldType === 'sfixed32' || fieldType === 'uint32' || fieldType === 'fixed32'
        ? (v) => v
        : (v) => int64Value(v);
    case 'binary':
      return (v) => {
        const b = v as Uint8Array;
        return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
      };
    case 'variant':
      return (v, path) => {
        try {
          JSON.parse(v as string);
        } catch {
          throw new RowError(path, 'VARIANT must hold JSON text');
        }
        return v;
      };
    case 'decimal':
      return (v, path) => {
        const problem = checkDecimalText(v as string, type.precision, type.scale);
        if (problem) throw new RowError(path, problem);
        return v;
      };
    case 'struct': {
      const nested = messageReader(type.fields, resolved!, '');
      return (v, path) => nested(v as Decoded, path + '.');
    }
    default:
      return (v) => v;
  }
}

interface FieldPlan {
  name: string;
  column: ColumnSchema;
  kind: 'single' | 'repeated' | 'map';
  convert: Convert;
  keyIsLong: boolean;
}

/** Checks the message type against columns and returns the reader of decoded messages; throws Error(reason). */
function messageReader(columns: ColumnSchema[], messageType: protobuf.Type, where: string): (msg: Decoded, prefix: string) => Row {
  const exact = new Map(columns.map((c) => [c.name, c]));
  const folded = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const plans: FieldPlan[] = [];
  const covered = new Set<ColumnSchema>();
  for (const field of messageType.fieldsArray) {
    const column = exact.get(field.name) ?? folded.get(field.name.toLowerCase());
    const at = `${where}${field.name}`;
    if (!column) throw new Error(`field ${at} has no column of that name in the table`);
    if (covered.has(column)) throw new Error(`two fields map to column ${column.name}`);
    covered.add(column);
    field.resolve();
    const resolved = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    const mismatch = (): never => {
      throw new Error(`field ${at} (${describeField(field)}) is not compatible with column type ${formatType(column.type)}`);
    };
    const compatible = (type: DeltaType): boolean => {
      if (type.kind === 'struct') return resolved !== null;
      if (type.kind === 'array' || type.kind === 'map') return false;
      return resolved === null && scalarsFor(type).includes(field.type);
    };
    if (field instanceof protobuf.MapField) {
      if (column.type.kind !== 'map') mismatch();
      const mapType = column.type as { kind: 'map'; key: DeltaType; value: DeltaType };
      if (!scalarsFor(mapType.key).includes(field.keyType)) mismatch();
      if (!compatible(mapType.value)) mismatch();
      plans.push({
        name: field.name,
        column,
        kind: 'map',
        convert: valueConverter(mapType.value, field.type, resolved),
        keyIsLong: ['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64'].includes(field.keyType),
      });
    } else if (field.repeated) {
      if (column.type.kind !== 'array' || !compatible(column.type.element)) mismatch();
      const element = (column.type as { kind: 'array'; element: DeltaType }).element;
      plans.push({ name: field.name, column, kind: 'repeated', convert: valueConverter(element, field.type, resolved), keyIsLong: false });
    } else {
      if (!compatible(column.type)) mismatch();
      if (column.type.kind === 'struct') messageReader(column.type.fields, resolved!, `${at}.`);
      plans.push({ name: field.name, column, kind: 'single', convert: valueConverter(column.type, field.type, resolved), keyIsLong: false });
    }
  }
  const missing = columns.filter((c) => !c.nullable && !covered.has(c));
  if (missing.length) throw new Error(`the descriptor has no field for NOT NULL column ${where}${missing[0].name}`);
  const required = columns.filter((c) => !c.nullable);

  return (msg, prefix) => {
    const row: Row = {};
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i];
      const path = prefix + plan.column.name;
      if (plan.kind === 'single') {
        if (!hasOwn.call(msg, plan.name)) continue;
        const v = msg[plan.name];
        if (v === null || v === undefined) continue;
        row[plan.column.name] = plan.convert(v, path);
      } else if (plan.kind === 'repeated') {
        const list = msg[plan.name] as unknown[];
        if (!list || (list.length === 0 && plan.column.nullable)) continue;
        const out = new Array(list.length);
        for (let k = 0; k < list.length; k++) out[k] = plan.convert(list[k], `${path}[${k}]`);
        row[plan.column.name] = out;
      } else {
        const map = msg[plan.name] as Record<string, unknown>;
        const keys = map ? Object.keys(map) : [];
        if (keys.length === 0 && plan.column.nullable) continue;
        const out: Row = {};
        for (const key of keys) {
          const k = plan.keyIsLong && key.length === 8 ? protobuf.util.LongBits.fromHash(key).toNumber() : key;
          out[String(k)] = plan.convert(map[key], `${path}[${JSON.stringify(String(k))}]`);
        }
        row[plan.column.name] = out;
      }
    }
    for (let i = 0; i < required.length; i++) {
      if (row[required[i].name] === undefined) throw new RowError(prefix + required[i].name, 'NOT NULL column is missing');
    }
    return row;
  };
}

function describeField(field: protobuf.Field): string {
  if (field instanceof protobuf.MapField) return `map<${field.keyType}, ${field.type.replace(/^\./, '')}>`;
  return `${field.repeated ? 'repeated ' : ''}${field.type.replace(/^\./, '')}`;
}

export interface ProtoRowReader {
  messageType: protobuf.Type;
  /** Decodes one record into its stored row; throws RowError (or a decode Error) when it does not fit. */
  decodeRow(bytes: Uint8Array): Row;
  /** The same row as its stored JSON text (one line), by the fast path where the message allows. */
  decodeLine(bytes: Uint8Array): string;
  /** Appends the row's JSON line to `w` (the fast path writes bytes directly); throws like decodeRow. */
  appendLine(bytes: Uint8Array, w: LineWriter): void;
  /** appendLine for the record buf[start, end), read in place (no Buffer per record on the fast path). */
  appendSpan(buf: Buffer, start: number, end: number, w: LineWriter): void;
}

/** Loads a client's descriptor, checks it against the table and returns the record decoder. */
export function createProtoRowReader(table: TableSchema, descriptorProto: Uint8Array): { ok: true; reader: ProtoRowReader } | { ok: false; reason: string } {
  const read = readDescriptor(descriptorProto);
  if (!read.ok) return read;
  const { messageType } = read;
  let toRow: (msg: Decoded, prefix: string) => Row;
  try {
    toRow = messageReader(table.columns, messageType, '');
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const wellFormed = createWireChecker(messageType);
  const decodeRow = (bytes: Uint8Array): Row => {
    const problem = wellFormed(bytes);
    if (problem) throw new Error(problem);
    return toRow(messageType.decode(bytes) as unknown as Decoded, '');
  };
  const flat = compileFlatWriter(table.columns, messageType);
  const appendSpan = (buf: Buffer, start: number, end: number, w: LineWriter): void => {
    if (flat) {
      try {
        return flat(buf, start, end, w);
      } catch (err) {
        if (err !== FALLBACK) throw err;
      }
    }
    w.line(JSON.stringify(decodeRow(buf.subarray(start, end))));
  };
  const appendLine = (bytes: Uint8Array, w: LineWriter): void => {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    appendSpan(buf, 0, buf.length, w);
  };
  const scratch = new LineWriter();
  const decodeLine = (bytes: Uint8Array): string => {
    scratch.reset();
    appendLine(bytes, scratch);
    return scratch.buf.toString('utf8', 0, scratch.len - 1);
  };
  return {
    ok: true,
    reader: {
      messageType,
      decodeRow,
      decodeLine,
      appendLine,
      appendSpan,
    },
  };
}

/** Whether a client's DescriptorProto can write rows of `table`. */
export function checkDescriptor(table: TableSchema, descriptorProto: Uint8Array): { ok: true; messageType: protobuf.Type } | { ok: false; reason: string } {
  const result = createProtoRowReader(table, descriptorProto);
  return result.ok ? { ok: true, messageType: result.reader.messageType } : result;
}
