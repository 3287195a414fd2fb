import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { canonicalValueText, eventId, normaliseTagEvent, RowMappingError, toOtEventRow, type OtEventRow, type TagEvent } from '../../../lib/tags';
import { referenceUuidV5 } from './reference-uuid';

const ctx = { sourceSystem: 'edge-box', ingestionMicros: 1_700_000_001_000_000 };
const base = { tagPath: '[default]Line1/Speed', tagProvider: 'default', value: 42.5, quality: 'Good', qualityCode: 192, timestamp: 1700000000123, dataType: 'float' };
const row = (extra: Record<string, unknown> = {}) => toOtEventRow({ ...base, ...extra }, ctx);
const VALUE_COLUMNS = ['numeric_value', 'string_value', 'boolean_value'] as const;
const valueColumns = (r: OtEventRow) => Object.fromEntries(VALUE_COLUMNS.filter((k) => k in r).map((k) => [k, r[k]]));

describe('tags/row', () => {
  it('maps the docs/DESIGN.md §3 example to the docs/DESIGN.md §5 row', () => {
    const r = toOtEventRow({ tagPath: '[Sample_Tags]Sine/Sine0', tagProvider: 'Sample_Tags', value: 0.42, quality: 'Good', qualityCode: 192, timestamp: 1765456245123, dataType: 'Float8' }, ctx);
    assert.deepEqual(r, {
      event_id: r.event_id,
      event_time: 1765456245123000,
      tag_path: '[Sample_Tags]Sine/Sine0',
      tag_provider: 'Sample_Tags',
      numeric_value: 0.42,
      quality: 'Good',
      quality_code: 192,
      source_system: 'edge-box',
      ingestion_timestamp: 1_700_000_001_000_000,
      data_type: 'Float8',
    });
    assert.match(r.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(Object.keys(r), ['event_id', 'event_time', 'tag_path', 'tag_provider', 'numeric_value', 'quality', 'quality_code', 'source_system', 'ingestion_timestamp', 'data_type']);
  });

  describe('value columns', () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['a float', { value: 1.25 }, { numeric_value: 1.25 }],
      ['zero', { value: 0, dataType: 'int' }, { numeric_value: 0 }],
      ['a negative int', { value: -7, dataType: 'int' }, { numeric_value: -7 }],
      ['true', { value: true, dataType: 'bool' }, { boolean_value: true }],
      ['false', { value: false, dataType: 'bool' }, { boolean_value: false }],
      ['a string', { value: 'Run', dataType: 'unicode' }, { string_value: 'Run' }],
      ['an empty string', { value: '', dataType: 'unicode' }, { string_value: '' }],
      ['null', { value: null, dataType: 'NoneType' }, {}],
      ['a missing value', { value: undefined }, {}],
      ['an array', { value: [1.5, 2, 3], dataType: 'array' }, { string_value: '[1.5,2,3]' }],
      ['an object', { value: { b: 1, a: [true, null] }, dataType: 'BasicDataset' }, { string_value: '{"b":1,"a":[true,null]}' }],
      ['NaN', { value: NaN }, { string_value: 'NaN' }],
      ['"NaN" text of a float', { value: 'NaN' }, { string_value: 'NaN' }],
      ['Infinity', { value: Infinity }, { string_value: 'Infinity' }],
      ['-Infinity', { value: '-Infinity' }, { string_value: '-Infinity' }],
      ['NaN inside an array', { value: [1, NaN], dataType: 'array' }, { string_value: '[1,null]' }],
      ['a bigint within 2^53', { value: 12n, dataType: 'long' }, { numeric_value: 12 }],
      ['a bigint beyond 2^53', { value: 9007199254740993n, dataType: 'long' }, { numeric_value: 9007199254740992, string_value: '9007199254740993' }],
      ['an Int8 text beyond 2^53', { value: '-9007199254740993', dataType: 'long' }, { numeric_value: -9007199254740992, string_value: '-9007199254740993' }],
      ['an unsafe Int8 number', { value: 2 ** 60, dataType: 'long' }, { numeric_value: 2 ** 60, string_value: '1152921504606846976' }],
      ['a huge Float8 number', { value: 1e300 }, { numeric_value: 1e300 }],
      ['a DateTime text', { value: 'Tue Nov 14 22:13:20 UTC 2023', dataType: 'Date' }, { numeric_value: 1700000000000 }],
      ['bigints inside an object', { value: { n: 9007199254740993n }, dataType: 'dict' }, { string_value: '{"n":9007199254740993}' }],
    ];
    for (const [what, input, expected] of cases) {
      it(`maps ${what}`, () => assert.deepEqual(valueColumns(row(input)), expected));
    }
  });

  it('leaves columns with nothing in them absent, never 0 or ""', () => {
    const r = toOtEventRow({ tagPath: 'NoProvider/Tag', value: null, timestamp: 5 }, { sourceSystem: '', ingestionMicros: 0 });
    assert.deepEqual(r, {
      event_id: r.event_id, event_time: 5000, tag_path: 'NoProvider/Tag', tag_provider: 'default',
      quality: 'Good', quality_code: 192, ingestion_timestamp: 0,
    });
    for (const v of Object.values(r)) assert.notEqual(v, undefined);
  });

  it('fills tag_provider from tagProvider, else the path prefix, else "default"', () => {
    assert.equal(row({ tagProvider: 'other' }).tag_provider, 'other');
    assert.equal(row({ tagProvider: 'None' }).tag_provider, 'default');
    assert.equal(row({ tagProvider: undefined, tagPath: '[edge]X' }).tag_provider, 'edge');
    assert.equal(row({ tagProvider: undefined, tagPath: 'X' }).tag_provider, 'default');
  });

  it('takes source_system from the event, else the context', () => {
    assert.equal(row().source_system, 'edge-box');
    assert.equal(row({ sourceSystem: 'gw-7' }).source_system, 'gw-7');
  });

  it('carries quality, data type and alarm fields', () => {
    const r = row({ quality: 'Bad_Disabled("x")', qualityCode: 2147484163, alarmState: 'ActiveUnacked', alarmPriority: 'Critical', dataType: 'long', value: 3 });
    assert.equal(r.quality, 'Bad_Disabled');
    assert.equal(r.quality_code, -2147483133);
    assert.equal(r.alarm_state, 'ActiveUnacked');
    assert.equal(r.alarm_priority, 4);
    assert.equal(r.data_type, 'Int8');
  });

  it('turns ms into integer microseconds, and a missing timestamp into the ingestion time', () => {
    assert.equal(row({ timestamp: 1700000000123.456 }).event_time, 1700000000123456);
    assert.equal(row({ timestamp: '1700000000' }).event_time, 1700000000000000);
    assert.equal(row({ timestamp: undefined }).event_time, 1_700_000_001_000_000);
    assert.ok(Number.isInteger(row({ timestamp: 0.0001 }).event_time));
  });

  it('throws RowMappingError with the reason for what cannot be mapped', () => {
    assert.throws(() => toOtEventRow({ value: 1 }, ctx), (e: unknown) => e instanceof RowMappingError && e.message === 'tagPath is missing');
    assert.throws(() => toOtEventRow(null, ctx), RowMappingError);
    assert.throws(() => toOtEventRow({ ...base, timestamp: 'soon' }, ctx), /timestamp "soon"/);
    assert.throws(() => toOtEventRow(base, { sourceSystem: 'x', ingestionMicros: 1.5 }), /ingestion time/);
  });

  describe('event_id', () => {
    const ev = normaliseTagEvent(base);
    if (!ev.ok) throw new Error(ev.error);
    const e: TagEvent = ev.event;
    const id = eventId(e, 'edge-box');

    it('is the UUID v5 of the documented name', () => {
      assert.equal(id, referenceUuidV5('"edge-box","[default]Line1/Speed",1700000000123,42.5,192'));
      assert.equal(row().event_id, id);
      assert.equal(eventId({ ...e, tagPath: 'Ünïcödé/😀' }, 'é'), referenceUuidV5('"é","Ünïcödé/😀",1700000000123,42.5,192'));
    });
    it('is the documented name for every kind of field, however long', () => {
      // eventId writes its name piece by piece into the hash buffer: check each piece against the
      // documented composition, including names longer than that buffer's first 4 KiB
      const named = (x: TagEvent, source: string) =>
        referenceUuidV5([JSON.stringify(source), JSON.stringify(x.tagPath), x.timestamp, canonicalValueText(x.value), x.qualityCode ?? ''].join(','));
      const cases: [TagEvent, string][] = [
        [{ ...e, value: -17 }, 'edge-box'],
        [{ ...e, value: -0 }, 'edge-box'],
        [{ ...e, value: 2 ** 53 + 2 }, 'edge-box'],
        [{ ...e, value: 1e-7 }, 'edge-box'],
        [{ ...e, value: 'quote " backslash \\ newline \n tab \t' }, 'src "x"'],
        [{ ...e, value: 'lone \ud800 surrogate' }, 'edge-box'],
        [{ ...e, value: true }, 'edge-box'],
        [{ ...e, value: { b: [1, 'two'], a: null } }, 'edge-box'],
        [{ ...e, value: 5n }, 'edge-box'],
        [{ ...e, timestamp: 1700000000123.25, qualityCode: -2147483132 }, ''],
        [{ ...e, tagPath: `[default]${'P'.repeat(5000)}`, value: 'ü'.repeat(3000) }, 'edge-box'],
        [{ ...e, tagPath: 'short again' }, 'edge-box'],
      ];
      for (const [x, source] of cases) assert.equal(eventId(x, source), named(x, source), JSON.stringify(x.value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    });
    it('is the same for the same event, whatever its raw form', () => {
      assert.equal(eventId(e, 'edge-box'), id);
      assert.equal(row({ timestamp: '1700000000123', qualityCode: '192', dataType: 'Float8', tagProvider: 'None' }).event_id, id);
      assert.equal(row({ qualityCode: undefined }).event_id, id);
      assert.equal(row({ value: { a: 1, b: 2 } }).event_id, row({ value: { b: 2, a: 1 } }).event_id);
      assert.equal(row({ value: 5, dataType: 'long' }).event_id, row({ value: 5n, dataType: 'long' }).event_id);
      assert.equal(row({ ingestion: 1 }).event_id, toOtEventRow(base, { ...ctx, ingestionMicros: 5 }).event_id);
    });
    it('changes with each part of its name', () => {
      const ids = new Set([
        id,
        eventId(e, 'other'),
        eventId({ ...e, tagPath: '[default]Line1/Speed2' }, 'edge-box'),
        eventId({ ...e, timestamp: e.timestamp + 1 }, 'edge-box'),
        eventId({ ...e, value: 42.6 }, 'edge-box'),
        eventId({ ...e, value: '42.5' }, 'edge-box'),
        eventId({ ...e, value: null }, 'edge-box'),
        eventId({ ...e, value: NaN }, 'edge-box'),
        eventId({ ...e, value: 'NaN' }, 'edge-box'),
        eventId({ ...e, value: [42.5] }, 'edge-box'),
        eventId({ ...e, qualityCode: -2147483132 }, 'edge-box'),
        eventId({ ...e, qualityCode: undefined }, 'edge-box'),
        eventId({ ...e, tagPath: '[default]Line1/Speed","x' }, 'edge-box'),
      ]);
      assert.equal(ids.size, 13);
    });
    it('does not depend on fields outside its name', () => {
      assert.equal(eventId({ ...e, dataType: 'Int4', quality: 'Whatever', alarmState: 'x', tagProvider: 'p' }, 'edge-box'), id);
    });
  });

  it('maps every event of the seed scripts\' batches', () => {
    const dir = path.join(__dirname, '../../fixtures/tags');
    for (const f of ['ignition81-tag-change-batch.json', 'ignition83-event-streams-batch.json']) {
      const batch = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown[];
      const rows = batch.map((e) => toOtEventRow(e, ctx));
      assert.equal(new Set(rows.map((r) => r.event_id)).size, rows.length);
      for (const r of rows) {
        for (const [k, v] of Object.entries(r)) assert.ok(v !== undefined && v !== null, `${f}: ${k}`);
        assert.ok(Number.isSafeInteger(r.event_time));
      }
      if (f.startsWith('ignition81')) {
        assert.deepEqual(valueColumns(rows[2]), { numeric_value: 9007199254740992, string_value: '9007199254740992' });
        assert.deepEqual(valueColumns(rows[7]), {});
        assert.equal(rows[9].string_value, '{"columns":["id","qty"],"rows":[[1,10],[2,20]]}');
      } else {
        assert.deepEqual(valueColumns(rows[7]), { string_value: 'NaN' });
        assert.equal(rows[7].data_type, 'Float8');
        assert.deepEqual(valueColumns(rows[8]), { string_value: '' });
      }
    }
  });
});
