import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { Emulator } from '../../../lib/emulator';
import { ZerobusError, type ZerobusClient, type ZerobusStream } from '../../../lib/zerobus';
import { asJson, asProto, clientFor, emulator, FAST, Ledger, makeRows, nextState, OT_DESCRIPTOR, OtEvent, TABLE, waitFor } from './harness';

describe('zerobus client against the emulator', function () {
  this.timeout(15_000);
  let emu: Emulator;
  let client: ZerobusClient;
  const extraClients: ZerobusClient[] = [];

  beforeEach(async () => {
    emu = await emulator();
    client = clientFor(emu);
  });
  afterEach(async () => {
    await Promise.all([client, ...extraClients.splice(0)].map((c) => c.close()));
    await emu.stop();
  });

  const json = (more: object = {}) => client.createStream({ table: TABLE, recordType: 'json', ...FAST, ...more });
  const proto = (more: object = {}) => client.createStream({ table: TABLE, recordType: 'proto', descriptorProto: OT_DESCRIPTOR, ...FAST, ...more });
  const finalError = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof ZerobusError, String(e));
      return e;
    }
    assert.fail('expected a final error');
  };

  /** Keep ingesting batches while `during` runs, then wait for everything. */
  async function traffic(stream: ZerobusStream, ledger: Ledger, batches: number, size: number, during: (i: number) => void, encode: (r: ReturnType<typeof makeRows>) => Buffer[] | string[] = asJson) {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < batches; i++) {
      during(i);
      pending.push(ledger.ingest(stream, makeRows(size), encode));
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(pending);
  }

  it('JSON happy path: rows arrive exactly as sent, in order', async () => {
    const stream = json();
    const rows = makeRows(1200);
    await stream.ingest(asJson(rows.slice(0, 1)));
    await stream.ingest(asJson(rows.slice(1)));
    assert.deepEqual(emu.allRows(TABLE), rows);
    const m = stream.metrics();
    assert.equal(m.recordsAcked, 1200);
    assert.equal(m.recordsInFlight, 0);
    assert.equal(m.state, 'open');
    await stream.close();
  });

  it('PROTO happy path: rows arrive exactly as sent, acks report latency', async () => {
    const stream = proto();
    const acks: { records: number }[] = [];
    stream.on('ack', (a: { records: number }) => acks.push(a));
    const rows = makeRows(1500);
    await Promise.all([stream.ingest(asProto(rows.slice(0, 500))), stream.ingest(asProto(rows.slice(500)))]);
    assert.deepEqual(emu.allRows(TABLE), rows);
    assert.equal(acks.reduce((n, a) => n + a.records, 0), 1500);
    assert.ok(stream.metrics().ackLatencyMs.max > 0);
    assert.equal(OtEvent.name, 'OtEvent');
  });

  it('splits batches by bytes and keeps every row', async () => {
    const stream = json({ maxRequestBytes: 16 * 1024 });
    const rows = makeRows(2000);
    await stream.ingest(asJson(rows));
    assert.ok(stream.metrics().requestsSent >= 10, `${stream.metrics().requestsSent} requests`);
    assert.deepEqual(emu.allRows(TABLE), rows);
  });

  it('backpressure: ingest waits (without rejecting) while the in-flight limit is full', async () => {
    const stream = json({ maxInflightRecords: 100 });
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(10));
    const stored = emu.allRows(TABLE).length;
    emu.faults.withholdAcks(true);
    const first = ledger.ingest(stream, makeRows(100));
    assert.equal(stream.hasCapacity(), false);
    let secondDone = false;
    const second = ledger.ingest(stream, makeRows(50)).then(() => (secondDone = true));
    // the first call's records are stored and their acks held back: only then may the second still wait
    await waitFor(() => emu.allRows(TABLE).length === stored + 100, 5000, 'the first call stored, its acks withheld');
    assert.equal(secondDone, false);
    assert.equal(stream.metrics().recordsInFlight, 150);
    emu.faults.withholdAcks(false);
    await Promise.all([first, second]);
    assert.equal(stream.hasCapacity(), true);
    ledger.check(emu);
  });

  it('OAuth with a bad secret fails finally with TOKEN_REJECTED and keeps the secret out of it', async () => {
    const bad = clientFor(emu, 'wrong-secret-123');
    extraClients.push(bad);
    const stream = bad.createStream({ table: TABLE, recordType: 'json', ...FAST });
    const errors: ZerobusError[] = [];
    stream.on('error', (e: ZerobusError) => errors.push(e));
    const err = await finalError(stream.ingest(asJson(makeRows(3))));
    assert.equal(err.code, 'TOKEN_REJECTED');
    assert.equal(err.retryable, false);
    assert.match(err.hint, /client id or secret/);
    assert.ok(!JSON.stringify({ m: err.message, h: err.hint, e: stream.metrics().lastError }).includes('wrong-secret-123'));
    assert.equal(stream.state, 'failed');
    assert.equal(errors.length, 1);
    await assert.rejects(bad.testConnection(TABLE), (e: ZerobusError) => e.code === 'TOKEN_REJECTED');
  });

  it('token endpoint 500 for a while: retries, then recovers and delivers', async () => {
    emu.faults.tokenEndpointStatus(500);
    const stream = json();
    const ledger = new Ledger();
    const errs: string[] = [];
    stream.on('state', (_s: string, d: { error?: ZerobusError }) => d.error && errs.push(d.error.code));
    const p = ledger.ingest(stream, makeRows(20));
    await waitFor(() => errs.length >= 3, 5000, 'token retries');
    emu.faults.tokenEndpointStatus(null);
    await p;
    assert.ok(errs.every((c) => c === 'TOKEN_UNAVAILABLE'), errs.join());
    ledger.check(emu);
  });

  it('UNAVAILABLE on create: retries with backoff and recovers', async () => {
    emu.faults.refuseCreate(status.UNAVAILABLE, 3, 'try later');
    const stream = json();
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(30));
    assert.ok(stream.metrics().reconnects >= 3);
    assert.equal(stream.metrics().lastError?.code, 'UNAVAILABLE');
    ledger.check(emu);
  });

  it('dropped connection mid-stream: resends the unacknowledged and loses nothing', async () => {
    const stream = proto();
    const ledger = new Ledger();
    await traffic(stream, ledger, 40, 100, (i) => {
      if (i === 10) {
        ledger.faultNow();
        emu.faults.dropConnectionAfterRecords(1500);
      }
    }, asProto);
    assert.ok(stream.metrics().reconnects >= 1, 'the stream was re-created');
    ledger.check(emu);
  });

  it('CloseStreamSignal: pauses, rolls over to a new stream with a fresh token, loses nothing', async () => {
    const stream = json();
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(10));
    const firstId = stream.metrics().streamId;
    const tokensBefore = emu.stats().tokensIssued;
    const paused = nextState(stream, 'paused');
    await traffic(stream, ledger, 30, 100, (i) => {
      if (i === 5) {
        ledger.faultNow();
        emu.faults.sendCloseSignal(200);
      }
    });
    await paused;
    await waitFor(() => stream.state === 'open' && stream.metrics().streamId !== firstId, 5000, 'a new stream');
    await ledger.ingest(stream, makeRows(10));
    assert.ok(emu.stats().tokensIssued > tokensBefore, 'a fresh token for the new stream');
    ledger.check(emu);
  });

  it('withheld acks: the ack timeout opens a new stream, resends, and delivers once acks resume', async () => {
    const stream = json({ ackTimeoutMs: 150 });
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(10));
    ledger.faultNow();
    emu.faults.withholdAcks(true);
    const errs: string[] = [];
    stream.on('state', (_s: string, d: { error?: ZerobusError }) => d.error && errs.push(d.error.code));
    const p = ledger.ingest(stream, makeRows(200));
    await waitFor(() => errs.includes('ACK_TIMEOUT'), 5000, 'ACK_TIMEOUT');
    emu.faults.withholdAcks(false);
    await p;
    ledger.check(emu);
  });

  it('slow acks are waited for, and the latency shows in the metrics', async () => {
    emu.faults.ackDelayMs(80);
    const stream = json();
    const ledger = new Ledger();
    await traffic(stream, ledger, 10, 50, () => undefined);
    assert.ok(stream.metrics().ackLatencyMs.p50 >= 70, JSON.stringify(stream.metrics().ackLatencyMs));
    assert.equal(stream.metrics().reconnects, 0);
    ledger.check(emu);
  });

  it('unknown table: NOT_FOUND is final, pending ingests reject with it', async () => {
    const stream = client.createStream({ table: 'main.ot.nope', recordType: 'json', ...FAST });
    const err = await finalError(stream.ingest(asJson(makeRows(2))));
    assert.equal(err.code, 'NOT_FOUND');
    assert.match(err.hint, /main\.ot\.nope does not exist/);
    assert.equal(stream.state, 'failed');
    await assert.rejects(client.testConnection('main.ot.nope'), (e: ZerobusError) => e.code === 'NOT_FOUND');
  });

  it('revoked grant: PERMISSION_DENIED is final', async () => {
    const stream = json();
    await stream.ingest(asJson(makeRows(2)));
    emu.faults.revokeGrant(TABLE, true);
    emu.faults.dropConnectionAfterRecords(1);
    const err = await finalError(stream.ingest(asJson(makeRows(2))));
    assert.equal(err.code, 'PERMISSION_DENIED');
    assert.match(err.hint, /MODIFY/);
    assert.equal(stream.state, 'failed');
  });

  it('expired token: fetches a new token on the next stream and continues', async () => {
    const stream = json();
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(5));
    const tokensBefore = emu.stats().tokensIssued;
    emu.faults.expireTokens();
    ledger.faultNow();
    emu.faults.dropConnectionAfterRecords(1);
    await ledger.ingest(stream, makeRows(5));
    await ledger.ingest(stream, makeRows(5));
    assert.ok(emu.stats().tokensIssued > tokensBefore);
    assert.equal(stream.state, 'open');
    ledger.check(emu);
  });

  it('mid-stream UNAVAILABLE recovers; mid-stream INVALID_ARGUMENT is final', async () => {
    const stream = json();
    const ledger = new Ledger();
    await ledger.ingest(stream, makeRows(5));
    ledger.faultNow();
    emu.faults.failNextIngest(status.UNAVAILABLE, 'blip');
    await ledger.ingest(stream, makeRows(5));
    ledger.check(emu);
    emu.faults.failNextIngest(status.INVALID_ARGUMENT, 'bad record');
    const err = await finalError(stream.ingest(asJson(makeRows(1))));
    assert.equal(err.code, 'INVALID_ARGUMENT');
  });

  it('close while ingests are pending: bounded, pending ingests reject CLOSED', async () => {
    const stream = json();
    await stream.ingest(asJson(makeRows(1)));
    emu.faults.withholdAcks(true);
    const pending = stream.ingest(asJson(makeRows(10)));
    const closed = stream.close(200);
    const err = await finalError(pending);
    assert.equal(err.code, 'CLOSED');
    await closed;
    assert.equal(stream.state, 'closed');
    await assert.rejects(stream.ingest(asJson(makeRows(1))), (e: ZerobusError) => e.code === 'CLOSED');
  });

  it('flush waits for everything ingested so far', async () => {
    emu.faults.ackDelayMs(30);
    const stream = proto();
    const rows = makeRows(300);
    void stream.ingest(asProto(rows.slice(0, 100)));
    void stream.ingest(asProto(rows.slice(100)));
    await stream.flush(5000);
    assert.equal(emu.allRows(TABLE).length, 300);
    assert.equal(stream.metrics().recordsInFlight, 0);
  });

  it('testConnection: succeeds for a good table (also after the cached token expired), reports an unreachable endpoint', async () => {
    await client.testConnection(TABLE);
    emu.faults.expireTokens();
    await client.testConnection(TABLE);
    await client.testConnection(TABLE, { recordType: 'proto', descriptorProto: OT_DESCRIPTOR });
    const dead = clientFor(emu);
    extraClients.push(dead);
    const nowhere = new (Object.getPrototypeOf(dead).constructor)({
      endpoint: 'http://127.0.0.1:1',
      workspaceUrl: emu.workspaceUrl,
      auth: { type: 'oauth', clientId: 'test-client', clientSecret: 'test-secret-xyz' },
    }) as ZerobusClient;
    extraClients.push(nowhere);
    await assert.rejects(nowhere.testConnection(TABLE, { timeoutMs: 3000 }), (e: ZerobusError) => e.code === 'UNREACHABLE' && e.retryable);
  });
});
