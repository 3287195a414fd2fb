import assert from 'node:assert/strict';
import * as descriptor from 'protobufjs/ext/descriptor';
import {
  decodeOtEventProto,
  encodeOtEventJson,
  encodeOtEventProto,
  encodeOtEventProtoGeneric,
  OT_EVENT_COLUMNS,
  OT_EVENT_DESCRIPTOR,
  OT_EVENT_TYPE,
  RowMappingError,
  toOtEventRow,
  type OtEventRow,
} from '../../../lib/tags';
import { encodeOtEventRecordProto } from '../../../lib/tags/row-codec';
import { generatedRawEvents } from './generated-events';

const ctx = { sourceSystem: 'edge-box', ingestionMicros: 1_700_000_001_234_567 };
const full: OtEventRow = {
  event_id: '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  event_time: 1_700_000_000_123_456,
  tag_path: '[default]Line1/Speed',
  tag_provider: 'default',
  numeric_value: -42.125,
  string_value: 'text',
  boolean_value: false,
  quality: 'Bad_Stale',
  quality_code: -2147483132,
  source_system: 'edge-box',
  ingestion_timestamp: 1_700_000_001_234_567,
  data_type: 'Float8',
  alarm_state: 'ActiveUnacked',
  alarm_priority: -1,
};

/** Fields present on the wire, by protobufjs' own decoder (proto2 presence = own property). */
function presentFields(buf: Uint8Array): string[] {
  const msg = OT_EVENT_TYPE.decode(buf) as unknown as Record<string, unknown>;
  return OT_EVENT_COLUMNS.filter((c) => Object.prototype.hasOwnProperty.call(msg, c));
}

const variants: Array<[string, OtEventRow]> = [
  ['all columns', full],
  ['required columns only', { event_id: 'x', event_time: 0, tag_path: 'p', ingestion_timestamp: 0 }],
  ['zero and false values', { ...full, numeric_value: 0, boolean_value: false, quality_code: 0, alarm_priority: 0, string_value: '' }],
  ['int64 beyond 2^32 and 2^53-1', { ...full, event_time: 2 ** 40 + 3, ingestion_timestamp: Number.MAX_SAFE_INTEGER }],
  ['negative int64 (before 1970)', { ...full, event_time: -86_400_000_000, ingestion_timestamp: -1 }],
  ['int32 extremes', { ...full, quality_code: -2147483648, alarm_priority: 2147483647 }],
  ['non-ASCII short strings', { ...full, tag_path: '[défaut]Ligne/Température😀', quality: 'Gütе' }],
  ['strings at the one-byte length limit', { ...full, tag_path: 'x'.repeat(42), string_value: 'é'.repeat(42), alarm_state: 'y'.repeat(127) }],
  ['long strings', { ...full, tag_path: 'p'.repeat(1024), string_value: '€'.repeat(5000) }],
  ['a huge value beyond the scratch buffer', { ...full, string_value: JSON.stringify(Array.from({ length: 30000 }, (_, i) => `élément-${i}`)) }],
  ['lone surrogates', { ...full, tag_path: 'a\ud800b', string_value: '\udc00'.repeat(50) }],
  ['special doubles', { ...full, numeric_value: -0 }],
  ['tiny double', { ...full, numeric_value: 5e-324 }],
];

