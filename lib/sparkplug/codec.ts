/**
 * Sparkplug B payload codec: bytes ⇄ protobuf messages (with Tahu's compressed envelope), a
 * convenience decoder that turns every metric into plain JS values, and an encoder used for
 * rebirth commands and tests.
 */
import * as zlib from 'zlib';
import type { TagValue } from '../tags/event';
import { encodeArray } from './arrays';
import * as datatypes from './datatypes';
import * as int64 from './int64';
import { MAX_NESTING_DEPTH } from './limits';
import { propertySetValue } from './properties';
import * as proto from './proto';
import type { RawMetric, RawPayload, RawTemplate } from './proto';
import * as values from './values';
import { SparkplugValueError } from './values';

// Hot-path imports are bound once to locals: per-access export getters (as tsx/esbuild emit) cost
// measurably when every metric of every message goes through them.
const { DataType, dataTypeCode, dataTypeName, isArrayType } = datatypes;
const { toLong, uint64ToNumber } = int64;
const { has, PayloadType, valueField } = proto;
const { basicValue, dataSetValue, typeOfField } = values;

/** Tahu's marker for a payload whose `body` is the deflated/gzipped real payload (not in the spec). */
export const COMPRESSED_UUID = 'SPBV1.0_COMPRESSED';

export class SparkplugDecodeError extends Error {
  constructor(message: string, readonly code: 'MALFORMED' | 'DECOMPRESS' | 'VALUE' = 'MALFORMED') {
    super(message);
    this.name = 'SparkplugDecodeError';
  }
}

export interface DecodeOptions {
  /** Bound on a decompressed body (zip bombs). Default 16 MiB. */
  maxDecompressedBytes?: number;
}

function decompress(payload: RawPayload, maxBytes: number): Uint8Array {
  const body = payload.body;
  if (!body || body.length === 0) throw new SparkplugDecodeError('compressed payload without a body', 'DECOMPRESS');
  const algo = (payload.metrics ?? []).find((m) => m.name === 'algorithm' && m.value === 'string_value')?.string_value;
  const upper = (algo ?? 'DEFLATE').toUpperCase();
  const opts = { maxOutputLength: maxBytes };
  try {
    // gzip is recognised by its magic bytes too: some writers omit the algorithm metric
    if (upper === 'GZIP' || (body[0] === 0x1f && body[1] === 0x8b)) return zlib.gunzipSync(body, opts);
    if (upper !== 'DEFLATE') throw new SparkplugDecodeError(`unknown compression algorithm "${algo}"`, 'DECOMPRESS');
    try {
      return zlib.inflateSync(body, opts);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
      return zlib.inflateRawSync(body, opts);
    }
  } catch (err) {
    if (err instanceof SparkplugDecodeError) throw err;
    throw new SparkplugDecodeError(`cannot decompress the payload body: ${(err as Error).message}`, 'DECOMPRESS');
  }
}

/** Protobuf decode (throws SparkplugDecodeError); a Tahu-compressed envelope is opened. */
export function decodeRawPayload(bytes: Uint8Array, opts: DecodeOptions = {}): RawPayload {
  let payload: RawPayload;
  try {
    payload = PayloadType.decode(bytes) as unknown as RawPayload;
  } catch (err) {
    throw new SparkplugDecodeError(`not a Sparkplug B payload: ${(err as Error).message}`);
  }
  if (payload.uuid === COMPRESSED_UUID && has(payload, 'body')) {
    const inner = decompress(payload, opts.maxDecompressedBytes ?? 16 * 1024 * 1024);
    try {
      payload = PayloadType.decode(inner) as unknown as RawPayload;
    } catch (err) {
      throw new SparkplugDecodeError(`not a Sparkplug B payload inside the compressed body: ${(err as Error).message}`);
    }
  }
  return payload;
}

/** An alias as a Map key: a number when exact, else its decimal text. */
export type AliasKey = number | string;

export function aliasKey(m: RawMetric): AliasKey | undefined {
  if (!has(m, 'alias')) return undefined;
  const a = m.alias;
  if (typeof a === 'number' || a == null) return a ?? undefined;
  if (a.high === 0) return a.low >>> 0;
  const n = uint64ToNumber(a);
  return Number.isSafeInteger(n) ? n : ((BigInt(a.high >>> 0) << 32n) | BigInt(a.low >>> 0)).toString();
}

/** The value of a metric for a given data type (the birth's when DATA omits it). */
export function metricValue(m: RawMetric, type: number): TagValue {
  if (m.is_null) return null;
  const field = valueField(m, type);
  if (type === DataType.DataSet || field === 'dataset_value') {
    if (field !== 'dataset_value') throw new SparkplugValueError(`DataSet value expected, got ${field ?? 'no value'}`);
    return dataSetValue(m.dataset_value ?? {});
  }
  if (!field) return null;
  return basicValue(type, m, field, m.metadata);
}

/** Data type of a metric from its own `datatype`, else from the value field that is set. */
export function ownDataType(m: RawMetric): number {
  return has(m, 'datatype') && m.datatype !== DataType.Unknown ? (m.datatype as number) : typeOfField(m.value);
}

