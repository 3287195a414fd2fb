import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { canonicalDataType, normaliseOrReason, normaliseTagEvent, type TagEvent } from '../../../lib/tags';
import { rowFieldsOrReason } from '../../../lib/tags/normalise';
import { generatedRawEvents } from './generated-events';

const FIXTURES = path.join(__dirname, '../../fixtures/tags');
const NOW = 1_700_000_000_000;

function ok(raw: unknown): TagEvent {
  const r = normaliseTagEvent(raw, { now: NOW });
  if (!r.ok) assert.fail(`expected ok, got: ${r.error}`);
  return r.event;
}
function err(raw: unknown): string {
  const r = normaliseTagEvent(raw, { now: NOW });
  if (r.ok) assert.fail(`expected a failure, got ${JSON.stringify(r.event)}`);
  return (r as { error: string }).error;
}
const base = { tagPath: '[default]A/B', value: 1.5, quality: 'Good', qualityCode: 192, timestamp: NOW, dataType: 'float' };
const withField = (extra: Record<string, unknown>) => ok({ ...base, ...extra });

describe('tags/normalise', () => {
  describe('data types', () => {
    const jython: Array<[string, unknown, string | undefined]> = [
      ['float', 1.5, 'Float8'], ['int', 3, 'Int4'], ['long', 5_000_000_000, 'Int8'], ['bool', true, 'Boolean'],
      ['unicode', 'x', 'String'], ['str', 'x', 'String'], ['Date', 1, 'DateTime'], ['java.util.Date', 1, 'DateTime'],
      ['NoneType', null, undefined], ['NoneType', 2.5, 'Float8'], ['NoneType', 'x', 'String'],
      ['array', [1, 2], 'Int4Array'], ['array', [1.5, 2], 'Float8Array'], ['array', [true], 'BooleanArray'],
      ['array', ['a'], 'StringArray'], ['array', [2 ** 40], 'Int8Array'], ['array', [], undefined], ['array', [1, 'a'], undefined],
      ['BasicDataset', {}, 'DataSet'], ['Dataset', {}, 'DataSet'], ['PyDataSet', 'x', 'DataSet'], ['SomeNewDataSet', {}, 'DataSet'],
      ['dict', {}, 'Document'], ['JsonObject', {}, 'Document'], ['Integer', 1, 'Int4'], ['java.lang.Double', 1, 'Float8'],
    ];
    for (const [name, value, expected] of jython) {
      it(`maps ${name} with ${JSON.stringify(value)} to ${expected}`, () => {
        assert.equal(canonicalDataType(name, value), expected);
      });
    }
    it('keeps every Ignition type name and fixes its case', () => {
      for (const t of ['Int1', 'Int2', 'Int4', 'Int8', 'Float4', 'Float8', 'Boolean', 'String', 'DateTime', 'DataSet', 'Text',
        'Int4Array', 'Int8Array', 'Float8Array', 'BooleanArray', 'StringArray', 'DateTimeArray', 'Int1Array', 'Int2Array',
        'Float4Array', 'ByteArray', 'Document']) {
        assert.equal(canonicalDataType(t, null), t);
        assert.equal(canonicalDataType(t.toLowerCase(), null), t);
        assert.equal(canonicalDataType(t.toUpperCase(), null), t);
      }
    });
    it('maps the Sparkplug names that do not clash with Ignition names', () => {
      assert.equal(canonicalDataType('Int16', 1), 'Int2');
      assert.equal(canonicalDataType('Int32', 1), 'Int4');
      assert.equal(canonicalDataType('Int64', 1), 'Int8');
      assert.equal(canonicalDataType('UInt32', 1), 'Int8');
      assert.equal(canonicalDataType('Double', 1), 'Float8');
      assert.equal(canonicalDataType('Float', 1), 'Float4');
      assert.equal(canonicalDataType('DoubleArray', [1]), 'Float8Array');
      assert.equal(canonicalDataType('UUID', 'x'), 'String');
      assert.equal(canonicalDataType('Bytes', 'AAE='), 'ByteArray');
    });
    it('derives the type from the value when absent or blank, and keeps unknown names', () => {
      assert.equal(canonicalDataType(undefined, 1), 'Int4');
      assert.equal(canonicalDataType('', 2 ** 31), 'Int8');
      assert.equal(canonicalDataType('  ', 0.5), 'Float8');
      assert.equal(canonicalDataType(undefined, NaN), 'Float8');
      assert.equal(canonicalDataType(undefined, 10n), 'Int8');
      assert.equal(canonicalDataType(undefined, false), 'Boolean');
      assert.equal(canonicalDataType(undefined, { a: 1 }), 'Document');
      assert.equal(canonicalDataType(undefined, null), undefined);
      assert.equal(canonicalDataType('PyFunkyThing', 1), 'PyFunkyThing');
      assert.equal(canonicalDataType(' float ', 1), 'Float8');
    });
    it('accepts Ignition integer type ids in dataType', () => {
      assert.equal(withField({ dataType: 5 }).dataType, 'Float8');
      assert.equal(withField({ dataType: 29, value: {} }).dataType, 'Document');
      assert.equal(withField({ dataType: 99, value: 2 }).dataType, 'Int4');
    });
  });

  describe('values', () => {
    it('keeps numbers, booleans, strings, null, arrays, objects and bigints', () => {
      for (const v of [0, -1.25, true, false, 'text', '', null, [1, [2, { a: null }]], { x: { y: [true] } }, 12n]) {
        assert.deepEqual(withField({ value: v, dataType: undefined }).value, v);
      }
      assert.equal(withField({ value: undefined }).value, null);
      const { value, ...noValue } = base;
      void value;
      assert.equal(ok(noValue).value, null);
    });
    it('keeps NaN and ±Infinity numbers, and turns those words into numbers for float types only', () => {
      assert.ok(Number.isNaN(withField({ value: NaN }).value));
      assert.equal(withField({ value: Infinity }).value, Infinity);
      assert.equal(withField({ value: -Infinity, dataType: 'Float4' }).value, -Infinity);
      assert.ok(Number.isNaN(withField({ value: 'NaN' }).value));
      assert.equal(withField({ value: 'Infinity', dataType: 'Float8' }).value, Infinity);
      assert.equal(withField({ value: '-Infinity', dataType: 'double' }).value, -Infinity);
      assert.equal(withField({ value: 'NaN', dataType: 'unicode' }).value, 'NaN');
      assert.equal(withField({ value: 'NaN', dataType: undefined }).value, 'NaN');
      assert.equal(withField({ value: 'fast', dataType: 'float' }).value, 'fast');
    });
    it('turns date texts of DateTime tags into ms, and integer texts of integer tags into exact integers', () => {
      const d = withField({ value: 'Tue Nov 14 22:13:20 UTC 2023', dataType: 'Date' });
      assert.equal(d.value, 1700000000000);
      assert.equal(d.dataType, 'DateTime');
      assert.equal(withField({ value: '2023-11-14T22:13:20.5Z', dataType: 'DateTime' }).value, 1700000000500);
      assert.equal(withField({ value: 'not a date', dataType: 'Date' }).value, 'not a date');
      assert.equal(withField({ value: '42', dataType: 'int' }).value, 42);
      assert.equal(withField({ value: '9007199254740993', dataType: 'long' }).value, 9007199254740993n);
      assert.equal(withField({ value: '42', dataType: 'unicode' }).value, '42');
    });
    it('turns Date values into ms and binary into base64', () => {
      assert.equal(withField({ value: new Date(5000), dataType: undefined }).value, 5000);
      const b = withField({ value: new Uint8Array([0, 1, 255]), dataType: 'Bytes' });
      assert.equal(b.value, 'AAH/');
      assert.equal(b.dataType, 'ByteArray');
    });
    it('refuses functions, symbols, class instances, invalid dates and nesting deeper than 32', () => {
      assert.match(err({ ...base, value: () => 1 }), /value is a function/);
      assert.match(err({ ...base, value: Symbol('x') }), /value is a symbol/);
      assert.match(err({ ...base, value: { a: [1, { f: () => 1 }] } }), /value\.a\[1\]\.f is a function/);
      assert.match(err({ ...base, value: new Map() }), /Map object/);
      assert.match(err({ ...base, value: { a: undefined } }), /value\.a is undefined/);
      assert.match(err({ ...base, value: new Date(NaN) }), /invalid Date/);
      let deep: unknown = 1;
      for (let i = 0; i < 33; i++) deep = [deep];
      assert.match(err({ ...base, value: deep }), /deeper than 32/);
      let ok32: unknown = 1;
      for (let i = 0; i < 32; i++) ok32 = { a: ok32 };
      assert.deepEqual(withField({ value: ok32 }).value, ok32);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      assert.match(err({ ...base, value: cyclic }), /deeper than 32/);
    });
  });

  describe('timestamps', () => {
    const at = (timestamp: unknown) => withField({ timestamp }).timestamp;
    it('takes ms numbers and numeric strings', () => {
      assert.equal(at(1700000000123), 1700000000123);
      assert.equal(at('1700000000123'), 1700000000123);
      assert.equal(at(' 1700000000123 '), 1700000000123);
      assert.equal(at(1700000000123.5), 1700000000123.5);
      assert.equal(at(0), 0);
      assert.equal(at(12345), 12345);
      assert.equal(at(-86400000), -86400000);
    });
    it('reads seconds, microseconds and nanoseconds by magnitude', () => {
      assert.equal(at(1700000000), 1700000000000);
      assert.equal(at(1700000000.25), 1700000000250);
      assert.equal(at('1700000000'), 1700000000000);
      assert.equal(at(1700000000123456), 1700000000123.456);
      // eslint-disable-next-line no-loss-of-precision -- nanoseconds as a gateway writes them, beyond 2^53 on purpose
      assert.equal(at(1700000000123456789), 1700000000123.4568);
    });
    it('parses ISO 8601 (zone-less = UTC) and Java Date.toString() texts', () => {
      assert.equal(at('2023-11-14T22:13:20Z'), 1700000000000);
      assert.equal(at('2023-11-14T22:13:20.123Z'), 1700000000123);
      assert.equal(at('2023-11-14T23:13:20+01:00'), 1700000000000);
      assert.equal(at('2023-11-14T23:13:20+0100'), 1700000000000);
      assert.equal(at('2023-11-14 22:13:20'), 1700000000000);
      assert.equal(at('2023-11-14T22:13'), 1699999980000);
      assert.equal(at('2023-11-14'), 1699920000000);
      assert.equal(at('Tue Nov 14 22:13:20 UTC 2023'), 1700000000000);
      assert.equal(at('Tue Nov 14 23:13:20 CET 2023'), 1700000000000);
      assert.equal(at('Tue Nov 14 17:13:20 EST 2023'), 1700000000000);
      assert.equal(at('Tue Nov 14 23:13:20 GMT+01:00 2023'), 1700000000000);
      assert.equal(at('Tue Nov 14 22:13:20.250 UTC 2023'), 1700000000250);
      assert.equal(at(new Date(1700000000000)), 1700000000000);
    });
    it('uses now when missing, null or blank', () => {
      const { timestamp, ...rest } = base;
      void timestamp;
      assert.equal(ok(rest).timestamp, NOW);
      assert.equal(at(null), NOW);
      assert.equal(at(''), NOW);
      const before = Date.now();
      const r = normaliseTagEvent(rest);
      assert.ok(r.ok && r.event.timestamp >= before);
    });
    it('rejects what is not a time, with the reason', () => {
      assert.match(err({ ...base, timestamp: 'yesterday' }), /timestamp "yesterday" is neither/);
      assert.match(err({ ...base, timestamp: 'Tue Nov 14 22:13:20 XYZ 2023' }), /unknown time zone "XYZ"/);
      assert.match(err({ ...base, timestamp: NaN }), /not a finite number/);
      assert.match(err({ ...base, timestamp: { time: 1 } }), /must be a number or a date text, not an object/);
      assert.match(err({ ...base, timestamp: true }), /not a boolean/);
      assert.match(err({ ...base, timestamp: 1e20 * 1e6 }), /outside the years/);
      assert.match(err({ ...base, timestamp: '0x10' }), /neither/);
    });
  });

  describe('quality', () => {
    const q = (quality: unknown, qualityCode: unknown) => {
      const e = withField({ quality, qualityCode });
      return [e.quality, e.qualityCode];
    };
    it('defaults to Good/192 when both are missing', () => {
      assert.deepEqual(q(undefined, undefined), ['Good', 192]);
      assert.deepEqual(q(null, null), ['Good', 192]);
      assert.deepEqual(q('', ''), ['Good', 192]);
    });
    it('derives the code from the name', () => {
      assert.deepEqual(q('Bad_Stale', undefined), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q('Bad_Disabled("New Quality")', undefined), ['Bad_Disabled', -2147483133]);
      assert.deepEqual(q('uncertain_lastknownvalue', undefined), ['Uncertain_LastKnownValue', 1073742081]);
      assert.deepEqual(q('Bad_Vendor', undefined), ['Bad_Vendor', -2147483136]);
      assert.deepEqual(q('Mystery', undefined), ['Mystery', undefined]);
    });
    it('derives the name from signed, unsigned, string, bare-subcode and legacy codes', () => {
      assert.deepEqual(q(undefined, -2147483132), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, 2147484164), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, '-2147483132'), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, '2147484164'), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, 516), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, 500), ['Bad_Stale', -2147483132]);
      assert.deepEqual(q(undefined, 192), ['Good', 192]);
      assert.deepEqual(q(undefined, 600), ['Uncertain_InitialValue', 1073742082]);
      assert.deepEqual(q(500, undefined), ['Bad_Stale', -2147483132]);
    });
    it('trusts the name for the level when name and code disagree', () => {
      assert.deepEqual(q('Bad', 0), ['Bad', -2147483136]); // legacy OPC bad, not modern Good_Unspecified
      assert.deepEqual(q('Good', 0), ['Good', 0]); // modern Good_Unspecified code, level agrees: kept
      assert.deepEqual(q('Bad', -2147483132), ['Bad', -2147483132]);
      assert.deepEqual(q('Bad_Stale', 500), ['Bad_Stale', -2147483132]); // legacy stale
      assert.deepEqual(q('Good', -2147483132), ['Good', 192]);
      assert.deepEqual(q('Bad_Disabled("x")', 2147484163), ['Bad_Disabled', -2147483133]);
      assert.deepEqual(q('Bad_Vendor', -2147483136 + 3000), ['Bad_Vendor', -2147483136 + 3000]);
      assert.deepEqual(q('Weird', 2147484164), ['Weird', -2147483132]);
    });
    it('rejects codes that are not 32-bit integers and qualities of the wrong type', () => {
      assert.match(err({ ...base, qualityCode: 'bad' }), /qualityCode "bad" is not a 32-bit integer/);
      assert.match(err({ ...base, qualityCode: 1.5 }), /not a 32-bit integer/);
      assert.match(err({ ...base, qualityCode: 2 ** 32 }), /not a 32-bit integer/);
      assert.match(err({ ...base, qualityCode: {} }), /must be an integer, not an object/);
      assert.match(err({ ...base, quality: { name: 'Good' } }), /quality must be a name string, not an object/);
      assert.match(err({ ...base, quality: '("msg")', qualityCode: undefined }), /has no name/);
    });
  });

  describe('other fields', () => {
    it('derives the provider from the path when missing, "None", "null" or blank', () => {
      for (const tagProvider of [undefined, null, 'None', 'null', '', '  ']) {
        assert.equal(withField({ tagProvider }).tagProvider, 'default', String(tagProvider));
      }
      assert.equal(withField({ tagProvider: 'other' }).tagProvider, 'other');
      assert.equal(withField({ tagPath: 'NoProvider/Tag' }).tagProvider, undefined);
      assert.equal(withField({ tagPath: '[]Tag' }).tagProvider, undefined);
      assert.match(err({ ...base, tagProvider: 5 }), /tagProvider must be a string/);
    });
    it('requires a non-empty, bounded, string tagPath', () => {
      assert.equal(err({ value: 1 }), 'tagPath is missing');
      assert.match(err({ tagPath: 5 }), /tagPath must be a string, not a number/);
      assert.equal(err({ tagPath: '' }), 'tagPath is empty');
      assert.equal(err({ tagPath: '   ' }), 'tagPath is empty');
      assert.match(err({ tagPath: 'x'.repeat(1025) }), /longer than 1024/);
      assert.equal(withField({ tagPath: 'x'.repeat(1024) }).tagPath.length, 1024);
    });
    it('refuses things that are not event objects', () => {
      for (const raw of [null, undefined, 5, 'x', [base]]) assert.match(err(raw), /a tag event must be a JSON object/);
    });
    it('takes optional sourceSystem, alarmState, alarmPriority and historical', () => {
      const e = withField({ sourceSystem: 'gw1', alarmState: 'ActiveUnacked', alarmPriority: '3', historical: true });
      assert.equal(e.sourceSystem, 'gw1');
      assert.equal(e.alarmState, 'ActiveUnacked');
      assert.equal(e.alarmPriority, 3);
      assert.equal(e.historical, true);
      assert.equal(withField({ alarmPriority: 'High' }).alarmPriority, 3);
      assert.equal(withField({ alarmPriority: 4 }).alarmPriority, 4);
      assert.equal(withField({ alarmState: 2 }).alarmState, '2');
      const none = withField({ sourceSystem: '', alarmState: null, alarmPriority: '', historical: 'yes' });
      for (const k of ['sourceSystem', 'alarmState', 'alarmPriority', 'historical']) assert.ok(!(k in none), k);
      assert.match(err({ ...base, alarmPriority: 'urgent' }), /alarmPriority "urgent" is not/);
      assert.match(err({ ...base, alarmPriority: 1.5 }), /alarmPriority/);
      assert.match(err({ ...base, sourceSystem: {} }), /sourceSystem must be a string/);
      assert.match(err({ ...base, sourceSystem: 'x'.repeat(300) }), /longer than 256/);
    });
    it('drops fields that are not part of the event model and sets no empty optional fields', () => {
      const e = ok({ tagPath: 'T', value: 1, timestamp: 5, junk: 1 });
      assert.deepEqual(e, { tagPath: 'T', value: 1, quality: 'Good', qualityCode: 192, timestamp: 5, dataType: 'Int4' });
    });
    it('is idempotent', () => {
      for (const raw of [base, { tagPath: '[p]x', value: 'NaN', dataType: 'float', qualityCode: 516, timestamp: '1700000000' }]) {
        const once = ok(raw);
        assert.deepEqual(ok(once), once);
      }
    });
    it('never throws on hostile input', () => {
      const hostile = [
        { tagPath: 'x', get value() { throw new Error('boom'); } },
        new Proxy({}, { get() { throw new Error('trap'); } }),
      ];
      for (const h of hostile) {
        let r: unknown;
        assert.doesNotThrow(() => { r = normaliseTagEvent(h); });
        assert.equal((r as { ok: boolean }).ok, false);
      }
    });
  });

  describe('rowFieldsOrReason (row mapping)', () => {
    const ROW_FIELDS = ['tagPath', 'tagProvider', 'value', 'quality', 'qualityCode', 'timestamp', 'dataType', 'sourceSystem', 'alarmState', 'alarmPriority'] as const;
    const rowFields = (e: TagEvent | string) => (typeof e === 'string' ? e : ROW_FIELDS.map((k) => e[k]));

    it('returns an event it already normalised as it is, and a copy of anything else', () => {
      const once = ok({ ...base, sourceSystem: 'gw1', alarmState: 'Active', alarmPriority: 2, historical: true });
      assert.equal(rowFieldsOrReason(once, NOW), once);
      assert.equal(rowFieldsOrReason({ ...once, extra: 'ignored by rows' }, NOW) === once, false);
      for (const change of [{ value: 'NaN', dataType: 'Float8' }, { qualityCode: '192' }, { qualityCode: undefined }, { tagProvider: 'None' }, { timestamp: 1_700_000_000 }, { dataType: 'float' }, { sourceSystem: 7 }, { alarmState: null }, { alarmPriority: 'High' }, { value: undefined }]) {
        const changed = { ...once, ...change };
        const e = rowFieldsOrReason(changed, NOW);
        assert.notEqual(e, changed, JSON.stringify(change));
        assert.deepEqual(rowFields(e), rowFields(normaliseOrReason(changed, NOW)), JSON.stringify(change));
      }
    });

    it('gives every row field exactly as normaliseOrReason does, over generated raw and normalised events', () => {
      let reused = 0;
      const events = generatedRawEvents(11);
      for (let i = 0; i < 20_000; i++) {
        const raw = events();
        // half of them as the receiver hands them on: already normalised
        const once = normaliseOrReason(raw, NOW);
        const input = typeof once !== 'string' && i % 2 === 1 ? once : raw;
        const expected = normaliseOrReason(input, NOW);
        const got = rowFieldsOrReason(input, NOW);
        if (got === input) reused++;
        assert.deepEqual(rowFields(got), rowFields(expected), JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
      }
      assert.ok(reused > 1000, `the as-is path was taken ${reused} times`);
    });
  });

  describe('the seed scripts\' payloads', () => {
    it('normalises the 8.1 Gateway Tag Change batch', () => {
      const batch = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ignition81-tag-change-batch.json'), 'utf8')) as unknown[];
      const events = batch.map(ok);
      assert.deepEqual(events.map((e) => e.dataType), ['Float8', 'Int4', 'Int8', 'Boolean', 'String', 'DateTime', 'Float8',
        undefined, 'Float8Array', 'DataSet', 'Boolean', 'Float8', undefined]);
      assert.deepEqual(events.map((e) => e.quality), ['Good', 'Good', 'Good', 'Good', 'Good', 'Good', 'Bad_Stale',
        'Bad_NotConnected', 'Good', 'Good', 'Bad_Disabled', 'Uncertain_LastKnownValue', 'Error_ExpressionEval']);
      assert.equal(events[10].qualityCode, -2147483133);
      assert.equal(events[11].tagProvider, 'edge');
      assert.equal(events[0].timestamp, 1700000000123);
    });
    it('normalises the 8.3 Event Streams batch ("None" providers, unsigned codes, NaN text, Java dates)', () => {
      const batch = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ignition83-event-streams-batch.json'), 'utf8')) as unknown[];
      const events = batch.map(ok);
      for (const e of events) assert.equal(e.tagProvider, 'Sample_Tags');
      assert.equal(events[4].value, 1700000000000);
      assert.equal(events[4].dataType, 'DateTime');
      assert.equal(events[5].dataType, 'Int8');
      assert.deepEqual([events[6].quality, events[6].qualityCode], ['Bad_Stale', -2147483132]);
      assert.ok(Number.isNaN(events[7].value));
      assert.equal(events[8].value, '');
      assert.equal(events[9].value, null);
    });
  });
});
