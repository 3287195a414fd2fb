import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { waitFor } from '../../support/wait-for';
import { OT_SQL, OT_TABLE, RawClient, otProto, otRow, type RawStream } from './raw-client';

async function faultOverHttp(emu: Emulator, action: string, args: unknown[] = []): Promise<Response> {
  return fetch(`${emu.workspaceUrl}/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action, args }) });
}

describe('emulator: fault controls', () => {
  let emu: Emulator;
  let client: RawClient;
  /** the emulator's log, each line with the time it was written */
  let log: { line: string; at: number }[];

  beforeEach(async () => {
    log = [];
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], log: (line) => log.push({ line, at: Date.now() }) });
    client = new RawClient(emu.endpoint);
  });
  afterEach(async () => {
    client.close();
    await emu.stop();
  });

  async function opened(): Promise<RawStream> {
    const s = client.open().create();
    await s.created();
    return s;
  }

  function single(s: RawStream, offset: number, i = offset): void {
    s.write({ ingest_record: { offset_id: offset, proto_encoded_record: otProto(i) } });
  }

  function logged(pattern: RegExp): Promise<{ line: string; at: number }> {
    return waitFor(`the emulator to log ${pattern}`, () => log.find((l) => pattern.test(l.line)));
  }

  /**
   * Proves that no ack went out before now: the emulator logged that it held the ack back at the
   * moment it would have sent it, then a close signal (long enough not to end the stream during
   * the test) goes out on the same stream; once the client has it, an ack sent before it has
   * arrived too.
   */
  async function noAckBeforeSignal(s: RawStream, sendSignal: () => Promise<unknown> | void): Promise<void> {
    await logged(/withholds its ack/);
    await sendSignal();
    await s.waitFor((m) => m.close_stream_signal != null, 'close signal');
    assert.deepEqual(s.acks(), [], 'no ack before the close signal that followed the withheld one');
  }

  it('refuseCreate: the next creates fail with the code, then creates work again', async () => {
    emu.faults.refuseCreate(Status.UNAVAILABLE, 2, 'maintenance');
    for (let i = 0; i < 2; i++) {
      const st = await client.open().create().status;
      assert.equal(st.code, Status.UNAVAILABLE);
      assert.equal(st.details, 'maintenance');
    }
    const s = await opened();
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('failNextIngest: the next ingest request ends its stream with the code and is not stored', async () => {
    const s = await opened();
    single(s, 0);
    await s.ackedUpTo(0);
    emu.faults.failNextIngest(Status.INTERNAL, 'boom');
    single(s, 1);
    const st = await s.status;
    assert.equal(st.code, Status.INTERNAL);
    assert.equal(st.details, 'boom');
    assert.deepEqual(emu.allRows(OT_TABLE), [otRow(0)]);
  });

  it('dropConnectionAfterRecords: every open stream acks what is durable and ends UNAVAILABLE; the crossing request is not stored', async () => {
    const a = await opened();
    const b = await opened();
    emu.faults.dropConnectionAfterRecords(3);
    single(a, 0, 0);
    await a.ackedUpTo(0);
    single(b, 0, 1);
    await b.ackedUpTo(0);
    a.write({ ingest_record_batch: { offset_id: 1, proto_encoded_batch: { records: [otProto(2), otProto(3)] } } });
    const [sa, sb] = await Promise.all([a.status, b.status]);
    assert.equal(sa.code, Status.UNAVAILABLE);
    assert.equal(sb.code, Status.UNAVAILABLE);
    assert.deepEqual(emu.allRows(OT_TABLE), [otRow(0), otRow(1)]);
    assert.deepEqual(a.acks(), [0]);
    // one-shot: a new stream is fine
    const c = await opened();
    single(c, 0, 2);
    await c.ackedUpTo(0);
    c.end();
    assert.equal((await c.status).code, Status.OK);
  });

  it('sendCloseSignal: every open stream gets the signal, keeps working, then ends UNAVAILABLE', async () => {
    const s = await opened();
    emu.faults.sendCloseSignal(150);
    const signal = await s.waitFor((m) => m.close_stream_signal != null, 'close signal');
    assert.equal(Number(signal.close_stream_signal!.duration!.nanos), 150_000_000);
    single(s, 0);
    await s.ackedUpTo(0);
    assert.equal((await s.status).code, Status.UNAVAILABLE);
    assert.equal(emu.allRows(OT_TABLE).length, 1);
  });

  it('withholdAcks: records are stored but unacked until it is turned off', async () => {
    const s = await opened();
    emu.faults.withholdAcks(true);
    single(s, 0);
    single(s, 1);
    await waitFor('both records stored', () => emu.allRows(OT_TABLE).length === 2);
    await noAckBeforeSignal(s, () => emu.faults.sendCloseSignal(60_000));
    emu.faults.withholdAcks(false);
    await s.ackedUpTo(1);
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('ackDelayMs: acks come that long after the records became durable', async () => {
    const s = await opened();
    emu.faults.ackDelayMs(150);
    single(s, 0);
    // logged when the record became durable, where an undelayed ack would have been scheduled
    const durable = await logged(/delays its ack of offset 0 by 150 ms/);
    assert.equal(emu.allRows(OT_TABLE).length, 1);
    await s.ackedUpTo(0);
    const after = Date.now() - durable.at;
    assert.ok(after >= 140, `the ack came ${after} ms after the record became durable`);
    s.end();
    await s.status;
  });

  it('tokenEndpointStatus: the token endpoint answers that status until reset', async () => {
    emu.faults.tokenEndpointStatus(503);
    const post = () =>
      fetch(`${emu.workspaceUrl}/oidc/v1/token`, {
        method: 'POST',
        headers: { authorization: 'Basic ' + Buffer.from('a:b').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
    assert.equal((await post()).status, 503);
    emu.faults.tokenEndpointStatus(null);
    assert.equal((await post()).status, 400, 'back to normal handling (this form is incomplete)');
  });

  it('revokeGrant: creates for that table get PERMISSION_DENIED while on', async () => {
    emu.faults.revokeGrant('MAIN.OT.TAG_EVENTS', true);
    assert.equal((await client.open().create().status).code, Status.PERMISSION_DENIED);
    emu.faults.revokeGrant(OT_TABLE, false);
    const s = await opened();
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('reset clears every fault and releases withheld acks', async () => {
    emu.faults.refuseCreate(Status.UNAVAILABLE, 5);
    emu.faults.revokeGrant(OT_TABLE, true);
    emu.faults.tokenEndpointStatus(500);
    emu.faults.reset();
    const s = await opened();
    emu.faults.withholdAcks(true);
    single(s, 0);
    await waitFor('the record stored, its ack withheld', () => emu.allRows(OT_TABLE).length === 1);
    emu.faults.reset();
    await s.ackedUpTo(0);
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('validates arguments', () => {
    assert.throws(() => emu.faults.refuseCreate(0), /gRPC status code/);
    assert.throws(() => emu.faults.failNextIngest(17), /gRPC status code/);
    assert.throws(() => emu.faults.dropConnectionAfterRecords(-1), /n must be a number/);
    assert.throws(() => emu.faults.tokenEndpointStatus(42), /HTTP status/);
  });

  it('POST /api/faults drives the same controls from another process', async () => {
    let res = await faultOverHttp(emu, 'refuseCreate', [Status.RESOURCE_EXHAUSTED]);
    assert.equal(res.status, 200);
    assert.equal((await client.open().create().status).code, Status.RESOURCE_EXHAUSTED);
    res = await faultOverHttp(emu, 'withholdAcks', [true]);
    assert.equal(res.status, 200);
    const s = await opened();
    single(s, 0);
    await noAckBeforeSignal(s, () => faultOverHttp(emu, 'sendCloseSignal', [60_000]));
    assert.equal((await faultOverHttp(emu, 'reset')).status, 200);
    await s.ackedUpTo(0);
    s.end();
    await s.status;

    res = await faultOverHttp(emu, 'noSuchAction');
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /action must be one of/);
    res = await faultOverHttp(emu, 'refuseCreate', [99]);
    assert.equal(res.status, 400);
    res = await fetch(`${emu.workspaceUrl}/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' });
    assert.equal(res.status, 400);
  });
});
