/**
 * Seeded structured mutations for the in-process hostile-input fuzz: Sparkplug payloads whose
 * declared sizes, nesting, aliases and seq are wrong on purpose (built as protobuf messages, so
 * they reach the decoder's value logic instead of failing the wire parse), and HTTP requests to
 * the Ignition receiver with hostile headers, content types and bodies. Pure functions of the
 * PRNG, so a seed replays.
 */
import * as zlib from 'zlib';
import { DataType } from '../../lib/sparkplug';
import { COMPRESSED_UUID } from '../../lib/sparkplug/codec';
import { PayloadType } from '../../lib/sparkplug/proto';
import type { Prng } from '../support/prng';

const encode = (msg: object): Buffer => Buffer.from(PayloadType.encode(msg).finish());

const PROTO_WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const HUGE = [0, 1, 2, 7, 255, 10_000, 1_048_577, 60_000_000, 4_294_967_295, 2 ** 53];

function declared(r: Prng): number {
  return r.pick(HUGE);
}

function dataSet(r: Prng): object {
  const width = r.int(40);
  const rows = Array.from({ length: r.int(200) }, () => ({
    elements: Array.from({ length: r.int(width + 4) }, () => (r.chance(0.5) ? { int_value: r.int(1000) } : r.chance(0.5) ? { string_value: r.pick(PROTO_WORDS) } : {})),
  }));
  return {
    num_of_columns: r.chance(0.5) ? width : declared(r),
    columns: Array.from({ length: r.chance(0.8) ? width : r.int(60) }, (_, i) => (r.chance(0.1) ? r.pick(PROTO_WORDS) : `c${i}`)),
    types: Array.from({ length: r.chance(0.8) ? width : r.int(60) }, () => r.pick([DataType.Int32, DataType.String, DataType.Double, DataType.DataSet, 99])),
    rows,
  };
}

function arrayBytes(r: Prng): { datatype: number; bytes_value: Buffer } {
  const datatype = r.pick([DataType.BooleanArray, DataType.StringArray, DataType.Int32Array, DataType.DoubleArray, DataType.Int64Array, DataType.UInt8Array]);
  if (datatype === DataType.BooleanArray) {
    const bytes = Buffer.alloc(4 + r.int(64));
    bytes.writeUInt32LE(declared(r) >>> 0, 0);
    return { datatype, bytes_value: bytes };
  }
  return { datatype, bytes_value: r.chance(0.5) ? Buffer.alloc(r.int(5000)) : r.bytes(r.int(300)) };
}

function template(r: Prng, depth: number): object {
  const inner = depth > 0 ? [{ name: r.pick(['m', 'n', ...PROTO_WORDS]), datatype: DataType.Template, template_value: template(r, depth - 1) }] : [];
  return {
    template_ref: r.pick(['T', 'missing', '', ...PROTO_WORDS]),
    is_definition: r.chance(0.3),
    metrics: [...inner, { name: 'leaf', datatype: DataType.Int32, int_value: r.int(100) }],
    parameters: r.chance(0.5) ? [{ name: r.pick(['p', ...PROTO_WORDS]), type: r.pick([DataType.Int32, DataType.String, 77]), int_value: 1 }] : [],
  };
}

function propertySet(r: Prng, depth: number): object {
  const keys = [r.pick(['Quality', 'engUnit', ...PROTO_WORDS])];
  const values: object[] = [depth > 0 ? { type: DataType.PropertySet, propertyset_value: propertySet(r, depth - 1) } : { type: DataType.Int32, int_value: r.pick([0, 192, 500, 2147484164]) }];
  // (protobufjs encodes at most 100 levels deep: lists only near the leaves)
  if (depth < 8 && r.chance(0.3)) {
    keys.push('list');
    values.push({ type: DataType.PropertySetList, propertysets_value: { propertyset: [depth > 0 ? propertySet(r, depth - 1) : { keys: [], values: [] }] } });
  }
  return { keys, values };
}

