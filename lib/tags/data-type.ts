/**
 * Tag data type names. The seed scripts send `type(value).__name__` (Jython names, docs/DESIGN.md §12
 * B1); others send Ignition names (B3), Java class names or Sparkplug names (A5). Everything is
 * mapped to the Ignition 8 type name (`Float8`, `Int4`, `DateTime`, `StringArray`, …).
 */

/** The Ignition 8 data type names (IA "Tag Data Types"). */
export const IGNITION_DATA_TYPES = [
  'Int1', 'Int2', 'Int4', 'Int8', 'Float4', 'Float8', 'Boolean', 'String', 'DateTime', 'DataSet', 'Text',
  'Int4Array', 'Int8Array', 'Float8Array', 'BooleanArray', 'StringArray', 'DateTimeArray', 'Int1Array',
  'Int2Array', 'Float4Array', 'ByteArray', 'Document',
] as const;

/** Marker: the name says "some array", the element type comes from the value. */
const ARRAY = '\u0000array';
/** Marker: the name carries no type (NoneType), the type comes from the value. */
const FROM_VALUE = '\u0000value';

const NAMES = new Map<string, string>();
const NAMES_LOWER = new Map<string, string>();
function add(target: string, ...names: string[]): void {
  for (const n of names) {
    NAMES.set(n, target);
    // first come, first kept: "FLOAT" is Jython's float (Float8), not Sparkplug's Float (Float4)
    if (!NAMES_LOWER.has(n.toLowerCase())) NAMES_LOWER.set(n.toLowerCase(), target);
  }
}

// Ignition names map to themselves, case-insensitively ("float8", "DATASET").
for (const t of IGNITION_DATA_TYPES) add(t, t);
// Ignition config (UI) names, B3.
add('Int1', 'Byte', 'java.lang.Byte');
add('Int2', 'Short', 'java.lang.Short');
add('Int4', 'Integer', 'java.lang.Integer');
add('Int8', 'Long', 'java.lang.Long', 'BigInteger', 'java.math.BigInteger');
add('Float4', 'java.lang.Float');
add('Float8', 'Double', 'java.lang.Double', 'BigDecimal', 'java.math.BigDecimal');
add('Boolean', 'java.lang.Boolean');
add('String', 'java.lang.String', 'UUID', 'java.util.UUID');
add('DateTime', 'java.util.Date', 'java.sql.Timestamp', 'Timestamp', 'java.sql.Date', 'datetime');
add('DataSet', 'Dataset', 'BasicDataset', 'PyDataSet', 'ArrayDataset', 'BasicStreamingDataset', 'CachedDataset');
add('Document', 'dict', 'PyDictionary', 'JsonObject', 'JsonElement', 'JsonArray', 'PyDocumentObjectAdapter', 'Map');
add('ByteArray', 'bytearray', 'Bytes', 'File');
add('Int1Array', 'byte[]');
add('Int2Array', 'short[]', 'Int16Array', 'UInt8Array');
add('Int4Array', 'int[]', 'Int32Array', 'UInt16Array');
add('Int8Array', 'long[]', 'Int64Array', 'UInt32Array', 'UInt64Array');
add('Float4Array', 'float[]', 'FloatArray');
add('Float8Array', 'double[]', 'DoubleArray');
add('BooleanArray', 'boolean[]');
add('StringArray', 'String[]');
add('DateTimeArray', 'Date[]');
// Jython `__name__` values (B1): Float4/Float8 and Int1/Int2/Int4 are indistinguishable there.
add('Float8', 'float');
add('Int4', 'int');
add('Int8', 'long');
add('Boolean', 'bool');
add('String', 'unicode', 'str');
add('DateTime', 'Date');
add(ARRAY, 'array', 'list', 'tuple', 'PyList', 'PyTuple', 'Object[]');
add(FROM_VALUE, 'NoneType', 'null', 'None');
// Sparkplug names that do not clash with Ignition ones (Sparkplug Int8/Int8Array mean 8-bit,
// Ignition's mean 64-bit: those two follow Ignition, as everywhere in this package).
add('Int2', 'Int16', 'UInt8');
add('Int4', 'Int32', 'UInt16');
add('Int8', 'Int64', 'UInt32', 'UInt64');
add('Float4', 'Float');
add('Text', 'Text');

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Ignition type name of a value when no (usable) name came with it. */
export function dataTypeOfValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value)) return value >= INT32_MIN && value <= INT32_MAX ? 'Int4' : 'Int8';
      return 'Float8';
    case 'bigint':
      return 'Int8';
    case 'boolean':
      return 'Boolean';
    case 'string':
      return 'String';
    case 'object':
      if (value === null) return undefined;
      if (Array.isArray(value)) return arrayTypeOf(value);
      return 'Document';
    default:
      return undefined;
  }
}

