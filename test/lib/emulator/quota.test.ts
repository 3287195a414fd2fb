import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { DEFAULT_QUOTA, startEmulator, type Emulator, type EmulatorOptions } from '../../../lib/emulator';
import { parseArgs } from '../../../lib/emulator/cli';
import { RecordSpans } from '../../../lib/emulator/ingest-decoder';
import { quotaLimits, recordBytes, StreamQuota, type QuotaLimits, type ThrottleFigures } from '../../../lib/emulator/quota';
import { asJson, clientFor, emulator, FAST, makeRows, TABLE } from '../zerobus/harness';
import { OT_SQL, OT_TABLE, RawClient, otProto, type RawStream } from './raw-client';

/**
 * The per-stream quota: the meter alone on a fake clock (exact figures), then the emulator on
 * loopback (acks held back to the quota's rate, RESOURCE_EXHAUSTED, no quota, what the API and
 * the page report).
 */

function meter(limits: Partial<QuotaLimits>, sinks: ThrottleFigures[] = []) {
  let t = 0;
  const quota = new StreamQuota(quotaLimits(limits), sinks, () => t);
  return { quota, at: (ms: number) => (t = ms) };
}

describe('emulator: per-stream quota meter', () => {
  it('a burst within burstMs of quota passes; beyond it acks are held so that they follow the quota rate', () => {
    const { quota } = meter({ recordsPerSecond: 1000, burstMs: 1000 });
    assert.deepEqual(quota.admit(1000, 0), { ok: true, holdMs: 0 }); // exactly one second of quota
    const holds = [1, 2, 3, 4].map(() => quota.admit(100, 0));
    // each further 100 records cost 100 ms: acks come out at the quota's 1000 records/s
    assert.deepEqual(holds, [100, 200, 300, 400].map((holdMs) => ({ ok: true, holdMs })));
    assert.equal(quota.throttled.count, 4);
    assert.equal(quota.throttled.ms, 400, 'overlapping holds count once: wall time, not a sum');
  });

  it('the stream earns its quota back as time passes', () => {
    const { quota, at } = meter({ recordsPerSecond: 1000, burstMs: 0 });
    assert.equal((quota.admit(500, 0) as { holdMs: number }).holdMs, 500);
    at(400);
    assert.equal((quota.admit(100, 0) as { holdMs: number }).holdMs, 200, 'paid until 500 ms, plus 100 ms');
    at(5000);
    assert.equal((quota.admit(1, 0) as { holdMs: number }).holdMs, 1);
    assert.equal(quota.throttled.count, 3);
    assert.equal(quota.throttled.ms, 600 + 1, 'hold intervals [0,500] ∪ [400,600] ∪ [5000,5001]');
  });

  it('the byte quota binds when records are large', () => {
    const { quota } = meter({ recordsPerSecond: 1_000_000, bytesPerSecond: 10_000, burstMs: 0 });
    // 10 records of 1000 bytes: 10 µs of record quota, 1 s of byte quota
    assert.deepEqual(quota.admit(10, 10_000), { ok: true, holdMs: 1000 });
  });

  it('reject: a request beyond the quota is refused, costs nothing, and is counted without hold time', () => {
    const table: ThrottleFigures = { count: 0, ms: 0 };
    const { quota, at } = meter({ recordsPerSecond: 1000, burstMs: 200, overQuota: 'reject' }, [table]);
    assert.deepEqual(quota.admit(100, 0), { ok: true, holdMs: 0 });
    const refused = quota.admit(150, 0);
    assert.equal(refused.ok, false);
    assert.match((refused as { message: string }).message, /stream quota exceeded \(1000 records\/s, 100000000 bytes\/s per stream\): retry in 50 ms/);
    assert.deepEqual(quota.admit(100, 0), { ok: true, holdMs: 0 }, 'the refused request used no quota');
    at(300);
    assert.deepEqual(quota.admit(100, 0), { ok: true, holdMs: 0 });
    assert.deepEqual(quota.throttled, { count: 1, ms: 0 });
    assert.deepEqual(table, { count: 1, ms: 0 }, 'the sinks (table, total) see every throttle');
  });

  it('defaults are Databricks’ published quotas; bad limits are refused', () => {
    assert.deepEqual(quotaLimits(), { recordsPerSecond: 100_000, bytesPerSecond: 100_000_000, overQuota: 'slow-acks', burstMs: 1000 });
    assert.deepEqual(quotaLimits(), DEFAULT_QUOTA);
    assert.throws(() => quotaLimits({ recordsPerSecond: 0 }), /recordsPerSecond must be a number > 0/);
    assert.throws(() => quotaLimits({ bytesPerSecond: NaN }), /bytesPerSecond must be a number > 0/);
    assert.throws(() => quotaLimits({ burstMs: -1 }), /burstMs must be a number >= 0/);
    assert.throws(() => quotaLimits({ overQuota: 'drop' as never }), /overQuota must be 'slow-acks' or 'reject'/);
  });

  it('counts record payload bytes of decoded records and of spans in a request buffer', () => {
    assert.equal(recordBytes(['ab', 'ü', Buffer.from([1, 2, 3])]), 2 + 2 + 3);
    assert.equal(recordBytes(new RecordSpans(Buffer.alloc(20), [2, 10], [5, 20])), 3 + 10);
  });

  it('CLI flags set, reject or turn off the quota, and 0 turns stream rotation off', () => {
    const opts = (argv: string[]) => (parseArgs(argv) as { options: EmulatorOptions }).options;
    assert.deepEqual(opts(['--quota-records', '20000', '--quota-bytes', '5000000', '--quota-reject']).quota, {
      recordsPerSecond: 20_000,
      bytesPerSecond: 5_000_000,
      overQuota: 'reject',
    });
    assert.equal(opts(['--no-quota']).quota, false);
    assert.equal(opts([]).quota, undefined, 'absent: the emulator default');
    assert.equal(opts(['--stream-max-age-ms', '0']).streamMaxAgeMs, 0);
    assert.throws(() => parseArgs(['--no-quota', '--quota-records', '5']), /--no-quota goes with no other --quota option/);
    assert.throws(() => parseArgs(['--quota-records', '0']), /--quota-records needs an integer >= 1/);
  });
});