/** One hostile metric: a wrong declared size, deep nesting, an odd alias, a proto member name. */
function hostileMetric(r: Prng): object {
  const m: Record<string, unknown> = { name: r.chance(0.9) ? r.pick(['a', 'b/c', 'bdSeq', 'Node Control/Rebirth', ...PROTO_WORDS, `m${r.int(50)}`]) : undefined };
  if (r.chance(0.5)) m.alias = r.pick([0, 1, 2, 99, 2 ** 31, 2 ** 52, 2 ** 53 + 2]);
  if (r.chance(0.3)) m.timestamp = r.pick([0, 1, 2 ** 53, Date.now()]);
  switch (r.int(6)) {
    case 0: Object.assign(m, { datatype: DataType.DataSet, dataset_value: dataSet(r) }); break;
    case 1: Object.assign(m, arrayBytes(r)); break;
    case 2: Object.assign(m, { datatype: DataType.Template, template_value: template(r, r.pick([0, 1, 5, 31, 33, 40])) }); break;
    case 3: Object.assign(m, { datatype: DataType.Int32, int_value: 1, properties: propertySet(r, r.pick([0, 1, 10, 33, 40])) }); break;
    case 4: Object.assign(m, { datatype: r.pick([DataType.Float, DataType.Double, DataType.Int64, DataType.String, 0, 99]), string_value: r.pick(PROTO_WORDS) }); break;
    default: Object.assign(m, { datatype: DataType.Int32, int_value: r.int(1000), is_null: r.chance(0.2) });
  }
  return m;
}

let zipBomb: Buffer | undefined;
/** A Tahu-compressed envelope around 64 MiB of zeros (a few kB on the wire). */
function compressedBomb(): Buffer {
  zipBomb ??= encode({ uuid: COMPRESSED_UUID, body: zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024)), metrics: [{ name: 'algorithm', datatype: DataType.String, string_value: 'DEFLATE' }] });
  return zipBomb;
}

function flipBytes(r: Prng, buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0, n = 1 + r.int(6); i < n && out.length; i++) out[r.int(out.length)] = r.int(256);
  return r.chance(0.3) ? out.subarray(0, r.int(out.length + 1)) : out;
}

export interface SparkplugCase {
  kind: string;
  topic: string;
  payload: Buffer;
}

/** One message from a hostile edge node of group "Fuzz" (never the well-formed one's group). */
export function sparkplugCase(r: Prng): SparkplugCase {
  const verb = r.pick(['NBIRTH', 'NDATA', 'DBIRTH', 'DDATA', 'NDEATH', 'DDEATH', 'NCMD']);
  const device = verb.startsWith('D') ? `/D${r.int(3)}` : '';
  const topic = r.chance(0.92)
    ? `spBv1.0/Fuzz/${verb}/E${r.int(40)}${device}`
    : r.pick(['spBv1.0/+/NDATA/#', 'spBv1.0/Fuzz/NBIRTH/+', 'spBv1.0/#', 'spBv1.0/Fuzz/DDATA/E1/+', 'spBv1.0/STATE/+', `spBv1.0/${r.pick(PROTO_WORDS)}/NBIRTH/${r.pick(PROTO_WORDS)}`]);
  const seq = r.chance(0.8) ? r.pick([0, 1, r.int(256), 255, 256, 2 ** 40]) : undefined;
  const kind = r.int(10);
  if (kind === 0 && r.chance(0.05)) return { kind: 'zip bomb', topic, payload: compressedBomb() };
  const metrics = Array.from({ length: 1 + r.int(6) }, () => hostileMetric(r));
  if (verb === 'NBIRTH' && r.chance(0.7)) metrics.unshift({ name: 'bdSeq', datatype: DataType.Int64, long_value: r.int(3) });
  const payload = encode({ timestamp: r.pick([Date.now(), 0, 2 ** 53]), ...(seq === undefined ? {} : { seq }), metrics });
  if (kind === 1) return { kind: 'flipped bytes', topic, payload: flipBytes(r, payload) };
  if (kind === 2) return { kind: 'random bytes', topic, payload: r.bytes(r.int(400)) };
  return { kind: 'structured', topic, payload };
}