// ---------------------------------------------------------------------------------------------
// Convenience decoding (every metric to plain values, no birth context)

export interface DecodedTemplate {
  version?: string;
  templateRef?: string;
  isDefinition: boolean;
  parameters: { name: string; type: string; value: TagValue }[];
  metrics: DecodedMetric[];
}

export interface DecodedMetric {
  name?: string;
  alias?: AliasKey;
  timestamp?: number;
  /** Sparkplug type name ('Int32', 'DoubleArray', …) */
  type: string;
  value: TagValue | DecodedTemplate;
  isNull: boolean;
  isHistorical: boolean;
  isTransient: boolean;
  properties?: Record<string, TagValue>;
}

export interface DecodedPayload {
  timestamp?: number;
  seq?: number;
  uuid?: string;
  metrics: DecodedMetric[];
}

function decodeTemplate(t: RawTemplate, depth: number): DecodedTemplate {
  if (depth > MAX_NESTING_DEPTH) throw new SparkplugValueError(`templates nested deeper than ${MAX_NESTING_DEPTH}`);
  return {
    ...(has(t, 'version') ? { version: t.version } : {}),
    ...(has(t, 'template_ref') ? { templateRef: t.template_ref } : {}),
    isDefinition: !!t.is_definition,
    parameters: (t.parameters ?? []).map((p) => ({
      name: p.name ?? '',
      type: dataTypeName(p.type ?? 0),
      value: p.value && p.value !== 'extension_value' ? basicValue(p.type ?? 0, p, p.value) : null,
    })),
    metrics: (t.metrics ?? []).map((m) => decodeMetric(m, depth + 1)),
  };
}

function decodeMetric(m: RawMetric, depth: number): DecodedMetric {
  const type = ownDataType(m);
  const out: DecodedMetric = {
    type: dataTypeName(type),
    value: null,
    isNull: !!m.is_null,
    isHistorical: !!m.is_historical,
    isTransient: !!m.is_transient,
  };
  if (has(m, 'name')) out.name = m.name;
  const alias = aliasKey(m);
  if (alias !== undefined) out.alias = alias;
  if (has(m, 'timestamp')) out.timestamp = uint64ToNumber(m.timestamp);
  if (!m.is_null) {
    out.value = type === DataType.Template || m.value === 'template_value'
      ? decodeTemplate(m.template_value ?? {}, depth)
      : metricValue(m, type);
  }
  if (m.properties) out.properties = propertySetValue(m.properties);
  return out;
}

