import assert from 'node:assert/strict';
import * as zlib from 'zlib';
import {
  COMPRESSED_UUID, DataType, SparkplugDecodeError, compressPayload, decodeArray, decodePayload, decodeRawPayload,
  encodeArray, encodePayload, encodeRebirthCommand, type DecodedMetric, type DecodedTemplate,
} from '../../../lib/sparkplug';
import { Long, TahuProto, tahu } from '../../fixtures/sparkplug/tahu';

const pako: { deflate(b: Uint8Array): Uint8Array; gzip(b: Uint8Array): Uint8Array } = require('pako');

function byName(metrics: DecodedMetric[], name: string): DecodedMetric {
  const m = metrics.find((x) => x.name === name);
  assert.ok(m, `metric ${name} missing`);
  return m;
}

/** Little-endian bytes written by hand, independent of our encoder. */
function le(size: number, values: (number | bigint)[], kind: 'int' | 'uint' | 'float' = 'int'): Buffer {
  const b = Buffer.alloc(size * values.length);
  values.forEach((v, i) => {
    const o = i * size;
    if (kind === 'float') void (size === 4 ? b.writeFloatLE(Number(v), o) : b.writeDoubleLE(Number(v), o));
    else if (size === 1) void (kind === 'int' ? b.writeInt8(Number(v), o) : b.writeUInt8(Number(v), o));
    else if (size === 2) void (kind === 'int' ? b.writeInt16LE(Number(v), o) : b.writeUInt16LE(Number(v), o));
    else if (size === 4) void (kind === 'int' ? b.writeInt32LE(Number(v), o) : b.writeUInt32LE(Number(v), o));
    else void (kind === 'int' ? b.writeBigInt64LE(BigInt(v), o) : b.writeBigUInt64LE(BigInt(v), o));
  });
  return b;
}