export interface ReceiverCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** send only part of the announced body, then stall (the body deadline must answer) */
  stall?: boolean;
  /** send the body chunked (no Content-Length) */
  chunked?: boolean;
}

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', '', 'application/x-www-form-urlencoded',
  ...PROTO_WORDS.map((w) => `application/json; charset=${w}`), 'application/json; charset="__proto__"', 'application/vnd.x+json', 'application/json;' + ' '.repeat(5000) + 'x',
];

function batchText(r: Prng, n: number): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({
    tagPath: `[fuzz]T${r.int(30)}/${i}`,
    value: r.chance(0.2) ? r.pick(PROTO_WORDS) : r.next(),
    dataType: r.pick(['Float8', 'float', 'Int4', 'String', 'DateTime', 'constructor']),
    timestamp: r.chance(0.9) ? 1765456245123 + r.int(1e6) : r.pick(['Thu Dec 11 12:30:45 CONSTRUCTOR 2025', '__proto__']),
    ...(r.chance(0.2) ? { alarmPriority: r.pick(['High', ...PROTO_WORDS]) } : {}),
  })));
}

/** One request a hostile client could send; `key` is the receiver's API key (most cases carry it, to reach the parser). */
export function receiverCase(r: Prng, key: string): ReceiverCase {
  const auth = r.chance(0.85) ? `Bearer ${key}` : r.pick(['', 'Bearer', `Bearer a${' '.repeat(16_000)}b`, `bearer\t${key}`, 'Basic Zm9vOmJhcg==', `Bearer ${key}x`, '${ZB_UNSET_VAR}']);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) };
  const base = { method: 'POST', path: r.chance(0.85) ? '/ingest/batch' : '/ingest', headers };
  switch (r.int(9)) {
    case 0: {
      const ct = r.pick(CONTENT_TYPES);
      if (ct) headers['content-type'] = ct;
      else delete headers['content-type'];
      if (r.chance(0.3)) headers.origin = 'http://evil.example';
      return { ...base, kind: 'content type', body: Buffer.from(batchText(r, 1 + r.int(5))) };
    }
    case 1:
      return { ...base, kind: 'stalled body', stall: true, body: Buffer.from(batchText(r, 50)) };
    case 2:
      return { ...base, kind: 'chunked', chunked: true, body: Buffer.from(r.chance(0.3) ? batchText(r, 12_000) : batchText(r, 1 + r.int(50))) };
    case 3:
      return { ...base, kind: 'prototype keys', body: Buffer.from(`[{"tagPath":"[f]p","__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"value":${r.pick(['NaN', '"__proto__"', '{"__proto__":1}', '1'])},"timestamp":1765456245123}]`) };
    case 4:
      return { ...base, kind: 'deep nesting', body: Buffer.from(`[{"tagPath":"[f]d","timestamp":1,"value":${'['.repeat(r.int(3000))}${']'.repeat(0)}`) };
    case 5:
      return { ...base, kind: 'random bytes', body: r.bytes(r.int(2048)) };
    case 6:
      return { ...base, kind: 'oversize', body: Buffer.alloc(1024 * 1024 + 1 + r.int(1000), 0x20) };
    case 7:
      headers['content-encoding'] = r.pick(['gzip', 'br', 'identity', 'x'.repeat(300)]);
      return { ...base, kind: 'encoding', body: Buffer.from(batchText(r, 3)) };
    default:
      return { ...base, kind: 'weird batch', body: Buffer.from(batchText(r, 1 + r.int(200))) };
  }
}