describe('emulator: per-stream quota on the wire', function () {
  this.timeout(20_000);
  let emu: Emulator;
  let client: RawClient;

  let log: string[] = [];
  async function start(quota: EmulatorOptions['quota']): Promise<void> {
    log = [];
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], quota, log: (l) => log.push(l) });
    client = new RawClient(emu.endpoint);
  }
  afterEach(async () => {
    client?.close();
    await emu?.stop();
  });

  async function opened(): Promise<RawStream> {
    const s = client.open().create();
    await s.created();
    return s;
  }

  /** `requests` batches of `size` records, all written at once; resolves with each ack's arrival time. */
  async function sendAll(s: RawStream, requests: number, size: number): Promise<{ sentAt: number; ackTimes: number[] }> {
    const ackTimes: number[] = [];
    s.call.on('data', (m: { ingest_record_response?: unknown }) => m.ingest_record_response && ackTimes.push(Date.now()));
    const sentAt = Date.now();
    for (let r = 0; r < requests; r++) {
      s.write({ ingest_record_batch: { offset_id: r, proto_encoded_batch: { records: Array.from({ length: size }, (_, i) => otProto(r * size + i)) } } });
    }
    await s.ackedUpTo(requests - 1);
    return { sentAt, ackTimes };
  }

  it('slow-acks: requests are stored and acked at the quota rate; throttling shows per stream, per table and in total', async () => {
    await start({ recordsPerSecond: 4000, burstMs: 0 });
    const s = await opened();
    const figures = new Promise<unknown>((resolve) => {
      // while the acks are held: the stream is open and its throttling visible
      const poll = setInterval(() => {
        if (emu.stats().throttled.count < 8) return;
        clearInterval(poll);
        const storedSoFar = emu.tables()[0].rowCount;
        void fetch(`${emu.workspaceUrl}/api/stats`).then(async (r) => resolve({ ...((await r.json()) as object), storedSoFar }));
      }, 5);
    });
    const { sentAt, ackTimes } = await sendAll(s, 8, 500); // 4000 records: one second of quota
    const elapsed = ackTimes[ackTimes.length - 1] - sentAt;
    // 8 requests of 125 ms each: the last ack is due after 1000 ms (generous upper bound for a loaded machine)
    assert.ok(elapsed >= 950 && elapsed < 5000, `acks took ${elapsed} ms`);
    assert.equal(emu.tables()[0].rowCount, 4000);
    assert.equal(log.filter((l) => /is over its quota \(4000 records\/s and 100000000 bytes\/s per stream, acks slowed beyond it\): throttled/.test(l)).length, 1, 'said once per stream');
    const stats = (await figures) as { storedSoFar: number; streams: { streamId: string; table: string; closing: boolean; recordsReceived: number; throttled: ThrottleFigures }[]; tables: { name: string; throttled: ThrottleFigures }[]; quota: QuotaLimits };
    assert.ok(stats.storedSoFar < 4000, `held requests are not stored yet (${stats.storedSoFar} rows)`);
    assert.equal(stats.streams.length, 1);
    assert.equal(stats.streams[0].table, OT_TABLE);
    assert.equal(stats.streams[0].closing, false);
    assert.equal(stats.streams[0].recordsReceived, 4000);
    assert.equal(stats.streams[0].throttled.count, 8);
    // wall time held: 1000 ms when the 8 requests arrive together, less if the machine spreads them out
    assert.ok(stats.streams[0].throttled.ms >= 500 && stats.streams[0].throttled.ms <= 1001, String(stats.streams[0].throttled.ms));
    assert.deepEqual(stats.tables[0].throttled, stats.streams[0].throttled);
    assert.deepEqual(stats.quota, { recordsPerSecond: 4000, bytesPerSecond: DEFAULT_QUOTA.bytesPerSecond, overQuota: 'slow-acks', burstMs: 0 });
    s.end();
    assert.equal((await s.status).code, Status.OK);
    // the table keeps its figures after its stream closed; the page shows them
    assert.deepEqual(emu.throttled(OT_TABLE), stats.tables[0].throttled);
    assert.deepEqual(emu.stats().throttled, stats.tables[0].throttled);
    const page = await (await fetch(`${emu.workspaceUrl}/`)).text();
    assert.match(page, /<b id="k-throttled">8<\/b>/);
    assert.match(page, /per-stream quota: 4000 records\/s and 100000000 bytes\/s per stream, acks slowed beyond it/);
  });

  it('slow-acks: a stream that ends while requests are held stores exactly what it acked', async () => {
    await start({ recordsPerSecond: 1000, burstMs: 0 });
    const s = await opened();
    for (let r = 0; r < 5; r++) {
      s.write({ ingest_record_batch: { offset_id: r, proto_encoded_batch: { records: Array.from({ length: 200 }, (_, i) => otProto(r * 200 + i)) } } });
    }
    await s.ackedUpTo(0); // 200 ms in: the first request is stored, the others held up to 1 s
    emu.faults.sendCloseSignal(100);
    const st = await s.status;
    assert.equal(st.code, Status.UNAVAILABLE);
    const acked = Math.max(...s.acks());
    assert.ok(acked < 4, `acked up to ${acked}`);
    assert.equal(emu.tables()[0].rowCount, (acked + 1) * 200, 'nothing stored that the client will resend');
  });

  it('reject: the request beyond the quota gets RESOURCE_EXHAUSTED and is not stored; what was durable is acked first', async () => {
    await start({ recordsPerSecond: 1000, burstMs: 200, overQuota: 'reject' });
    const s = await opened();
    s.write({ ingest_record_batch: { offset_id: 0, proto_encoded_batch: { records: [0, 1].map(otProto) } } });
    s.write({ ingest_record_batch: { offset_id: 1, proto_encoded_batch: { records: Array.from({ length: 300 }, (_, i) => otProto(2 + i)) } } });
    const st = await s.status;
    assert.equal(st.code, Status.RESOURCE_EXHAUSTED);
    assert.match(st.details, /stream quota exceeded/);
    assert.deepEqual(s.acks(), [0]);
    assert.equal(emu.tables()[0].rowCount, 2);
    assert.deepEqual(emu.throttled(OT_TABLE), { count: 1, ms: 0 });
  });

  it('reject: our client takes RESOURCE_EXHAUSTED as retryable, reconnects, and stores every record exactly once', async () => {
    emu = await emulator(true, { quota: { recordsPerSecond: 2000, burstMs: 100, overQuota: 'reject' } });
    const zerobus = clientFor(emu);
    try {
      const stream = zerobus.createStream({ table: TABLE, recordType: 'json', ...FAST });
      const rows = makeRows(2000, 'reject');
      // two requests of 200 records at once are 200 ms of quota: over the 100 ms burst
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((b) => stream.ingest(asJson(rows.slice(b * 200, (b + 1) * 200)))));
      await stream.close();
      assert.ok(emu.stats().throttled.count >= 1, 'requests were refused');
      assert.ok(stream.metrics().reconnects >= 1);
      assert.equal(stream.metrics().lastError?.code, 'RESOURCE_EXHAUSTED');
      const ids = emu.allRows(TABLE).map((r) => String(r.event_id));
      assert.equal(ids.length, 2000, 'a refused request is stored only when resent');
      assert.deepEqual(new Set(ids), new Set(rows.map((r) => r.event_id)));
    } finally {
      await zerobus.close();
    }
  });

  it('no quota (quota: false): the same traffic is never throttled', async () => {
    await start(false);
    const s = await opened();
    await sendAll(s, 8, 500);
    assert.equal(emu.quota, null);
    assert.deepEqual(emu.stats().throttled, { count: 0, ms: 0 });
    const stats = (await (await fetch(`${emu.workspaceUrl}/api/stats`)).json()) as { quota: unknown };
    assert.equal(stats.quota, null);
    assert.match(await (await fetch(`${emu.workspaceUrl}/`)).text(), /per-stream quota: none/);
    s.end();
  });

  it('by default the emulator enforces Databricks’ default quotas', async () => {
    await start(undefined);
    assert.deepEqual(emu.quota, DEFAULT_QUOTA);
    const s = await opened();
    await sendAll(s, 4, 500); // far below one second of quota: not throttled
    assert.deepEqual(emu.stats().throttled, { count: 0, ms: 0 });
    s.end();
  });
});
