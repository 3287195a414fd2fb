import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { ZerobusSink } from '../../../lib/sink';
import type { ZerobusClient } from '../../../lib/zerobus';
import { FAST_BACKOFF, numericEvents, tempDir, waitFor } from '../sink/helpers';
import { asProto, clientFor, emulator, FAST, makeRows, OT_DESCRIPTOR, TABLE } from '../zerobus/harness';
import { officialSdk, OFFICIAL_ID, OFFICIAL_SECRET } from './official-sdk';
import { OT_DESCRIPTOR as RAW_DESCRIPTOR, OT_SQL, RawClient, otProto } from './raw-client';

/**
 * Stream life: the emulator recycles every stream after its lifetime (CloseStreamSignal, then
 * the end of the call), as the service does about every 15 minutes, and clients live through it
 * — ours and Databricks' own SDK — without losing a record.
 */

/** Row counts by event_id. */
function countsById(emu: Emulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of emu.allRows(TABLE)) counts.set(String(row.event_id), (counts.get(String(row.event_id)) ?? 0) + 1);
  return counts;
}

/** Yields to the event loop between batches, so that acks, signals and recycling interleave with sending. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('emulator: stream life (recycling)', function () {
  this.timeout(30_000);
  let emu: Emulator | undefined;
  let client: ZerobusClient | undefined;
  afterEach(async () => {
    await client?.close();
    await emu?.stop();
    client = emu = undefined;
  });

  it('sends CloseStreamSignal at the lifetime, reports the stream as closing, then ends it UNAVAILABLE', async () => {
    const log: string[] = [];
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], streamMaxAgeMs: 100, closeSignalDurationMs: 300, log: (l) => log.push(l) });
    const raw = new RawClient(emu.endpoint);
    try {
      const s = raw.open().create({ descriptor: RAW_DESCRIPTOR.descriptorProto });
      await s.created();
      assert.equal(emu.streams()[0].closing, false);
      await s.waitFor((m) => m.close_stream_signal != null, 'close signal');
      assert.equal(emu.streams()[0].closing, true);
      s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
      await s.ackedUpTo(0);
      const st = await s.status;
      assert.equal(st.code, Status.UNAVAILABLE);
      assert.match(st.details, /Stream timeout reached/);
      assert.deepEqual(emu.streams(), []);
      assert.ok(log.some((l) => /gets a close signal: it ends in 300 ms/.test(l)), log.join('\n'));
      const stats = (await (await fetch(`${emu.workspaceUrl}/api/stats`)).json()) as { streamMaxAgeMs: number; closeSignalMs: number };
      assert.deepEqual([stats.streamMaxAgeMs, stats.closeSignalMs], [100, 300]);
    } finally {
      raw.close();
    }
  });

  it('streamMaxAgeMs 0: a stream outlives many would-be lifetimes without a signal', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], streamMaxAgeMs: 0 });
    const raw = new RawClient(emu.endpoint);
    try {
      const s = raw.open().create({ descriptor: RAW_DESCRIPTOR.descriptorProto });
      await s.created();
      // 40 round trips, each an ack the stream would not get after a signal-and-end
      for (let i = 0; i < 40; i++) {
        s.write({ ingest_record: { offset_id: i, proto_encoded_record: otProto(i) } });
        await s.ackedUpTo(i);
      }
      assert.equal(s.responses.filter((m) => m.close_stream_signal != null).length, 0);
      assert.equal(emu.streams()[0].closing, false);
      s.end();
      assert.equal((await s.status).code, Status.OK);
    } finally {
      raw.close();
    }
  });

  it('our client rides through recycling under a binding quota: every record stored, duplicates only of records unacknowledged at a signal', async () => {
    // 4 lanes of 200 records keep 800 in flight: 160 ms of quota, more than its 100 ms burst
    emu = await emulator(true, { streamMaxAgeMs: 250, closeSignalDurationMs: 150, quota: { recordsPerSecond: 5000, burstMs: 100 } });
    client = clientFor(emu);
    const stream = client.createStream({ table: TABLE, recordType: 'proto', descriptorProto: OT_DESCRIPTOR, ...FAST });
    const sent = new Set<string>();
    const acked = new Set<string>();
    const unackedAtSignal = new Set<string>();
    stream.on('state', (state: string) => {
      if (state !== 'paused') return;
      for (const id of sent) if (!acked.has(id)) unackedAtSignal.add(id);
    });
    const lane = async () => {
      while (emu!.stats().streamsTotal < 4) {
        const rows = makeRows(200, 'life');
        for (const r of rows) sent.add(r.event_id);
        await stream.ingest(asProto(rows));
        for (const r of rows) acked.add(r.event_id);
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    await stream.close();

    const counts = countsById(emu);
    const missing = [...sent].filter((id) => !counts.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${sent.size} records missing`);
    const badDupes = [...counts].filter(([id, n]) => n > 1 && !unackedAtSignal.has(id));
    assert.deepEqual(badDupes.slice(0, 5), [], 'records acknowledged before every signal were written twice');
    assert.ok(stream.metrics().reconnects >= 3, `recycled ${stream.metrics().reconnects} times`);
    assert.ok(emu.stats().throttled.count > 0, 'the quota was binding while streams were recycled');
  });

  it('the sink (disk spool) rides through recycling under a binding quota: every event stored, the spool empties', async () => {
    emu = await emulator(true, { streamMaxAgeMs: 250, closeSignalDurationMs: 150, quota: { recordsPerSecond: 5000, burstMs: 100 } });
    client = clientFor(emu);
    const spool = tempDir('stream-life');
    const maxInflightRecords = 2000;
    const sink = new ZerobusSink({ client, table: TABLE, sourceSystem: 'life', spool: { dir: spool.dir }, recordType: 'proto', maxInflightRecords, backoff: FAST_BACKOFF });
    try {
      await sink.start();
      let sent = 0;
      while (emu.stats().streamsTotal < 4) {
        await sink.accept(numericEvents(200, 'Life', sent));
        sent += 200;
        await waitFor(() => sink.stats().backlog < 4 * maxInflightRecords, 'room in the backlog');
      }
      await waitFor(() => sink.stats().backlog === 0, 'the spool drained', 20_000);
      const rows = emu.allRows(TABLE);
      const landed = new Set(rows.map((r) => `${String(r.tag_path)}@${String(r.event_time)}`));
      const missing = numericEvents(sent, 'Life').filter((e) => !landed.has(`${String(e.tagPath)}@${(e.timestamp as number) * 1000}`));
      assert.deepEqual(missing.slice(0, 3), [], `${missing.length} of ${sent} events missing`);
      const recycles = emu.stats().streamsTotal - 1;
      // only what was unacknowledged at a recycle may come twice: at most one in-flight window each
      assert.ok(rows.length - landed.size <= recycles * maxInflightRecords, `${rows.length - landed.size} duplicates over ${recycles} recycles`);
      assert.ok(sink.stats().reconnects >= 3, `reconnected ${sink.stats().reconnects} times`);
      assert.ok(emu.stats().throttled.count > 0, 'the quota was binding');
    } finally {
      await sink.close(500);
      spool.remove();
    }
  });

  it('the official SDK keeps working against a recycling emulator: every record stored', async () => {
    emu = await emulator(false, { clientId: OFFICIAL_ID, clientSecret: OFFICIAL_SECRET, streamMaxAgeMs: 300, closeSignalDurationMs: 150 });
    const z = new officialSdk.ZerobusSdk(emu.endpoint, emu.workspaceUrl);
    const stream = await z.createStream({ tableName: TABLE, descriptorProto: OT_DESCRIPTOR.toString('base64') }, OFFICIAL_ID, OFFICIAL_SECRET, {
      recordType: officialSdk.RecordType.Proto,
      recoveryRetries: 5,
      recoveryBackoffMs: 50,
      recoveryTimeoutMs: 5000,
      flushTimeoutMs: 20_000,
    });
    const sent = new Set<string>();
    let last = -1n;
    while (emu.stats().streamsTotal < 4) {
      const rows = makeRows(100, 'sdk');
      for (const r of rows) sent.add(r.event_id);
      last = (await stream.ingestRecordsOffset(asProto(rows)))!;
      await turn();
    }
    await stream.waitForOffset(last);
    await stream.flush();
    await stream.close();
    const counts = countsById(emu);
    const missing = [...sent].filter((id) => !counts.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${sent.size} records missing`);
    assert.ok(emu.stats().streamsTotal >= 4);
  });
});
