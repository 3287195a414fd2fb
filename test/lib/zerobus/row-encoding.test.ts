import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import type { Emulator } from '../../../lib/emulator';
import { compileRowWriter, createRowEncoder } from '../../../lib/schema/proto-writer';
import { LineWriter } from '../../../lib/schema';
import { descriptorProtoFromType, ZerobusError, type ZerobusClient } from '../../../lib/zerobus';
import { encodeRequest as protobufEncode } from '../../../lib/zerobus/protocol';
import { encodeRows, jsonRowWriter, protoRowWriter, writeRecordAsIs } from '../../../lib/zerobus/row-encoding';
import { encodeRequest, frameRequest, recordLengths } from '../../../lib/zerobus/wire';
import { clientFor, emulator, FAST, makeRows, OT_DESCRIPTOR, OtEvent, TABLE } from './harness';
import { randomSource as rng } from '../../support/prng';

const ALL_KINDS = protobuf.parse(`
  syntax = "proto2";
  message Every {
    optional string s = 1; optional bytes b = 2; optional bool t = 3; optional double d = 4; optional float f = 5;
    optional int32 i32 = 6; optional uint32 u32 = 7; optional sint32 s32 = 8; optional fixed32 x32 = 9; optional sfixed32 sx32 = 10;
    optional int64 i64 = 11; optional uint64 u64 = 12; optional sint64 s64 = 13; optional fixed64 x64 = 14; optional sfixed64 sx64 = 15;
    optional string constructor = 16; optional int64 big_field_number = 536870911;
  }
  message WithRequired { required string id = 1; optional int32 n = 2; }
  message Nested { optional Every inner = 1; }
`, { keepCase: true }).root;
const Every = ALL_KINDS.lookupType('Every');

const INTS = [0, 1, -1, 127, 128, -128, 16383, 16384, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 1_750_000_000_000_000, -1_750_000_000_000_000];
const STRINGS = ['', 'a', 'x'.repeat(42), 'x'.repeat(43), 'y'.repeat(127), 'z'.repeat(128), 'w'.repeat(20_000), 'ü€😀', 'é'.repeat(42), 'é'.repeat(70), 'lone \ud800 surrogate', '\udc00', 'tab\tquote"'];

function randomRow(r: () => number): Record<string, unknown> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const row: Record<string, unknown> = {};
  const maybe = (k: string, v: () => unknown) => {
    const p = r();
    if (p < 0.15) return;
    if (p < 0.2) row[k] = null;
    else row[k] = v();
  };
  const int = () => pick(INTS);
  maybe('s', () => pick(STRINGS));
  maybe('b', () => Buffer.from(pick(STRINGS)));
  maybe('t', () => r() < 0.5);
  maybe('d', () => pick([0, -0, 1.5, -2.25e300, Math.PI, NaN, Infinity, int()]));
  maybe('f', () => pick([0, 1.5, 3.4e38, Math.PI, -1e-40]));
  for (const k of ['i32', 'u32', 's32', 'x32', 'sx32', 'i64', 'u64', 's64', 'x64', 'sx64']) maybe(k, int);
  maybe('constructor', () => pick(STRINGS));
  maybe('big_field_number', int);
  if (r() < 0.05) row.i64 = '12345678901234567890'; // a decimal string: protobufjs' path
  if (r() < 0.05) row.d = 'not a number';
  return row;
}

function fast(type: protobuf.Type, row: unknown): Buffer {
  const w = new LineWriter();
  createRowEncoder(type)(row, w);
  return Buffer.from(w.buf.subarray(0, w.len));
}
const reference = (type: protobuf.Type, row: unknown) => Buffer.from(type.encode(row as protobuf.Message).finish());