/**
 * Array type from the elements: all booleans ⇒ BooleanArray, all strings ⇒ StringArray, all
 * numbers ⇒ Int4Array / Int8Array (integers within / beyond int32) or Float8Array. Empty or
 * mixed arrays tell nothing: undefined.
 */
export function arrayTypeOf(value: readonly unknown[]): string | undefined {
  if (value.length === 0) return undefined;
  let kind: 'number' | 'boolean' | 'string' | undefined;
  let wide = false;
  let fractional = false;
  for (const v of value) {
    let k: typeof kind;
    if (typeof v === 'number') {
      k = 'number';
      if (!Number.isInteger(v)) fractional = true;
      else if (v < INT32_MIN || v > INT32_MAX) wide = true;
    } else if (typeof v === 'bigint') {
      k = 'number';
      wide = true;
    } else if (typeof v === 'boolean') k = 'boolean';
    else if (typeof v === 'string') k = 'string';
    else return undefined;
    if (kind === undefined) kind = k;
    else if (kind !== k) return undefined;
  }
  if (kind === 'boolean') return 'BooleanArray';
  if (kind === 'string') return 'StringArray';
  return fractional ? 'Float8Array' : wide ? 'Int8Array' : 'Int4Array';
}

/**
 * Jython/Java/Ignition/Sparkplug type name ⇒ Ignition type name. `array` takes its element type
 * from the value, `NoneType` (or no name) the type of the value. A name we do not know is kept
 * as given (trimmed): it still tells a reader more than a guess would.
 */
export function canonicalDataType(dataType: string | undefined, value: unknown): string | undefined {
  if (dataType === undefined || dataType === null || dataType === '') return dataTypeOfValue(value);
  let mapped = NAMES.get(dataType);
  if (mapped === undefined) {
    const trimmed = String(dataType).trim();
    if (trimmed === '') return dataTypeOfValue(value);
    mapped = NAMES_LOWER.get(trimmed.toLowerCase());
    if (mapped === undefined) {
      // Java/Jython class names of datasets differ between versions: BasicDataset, PyDataSet…
      if (/data ?set$/i.test(trimmed)) return 'DataSet';
      if (trimmed.endsWith('[]')) return Array.isArray(value) ? (arrayTypeOf(value) ?? trimmed) : trimmed;
      return trimmed;
    }
  }
  if (mapped === ARRAY) return Array.isArray(value) ? arrayTypeOf(value) : dataTypeOfValue(value);
  if (mapped === FROM_VALUE) return dataTypeOfValue(value);
  return mapped;
}

const FLOAT_TYPES = new Set(['Float4', 'Float8']);
const INTEGER_TYPES = new Set(['Int1', 'Int2', 'Int4', 'Int8']);

export function isFloatType(canonical: string | undefined): boolean {
  return canonical !== undefined && FLOAT_TYPES.has(canonical);
}

export function isIntegerType(canonical: string | undefined): boolean {
  return canonical !== undefined && INTEGER_TYPES.has(canonical);
}