describe('tags/row-codec', () => {
  describe('encodeOtEventProto', () => {
    for (const [what, row] of variants) {
      it(`writes the same bytes as protobufjs and round-trips: ${what}`, () => {
        const ours = encodeOtEventProto(row);
        // protobufjs writes a lone surrogate as 3 invalid bytes; we write valid UTF-8 (U+FFFD, like Buffer)
        if (what !== 'lone surrogates') assert.deepEqual(ours, encodeOtEventProtoGeneric(row));
        else assert.deepEqual(ours, encodeOtEventProtoGeneric({ ...row, tag_path: 'a\ufffdb', string_value: '\ufffd'.repeat(50) }));
        const back = decodeOtEventProto(ours);
        const expected = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined));
        // lone surrogates are not UTF-8: they come back as U+FFFD
        const clean = (o: Record<string, unknown>) => JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === 'string' ? Buffer.from(v).toString() : v)));
        assert.deepEqual(clean(back as unknown as Record<string, unknown>), clean(expected));
        assert.deepEqual(presentFields(ours), OT_EVENT_COLUMNS.filter((c) => row[c] !== undefined));
      });
    }

    it('encodes absent columns as absent fields, including for rows made by the mapper', () => {
      const row = toOtEventRow({ tagPath: 'T', value: null, timestamp: 1 }, { sourceSystem: '', ingestionMicros: 5 });
      const buf = encodeOtEventProto(row);
      assert.deepEqual(presentFields(buf), ['event_id', 'event_time', 'tag_path', 'tag_provider', 'quality', 'quality_code', 'ingestion_timestamp']);
      const decoded = OT_EVENT_TYPE.decode(buf) as unknown as Record<string, unknown>;
      assert.equal(Object.prototype.hasOwnProperty.call(decoded, 'numeric_value'), false);
      assert.equal(Object.prototype.hasOwnProperty.call(decoded, 'string_value'), false);
    });

    it('decodes a row of each value kind produced by the mapper', () => {
      for (const value of [1.5, 'txt', true, [1, 2], { a: 'b' }, NaN, 9007199254740993n]) {
        const row = toOtEventRow({ tagPath: '[p]T', value, timestamp: 1700000000000, dataType: typeof value === 'bigint' ? 'long' : undefined }, ctx);
        assert.deepEqual(decodeOtEventProto(encodeOtEventProto(row)), row);
      }
    });

    it('returns independent buffers', () => {
      const a = encodeOtEventProto(full);
      const copy = Buffer.from(a);
      encodeOtEventProto({ ...full, tag_path: 'other' });
      assert.deepEqual(a, copy);
    });

    it('keeps every record intact while later ones fill their shared slab and the next, failed rows included', () => {
      // records are views of a 64 KiB slab: none may overlap another, across slab changes, huge
      // rows (their own buffer) and rows that throw half-written
      const kept: [Buffer, Buffer][] = [];
      for (let i = 0; i < 3000; i++) {
        const row = { ...full, tag_path: `[default]Area${i}/${'x'.repeat(i % 97)}`, numeric_value: i };
        if (i % 500 === 7) assert.throws(() => encodeOtEventProto({ ...row, alarm_priority: 0.5 }), /alarm_priority/);
        if (i % 1000 === 3) encodeOtEventProto({ ...row, string_value: 's'.repeat(70_000) });
        const buf = encodeOtEventProto(row);
        kept.push([buf, encodeOtEventProtoGeneric(row)]);
      }
      for (const [buf, expected] of kept) assert.deepEqual(buf, expected);
      assert.ok(new Set(kept.map(([b]) => b.buffer)).size > 3, 'the records spanned several slabs');
    });

    it('refuses integers the columns cannot hold', () => {
      assert.throws(() => encodeOtEventProto({ ...full, event_time: 1.5 }), RowMappingError);
      assert.throws(() => encodeOtEventProto({ ...full, ingestion_timestamp: 2 ** 60 }), RowMappingError);
      assert.throws(() => encodeOtEventProto({ ...full, quality_code: 2 ** 31 }), /quality_code/);
      assert.throws(() => encodeOtEventProto({ ...full, alarm_priority: 0.5 }), /alarm_priority/);
    });
  });

  describe('encodeOtEventRecordProto', () => {
    /** The record bytes, or the error's message */
    const outcome = (f: () => Buffer): Buffer | string => {
      try {
        return Buffer.from(f());
      } catch (err) {
        assert.ok(err instanceof RowMappingError, String(err));
        return err.message;
      }
    };

    it('writes the bytes of encodeOtEventProto(toOtEventRow(..)) and throws where they throw, over generated events', () => {
      // tag paths and string values of every kind nameJsonString meets: printable ASCII of many
      // lengths, escapes, multi-byte and lone surrogates
      const texts = ['[default]A/B', 'x'.repeat(200), 'say "hi"', 'back\\slash', 'tab\there', 'Größe/°C', '\u{1F600}', 'lone \ud800', '\u007f'];
      const events = generatedRawEvents(29, { tagPath: [...texts, ' ', 7, undefined], value: [...texts, 1.5, NaN, 5n, true, null, { a: 1 }, [1, 2]] });
      const ctxs = [ctx, { sourceSystem: '', ingestionMicros: ctx.ingestionMicros }, { sourceSystem: 'gw "7"', ingestionMicros: 1.5 }];
      let records = 0;
      for (let i = 0; i < 20_000; i++) {
        const raw = events();
        const c = ctxs[i % ctxs.length];
        const want = outcome(() => encodeOtEventProto(toOtEventRow(raw, c)));
        assert.deepEqual(outcome(() => encodeOtEventRecordProto(raw, c)), want, JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
        if (typeof want !== 'string') records++;
      }
      assert.ok(records > 1000, `${records} events became records`);
    });
  });

  describe('OT_EVENT_DESCRIPTOR', () => {
    it('is the DescriptorProto of OtEvent with 14 optional fields of the right types', () => {
      const d = descriptor.DescriptorProto.toObject(descriptor.DescriptorProto.decode(OT_EVENT_DESCRIPTOR), { enums: String }) as {
        name: string; field: Array<{ name: string; number: number; label: string; type: string }>;
      };
      assert.equal(d.name, 'OtEvent');
      assert.deepEqual(d.field.map((f) => f.name), [...OT_EVENT_COLUMNS]);
      assert.deepEqual(d.field.map((f) => f.number), OT_EVENT_COLUMNS.map((_, i) => i + 1));
      for (const f of d.field) assert.equal(f.label, 'LABEL_OPTIONAL');
      assert.deepEqual(d.field.map((f) => f.type.replace('TYPE_', '')), [
        'STRING', 'INT64', 'STRING', 'STRING', 'DOUBLE', 'STRING', 'BOOL', 'STRING', 'INT32', 'STRING', 'INT64', 'STRING', 'STRING', 'INT32',
      ]);
      assert.ok(Buffer.isBuffer(OT_EVENT_DESCRIPTOR));
    });
  });

  describe('encodeOtEventJson', () => {
    it('writes the present columns in column order', () => {
      const text = encodeOtEventJson(full);
      assert.deepEqual(JSON.parse(text), full);
      assert.deepEqual(Object.keys(JSON.parse(text)), [...OT_EVENT_COLUMNS]);
    });
    it('leaves absent columns out, keeps 0, false and ""', () => {
      const row: OtEventRow = { event_id: 'x', event_time: 0, tag_path: 'p', ingestion_timestamp: 7, boolean_value: false, string_value: '', quality_code: 0 };
      assert.equal(encodeOtEventJson(row), '{"event_id":"x","event_time":0,"tag_path":"p","string_value":"","boolean_value":false,"quality_code":0,"ingestion_timestamp":7}');
      assert.equal(encodeOtEventJson({ ...row, alarm_state: undefined }), encodeOtEventJson(row));
    });
    it('escapes strings and ignores properties that are not columns', () => {
      const row = { ...full, tag_path: 'a"b\\c\n😀', extra: 1 } as OtEventRow;
      const parsed = JSON.parse(encodeOtEventJson(row));
      assert.equal(parsed.tag_path, 'a"b\\c\n😀');
      assert.equal('extra' in parsed, false);
    });
    it('matches the PROTO encoding of the same mapped rows', () => {
      for (const value of [1.5, 'txt', true, [1, 2], null, NaN, -Infinity, 9007199254740993n]) {
        const row = toOtEventRow({ tagPath: '[p]T', value, timestamp: 1700000000000, dataType: typeof value === 'bigint' ? 'long' : undefined }, ctx);
        assert.deepEqual(JSON.parse(encodeOtEventJson(row)), decodeOtEventProto(encodeOtEventProto(row)));
      }
    });
    it('applies the NaN rule to hand-made rows and refuses non-numbers in number columns', () => {
      assert.deepEqual(JSON.parse(encodeOtEventJson({ ...full, numeric_value: NaN, string_value: undefined })).string_value, 'NaN');
      assert.equal('numeric_value' in JSON.parse(encodeOtEventJson({ ...full, numeric_value: Infinity })), false);
      assert.throws(() => encodeOtEventJson({ ...full, event_time: '1' as unknown as number }), RowMappingError);
      assert.throws(() => encodeOtEventJson({ ...full, event_time: NaN }), /event_time/);
    });
  });
});