describe('row encoding (ingestRows)', () => {
  it('the compiled PROTO writer gives protobufjs\' bytes for every scalar kind and edge value', () => {
    const r = rng(7);
    for (let i = 0; i < 5000; i++) {
      const row = randomRow(r);
      assert.deepEqual(fast(Every, row), reference(Every, row), JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    }
  });

  it('leaves to protobufjs what it does not cover exactly, with the same result', () => {
    const writer = compileRowWriter(Every)!;
    const w = new LineWriter();
    // lone surrogate, wrong JS types, non-plain objects: the fast path declines and writes nothing
    for (const row of [{ s: 'a\ud800' }, { i32: 1.5 }, { u32: -1 }, { t: 1 }, { i64: 2 ** 60 }, { b: 'AAA=' }, new (class { s = 'x'; })(), Every.create({ s: 'x' })]) {
      assert.equal(writer(row, w), false, JSON.stringify(row));
      assert.equal(w.len, 0);
      assert.deepEqual(fast(Every, row), reference(Every, row));
    }
    // an inherited property of the same name as a field is not the row's (protobufjs skips it)
    const proto = { s: 'inherited' };
    assert.deepEqual(fast(Every, Object.create(proto)), reference(Every, Object.create(proto)));
    assert.deepEqual(fast(Every, Object.assign(Object.create(null), { s: 'no prototype', i32: 5 })), reference(Every, { s: 'no prototype', i32: 5 }));
    // a missing required field or a nested message: protobufjs decides
    const WithRequired = ALL_KINDS.lookupType('WithRequired');
    assert.deepEqual(fast(WithRequired, { id: 'x', n: 3 }), reference(WithRequired, { id: 'x', n: 3 }));
    assert.equal(compileRowWriter(WithRequired)!({ n: 3 }, w), false);
    assert.equal(compileRowWriter(ALL_KINDS.lookupType('Nested')), null);
    const nested = { inner: { s: 'deep', i64: 5 } };
    assert.deepEqual(fast(ALL_KINDS.lookupType('Nested'), nested), reference(ALL_KINDS.lookupType('Nested'), nested));
  });

  it('JSON rows are written exactly as JSON.stringify writes them, flat or not', () => {
    const r = rng(9);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    const values: unknown[] = [
      0, -0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53), 2 ** 53 + 2, 1.5, -2.25e-300, 1e21, 123.456, Math.PI, NaN, Infinity, -Infinity,
      '', 'plain', 'quote"', 'back\\slash', 'nl\n', '\u0001', '\u007f', 'ü€😀', 'lone\ud800', true, false, null, undefined, () => 1, Symbol('s'),
      [1, 'a'], { nested: { x: 1 } }, new Date(0), 1_750_000_000_000_000,
    ];
    const keys = ['a', 'event_id', '1', '0', 'ü', 'quo"te', 'toJSON_not', '__proto__x', 'numeric_value'];
    const write = jsonRowWriter();
    for (let n = 0; n < 5000; n++) {
      const row: Record<string, unknown> = {};
      const count = Math.floor(r() * 8);
      for (let i = 0; i < count; i++) row[pick(keys)] = pick(values);
      const reqs = encodeRows([row, row], write, true, 1 << 20, 50);
      const expected = JSON.stringify(row);
      assert.deepEqual(frameRequest(reqs[0], 0), protobufEncode({ ingest_record_batch: { offset_id: 0, json_batch: { records: [expected, expected] } } }), expected);
    }
    // not plain objects, toJSON, arrays at the top: JSON.stringify's own result
    class Klass { a = 1; }
    for (const row of [new Klass(), { toJSON: () => ({ x: 1 }) }, [1, 2], Object.assign(Object.create(null), { a: 1 })]) {
      const reqs = encodeRows([row], write, true, 1 << 20, 50);
      assert.deepEqual(frameRequest(reqs[0], 0), protobufEncode({ ingest_record: { offset_id: 0, json_record: JSON.stringify(row) } }));
    }
  });

  it('builds requests byte-identical to encoding the records first, split by the request budget', () => {
    const rows = makeRows(700);
    // rows of every length class: < 128 B, 128 B–16 KiB, > 16 KiB (the length slot moves the record)
    rows[3].tag_path = '';
    rows[5].tag_path = 'p'.repeat(20_000);
    rows[6] = { event_id: 'x', event_time: 1, tag_path: 't', ingestion_timestamp: 2 };
    const protoWrite = protoRowWriter(OT_DESCRIPTOR);
    for (const json of [true, false]) {
      const expected = json ? rows.map((x) => JSON.stringify(x)) : rows.map((x) => Buffer.from(OtEvent.encode(x).finish()));
      for (const [maxBody, hint] of [[4 * 1024 * 1024, 16], [64 * 1024, 400], [30 * 1024, 1]]) {
        const reqs = encodeRows(rows, json ? jsonRowWriter() : protoWrite, json, maxBody, hint);
        let at = 0;
        for (const [k, req] of reqs.entries()) {
          assert.ok(req.bytes <= maxBody || req.records === 1, `request ${k} of ${req.bytes} bytes`);
          const part = expected.slice(at, at + req.records);
          at += req.records;
          const msg =
            part.length === 1
              ? { ingest_record: { offset_id: k, ...(json ? { json_record: part[0] as string } : { proto_encoded_record: part[0] as Buffer }) } }
              : { ingest_record_batch: { offset_id: k, ...(json ? { json_batch: { records: part as string[] } } : { proto_encoded_batch: { records: part as Buffer[] } }) } };
          assert.deepEqual(frameRequest(req, k), protobufEncode(msg), `json=${json} maxBody=${maxBody} request ${k}`);
        }
        assert.equal(at, rows.length);
        if (maxBody < 40_000) assert.ok(reqs.length >= 3, `${reqs.length} requests`);
      }
    }
    const single = encodeRows([rows[0]], protoWrite, false, 1 << 20, 100);
    assert.deepEqual(frameRequest(single[0], 0), protobufEncode({ ingest_record: { offset_id: 0, proto_encoded_record: Buffer.from(OtEvent.encode(rows[0]).finish()) } }));
  });

  it('JSON records given as text (ingest) are framed as encodeRequest frames them, in one pass', () => {
    const texts: (string | Buffer)[] = makeRows(400).map((x) => JSON.stringify(x));
    texts[1] = '{"ü":"€😀"}';
    texts[2] = Buffer.from('{"as":"bytes"}');
    texts[3] = 'x'.repeat(20_000);
    texts[4] = '';
    const reqs = encodeRows(texts, writeRecordAsIs, true, 1 << 20, 1, 'record');
    assert.equal(reqs.length, 1);
    const lens = recordLengths(texts as string[], true);
    assert.deepEqual(frameRequest(reqs[0], 5), frameRequest(encodeRequest(texts as string[], lens, 0, texts.length, true), 5));
    assert.throws(() => encodeRows(['y'.repeat(3000)], writeRecordAsIs, true, 2048, 1, 'record'), /record 0 is 3000 bytes/);
  });

  it('names the row that cannot be encoded or is too large', () => {
    assert.throws(() => encodeRows([{ a: 1 }, { b: 2n }], jsonRowWriter(), true, 1 << 20, 10), (e: ZerobusError) => e.code === 'INVALID_ARGUMENT' && /row 1 cannot be encoded/.test(e.message));
    assert.throws(() => encodeRows([{ a: 'x'.repeat(5000) }], jsonRowWriter(), true, 2048, 10), /row 0 is 5008 bytes/);
    assert.throws(() => protoRowWriter(Buffer.from([0xff, 0xff])), /cannot encode rows with this descriptorProto/);
  });

  describe('against the emulator', function () {
    this.timeout(15_000);
    let emu: Emulator;
    let client: ZerobusClient;
    beforeEach(async () => {
      emu = await emulator();
      client = clientFor(emu);
    });
    afterEach(async () => {
      await client.close();
      await emu.stop();
    });

    for (const recordType of ['json', 'proto'] as const) {
      it(`${recordType.toUpperCase()}: rows given as objects arrive exactly, with backpressure and splitting`, async () => {
        const stream = client.createStream({
          table: TABLE, recordType, ...FAST, maxInflightRecords: 600, maxRequestBytes: 32 * 1024,
          ...(recordType === 'proto' ? { descriptorProto: descriptorProtoFromType(OtEvent) } : {}),
        });
        const rows = makeRows(3000);
        const pending: Promise<void>[] = [];
        let firstCallBytes = 0;
        for (let i = 0; i < rows.length; i += 500) {
          pending.push(stream.ingestRows(rows.slice(i, i + 500)));
          if (i === 0) firstCallBytes = stream.metrics().bytesInFlight;
        }
        // no ack can arrive within this synchronous loop: with room for 600 records only the first call is admitted
        assert.ok(firstCallBytes > 0);
        assert.equal(stream.metrics().bytesInFlight, firstCallBytes);
        assert.equal(stream.metrics().recordsInFlight, rows.length);
        await stream.ingestRows([]);
        await Promise.all(pending);
        assert.deepEqual(emu.allRows(TABLE), rows);
        assert.ok(stream.metrics().requestsSent >= 8, `${stream.metrics().requestsSent} requests`); // ≥ 300 kB in requests of ≤ 32 KiB
        await stream.close();
        await assert.rejects(stream.ingestRows(rows.slice(0, 1)), /closed/);
      });
    }

    it('a row that cannot be encoded rejects its call only; the stream goes on', async () => {
      const stream = client.createStream({ table: TABLE, recordType: 'json', ...FAST });
      const rows = makeRows(2);
      await assert.rejects(stream.ingestRows([rows[0], { bad: 1n }]), /row 1 cannot be encoded/);
      await stream.ingestRows([rows[1]]);
      assert.deepEqual(emu.allRows(TABLE), [rows[1]]);
    });
  });
});
