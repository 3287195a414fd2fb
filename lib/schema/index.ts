/** Delta table schemas: DDL parsing, row validation, protobuf descriptors of rows. */
export { SchemaParseError, formatType, formatCreateTable } from './types';
export type { DeltaType, ColumnSchema, TableSchema } from './types';
export { parseCreateTables } from './ddl';
export { createRowValidator, createRowNormalizer, RowError } from './rows';
export type { Row, RowNormalizerOptions } from './rows';
export { descriptorForTable, readDescriptor, decodeDescriptorProto } from './descriptor';
export { checkDescriptor, createProtoRowReader } from './proto-rows';
export type { ProtoRowReader } from './proto-rows';
export { LineWriter } from './line-writer';
