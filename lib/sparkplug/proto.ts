/**
 * The Sparkplug B protobuf messages, loaded from proto/sparkplug_b.proto with keepCase so that
 * code uses the .proto's snake_case names. Decoded messages keep proto2 defaults on their
 * prototypes: test presence with `has()`, and read a oneof through its `value` name.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { PROTO_DIR } from '../paths';

const root = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'sparkplug_b.proto'), { keepCase: true });
root.resolveAll();

export const PayloadType = root.lookupType('org.eclipse.tahu.protobuf.Payload');

type Long = protobuf.Long;
type Uint64 = number | Long;

/** Field names of the `value` oneofs (Metric, PropertyValue, Parameter, DataSetValue share them). */
export type ValueField =
  | 'int_value' | 'long_value' | 'float_value' | 'double_value' | 'boolean_value' | 'string_value'
  | 'bytes_value' | 'dataset_value' | 'template_value' | 'extension_value'
  | 'propertyset_value' | 'propertysets_value';

export interface RawValueHolder {
  /** name of the oneof member that is set (protobufjs virtual getter) */
  readonly value?: ValueField;
  int_value?: number;
  long_value?: Uint64;
  float_value?: number;
  double_value?: number;
  boolean_value?: boolean;
  string_value?: string;
  bytes_value?: Uint8Array;
}

export interface RawPropertyValue extends RawValueHolder {
  type?: number;
  is_null?: boolean;
  propertyset_value?: RawPropertySet;
  propertysets_value?: { propertyset?: RawPropertySet[] };
}
export interface RawPropertySet { keys?: string[]; values?: RawPropertyValue[] }

export interface RawMetaData {
  is_multi_part?: boolean; content_type?: string; size?: Uint64; seq?: Uint64;
  file_name?: string; file_type?: string; md5?: string; description?: string;
}

export interface RawDataSet {
  num_of_columns?: Uint64;
  columns?: string[];
  types?: number[];
  rows?: { elements?: RawValueHolder[] }[];
}

export interface RawParameter extends RawValueHolder { name?: string; type?: number }

export interface RawTemplate {
  version?: string;
  metrics?: RawMetric[];
  parameters?: RawParameter[];
  template_ref?: string;
  is_definition?: boolean;
}

export interface RawMetric extends RawValueHolder {
  name?: string;
  alias?: Uint64;
  timestamp?: Uint64;
  datatype?: number;
  is_historical?: boolean;
  is_transient?: boolean;
  is_null?: boolean;
  metadata?: RawMetaData;
  properties?: RawPropertySet;
  dataset_value?: RawDataSet;
  template_value?: RawTemplate;
}

export interface RawPayload {
  timestamp?: Uint64;
  metrics?: RawMetric[];
  seq?: Uint64;
  uuid?: string;
  body?: Uint8Array;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** True when a decoded message carries the field (rather than inheriting its proto2 default). */
export function has(message: object, field: string): boolean {
  return hasOwn.call(message, field);
}

/** The value member each data type is written in (Sparkplug 3.0 §6.4.16; Tahu puts UInt32 in long_value). */
const EXPECTED_FIELD: (ValueField | undefined)[] = [];
for (const t of [1, 2, 3, 5, 6]) EXPECTED_FIELD[t] = 'int_value';
for (const t of [4, 7, 8, 13]) EXPECTED_FIELD[t] = 'long_value';
EXPECTED_FIELD[9] = 'float_value';
EXPECTED_FIELD[10] = 'double_value';
EXPECTED_FIELD[11] = 'boolean_value';
for (const t of [12, 14, 15]) EXPECTED_FIELD[t] = 'string_value';
EXPECTED_FIELD[16] = 'dataset_value';
for (let t = 17; t <= 34; t++) EXPECTED_FIELD[t] = 'bytes_value';
EXPECTED_FIELD[19] = 'template_value';

/**
 * The oneof member that is set: the one the data type prescribes when present (one property
 * test), else whichever is (protobufjs' `value` getter enumerates the object's keys).
 */
export function valueField(m: RawValueHolder, type: number): ValueField | undefined {
  const f = EXPECTED_FIELD[type];
  if (f !== undefined && hasOwn.call(m, f) && (m as Record<string, unknown>)[f] != null) return f;
  return m.value;
}