describe('sparkplug codec', () => {
  describe('basic types written by Tahu sparkplug-payload', () => {
    const bytes = tahu.encodePayload({
      timestamp: 1700000000000,
      seq: 3,
      metrics: [
        { name: 'i8', type: 'Int8', value: -5 },
        { name: 'i8max', type: 'Int8', value: 127 },
        { name: 'i16', type: 'Int16', value: -32768 },
        { name: 'i32', type: 'Int32', value: -2147483648 },
        { name: 'i64', type: 'Int64', value: Long.fromString('-9223372036854775808') },
        { name: 'i64small', type: 'Int64', value: -42 },
        { name: 'u8', type: 'UInt8', value: 255 },
        { name: 'u16', type: 'UInt16', value: 65535 },
        { name: 'u32', type: 'UInt32', value: 4294967295 },
        { name: 'u64', type: 'UInt64', value: Long.fromString('18446744073709551615', true) },
        { name: 'u64safe', type: 'UInt64', value: Long.fromNumber(9007199254740991, true) },
        { name: 'f', type: 'Float', value: 1.5 },
        { name: 'd', type: 'Double', value: -0.1 },
        { name: 'b', type: 'Boolean', value: true },
        { name: 's', type: 'String', value: 'héllo' },
        { name: 'dt', type: 'DateTime', value: 1700000000123 },
        { name: 't', type: 'Text', value: 'long text' },
        { name: 'u', type: 'UUID', value: '123e4567-e89b-12d3-a456-426614174000' },
        { name: 'bytes', type: 'Bytes', value: new Uint8Array([0, 1, 254, 255]) },
        { name: 'file', type: 'File', value: new Uint8Array([104, 105]), metadata: { fileName: 'a.txt', fileType: 'txt', md5: 'abc' } },
        { name: 'nothing', type: 'Int32', value: null },
        { name: 'Folder/Deep/Tag', type: 'Double', value: 2 },
      ],
    });
    const p = decodePayload(bytes);

    it('reads payload timestamp and seq', () => {
      assert.equal(p.timestamp, 1700000000000);
      assert.equal(p.seq, 3);
    });

    it('signed integers carried two\'s complement in the unsigned int field', () => {
      assert.equal(byName(p.metrics, 'i8').value, -5);
      assert.equal(byName(p.metrics, 'i8max').value, 127);
      assert.equal(byName(p.metrics, 'i16').value, -32768);
      assert.equal(byName(p.metrics, 'i32').value, -2147483648);
    });

    it('64-bit integers without precision loss: number when safe, decimal string otherwise', () => {
      assert.equal(byName(p.metrics, 'i64').value, '-9223372036854775808');
      assert.equal(byName(p.metrics, 'i64small').value, -42);
      assert.equal(byName(p.metrics, 'u64').value, '18446744073709551615');
      assert.equal(byName(p.metrics, 'u64safe').value, 9007199254740991);
    });

    it('unsigned types, UInt32 in the long field as Tahu writes it', () => {
      assert.equal(byName(p.metrics, 'u8').value, 255);
      assert.equal(byName(p.metrics, 'u16').value, 65535);
      assert.equal(byName(p.metrics, 'u32').value, 4294967295);
    });

    it('floats, booleans, strings, DateTime, Text, UUID', () => {
      assert.equal(byName(p.metrics, 'f').value, 1.5);
      assert.equal(byName(p.metrics, 'd').value, -0.1);
      assert.equal(byName(p.metrics, 'b').value, true);
      assert.equal(byName(p.metrics, 's').value, 'héllo');
      assert.equal(byName(p.metrics, 'dt').value, 1700000000123);
      assert.equal(byName(p.metrics, 't').value, 'long text');
      assert.equal(byName(p.metrics, 'u').value, '123e4567-e89b-12d3-a456-426614174000');
    });

    it('Bytes as base64, File as metadata plus base64 content', () => {
      assert.equal(byName(p.metrics, 'bytes').value, Buffer.from([0, 1, 254, 255]).toString('base64'));
      assert.deepEqual(byName(p.metrics, 'file').value, { fileName: 'a.txt', fileType: 'txt', md5: 'abc', size: 2, base64: 'aGk=' });
    });

    it('is_null gives null, names keep their folders', () => {
      const n = byName(p.metrics, 'nothing');
      assert.equal(n.isNull, true);
      assert.equal(n.value, null);
      assert.equal(byName(p.metrics, 'Folder/Deep/Tag').value, 2);
    });
  });

  it('UInt32 in int_value (the spec\'s field) and signed values out of 32-bit range folded', () => {
    const bytes = TahuProto.encode({
      metrics: [
        { name: 'u32', datatype: 7, intValue: 4294967295 },
        { name: 'i8raw', datatype: 1, intValue: 251 },
        { name: 'i16raw', datatype: 2, intValue: 65531 },
        { name: 'i32long', datatype: 3, longValue: Long.fromNumber(-7) },
      ],
    }).finish();
    const p = decodePayload(bytes);
    assert.equal(byName(p.metrics, 'u32').value, 4294967295);
    assert.equal(byName(p.metrics, 'i8raw').value, -5);
    assert.equal(byName(p.metrics, 'i16raw').value, -5);
    assert.equal(byName(p.metrics, 'i32long').value, -7);
  });

  describe('array types 22–34 (raw Tahu proto classes: sparkplug-payload cannot write them)', () => {
    const cases: [string, number, Uint8Array, unknown[]][] = [
      ['Int8Array', 22, le(1, [-128, 0, 127]), [-128, 0, 127]],
      ['Int16Array', 23, le(2, [-32768, 1, 32767]), [-32768, 1, 32767]],
      ['Int32Array', 24, le(4, [-2147483648, 2147483647]), [-2147483648, 2147483647]],
      ['Int64Array', 25, le(8, [-1n, 9223372036854775807n, 5n]), [-1, '9223372036854775807', 5]],
      ['UInt8Array', 26, le(1, [0, 255], 'uint'), [0, 255]],
      ['UInt16Array', 27, le(2, [65535], 'uint'), [65535]],
      ['UInt32Array', 28, le(4, [4294967295], 'uint'), [4294967295]],
      ['UInt64Array', 29, le(8, [18446744073709551615n, 7n], 'uint'), ['18446744073709551615', 7]],
      ['FloatArray', 30, le(4, [1.5, -2.25], 'float'), [1.5, -2.25]],
      ['DoubleArray', 31, le(8, [0.1, -1e300], 'float'), [0.1, -1e300]],
      // count 10 (LE), then bits MSB-first: 1011 0000 | 01..
      ['BooleanArray', 32, Buffer.from([10, 0, 0, 0, 0b10110000, 0b01000000]), [true, false, true, true, false, false, false, false, false, true]],
      ['StringArray', 33, Buffer.from('ab\0\0ü\0', 'utf8'), ['ab', '', 'ü']],
      ['DateTimeArray', 34, le(8, [1700000000000n, 0n]), [1700000000000, 0]],
    ];
    for (const [name, code, raw, expected] of cases) {
      it(`${name} (${code})`, () => {
        const bytes = TahuProto.encode({ metrics: [{ name, datatype: code, bytesValue: raw }] }).finish();
        const m = decodePayload(bytes).metrics[0];
        assert.equal(m.type, name);
        assert.deepEqual(m.value, expected);
        // our encoder writes the same bytes back
        assert.deepEqual(Buffer.from(encodeArray(code, expected)), Buffer.from(raw));
      });
    }

    it('rejects inconsistent array lengths', () => {
      assert.throws(() => decodeArray(DataType.Int32Array, new Uint8Array(5)), RangeError);
      assert.throws(() => decodeArray(DataType.BooleanArray, Buffer.from([9, 0, 0, 0, 0xff])), RangeError);
      const bytes = TahuProto.encode({ metrics: [{ name: 'x', datatype: 24, bytesValue: new Uint8Array(3) }] }).finish();
      assert.throws(() => decodePayload(bytes), SparkplugDecodeError);
    });
  });

  describe('DataSets', () => {
    it('column types Tahu can write (Int64, UInt32, Float, Double, Boolean, String)', () => {
      const bytes = tahu.encodePayload({
        metrics: [{
          name: 'ds', type: 'DataSet', value: {
            numOfColumns: 6, columns: ['a', 'b', 'c', 'd', 'e', 'f'],
            types: ['Int64', 'UInt32', 'Float', 'Double', 'Boolean', 'String'],
            rows: [[-3, 4000000000, 0.5, 2.5, true, 'x'], [7, 1, 1, 1, false, 'y']],
          },
        }],
      });
      const v = decodePayload(bytes).metrics[0].value;
      assert.deepEqual(v, {
        columns: ['a', 'b', 'c', 'd', 'e', 'f'],
        types: ['Int8', 'Int8', 'Float4', 'Float8', 'Boolean', 'String'],
        rows: [[-3, 4000000000, 0.5, 2.5, true, 'x'], [7, 1, 1, 1, false, 'y']],
      });
    });

    it('column types only the raw proto can write, and missing cells', () => {
      const DS = TahuProto.DataSet;
      const bytes = TahuProto.encode({
        metrics: [{
          name: 'ds', datatype: 16, datasetValue: DS.create({
            numOfColumns: 8, columns: ['i8', 'i16', 'i32', 'u8', 'u16', 'u64', 'dt', 'txt'],
            types: [1, 2, 3, 5, 6, 8, 13, 14],
            rows: [{ elements: [
              { intValue: 4294967295 }, { intValue: 4294934528 }, { intValue: 2147483648 }, { intValue: 200 },
              { intValue: 60000 }, { longValue: Long.fromString('18446744073709551615', true) },
              { longValue: Long.fromNumber(1700000000000) }, { stringValue: 'text' },
            ] }, { elements: [{}, { intValue: 1 }] }],
          }),
        }],
      }).finish();
      const v = decodePayload(bytes).metrics[0].value as { types: string[]; rows: unknown[][] };
      assert.deepEqual(v.types, ['Int1', 'Int2', 'Int4', 'Int2', 'Int4', 'Int8', 'DateTime', 'String']);
      assert.deepEqual(v.rows[0], [-1, -32768, -2147483648, 200, 60000, '18446744073709551615', 1700000000000, 'text']);
      assert.deepEqual(v.rows[1], [null, 1, null, null, null, null, null, null]);
    });
  });

  it('Templates: definitions and instances with parameters', () => {
    const bytes = tahu.encodePayload({
      metrics: [
        { name: '_types_/Motor', type: 'Template', value: {
          isDefinition: true, version: 'v1',
          metrics: [{ name: 'RPM', type: 'Int32', value: 0 }],
          parameters: [{ name: 'Serial', type: 'String', value: '' }],
        } },
        { name: 'Motor 1', type: 'Template', value: {
          isDefinition: false, templateRef: '_types_/Motor',
          metrics: [{ name: 'RPM', type: 'Int32', value: -1500 }],
          parameters: [{ name: 'Serial', type: 'String', value: 'SN-1' }],
        } },
      ],
    });
    const [def, inst] = decodePayload(bytes).metrics;
    const d = def.value as DecodedTemplate;
    const i = inst.value as DecodedTemplate;
    assert.equal(d.isDefinition, true);
    assert.equal(d.version, 'v1');
    assert.equal(i.templateRef, '_types_/Motor');
    assert.deepEqual(i.parameters, [{ name: 'Serial', type: 'String', value: 'SN-1' }]);
    assert.equal(i.metrics[0].value, -1500);
  });

  it('metric properties including Quality, historical and transient flags, aliases', () => {
    const bytes = tahu.encodePayload({
      metrics: [{
        name: 'x', alias: 12, timestamp: 5, type: 'Double', value: 1, isHistorical: true, isTransient: true,
        properties: { Quality: { type: 'Int32', value: 500 }, engUnit: { type: 'String', value: 'rpm' } },
      }],
    });
    const m = decodePayload(bytes).metrics[0];
    assert.equal(m.alias, 12);
    assert.equal(m.timestamp, 5);
    assert.equal(m.isHistorical, true);
    assert.equal(m.isTransient, true);
    assert.deepEqual(m.properties, { Quality: 500, engUnit: 'rpm' });
  });

  describe('Tahu compressed payloads', () => {
    const inner = tahu.encodePayload({ seq: 9, metrics: [{ name: 'a', type: 'Int16', value: -2 }] });
    for (const algo of ['DEFLATE', 'GZIP'] as const) {
      it(algo, () => {
        const body = algo === 'GZIP' ? pako.gzip(inner) : pako.deflate(inner);
        const bytes = tahu.encodePayload({ uuid: COMPRESSED_UUID, body, metrics: [{ name: 'algorithm', type: 'String', value: algo }] });
        const p = decodePayload(bytes);
        assert.equal(p.seq, 9);
        assert.equal(p.metrics[0].value, -2);
        // and ours decodes with Tahu's own decoder after Tahu-style decompression
        const ours = decodeRawPayload(compressPayload(inner, algo));
        assert.equal(ours.metrics?.[0].name, 'a');
      });
    }
    it('without the algorithm metric (deflate default), and bounded', () => {
      const bytes = tahu.encodePayload({ uuid: COMPRESSED_UUID, body: pako.deflate(inner) });
      assert.equal(decodePayload(bytes).metrics[0].value, -2);
      const bomb = tahu.encodePayload({ uuid: COMPRESSED_UUID, body: zlib.deflateSync(Buffer.alloc(1 << 20)) });
      assert.throws(() => decodePayload(bomb, { maxDecompressedBytes: 1024 }), (e: SparkplugDecodeError) => e.code === 'DECOMPRESS');
      const junk = tahu.encodePayload({ uuid: COMPRESSED_UUID, body: new Uint8Array([1, 2, 3]) });
      assert.throws(() => decodePayload(junk), SparkplugDecodeError);
    });
  });

  it('malformed protobuf is a SparkplugDecodeError', () => {
    assert.throws(() => decodeRawPayload(Buffer.from([0x12, 0x64, 0x01, 0x02])), (e: SparkplugDecodeError) => e.code === 'MALFORMED');
    assert.throws(() => decodeRawPayload(Buffer.from('{"online":true}')), SparkplugDecodeError);
  });

  describe('encoder, checked with Tahu\'s decoder', () => {
    it('scalars, Int64 extremes, null, properties', () => {
      const bytes = encodePayload({
        timestamp: 1700000000000, seq: 255,
        metrics: [
          { name: 'i8', datatype: 'Int8', value: -5 },
          { name: 'i64', datatype: 'Int64', value: -9223372036854775808n },
          { name: 'u64', datatype: 'UInt64', value: '18446744073709551615' },
          { name: 'd', datatype: DataType.Double, value: 0.25 },
          { name: 's', datatype: 'String', value: 'x' },
          { name: 'n', datatype: 'Int32', value: null },
          { name: 'q', datatype: 'Boolean', value: false, properties: { Quality: { type: 'Int32', value: 0 } } },
        ],
      });
      const t = tahu.decodePayload(bytes);
      assert.equal(Number(t.timestamp), 1700000000000);
      assert.equal(Number(t.seq), 255);
      const get = (n: string) => t.metrics.find((m) => m.name === n)!;
      assert.equal(get('i8').value, -5);
      // Tahu hands Int64 back as an unsigned Long (its own quirk): compare the bits
      assert.equal((get('i64').value as Long).toSigned().toString(), '-9223372036854775808');
      assert.equal((get('u64').value as Long).toUnsigned().toString(), '18446744073709551615');
      assert.equal(get('d').value, 0.25);
      assert.equal(get('n').value, null);
      assert.deepEqual(get('q').properties, { Quality: { type: 'Int32', value: 0 } });
    });

    it('rebirth command: NCMD payload with timestamp, no seq, Node Control/Rebirth = true, no alias', () => {
      const t = tahu.decodePayload(encodeRebirthCommand(1234));
      assert.equal(Number(t.timestamp), 1234);
      assert.equal(t.seq, undefined);
      assert.equal(t.metrics.length, 1);
      assert.equal(t.metrics[0].name, 'Node Control/Rebirth');
      assert.equal(t.metrics[0].type, 'Boolean');
      assert.equal(t.metrics[0].value, true);
      assert.equal(t.metrics[0].alias, undefined);
    });

    it('round-trips arrays, DataSets, templates and files through our decoder', () => {
      const bytes = encodePayload({
        metrics: [
          { name: 'ba', datatype: 'BooleanArray', value: [true, false, true] },
          { name: 'sa', datatype: 'StringArray', value: ['a', 'ü'] },
          { name: 'ds', datatype: 'DataSet', value: { columns: ['x', 'y'], types: ['Int8', 'String'], rows: [[-1, 'a'], [null, 'b']] } },
          { name: 'tpl', datatype: 'Template', value: { templateRef: 'T', metrics: [{ name: 'm', datatype: 'Int16', value: -3 }] } },
          { name: 'f', datatype: 'File', value: Buffer.from('hi'), metadata: { fileName: 'hi.txt' } },
        ],
      });
      const m = decodePayload(bytes).metrics;
      assert.deepEqual(byName(m, 'ba').value, [true, false, true]);
      assert.deepEqual(byName(m, 'sa').value, ['a', 'ü']);
      assert.deepEqual(byName(m, 'ds').value, { columns: ['x', 'y'], types: ['Int1', 'String'], rows: [[-1, 'a'], [null, 'b']] });
      assert.equal((byName(m, 'tpl').value as DecodedTemplate).metrics[0].value, -3);
      assert.deepEqual(byName(m, 'f').value, { fileName: 'hi.txt', size: 2, base64: 'aGk=' });
    });

    it('refuses values it cannot encode', () => {
      assert.throws(() => encodePayload({ metrics: [{ name: 'x', value: 1 }] }), TypeError);
      assert.throws(() => encodePayload({ metrics: [{ name: 'x', datatype: 'Nope', value: 1 }] }), TypeError);
    });
  });
});
