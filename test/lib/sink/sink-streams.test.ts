import assert from 'node:assert/strict';
import type { Emulator } from '../../../lib/emulator';
import { ZerobusSink, type ZerobusSinkOptions } from '../../../lib/sink';
import type { ZerobusClient } from '../../../lib/zerobus';
import { clientFor, FAST_BACKOFF, numericEvents, OT_TABLE, startTestEmulator, tempDir, waitFor } from './helpers';

type Row = Record<string, unknown>;

/**
 * Per tag, the times of its rows in the order the table got them, first occurrences only
 * (a resend after a fault may repeat rows; they carry the same event_id).
 */
function timesByTag(rows: Row[]): Map<string, number[]> {
  const seen = new Set<unknown>();
  const out = new Map<string, number[]>();
  for (const row of rows) {
    if (seen.has(row.event_id)) continue;
    seen.add(row.event_id);
    const list = out.get(String(row.tag_path)) ?? [];
    list.push(Number(row.event_time));
    out.set(String(row.tag_path), list);
  }
  return out;
}

function assertEveryTagInOrder(rows: Row[], expected: number): void {
  const byTag = timesByTag(rows);
  let total = 0;
  for (const [tag, times] of byTag) {
    total += times.length;
    for (let i = 1; i < times.length; i++) assert.ok(times[i] > times[i - 1], `${tag}: row ${i} (${times[i]}) came after ${times[i - 1]}`);
  }
  assert.equal(total, expected, 'every event landed');
}

