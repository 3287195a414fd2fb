/**
 * Sparkplug B data types (Sparkplug 3.0 §6.4.16) and the Ignition tag data type each one becomes.
 */
export const DataType = {
  Unknown: 0, Int8: 1, Int16: 2, Int32: 3, Int64: 4, UInt8: 5, UInt16: 6, UInt32: 7, UInt64: 8,
  Float: 9, Double: 10, Boolean: 11, String: 12, DateTime: 13, Text: 14, UUID: 15, DataSet: 16,
  Bytes: 17, File: 18, Template: 19, PropertySet: 20, PropertySetList: 21,
  Int8Array: 22, Int16Array: 23, Int32Array: 24, Int64Array: 25, UInt8Array: 26, UInt16Array: 27,
  UInt32Array: 28, UInt64Array: 29, FloatArray: 30, DoubleArray: 31, BooleanArray: 32,
  StringArray: 33, DateTimeArray: 34,
} as const;

export type DataTypeName = keyof typeof DataType;

const NAMES: string[] = [];
const BY_LOWER_NAME = new Map<string, number>();
for (const [name, code] of Object.entries(DataType)) {
  NAMES[code] = name;
  BY_LOWER_NAME.set(name.toLowerCase(), code);
}
// Tahu's JavaScript library accepts these shorthands; so do we.
BY_LOWER_NAME.set('int', DataType.Int32);
BY_LOWER_NAME.set('long', DataType.Int64);

/** 'Int8', 'DoubleArray', … or 'Unknown(99)' for codes outside the 3.0 enum. */
export function dataTypeName(code: number): string {
  return NAMES[code] ?? `Unknown(${code})`;
}

/** Code of a Sparkplug data type given by code or (case-insensitive) name; undefined if unknown. */
export function dataTypeCode(type: number | string): number | undefined {
  if (typeof type === 'number') return Number.isInteger(type) && type >= 0 ? type : undefined;
  return BY_LOWER_NAME.get(type.toLowerCase());
}

export function isArrayType(code: number): boolean {
  return code >= DataType.Int8Array && code <= DataType.DateTimeArray;
}

/**
 * Ignition tag data type per Sparkplug type, as Tahu Java / MQTT Engine map them: unsigned
 * types widen to the next signed Ignition type (Ignition has no unsigned integers).
 */
const IGNITION_TYPES: Record<number, string> = {
  [DataType.Int8]: 'Int1',
  [DataType.Int16]: 'Int2',
  [DataType.UInt8]: 'Int2',
  [DataType.Int32]: 'Int4',
  [DataType.UInt16]: 'Int4',
  [DataType.Int64]: 'Int8',
  [DataType.UInt32]: 'Int8',
  [DataType.UInt64]: 'Int8',
  [DataType.Float]: 'Float4',
  [DataType.Double]: 'Float8',
  [DataType.Boolean]: 'Boolean',
  [DataType.String]: 'String',
  [DataType.Text]: 'String',
  [DataType.UUID]: 'String',
  [DataType.DateTime]: 'DateTime',
  [DataType.DataSet]: 'DataSet',
  [DataType.Bytes]: 'ByteArray',
  // A file is emitted as a JSON document: its metadata plus the content in base64.
  [DataType.File]: 'Document',
  [DataType.Template]: 'UDT',
  [DataType.PropertySet]: 'Document',
  [DataType.PropertySetList]: 'Document',
  [DataType.Int8Array]: 'Int1Array',
  [DataType.Int16Array]: 'Int2Array',
  [DataType.UInt8Array]: 'Int2Array',
  [DataType.Int32Array]: 'Int4Array',
  [DataType.UInt16Array]: 'Int4Array',
  [DataType.Int64Array]: 'Int8Array',
  [DataType.UInt32Array]: 'Int8Array',
  [DataType.UInt64Array]: 'Int8Array',
  [DataType.FloatArray]: 'Float4Array',
  [DataType.DoubleArray]: 'Float8Array',
  [DataType.BooleanArray]: 'BooleanArray',
  [DataType.StringArray]: 'StringArray',
  [DataType.DateTimeArray]: 'DateTimeArray',
};

/** Ignition type name for a Sparkplug type code; undefined for Unknown and unlisted codes. */
export function ignitionDataType(code: number): string | undefined {
  return IGNITION_TYPES[code];
}
