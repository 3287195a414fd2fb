import type * as protobuf from 'protobufjs';
import { createRowNormalizer, RowError, type ColumnSchema, type DeltaType, type TableSchema } from '../schema';
import type { EncodeOutcome } from './record-encoder';

/**
 * Encoders of custom table rows (format 'rows'). With a schema, lib/schema's normalizer checks
 * the row and gives its stored form (VARIANT as JSON text, BIGINT strings as numbers when they
 * fit, BINARY as base64, DECIMAL as text, column names as in the table); that form is both the
 * input of the protobuf message (VARIANT travels as JSON text there) and, with VARIANT values
 * put back as JSON values, the JSON record (a JSON record carries a VARIANT as the value itself).
 */

type Row = Record<string, unknown>;

export function schemaRowEncoder(table: TableSchema, messageType?: protobuf.Type, onWarning?: (text: string) => void): (row: Row) => EncodeOutcome {
  // a Date or ISO text in a time column is what a function node naturally writes
  const normalize = createRowNormalizer(table, { acceptDates: true });
  const checkUnits = onWarning ? millisecondsWatch(table.columns, onWarning) : undefined;
  return (row) => {
    let stored: Row;
    try {
      stored = normalize(row);
    } catch (err) {
      if (err instanceof RowError) return { ok: false, reason: err.message };
      throw err;
    }
    checkUnits?.(stored);
    if (!messageType) return { ok: true, data: Buffer.from(JSON.stringify(variantsAsJson(table.columns, stored)), 'utf8') };
    const nullAt = nullInsideCollection(stored, '');
    if (nullAt) return { ok: false, reason: `column '${nullAt}': protobuf records cannot carry NULL inside an ARRAY or MAP` };
    return { ok: true, data: Buffer.from(messageType.encode(messageType.fromObject(stored)).finish()) };
  };
}

/** TIMESTAMP integers in this range are dates of 2001–2286 in milliseconds, or 1970 in microseconds. */
const MILLIS_LOW = 1e12;
const MILLIS_HIGH = 1e13;

/**
 * Watches the top-level TIMESTAMP columns for values that look like milliseconds (`Date.now()`):
 * valid, so they are sent, but they land in January–April 1970. Said once per column.
 */
function millisecondsWatch(columns: ColumnSchema[], warn: (text: string) => void): ((stored: Row) => void) | undefined {
  const watched = columns.filter((c) => c.type.kind === 'timestamp' || c.type.kind === 'timestamp_ntz').map((c) => c.name);
  if (!watched.length) return undefined;
  const told = new Set<string>();
  return (stored) => {
    if (told.size === watched.length) return; // said all there is to say
    for (let i = 0; i < watched.length; i++) {
      const v = stored[watched[i]];
      if (typeof v !== 'number' || v < MILLIS_LOW || v >= MILLIS_HIGH || told.has(watched[i])) continue;
      told.add(watched[i]);
      warn(`column '${watched[i]}' got ${v}, which as microseconds is ${new Date(v / 1000).toISOString()}: TIMESTAMP takes microseconds since the epoch (Date.now() * 1000), not milliseconds`);
    }
  };
}

/** JSON text of a row sent without schema; BigInt values become numbers or decimal strings. */
export function plainRowToJson(row: Row): string {
  return JSON.stringify(row, (_key, value: unknown) => {
    if (typeof value !== 'bigint') return value;
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  });
}

/** Path of a null element of an array or value of a map (struct NULLs are already left out). */
function nullInsideCollection(value: unknown, path: string, inCollection = false): string | undefined {
  if (value === null || value === undefined) return inCollection ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nullInsideCollection(value[i], `${path}[${i}]`, true);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const [key, v] of Object.entries(value as Row)) {
      const found = nullInsideCollection(v, path ? `${path}.${key}` : key, v === null && path !== '');
      if (found) return found;
    }
  }
  return undefined;
}

/** The stored form with every VARIANT (JSON text) turned back into its JSON value. */
function variantsAsJson(columns: ColumnSchema[], stored: Row): Row {
  if (!columns.some((c) => hasVariant(c.type))) return stored;
  const out: Row = { ...stored };
  for (const c of columns) if (out[c.name] !== undefined && hasVariant(c.type)) out[c.name] = variantValue(c.type, out[c.name]);
  return out;
}

function variantValue(type: DeltaType, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (type.kind) {
    case 'variant':
      return typeof value === 'string' ? JSON.parse(value) : value;
    case 'array':
      return (value as unknown[]).map((v) => variantValue(type.element, v));
    case 'map':
      return Object.fromEntries(Object.entries(value as Row).map(([k, v]) => [k, variantValue(type.value, v)]));
    case 'struct':
      return variantsAsJson(type.fields, value as Row);
    default:
      return value;
  }
}

function hasVariant(type: DeltaType): boolean {
  switch (type.kind) {
    case 'variant':
      return true;
    case 'array':
      return hasVariant(type.element);
    case 'map':
      return hasVariant(type.value);
    case 'struct':
      return type.fields.some((f) => hasVariant(f.type));
    default:
      return false;
  }
}
