/**
 * The emulator's fast paths (requests read in place, JSON records validated as bytes) must
 * decide exactly as the general paths: checked differentially on generated and mutated inputs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeIngestFast, RecordSpans } from '../../../lib/emulator/ingest-decoder';
import { jsonEncoder } from '../../../lib/emulator/record-encoders';
import { createProtoRowReader, descriptorForTable, LineWriter, parseCreateTables } from '../../../lib/schema';
import { descriptorProtoFromType } from '../../../lib/zerobus';
import { compileJsonLineWriter } from '../../../lib/schema/json-fast';
import { PACKAGE_ROOT } from '../../../lib/paths';
import { decodeRequest, encodeRequest, toNumber } from '../../../lib/zerobus/protocol';
import { randomSource as rng } from '../../support/prng';

const OT = parseCreateTables(fs.readFileSync(path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'), 'utf8'))[0];
const WIDE = parseCreateTables(`CREATE TABLE t.s.wide (
  s STRING NOT NULL, i8 TINYINT, i16 SMALLINT, i32 INT, d DATE, i64 BIGINT, ts TIMESTAMP, f FLOAT, x DOUBLE, b BOOLEAN,
  bin BINARY, v VARIANT, dec DECIMAL(5,2), arr ARRAY<INT>, m MAP<STRING,INT>, st STRUCT<a: INT>)`)[0];

/** What the general path stores for the record, or its error message. */
function generalPath(schema: typeof OT, text: string): string {
  try {
    return jsonEncoder(schema)([text]).data.toString('utf8');
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

function fastPath(schema: typeof OT, bytes: Buffer): string | null {
  const w = new LineWriter();
  return compileJsonLineWriter(schema.columns)(bytes, 0, bytes.length, w) ? w.buf.toString('utf8', 0, w.len) : null;
}

const VALUES = [
  '"x"', '""', '"a\\"b"', '"\\u00e9\\ud800"', '"\\n"', '"\\x"', '"ü€😀"', '"tab\there"', '"unterminated', '0', '-0', '1', '-1', '127', '128', '-129',
  '32767', '32768', '1750000000000000', '12345678901234567890123', '-12345678901234567890.5', '2147483647', '2147483648', '-2147483649', '123456789012345', '1234567890123456', '9007199254740993', '01', '1.', '.5', '1.5',
  '1e3', '1E+2', '-2.5e-3', '1e400', '-', '+1', 'true', 'false', 'tru', 'null', '[]', '[1]', '{}', '{"a":1}', 'NaN',
];
const KEYS = ['event_id', 'event_time', 'tag_path', 'tag_provider', 'numeric_value', 'string_value', 'boolean_value', 'quality', 'quality_code',
  'source_system', 'ingestion_timestamp', 'data_type', 'alarm_state', 'alarm_priority', 'EVENT_ID', 'nope', 'event\\u005fid', '__proto__'];
const WIDE_KEYS = WIDE.columns.map((c) => c.name);

function randomRecord(r: () => number, keys: string[], required: Record<string, string>): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const ws = () => (r() < 0.1 ? pick([' ', '\t', '\r', '\n', '  ']) : '');
  const parts: string[] = [];
  const fields: [string, string][] = r() < 0.7 ? Object.entries(required) : [];
  const extra = Math.floor(r() * 6);
  for (let i = 0; i < extra; i++) fields.push([pick(keys), pick(VALUES)]);
  if (r() < 0.3) fields.sort(() => r() - 0.5);
  for (const [k, v] of fields) parts.push(`${ws()}"${k}"${ws()}:${ws()}${v}${ws()}`);
  let text = `${ws()}{${parts.join(',')}}${ws()}`;
  if (r() < 0.05) text = text.slice(0, Math.floor(r() * text.length));
  if (r() < 0.03) text += pick(['x', ',', '}', ' 1']);
  return text;
}

describe('emulator fast paths', () => {
  it('JSON records: the byte-level path stores exactly what the general path stores, and declines everything else', () => {
    const r = rng(11);
    let taken = 0;
    const otRequired = { event_id: '"e1"', event_time: '1750000000000000', tag_path: '"[default]A/B"', ingestion_timestamp: '1750000000001500' };
    for (let n = 0; n < 40_000; n++) {
      const wide = n % 3 === 0;
      const schema = wide ? WIDE : OT;
      const text = randomRecord(r, wide ? WIDE_KEYS : KEYS, wide ? { s: '"s"' } : otRequired);
      const bytes = Buffer.from(text, 'utf8');
      const fast = fastPath(schema, bytes);
      if (fast === null) continue;
      taken++;
      assert.equal(fast, generalPath(schema, text), text);
    }
    assert.ok(taken > 1000, `fast path taken for ${taken} records`);
    // invalid UTF-8 is never stored by the fast path
    const bad = Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","event_time":1,"tag_path":"p","ingestion_timestamp":2}')]);
    assert.equal(fastPath(OT, bad), null);
    const good = Buffer.from('{"event_id":"é","event_time":1,"tag_path":"p","ingestion_timestamp":2}');
    assert.equal(fastPath(OT, good), good.toString() + '\n');
  });

  it('requests read in place give what protobufjs decodes; anything unusual is left to protobufjs', () => {
    const r = rng(5);
    let taken = 0;
    for (let n = 0; n < 3000; n++) {
      const count = Math.floor(r() * 4);
      const json = r() < 0.5;
      const offset = Math.floor(r() * 2 ** (r() < 0.5 ? 8 : 52));
      const recs = Array.from({ length: count }, (_, i) => (json ? `{"i":${i},"s":"${'é'.repeat(Math.floor(r() * 80))}"}` : Buffer.alloc(Math.floor(r() * 200), i)));
      let bytes =
        count === 1
          ? encodeRequest({ ingest_record: { offset_id: offset, ...(json ? { json_record: recs[0] as string } : { proto_encoded_record: recs[0] as Buffer }) } })
          : encodeRequest({ ingest_record_batch: { offset_id: offset, ...(json ? { json_batch: { records: recs as string[] } } : { proto_encoded_batch: { records: recs as Buffer[] } }) } });
      const mutation = r();
      if (mutation < 0.1) bytes = bytes.subarray(0, Math.floor(r() * bytes.length));
      else if (mutation < 0.2) bytes = Buffer.concat([bytes, Buffer.from([0x2a, 0x00])]); // an unknown field after the payload
      else if (mutation < 0.3) {
        bytes = Buffer.from(bytes);
        bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      }
      const fast = decodeIngestFast(bytes);
      if (!fast) continue;
      taken++;
      const ref = decodeRequest(bytes); // must not throw: the fast reader accepts only what protobufjs reads
      const single = ref.ingest_record;
      const batch = ref.ingest_record_batch;
      assert.ok(!ref.create_stream && Boolean(single) !== Boolean(batch));
      const body = (single ?? batch)!;
      assert.equal(toNumber(body.offset_id), fast.offset);
      const want = single
        ? [fast.json ? single.json_record : single.proto_encoded_record]
        : (fast.json ? batch!.json_batch?.records : batch!.proto_encoded_batch?.records) ?? [];
      assert.ok(single ? (fast.json ? 'json_record' in single : 'proto_encoded_record' in single) : fast.json ? 'json_batch' in batch! : 'proto_encoded_batch' in batch!);
      assert.equal(fast.records.length, want.length);
      for (let i = 0; i < want.length; i++) {
        if (fast.json) assert.equal(fast.records.text(i), want[i]);
        else assert.deepEqual(Buffer.from(fast.records.buf.subarray(fast.records.starts[i], fast.records.ends[i])), Buffer.from(want[i] as Uint8Array));
      }
    }
    assert.ok(taken > 1500, `read in place: ${taken}`);
    assert.equal(decodeIngestFast(encodeRequest({ create_stream: { table_name: 'a.b.c' } })), null);
    assert.ok(decodeIngestFast(encodeRequest({ ingest_record_batch: { offset_id: 3, json_batch: { records: [] } } }))?.records instanceof RecordSpans);
  });
});

describe('emulator PROTO fast path: numbers', () => {
  it('writes every integer and double as JSON.stringify does', () => {
    const table = parseCreateTables('CREATE TABLE a.b.n (i BIGINT NOT NULL, j INT, d DOUBLE, t TIMESTAMP)')[0];
    const { messageType } = descriptorForTable(table);
    const loaded = createProtoRowReader(table, descriptorProtoFromType(messageType));
    if (!loaded.ok) throw new Error(loaded.reason);
    const reader = loaded.reader;
    const r = rng(3);
    const edges = [0, 1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 99_999_999, 100_000_000, 1e15, 2 ** 53 - 1, 1_750_000_000_000_000];
    for (let n = 0; n < 5000; n++) {
      const big = n < edges.length * 2 ? edges[n >> 1] * (n & 1 ? -1 : 1) : Math.floor((r() - 0.5) * 2 ** (r() * 54));
      const row = { i: big, j: Math.floor((r() - 0.5) * 2 ** 32) | 0, d: n % 3 ? big : (r() - 0.5) * 10 ** Math.floor(r() * 30 - 10), t: Math.abs(big) };
      const bytes = messageType.encode(row).finish();
      const line: string = reader.decodeLine(bytes);
      assert.equal(line, JSON.stringify({ i: row.i, j: row.j, d: row.d, t: row.t }), JSON.stringify(row));
    }
  });
});