/** Decodes a payload into plain values, each metric typed by its own `datatype` (or value field). */
export function decodePayload(bytes: Uint8Array, opts?: DecodeOptions): DecodedPayload {
  const raw = decodeRawPayload(bytes, opts);
  try {
    const out: DecodedPayload = { metrics: (raw.metrics ?? []).map((m) => decodeMetric(m, 0)) };
    if (has(raw, 'timestamp')) out.timestamp = uint64ToNumber(raw.timestamp);
    if (has(raw, 'seq')) out.seq = uint64ToNumber(raw.seq);
    if (has(raw, 'uuid')) out.uuid = raw.uuid;
    return out;
  } catch (err) {
    throw new SparkplugDecodeError((err as Error).message, 'VALUE');
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

export type Int64Input = number | bigint | string;

export interface TemplateInput {
  version?: string;
  templateRef?: string;
  isDefinition?: boolean;
  parameters?: { name: string; type: number | string; value?: unknown }[];
  metrics?: MetricInput[];
}

export interface DataSetInput {
  columns: string[];
  /** Sparkplug type per column (code or name) */
  types: (number | string)[];
  rows: unknown[][];
}

export interface MetricInput {
  name?: string;
  alias?: Int64Input;
  timestamp?: number;
  /** Sparkplug data type, code or name; omitted from the wire when absent (DATA messages). */
  datatype?: number | string;
  value?: unknown;
  isNull?: boolean;
  isHistorical?: boolean;
  isTransient?: boolean;
  /** e.g. `{ Quality: { type: 'Int32', value: 500 } }` */
  properties?: Record<string, { type: number | string; value: unknown }>;
  metadata?: { fileName?: string; fileType?: string; contentType?: string; md5?: string; description?: string; size?: number };
}

export interface PayloadInput {
  timestamp?: number;
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
  metrics?: MetricInput[];
}

type Obj = Record<string, unknown>;

function requireType(type: number | string): number {
  const code = dataTypeCode(type);
  if (code === undefined) throw new TypeError(`unknown Sparkplug data type ${String(type)}`);
  return code;
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw new TypeError('bytes value must be a Buffer, Uint8Array, byte array or base64 string');
}

/** Sets the right oneof member of a Metric/Parameter/DataSetValue/PropertyValue object. */
function setValue(target: Obj, type: number, value: unknown): void {
  switch (type) {
    case DataType.Int8: case DataType.Int16: case DataType.Int32:
    case DataType.UInt8: case DataType.UInt16: case DataType.UInt32:
      target.int_value = Number(value) >>> 0;
      return;
    case DataType.Int64: case DataType.UInt64:
      target.long_value = toLong(value as Int64Input, type === DataType.UInt64);
      return;
    case DataType.DateTime:
      target.long_value = toLong(value instanceof Date ? value.getTime() : (value as Int64Input), false);
      return;
    case DataType.Float: target.float_value = Number(value); return;
    case DataType.Double: target.double_value = Number(value); return;
    case DataType.Boolean: target.boolean_value = !!value; return;
    case DataType.String: case DataType.Text: case DataType.UUID:
      target.string_value = String(value);
      return;
    case DataType.Bytes: case DataType.File:
      target.bytes_value = toBytes(value);
      return;
    case DataType.DataSet: {
      const ds = value as DataSetInput;
      const types = ds.types.map(requireType);
      target.dataset_value = {
        num_of_columns: ds.columns.length,
        columns: ds.columns,
        types,
        rows: ds.rows.map((row) => ({
          elements: row.map((cell, c) => {
            const el: Obj = {};
            if (cell != null) setValue(el, types[c], cell);
            return el;
          }),
        })),
      };
      return;
    }
    case DataType.Template:
      target.template_value = templateMessage(value as TemplateInput);
      return;
    default:
      if (isArrayType(type)) {
        target.bytes_value = encodeArray(type, value as unknown[]);
        return;
      }
      throw new TypeError(`cannot encode a value of Sparkplug type ${dataTypeName(type)}`);
  }
}

function templateMessage(t: TemplateInput): Obj {
  const msg: Obj = {
    metrics: (t.metrics ?? []).map(metricMessage),
    parameters: (t.parameters ?? []).map((p) => {
      const type = requireType(p.type);
      const param: Obj = { name: p.name, type };
      if (p.value != null) setValue(param, type, p.value);
      return param;
    }),
    is_definition: !!t.isDefinition,
  };
  if (t.version !== undefined) msg.version = t.version;
  if (t.templateRef !== undefined) msg.template_ref = t.templateRef;
  return msg;
}

function metricMessage(m: MetricInput): Obj {
  const msg: Obj = {};
  if (m.name !== undefined) msg.name = m.name;
  if (m.alias !== undefined) msg.alias = toLong(m.alias);
  if (m.timestamp !== undefined) msg.timestamp = toLong(m.timestamp);
  if (m.isHistorical) msg.is_historical = true;
  if (m.isTransient) msg.is_transient = true;
  const type = m.datatype === undefined ? undefined : requireType(m.datatype);
  if (type !== undefined) msg.datatype = type;
  if (m.isNull || m.value === null) {
    msg.is_null = true;
  } else if (m.value !== undefined) {
    if (type === undefined) throw new TypeError(`metric ${m.name ?? String(m.alias)}: a value needs a datatype to be encoded`);
    setValue(msg, type, m.value);
  }
  if (m.properties) {
    const keys = Object.keys(m.properties);
    msg.properties = {
      keys,
      values: keys.map((k) => {
        const p = m.properties![k];
        const ptype = requireType(p.type);
        const pv: Obj = { type: ptype };
        if (p.value == null) pv.is_null = true;
        else setValue(pv, ptype, p.value);
        return pv;
      }),
    };
  }
  if (m.metadata) {
    const md = m.metadata;
    msg.metadata = {
      ...(md.fileName !== undefined ? { file_name: md.fileName } : {}),
      ...(md.fileType !== undefined ? { file_type: md.fileType } : {}),
      ...(md.contentType !== undefined ? { content_type: md.contentType } : {}),
      ...(md.md5 !== undefined ? { md5: md.md5 } : {}),
      ...(md.description !== undefined ? { description: md.description } : {}),
      ...(md.size !== undefined ? { size: md.size } : {}),
    };
  }
  return msg;
}

/** Encodes a payload; values are written in the member the spec prescribes for their datatype. */
export function encodePayload(p: PayloadInput): Buffer {
  const msg: Obj = { metrics: (p.metrics ?? []).map(metricMessage) };
  if (p.timestamp !== undefined) msg.timestamp = toLong(p.timestamp);
  if (p.seq !== undefined) msg.seq = toLong(p.seq);
  if (p.uuid !== undefined) msg.uuid = p.uuid;
  if (p.body !== undefined) msg.body = p.body;
  const bytes = PayloadType.encode(msg).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The rebirth request: NCMD payload with timestamp now, no seq, one Boolean metric without alias. */
export function encodeRebirthCommand(now: number): Buffer {
  return encodePayload({
    timestamp: now,
    metrics: [{ name: 'Node Control/Rebirth', datatype: DataType.Boolean, value: true }],
  });
}

/** Wraps an encoded payload in Tahu's compressed envelope (for tests and tools). */
export function compressPayload(encoded: Uint8Array, algorithm: 'DEFLATE' | 'GZIP' = 'DEFLATE'): Buffer {
  const body = algorithm === 'GZIP' ? zlib.gzipSync(encoded) : zlib.deflateSync(encoded);
  return encodePayload({
    uuid: COMPRESSED_UUID,
    body,
    metrics: [{ name: 'algorithm', datatype: DataType.String, value: algorithm }],
  });
}
