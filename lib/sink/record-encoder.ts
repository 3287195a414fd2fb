import type * as protobuf from 'protobufjs';
import { descriptorForTable, parseCreateTables, type TableSchema } from '../schema';
// from their modules, not the lib/tags index, whose CommonJS re-exports are getters (called per record)
import { OT_EVENT_DESCRIPTOR, encodeOtEventJson, encodeOtEventRecordProto } from '../tags/row-codec';
import { toOtEventRow } from '../tags/row';
import { SinkConfigError } from './errors';
import type { SinkFormat, SinkRecordType } from './options';
import { partitionKeyReader, type PartitionKeyReader } from './partition-key';
import { plainRowToJson, schemaRowEncoder } from './row-encoder';

export type EncodeOutcome = { ok: true; data: Buffer } | { ok: false; reason: string };

/** Maps one input item to the bytes the spool keeps and the stream sends, or says why it never can. */
export interface RecordEncoder {
  readonly format: SinkFormat;
  readonly recordType: SinkRecordType;
  /** DescriptorProto sent when a PROTO stream is created. */
  readonly descriptorProto?: Buffer;
  encode(item: unknown, ingestionMicros: number): EncodeOutcome;
  /** What picks the stream of a record when the sink runs several (format rows: `column`, none: round robin). */
  partitionKey(column?: string): PartitionKeyReader | undefined;
}

export interface RecordEncoderOptions {
  format: SinkFormat;
  recordType: SinkRecordType;
  table: string;
  sourceSystem: string;
  schemaSql?: string;
  /** told about rows that encode but probably do not say what the user meant */
  onWarning?: (text: string) => void;
}

export function createRecordEncoder(opts: RecordEncoderOptions): RecordEncoder {
  if (opts.format === 'ot-event') return otEventEncoder(opts);
  return rowsEncoder(opts);
}

function otEventEncoder(opts: RecordEncoderOptions): RecordEncoder {
  const ctx = { sourceSystem: opts.sourceSystem, ingestionMicros: 0 };
  const proto = opts.recordType === 'proto';
  return {
    format: 'ot-event',
    recordType: opts.recordType,
    descriptorProto: proto ? OT_EVENT_DESCRIPTOR : undefined,
    partitionKey: () => partitionKeyReader({ format: 'ot-event' }),
    encode(item, ingestionMicros) {
      try {
        ctx.ingestionMicros = ingestionMicros;
        const data = proto ? encodeOtEventRecordProto(item, ctx) : Buffer.from(encodeOtEventJson(toOtEventRow(item, ctx)), 'utf8');
        return { ok: true, data };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
  };
}

function rowsEncoder(opts: RecordEncoderOptions): RecordEncoder {
  const table = opts.schemaSql?.trim() ? pickTable(parseSchema(opts.schemaSql), opts.table) : undefined;
  if (opts.recordType === 'proto' && !table) {
    throw new SinkConfigError('format "rows" with record type PROTO needs the CREATE TABLE statement of the table (schema)');
  }
  let messageType: protobuf.Type | undefined;
  let descriptorProto: Buffer | undefined;
  if (table && opts.recordType === 'proto') {
    try {
      ({ messageType, descriptorProto } = descriptorForTable(table));
    } catch (err) {
      throw new SinkConfigError(`the table schema has no protobuf form: ${(err as Error).message}`);
    }
  }
  const encodeWithSchema = table ? schemaRowEncoder(table, messageType, opts.onWarning) : undefined;
  return {
    format: 'rows',
    recordType: opts.recordType,
    descriptorProto,
    partitionKey(column) {
      if (!column) return undefined;
      if (!table) return partitionKeyReader({ format: 'rows', column });
      const found = table.columns.find((c) => c.name.toLowerCase() === column.toLowerCase());
      if (!found) throw new SinkConfigError(`the partition column '${column}' is not a column of ${table.name}`);
      return partitionKeyReader({ format: 'rows', column: found.name, fieldNumber: messageType?.fields[found.name]?.id });
    },
    encode(item) {
      if (item === null || typeof item !== 'object' || Array.isArray(item) || Buffer.isBuffer(item)) {
        return { ok: false, reason: `a row must be an object of column values, got ${describe(item)}` };
      }
      try {
        if (encodeWithSchema) return encodeWithSchema(item as Record<string, unknown>);
        return { ok: true, data: Buffer.from(plainRowToJson(item as Record<string, unknown>), 'utf8') };
      } catch (err) {
        return { ok: false, reason: `cannot encode the row: ${(err as Error).message}` };
      }
    },
  };
}

function parseSchema(sql: string): TableSchema[] {
  try {
    return parseCreateTables(sql);
  } catch (err) {
    throw new SinkConfigError(`the table schema cannot be read: ${(err as Error).message}`);
  }
}

/** The CREATE TABLE meant for `tableName`: by full name, else by its last part, else the only one. */
function pickTable(tables: TableSchema[], tableName: string): TableSchema {
  const wanted = tableName.toLowerCase();
  const short = wanted.split('.').pop();
  const found =
    tables.find((t) => t.name === wanted) ??
    tables.find((t) => t.name.split('.').pop() === short) ??
    (tables.length === 1 ? tables[0] : undefined);
  if (!found) {
    const names = tables.map((t) => t.name).join(', ') || 'none';
    throw new SinkConfigError(`the schema has no CREATE TABLE for ${tableName} (found: ${names})`);
  }
  return found;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  return typeof value;
}
