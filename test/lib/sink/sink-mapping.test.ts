import assert from 'node:assert/strict';
import type { Emulator } from '../../../lib/emulator';
import { createRowNormalizer, parseCreateTables } from '../../../lib/schema';
import { BackpressureError, SinkConfigError, ZerobusSink, type SinkRecordType } from '../../../lib/sink';
import { toOtEventRow } from '../../../lib/tags';
import type { ZerobusClient } from '../../../lib/zerobus';
import { clientFor, FAST_BACKOFF, OT_TABLE, READINGS_SQL, READINGS_TABLE, startTestEmulator, tempDir, waitFor } from './helpers';

const T = 1765456245123;

/** One event per kind of value, with what docs/DESIGN.md §5 says must land (absent key = NULL). */
const CASES: { event: Record<string, unknown>; expect: Record<string, unknown> }[] = [
  {
    event: { tagPath: '[Sample_Tags]Sine/Sine0', tagProvider: 'Sample_Tags', value: 0.42, quality: 'Good', qualityCode: 192, timestamp: T, dataType: 'Float8' },
    expect: { tag_path: '[Sample_Tags]Sine/Sine0', tag_provider: 'Sample_Tags', numeric_value: 0.42, quality: 'Good', quality_code: 192, data_type: 'Float8', source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[plant]Pump/Running', value: true, quality: 'Good', qualityCode: 192, timestamp: T + 1, dataType: 'Boolean' },
    expect: { tag_path: '[plant]Pump/Running', tag_provider: 'plant', boolean_value: true, quality: 'Good', quality_code: 192, data_type: 'Boolean', source_system: 'edge-1' },
  },
  {
    event: { tagPath: 'Line/Mode', value: 'AUTO', quality: 'Good', qualityCode: 192, timestamp: T + 2, dataType: 'String' },
    expect: { tag_path: 'Line/Mode', tag_provider: 'default', string_value: 'AUTO', quality: 'Good', quality_code: 192, data_type: 'String', source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[default]Line/Stale', value: null, quality: 'Bad_Stale', qualityCode: -2147483132, timestamp: T + 3 },
    expect: { tag_path: '[default]Line/Stale', tag_provider: 'default', quality: 'Bad_Stale', quality_code: -2147483132, source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[default]Zero', value: 0, quality: 'Good', qualityCode: 192, timestamp: T + 4, dataType: 'Int4' },
    expect: { tag_path: '[default]Zero', tag_provider: 'default', numeric_value: 0, quality: 'Good', quality_code: 192, data_type: 'Int4', source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[default]Off', value: false, quality: 'Good', qualityCode: 192, timestamp: T + 5, dataType: 'Boolean' },
    expect: { tag_path: '[default]Off', tag_provider: 'default', boolean_value: false, quality: 'Good', quality_code: 192, data_type: 'Boolean', source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[default]Empty', value: '', quality: 'Good', qualityCode: 192, timestamp: T + 6, dataType: 'String' },
    expect: { tag_path: '[default]Empty', tag_provider: 'default', string_value: '', quality: 'Good', quality_code: 192, data_type: 'String', source_system: 'edge-1' },
  },
  {
    event: { tagPath: '[default]Array', value: [1, 2, 3], quality: 'Good', qualityCode: 192, timestamp: T + 7, dataType: 'Int4Array' },
    expect: { tag_path: '[default]Array', tag_provider: 'default', string_value: '[1,2,3]', quality: 'Good', quality_code: 192, data_type: 'Int4Array', source_system: 'edge-1' },
  },
  {
    event: {
      tagPath: '[default]Alarmed', value: 88.5, quality: 'Good', qualityCode: 192, timestamp: T + 8, dataType: 'Float4',
      sourceSystem: 'gateway-2', alarmState: 'ActiveUnacked', alarmPriority: 3,
    },
    expect: {
      tag_path: '[default]Alarmed', tag_provider: 'default', numeric_value: 88.5, quality: 'Good', quality_code: 192, data_type: 'Float4',
      source_system: 'gateway-2', alarm_state: 'ActiveUnacked', alarm_priority: 3,
    },
  },
];
const OPTIONAL_COLUMNS = ['tag_provider', 'numeric_value', 'string_value', 'boolean_value', 'quality', 'quality_code', 'source_system', 'data_type', 'alarm_state', 'alarm_priority'];

describe('lib/sink ZerobusSink → emulator: what lands in the table', function () {
  let emu: Emulator;
  let client: ZerobusClient;
  const sinks: ZerobusSink[] = [];
  const dirs: { remove: () => void }[] = [];

  beforeEach(async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close(500)));
    await client.close();
    await emu.stop();
    dirs.splice(0).forEach((d) => d.remove());
  });

  function sink(opts: Partial<ConstructorParameters<typeof ZerobusSink>[0]> = {}): ZerobusSink {
    const tmp = tempDir('sink-map');
    dirs.push(tmp);
    const s = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', spool: { dir: tmp.dir }, backoff: FAST_BACKOFF, ...opts });
    sinks.push(s);
    return s;
  }

  for (const recordType of ['proto', 'json'] as SinkRecordType[]) {
    it(`maps every kind of tag value to the docs/DESIGN.md §5 row column by column (${recordType.toUpperCase()})`, async () => {
      const s = sink({ recordType });
      const before = Date.now() * 1000;
      const result = await s.accept(CASES.map((c) => c.event));
      const after = Date.now() * 1000;
      assert.equal(result.accepted, CASES.length);
      assert.deepEqual(result.rejected, []);
      await waitFor(() => emu.allRows(OT_TABLE).length === CASES.length, 'rows in the emulator');

      const rows = emu.allRows(OT_TABLE);
      for (const c of CASES) {
        const row = rows.find((r) => r.tag_path === c.expect.tag_path);
        assert.ok(row, `row for ${String(c.expect.tag_path)}`);
        assert.equal(Number(row.event_time), (c.event.timestamp as number) * 1000, 'event_time in microseconds');
        const ingested = Number(row.ingestion_timestamp);
        assert.ok(ingested >= before - 1000 && ingested <= after + 1000, 'ingestion_timestamp is the accept time in microseconds');
        const expectedId = toOtEventRow(c.event, { sourceSystem: 'edge-1', ingestionMicros: 1 }).event_id;
        assert.equal(row.event_id, expectedId, 'deterministic event_id');
        for (const column of OPTIONAL_COLUMNS) {
          if (column in c.expect) assert.deepEqual(row[column], c.expect[column], `${String(c.expect.tag_path)}.${column}`);
          else assert.ok(row[column] === null || row[column] === undefined, `${String(c.expect.tag_path)}.${column} must be NULL, got ${JSON.stringify(row[column])}`);
        }
      }
    });
  }

  it('rejects individually the events that can never become a row; the rest land', async () => {
    const s = sink();
    const items = [CASES[0].event, 42, { value: 1 }, 'text', CASES[1].event];
    const result = await s.accept(items);
    assert.equal(result.accepted, 2);
    assert.deepEqual(result.rejected.map((r) => r.index), [1, 2, 3]);
    for (const r of result.rejected) assert.ok(r.reason.length > 5, 'a reason is given');
    await waitFor(() => emu.allRows(OT_TABLE).length === 2, 'the two good rows');
    assert.equal(s.stats().rejected, 3);
  });

  describe('format rows', () => {
    const table = parseCreateTables(READINGS_SQL)[0];
    const normalize = createRowNormalizer(table);
    const full = {
      id: 1, name: 'first', tiny: -5, small: 300, count: 70000, ratio: 0.5, value: 1.25, ok: false,
      payload: Buffer.from('hello').toString('base64'), day: 20000, at: 1765456245123000, at_local: 1765456245123000,
      amount: '12.34', attrs: { line: 'A', shift: '2' }, samples: [1.5, 2.5], point: { x: 1, y: -2 }, extra: { any: ['json', 1] },
    };
    const sparse = { id: '9007199254740993', name: null };

    function assertLanded(sent: Record<string, unknown>[]): void {
      const rows = emu.allRows(READINGS_TABLE);
      assert.equal(rows.length, sent.length);
      sent.forEach((input, i) => {
        const stored = normalize(input);
        for (const column of table.columns) {
          const got = rows[i][column.name];
          if (stored[column.name] === undefined) assert.ok(got === null || got === undefined, `${column.name} must be NULL, got ${JSON.stringify(got)}`);
          else assert.deepEqual(typeof stored[column.name] === 'number' && typeof got === 'string' ? Number(got) : got, stored[column.name], column.name);
        }
      });
    }

    for (const recordType of ['proto', 'json'] as SinkRecordType[]) {
      it(`sends rows checked against the CREATE TABLE schema (${recordType.toUpperCase()}), rejecting rows that do not fit`, async () => {
        const s = sink({ table: READINGS_TABLE, format: 'rows', recordType, schemaSql: READINGS_SQL });
        const result = await s.accept([full, { id: 'x' }, { id: 2, unknown_column: 1 }, 7, sparse]);
        assert.equal(result.accepted, 2);
        assert.deepEqual(result.rejected.map((r) => r.index), [1, 2, 3]);
        assert.match(result.rejected[0].reason, /id/);
        assert.match(result.rejected[1].reason, /unknown_column/);
        await waitFor(() => emu.allRows(READINGS_TABLE).length === 2, 'two rows');
        assertLanded([full, sparse]);
      });
    }

    for (const recordType of ['proto', 'json'] as SinkRecordType[]) {
      it(`takes a Date or ISO 8601 text for TIMESTAMP and DATE columns when there is a schema (${recordType.toUpperCase()})`, async () => {
        const s = sink({ table: READINGS_TABLE, format: 'rows', recordType, schemaSql: READINGS_SQL });
        const at = new Date(Date.UTC(2025, 11, 11, 12, 30, 45, 123));
        const result = await s.accept([{ id: 21, at, at_local: '2025-12-11T12:30:45.123456', day: '2025-12-11' }, { id: 22, at: 'soon' }]);
        assert.equal(result.accepted, 1);
        assert.match(result.rejected[0]?.reason ?? '', /'at'.*expected TIMESTAMP/);
        await waitFor(() => emu.allRows(READINGS_TABLE).length === 1, 'one row');
        const [row] = emu.allRows(READINGS_TABLE);
        assert.equal(Number(row.at), at.getTime() * 1000);
        assert.equal(Number(row.at_local), at.getTime() * 1000 + 456);
        assert.equal(Number(row.day), Math.floor(at.getTime() / 86_400_000));
      });
    }

    it('sends a TIMESTAMP given in milliseconds as it is, and warns once per column that it lands in 1970', async () => {
      const s = sink({ table: READINGS_TABLE, format: 'rows', recordType: 'json', schemaSql: READINGS_SQL });
      const warnings: string[] = [];
      s.on('warning', (text: string) => warnings.push(text));
      const ms = Date.UTC(2025, 11, 11);
      const result = await s.accept([{ id: 31, at: ms }, { id: 32, at: ms + 1 }, { id: 33, at: ms * 1000, at_local: ms }]);
      assert.equal(result.accepted, 3);
      assert.deepEqual(warnings.map((w) => /^column '(\w+)'/.exec(w)?.[1]), ['at', 'at_local']);
      assert.match(warnings[0], /got 1765411200000, which as microseconds is 1970-01-21T.*microseconds since the epoch \(Date\.now\(\) \* 1000\)/);
      await waitFor(() => emu.allRows(READINGS_TABLE).length === 3, 'three rows');
    });

    it('sends JSON rows without a schema as they are', async () => {
      const s = sink({ table: READINGS_TABLE, format: 'rows', recordType: 'json' });
      const rows = [{ id: 10, name: 'no schema', value: 3.5 }, { id: 11, at: 1765456245123000 }];
      const result = await s.accept(rows);
      assert.equal(result.accepted, 2);
      await waitFor(() => emu.allRows(READINGS_TABLE).length === 2, 'two rows');
      assertLanded(rows);
    });

    it('without a schema, isolates the rows the table refuses: reported with the record, the others land', async () => {
      const s = sink({ table: READINGS_TABLE, format: 'rows', recordType: 'json' });
      const refused: { reason: string; record: Buffer }[] = [];
      s.on('rejected', (r) => refused.push(r));
      const rows = [{ id: 20 }, { id: 21, no_such_column: 1 }, { id: 22 }, { id: 23 }];
      await s.accept(rows);
      await waitFor(() => emu.allRows(READINGS_TABLE).length === 3 && refused.length === 1, 'three rows landed, one refused');
      assert.deepEqual(JSON.parse(refused[0].record.toString()), rows[1]);
      assert.match(refused[0].reason, /no_such_column/);
      assert.deepEqual(emu.allRows(READINGS_TABLE).map((r) => Number(r.id)), [20, 22, 23]);
      await waitFor(() => s.stats().backlog === 0, 'nothing left in the spool');
      assert.equal(s.stats().rejected, 1);
      assert.equal(s.state.state, 'streaming');
      // back to full batches afterwards
      await s.accept([{ id: 24 }, { id: 25 }]);
      await waitFor(() => emu.allRows(READINGS_TABLE).length === 5, 'later rows');
    });

    it('without a schema, a table that refuses every row is a final error and keeps every row', async () => {
      const s = sink({ table: READINGS_TABLE, format: 'rows', recordType: 'json', failedRetryMs: 60_000 });
      const failures: unknown[] = [];
      const refused: unknown[] = [];
      s.on('failure', (f) => failures.push(f));
      s.on('rejected', (r) => refused.push(r));
      await s.accept(Array.from({ length: 8 }, (_, i) => ({ id: i, wrong: true })));
      await waitFor(() => s.state.state === 'failed', 'failed');
      assert.equal(s.state.error?.code, 'INVALID_ARGUMENT');
      assert.equal(failures.length, 1);
      assert.equal(refused.length, 0, 'nothing released as refused');
      assert.equal(s.stats().backlog, 8, 'every row kept');
    });

    it('refuses rows + PROTO without a schema, and a schema that does not parse', () => {
      assert.throws(() => sink({ table: READINGS_TABLE, format: 'rows', recordType: 'proto' }), SinkConfigError);
      assert.throws(() => sink({ table: READINGS_TABLE, format: 'rows', recordType: 'proto', schemaSql: 'CREATE TABLE oops (' }), SinkConfigError);
    });
  });

  it('in memory mode, accept() resolves only once Zerobus acknowledged the records', async () => {
    const s = sink({ spool: {} });
    emu.faults.withholdAcks(true);
    let settled = false;
    const pending = s.accept(CASES.map((c) => c.event)).then(() => (settled = true));
    // stored by Zerobus, acknowledgements withheld: from here only an acknowledgement could settle it
    await waitFor(() => emu.stats().rowsTotal === CASES.length && s.stats().inFlight === CASES.length, 'records stored, acknowledgements withheld');
    assert.equal(settled, false, 'not resolved before the acknowledgement');
    emu.faults.withholdAcks(false);
    await pending;
    assert.equal(emu.allRows(OT_TABLE).length, CASES.length);
  });

  it('in memory mode, close() rejects what was not acknowledged with a BackpressureError (so it is resent)', async () => {
    const s = sink({ spool: {} });
    emu.faults.withholdAcks(true);
    const pending = s.accept([CASES[0].event]);
    await waitFor(() => s.stats().inFlight === 1, 'record in flight');
    await s.close(100);
    await assert.rejects(pending, BackpressureError);
    await assert.rejects(s.accept([CASES[0].event]), (err: unknown) => err instanceof BackpressureError && err.reason === 'closing');
  });
});
