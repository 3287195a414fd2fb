/**
 * Seeded generators of bad input for the fuzz scenario: HTTP requests for zerobus-ignition-in
 * and MQTT messages for zerobus-sparkplug-in. Pure functions of the PRNG, so a seed replays.
 */
import * as zlib from 'zlib';
import type { Prng } from '../support/prng';

export interface HttpCase {
  kind: string;
  method: string;
  /** relative to the receiver's base path */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** sent over a raw socket, as written (malformed HTTP); the socket is closed after `body` */
  raw?: boolean;
}

const TYPES = ['Float8', 'float', 'int', 'long', 'bool', 'unicode', 'Date', 'NoneType', 'String', 'Int4', 'DataSet', 'x'.repeat(300), '', '\u0000'];
const WEIRD_VALUES: unknown[] = [
  null, true, false, 0, -0, 1e308, -1e308, 5e-324, 2 ** 53 + 1, 'NaN', 'Infinity', '', 'x'.repeat(5000), [], [[[]]], {}, { a: { b: { c: 1 } } },
  [1, 'a', null, { x: [true] }], '\ud800', '\u0000\u0001', '🏭', '1765456245123', { __proto__: { polluted: 1 } }, { constructor: { prototype: { polluted: 1 } } },
];
const WEIRD_TIMESTAMPS: unknown[] = [
  Date.now(), String(Date.now()), '2025-12-11T10:00:00Z', 'yesterday', -1, 0, 1e20, 1.5, null, true, [], {}, '1e3', 'NaN', 253402300800000, -62135596800001,
];
const WEIRD_CODES: unknown[] = [192, -2147483136, 2147483648 + 192, 4294967295, 0, 1e12, -1e12, '192', 'Good', null, 3.5, [], 0x80000000];
const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-16LE', 'application/json; charset=latin1', 'application/json; charset=bogus',
  'text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/xml', '', '*/*',
  'application/vnd.api+json', 'APPLICATION/JSON', 'application/json;;;', 'application/json; charset=',
];

function weirdEvent(r: Prng): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (r.chance(0.9)) e.tagPath = r.pick<unknown>([`[fuzz]T/${r.int(50)}`, '', ' ', 42, null, [], '[unclosed', ']]', 'x'.repeat(r.int(3000)), r.text(r.int(40)), '[a]b/c/../../d']);
  if (r.chance(0.8)) e.value = r.pick(WEIRD_VALUES);
  if (r.chance(0.8)) e.timestamp = r.pick(WEIRD_TIMESTAMPS);
  if (r.chance(0.6)) e.qualityCode = r.pick(WEIRD_CODES);
  if (r.chance(0.5)) e.quality = r.pick<unknown>(['Good', 'Bad_Stale', 'Bad_Disabled("x")', '', 12, null, 'Error_Whatever', r.text(20)]);
  if (r.chance(0.5)) e.dataType = r.pick<unknown>(TYPES);
  if (r.chance(0.2)) e.tagProvider = r.pick<unknown>(['', 'p', 7, null, 'x'.repeat(1000)]);
  if (r.chance(0.2)) e.alarmPriority = r.pick<unknown>([1, -5, 'High', 1e10, null]);
  if (r.chance(0.2)) e.alarmState = r.pick<unknown>(['Active', '', 3, {}]);
  if (r.chance(0.1)) e.sourceSystem = r.pick<unknown>(['gw1', '', 5, 'x'.repeat(2000)]);
  if (r.chance(0.1)) e[r.text(8)] = r.pick(WEIRD_VALUES);
  return e;
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function validBatchText(r: Prng, n: number): string {
  const events = [];
  for (let i = 0; i < n; i++) events.push({ tagPath: `[fuzz]Valid/T${r.int(20)}`, value: r.next(), quality: 'Good', qualityCode: 192, timestamp: Date.now() - r.int(1e6), dataType: 'Float8' });
  return JSON.stringify(events);
}

function mutate(r: Prng, buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  const n = 1 + r.int(8);
  for (let i = 0; i < n && out.length; i++) out[r.int(out.length)] = r.int(256);
  if (r.chance(0.3)) return out.subarray(0, r.int(out.length + 1));
  if (r.chance(0.3)) {
    const at = r.int(out.length + 1);
    return Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(16)), out.subarray(at)]);
  }
  return out;
}

const json = (text: string): Buffer => Buffer.from(text, 'utf8');