describe('lib/sink ZerobusSink with several streams', function () {
  let emu: Emulator;
  let client: ZerobusClient;
  const sinks: ZerobusSink[] = [];
  const cleanups: (() => void)[] = [];

  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close(300)));
    await client?.close();
    await emu?.stop();
    cleanups.splice(0).forEach((f) => f());
  });

  function spoolDir(): string {
    const tmp = tempDir('sink-streams');
    cleanups.push(tmp.remove);
    return tmp.dir;
  }

  function sink(opts: Partial<ZerobusSinkOptions>): ZerobusSink {
    const s = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', spool: { dir: spoolDir() }, backoff: FAST_BACKOFF, ...opts });
    sinks.push(s);
    s.start().catch(() => undefined);
    return s;
  }

  const openStreams = () => emu.streams().filter((s) => s.table === OT_TABLE).length;

  it('streams: 4 opens four streams, spreads the tags over them, keeps each tag in order and frees the spool', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const s = sink({ streams: 4, maxBatchRecords: 50 });
    for (let i = 0; i < 40; i++) await s.accept(numericEvents(100, 'Line1/Speed', i * 100));
    await waitFor(() => s.stats().recordsOut === 4000 && s.stats().backlog === 0, 'all acknowledged and released');
    const stats = s.stats();
    assert.equal(stats.streams.length, 4);
    assert.equal(stats.streamsMode, 4);
    assert.equal(openStreams(), 4, 'four streams open on the server');
    assert.ok(stats.streams.every((x) => x.recordsOut > 0 && x.state === 'open' && !x.retiring), 'every stream carried records');
    assert.equal(stats.streams.reduce((n, x) => n + x.recordsOut, 0), 4000);
    const rows = emu.allRows(OT_TABLE);
    assert.equal(rows.length, 4000, 'no duplicates without faults');
    assertEveryTagInOrder(rows, 4000);
  });

  it('with a memory spool, accept() resolves once every stream acknowledged the call\'s records', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const s = new ZerobusSink({ client, table: OT_TABLE, sourceSystem: 'edge-1', backoff: FAST_BACKOFF, streams: 3, maxBatchRecords: 25 });
    sinks.push(s);
    await s.accept(numericEvents(300, 'Line6/Mem'));
    assert.equal(emu.allRows(OT_TABLE).length, 300, 'all stored when accept() resolved');
    assert.equal(s.stats().spoolMode, 'memory');
    assert.equal(s.stats().backlog, 0);
  });

  it('a stream that fails recovers on its own while the others go on; nothing is lost and the order holds', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const s = sink({ streams: 3, maxBatchRecords: 40 });
    await s.accept(numericEvents(600, 'Line2/Temp'));
    emu.faults.failNextIngest(14, 'one stream dropped');
    await s.accept(numericEvents(600, 'Line2/Temp', 600));
    emu.faults.dropConnectionAfterRecords(300);
    await s.accept(numericEvents(600, 'Line2/Temp', 1200));
    await waitFor(() => s.stats().backlog === 0, 'backlog released');
    assert.ok(s.stats().reconnects >= 1, 'a stream reconnected');
    assertEveryTagInOrder(emu.allRows(OT_TABLE), 1800);
  });

  it('a stream that is not open holds one batch in flight: the backlog of an outage waits on disk', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    emu.faults.refuseCreate(14, 1_000_000, 'service down');
    const s = sink({ streams: 2, maxBatchRecords: 100, maxInflightRecords: 2000 });
    for (let i = 0; i < 20; i++) await s.accept(numericEvents(250, 'Line5/Outage', i * 250));
    await waitFor(() => s.stats().streams.every((x) => x.inFlight > 0), 'each stream took its one batch');
    const held = s.stats().streams.map((x) => x.inFlight);
    assert.ok(held.every((n) => n <= 100), `at most one batch per stream while down, held ${held.join(', ')}`);
    assert.equal(s.stats().backlog, 5000);
    emu.faults.reset();
    await waitFor(() => s.stats().backlog === 0, 'delivered once the service is back', 15_000);
    assertEveryTagInOrder(emu.allRows(OT_TABLE), 5000);
  });

  it('after a restart every record any stream left unacknowledged is sent again, also with another stream count', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const dir = spoolDir();
    emu.faults.withholdAcks(true);
    const first = sink({ streams: 3, spool: { dir } });
    await first.accept(numericEvents(900, 'Line3/Flow'));
    await waitFor(() => emu.allRows(OT_TABLE).length > 0, 'some rows stored, none acknowledged');
    assert.equal(first.stats().recordsOut, 0, 'nothing acknowledged before the close');
    assert.equal(first.stats().backlog, 900, 'everything still spooled');
    await first.close(50);
    emu.faults.withholdAcks(false);
    const second = sink({ streams: 2, spool: { dir } });
    await waitFor(() => second.stats().backlog === 0 && second.stats().recordsOut > 0, 'the backlog delivered by the next run');
    assertEveryTagInOrder(emu.allRows(OT_TABLE), 900);
  });

  it("'auto' opens streams while the quota binds and the backlog grows, and gives them back when the load is gone", async function () {
    this.timeout(30_000);
    emu = await startTestEmulator({ quota: { recordsPerSecond: 2000, burstMs: 100 } });
    client = clientFor(emu);
    const s = sink({ streams: 'auto', maxStreams: 3, maxBatchRecords: 100, autoscale: { intervalMs: 100, growFor: 300, settle: 400, idleFor: 800 } });
    assert.equal(s.stats().maxStreams, 3);
    let sent = 0;
    // about 6,000 events/s: three streams' worth of quota
    while (s.stats().streams.length < 3) {
      await s.accept(numericEvents(300, 'Line4/Level', sent));
      sent += 300;
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(sent < 200_000, 'reached three streams');
    }
    await waitFor(() => openStreams() === 3, 'the server sees three streams');
    await waitFor(() => s.stats().backlog === 0, 'backlog worked off', 20_000);
    await waitFor(() => s.stats().streams.length === 1, 'streams given back', 10_000);
    await waitFor(() => openStreams() === 1, 'the server sees one stream', 5000);
    assertEveryTagInOrder(emu.allRows(OT_TABLE), sent);
  });

  it("'auto' adds streams to work off a backlog that would take long at the quota (a restart after an outage)", async function () {
    this.timeout(30_000);
    emu = await startTestEmulator({ quota: { recordsPerSecond: 2000, burstMs: 100 } });
    client = clientFor(emu);
    const s = sink({ streams: 'auto', maxStreams: 3, maxBatchRecords: 100, autoscale: { intervalMs: 100, growFor: 300, settle: 400, idleFor: 60_000, drainWithin: 2000 } });
    // 16,000 events at once, none after: 8 s of work for one stream at 2,000/s
    await s.accept(numericEvents(16_000, 'Line5/Flow'));
    let most = 1;
    await waitFor(() => {
      most = Math.max(most, s.stats().streams.length);
      return s.stats().backlog === 0;
    }, 'backlog worked off', 20_000);
    // (a third needs the 5 s rate window to show that the second raised the rate: the unit test covers that)
    assert.ok(most >= 2, 'a stream added while the backlog was worked off');
    assertEveryTagInOrder(emu.allRows(OT_TABLE), 16_000);
  });

  it('a row the table refuses is isolated on its own stream: reported with the record, the rest land in order per key', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const table = 'main.plant.keyed';
    emu.addTable(`CREATE TABLE ${table} (line STRING, n BIGINT)`);
    const s = sink({ table, format: 'rows', recordType: 'json', streams: 3, partitionColumn: 'line', maxBatchRecords: 20 });
    const refused: { reason: string; record: Buffer }[] = [];
    s.on('rejected', (r) => refused.push(r));
    const rows: Row[] = Array.from({ length: 240 }, (_, n) => ({ line: `L${n % 6}`, n }));
    rows[100] = { line: 'L4', n: 100, no_such_column: true };
    await s.accept(rows);
    await waitFor(() => s.stats().backlog === 0 && refused.length === 1, 'all but one landed, one refused');
    assert.deepEqual(JSON.parse(refused[0].record.toString()), rows[100]);
    const landed = emu.allRows(table);
    assert.equal(landed.length, 239);
    assert.equal(new Set(landed.map((r) => Number(r.n))).size, 239, 'each row once');
    for (let k = 0; k < 6; k++) {
      const ns = landed.filter((r) => r.line === `L${k}`).map((r) => Number(r.n));
      assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `L${k} in order`);
    }
    assert.equal(s.state.state, 'streaming');
  });

  it('rows go round robin without a partition column, and by its value with one', async () => {
    emu = await startTestEmulator();
    client = clientFor(emu);
    const table = 'main.plant.lines';
    emu.addTable(`CREATE TABLE ${table} (line STRING, n BIGINT)`);
    const rows = Array.from({ length: 300 }, (_, n) => ({ line: `L${n % 7}`, n }));
    const roundRobin = sink({ table, format: 'rows', recordType: 'json', streams: 3, maxBatchRecords: 10 });
    await roundRobin.accept(rows);
    await waitFor(() => roundRobin.stats().backlog === 0, 'round robin delivered');
    assert.ok(roundRobin.stats().streams.every((x) => x.recordsOut === 100), 'an even share each');
    await roundRobin.close(300);

    const keyed = sink({ table, format: 'rows', recordType: 'json', streams: 3, partitionColumn: 'line', maxBatchRecords: 10 });
    await keyed.accept(rows.map((r) => ({ ...r, n: r.n + 1000 })));
    await waitFor(() => keyed.stats().backlog === 0, 'keyed delivered');
    const ns = new Map<string, number[]>();
    for (const row of emu.allRows(table).filter((r) => Number(r.n) >= 1000)) ns.set(String(row.line), [...(ns.get(String(row.line)) ?? []), Number(row.n)]);
    assert.equal(ns.size, 7);
    for (const [line, list] of ns) assert.deepEqual(list, [...list].sort((a, b) => a - b), `${line} in order`);
  });
});
