/**
 * The shape of a Delta table as the emulator and the encoders see it: parsed from the
 * `CREATE TABLE` statements users already write in Databricks.
 */
export type DeltaType =
  | { kind: 'string' }
  | { kind: 'int8' }
  | { kind: 'int16' }
  | { kind: 'int32' }
  | { kind: 'int64' }
  | { kind: 'float' }
  | { kind: 'double' }
  | { kind: 'boolean' }
  | { kind: 'binary' }
  | { kind: 'date' }
  | { kind: 'timestamp' }
  | { kind: 'timestamp_ntz' }
  | { kind: 'variant' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: DeltaType }
  | { kind: 'map'; key: DeltaType; value: DeltaType }
  | { kind: 'struct'; fields: ColumnSchema[] };

export interface ColumnSchema {
  name: string;
  type: DeltaType;
  nullable: boolean;
  comment?: string;
}

export interface TableSchema {
  /** catalog.schema.table, lower-cased */
  name: string;
  columns: ColumnSchema[];
}

/** A problem in DDL text, with the 1-based position where it was found. */
export class SchemaParseError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'SchemaParseError';
  }
}

/** SQL spelling of a type, as Databricks prints it in `DESCRIBE TABLE`. */
export function formatType(type: DeltaType): string {
  switch (type.kind) {
    case 'int8':
      return 'TINYINT';
    case 'int16':
      return 'SMALLINT';
    case 'int32':
      return 'INT';
    case 'int64':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'array':
      return `ARRAY<${formatType(type.element)}>`;
    case 'map':
      return `MAP<${formatType(type.key)}, ${formatType(type.value)}>`;
    case 'struct':
      return `STRUCT<${type.fields.map((f) => `${quoteIdent(f.name)}: ${formatColumnTail(f)}`).join(', ')}>`;
    default:
      return type.kind.toUpperCase();
  }
}

function formatColumnTail(column: ColumnSchema): string {
  let out = formatType(column.type);
  if (!column.nullable) out += ' NOT NULL';
  if (column.comment !== undefined) out += ` COMMENT ${quoteString(column.comment)}`;
  return out;
}

/** A `CREATE TABLE` statement that parses back to the same schema. */
export function formatCreateTable(table: TableSchema): string {
  const columns = table.columns.map((c) => `  ${quoteIdent(c.name)} ${formatColumnTail(c)}`);
  const name = table.name.split('.').map(quoteIdent).join('.');
  return `CREATE TABLE ${name} (\n${columns.join(',\n')}\n) USING DELTA;\n`;
}

function quoteIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '`' + name.replace(/`/g, '``') + '`';
}

function quoteString(text: string): string {
  return "'" + text.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}