/** One HTTP request that a careless or hostile client could send. */
export function httpCase(r: Prng, i: number): HttpCase {
  const base = { method: 'POST', path: r.chance(0.8) ? '/ingest/batch' : '/ingest', headers: { 'content-type': 'application/json' } as Record<string, string> };
  // the heavy cases once each, then the cheap ones at random
  const pick = i < 6 ? i : 6 + r.int(11);
  switch (pick) {
    case 0: // over the 10 MB body limit
      return { ...base, kind: 'huge body', path: '/ingest/batch', body: json(`[{"tagPath":"[fuzz]Big","value":"${'x'.repeat(10_600_000)}","timestamp":1}]`) };
    case 1: // over the 10,000 events limit
      return { ...base, kind: 'too many events', path: '/ingest/batch', body: json(`[${Array.from({ length: 10_050 }, (_, k) => `{"tagPath":"[fuzz]N/${k % 7}","value":${k},"timestamp":${1_700_000_000_000 + k}}`).join(',')}]`) };
    case 2: // deep nesting, in the body and in a value
      return { ...base, kind: 'deep nesting', body: json(r.chance(0.5) ? nested(200_000, '[', ']') : `[{"tagPath":"[fuzz]Deep","timestamp":1,"value":${nested(50_000, '{"a":', '}')}}]`) };
    case 3: // a raw request that announces more body than it sends, then hangs up
      return { ...base, kind: 'short body', raw: true, body: Buffer.from(`POST {base}/ingest/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{"tagPath":"a"`) };
    case 4: // malformed HTTP framing
      return { ...base, kind: 'bad chunking', raw: true, body: Buffer.from(`POST {base}/ingest/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n[1]\r\n0\r\n\r\n`) };
    case 5: // gzip that is not gzip
      return { ...base, kind: 'bad gzip', headers: { ...base.headers, 'content-encoding': 'gzip' }, body: r.bytes(200) };
    case 6:
      return { ...base, kind: 'random bytes', body: r.bytes(r.int(4096)) };
    case 7:
      return { ...base, kind: 'mutated batch', body: mutate(r, json(validBatchText(r, 1 + r.int(20)))) };
    case 8: {
      const events = Array.from({ length: 1 + r.int(30) }, () => weirdEvent(r));
      return { ...base, kind: 'weird events', body: json(JSON.stringify(base.path === '/ingest' ? events[0] : events)) };
    }
    case 9:
      return { ...base, kind: 'wrong shape', body: json(r.pick(['{}', '[]', '1', '"x"', 'null', 'true', '[1,2,3]', '[[]]', '[null]', '{"events":[]}', '', ' ', '[{}]', '{"tagPath":{}}'])) };
    case 10:
      return { ...base, kind: 'special tokens', body: json(r.pick(['[{"tagPath":"[f]a","value":NaN,"timestamp":1}]', '[{"tagPath":"[f]a","value":-Infinity,"timestamp":1}]', '\ufeff[{"tagPath":"[f]b","value":1,"timestamp":2}]', '[{"tagPath":"[f]c","tagPath":"[f]d","value":1,"timestamp":3}]', '[{"tagPath":"[f]e","value":1e400,"timestamp":1e400}]', '[{"tagPath":"[f]g","value":123456789012345678901234567890,"timestamp":4}]', '[{"tagPath":"\\ud800","value":"\\udfff","timestamp":5}]'])) };
    case 11: {
      const ct = r.pick(CONTENT_TYPES);
      const text = validBatchText(r, 1 + r.int(5));
      const body = /utf-16/i.test(ct) ? Buffer.from(text, 'utf16le') : /latin1/i.test(ct) ? Buffer.from(text, 'latin1') : json(text);
      const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
      return { ...base, kind: 'content type', headers, body };
    }
    case 12: {
      const enc = r.pick(['gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip']);
      const text = json(validBatchText(r, 1 + r.int(5)));
      const body = enc === 'gzip' ? zlib.gzipSync(text) : enc === 'deflate' ? zlib.deflateSync(text) : enc === 'br' ? zlib.brotliCompressSync(text) : text;
      return { ...base, kind: 'encoding', headers: { ...base.headers, 'content-encoding': enc }, body: r.chance(0.3) ? mutate(r, body) : body };
    }
    case 13:
      return { ...base, kind: 'invalid utf-8', body: Buffer.concat([json('[{"tagPath":"[f]u'), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff]), json('","value":1,"timestamp":7}]')]) };
    case 14:
      return {
        kind: 'method or path', headers: {}, body: Buffer.alloc(0),
        method: r.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST']),
        path: r.pick(['/ingest/batch', '/ingest', '/health', '/diagnostics', '/ingest/batch/', '/ingest/../health', '/%2e%2e/flows', '/ingest%00', '/INGEST/BATCH', '/ingest/batch?x=1&x=2']),
      };
    case 15:
      return { ...base, kind: 'auth header', headers: { ...base.headers, authorization: r.pick(['Bearer', 'Bearer ' + 'x'.repeat(8000), 'Basic Zm9vOmJhcg==', 'bearer  k', '']) }, body: json(validBatchText(r, 2)) };
    default:
      return { ...base, kind: 'many small events', body: json(JSON.stringify(Array.from({ length: 1 + r.int(3000) }, () => weirdEvent(r)))) };
  }
}

export interface MqttCase {
  kind: string;
  topic: string;
  payload: Buffer;
}

const SP_TYPES = ['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'Boolean', 'String', 'DateTime', 'Text', 'UUID', 'Bytes', 'File'];

/** A Sparkplug payload object (for sparkplug-payload's encoder) with odd but encodable content. */
function oddPayload(r: Prng): Record<string, unknown> {
  const metrics = [];
  for (let i = 0, n = r.int(12); i < n; i++) {
    const type = r.pick(SP_TYPES);
    const m: Record<string, unknown> = { type };
    if (r.chance(0.8)) m.name = r.pick(['a', 'b/c', '', 'Node Control/Rebirth', 'bdSeq', r.text(r.int(30)), 'x'.repeat(r.int(2000))]);
    if (r.chance(0.6)) m.alias = r.pick([0, 1, 2, 99, 2 ** 31, 2 ** 52]);
    if (r.chance(0.5)) m.timestamp = r.pick([0, Date.now(), 2 ** 52]);
    const numeric = /Int|Float|Double|DateTime/.test(type);
    m.value = numeric ? r.pick([0, 1, -1, 255, 65535, 2 ** 31, 1.5, -1e30]) : type === 'Boolean' ? r.chance(0.5) : type === 'Bytes' || type === 'File' ? r.bytes(r.int(64)) : r.text(r.int(50));
    if (r.chance(0.1)) m.isNull = true;
    metrics.push(m);
  }
  if (r.chance(0.2)) {
    metrics.push({
      name: 'ds', type: 'DataSet',
      value: { numOfColumns: r.int(4), columns: ['a', 'b'], types: ['Int32', 'String'], rows: [{ elements: [{ type: 'Int32', value: 1 }, { type: 'String', value: 'x' }] }, { elements: [] }] },
    });
  }
  if (r.chance(0.2)) {
    metrics.push({ name: 'tpl', type: 'Template', value: { isDefinition: r.chance(0.5), templateRef: r.pick(['', 'T', undefined]), metrics: [{ name: 'm', type: 'Int32', value: 1 }], parameters: [] } });
  }
  return { timestamp: r.pick([Date.now(), 0, 2 ** 52]), seq: r.pick([0, 1, 255, 256, 1000]), metrics };
}

/** One MQTT message in (or near) the Sparkplug namespace of group "Fuzz". */
export function mqttCase(r: Prng, encode: (p: Record<string, unknown>) => Buffer): MqttCase {
  const verb = r.pick(['NBIRTH', 'NDATA', 'DBIRTH', 'DDATA', 'NDEATH', 'DDEATH', 'NCMD', 'DCMD', 'STATE', 'XDATA']);
  const device = verb.startsWith('D') ? `/D${r.int(3)}` : '';
  const topic = r.chance(0.9)
    ? `spBv1.0/Fuzz/${verb}/E${r.int(4)}${device}`
    : r.pick(['spBv1.0/Fuzz', 'spBv1.0/Fuzz/NDATA', 'spBv1.0/Fuzz/NDATA/E1/D1/extra/levels', `spBv1.0/Fuzz/NDATA/${r.text(8, 'abc ü$%')}`, 'spBv1.0/STATE/other-host', 'spBv1.0/Fuzz/DDATA/E1']);
  const kind = r.int(5);
  let payload: Buffer;
  let what: string;
  try {
    if (kind === 0) {
      payload = r.bytes(r.int(512));
      what = 'random bytes';
    } else if (kind === 1) {
      payload = mutate(r, encode(oddPayload(r)));
      what = 'mutated payload';
    } else if (kind === 2) {
      payload = encode(oddPayload(r));
      what = 'odd payload';
    } else if (kind === 3) {
      payload = Buffer.concat([encode(oddPayload(r)), r.bytes(r.int(32))]);
      what = 'trailing garbage';
    } else {
      payload = r.pick([Buffer.alloc(0), Buffer.from('{"online":true}'), Buffer.from([0x08]), Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.alloc(70_000, 0x0a)]);
      what = 'edge case bytes';
    }
  } catch {
    payload = r.bytes(r.int(256));
    what = 'random bytes (encoder refused)';
  }
  return { kind: what, topic, payload };
}
