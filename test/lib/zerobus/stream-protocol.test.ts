import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ZerobusClient, ZerobusError, type StreamState } from '../../../lib/zerobus';
import { WIRE_RECORD_TYPE } from '../../../lib/zerobus/protocol';
import { startFakeServer, type FakeServer } from './fake-server';
import { waitFor } from '../../support/wait-for';

const FAST = { backoff: { initialMs: 10, maxMs: 50 }, createTimeoutMs: 2000 };
const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: from + i }));

describe('zerobus stream against a scripted server', () => {
  let server: FakeServer | undefined;
  let client: ZerobusClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.stop();
    client = server = undefined;
  });

  function connect(s: FakeServer) {
    client = new ZerobusClient({ endpoint: s.endpoint, auth: { type: 'token', token: 'tok' }, userAgent: 'tests/1' });
    return client;
  }

  it('sends create_stream first with metadata, then requests with offsets from 0, and resolves on acks', async () => {
    server = await startFakeServer();
    const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', ...FAST });
    const states: StreamState[] = [];
    stream.on('state', (s: StreamState) => states.push(s));
    await stream.ingest(rows(0, 3));
    await stream.ingest(rows(3, 1));
    assert.deepEqual({ ...server.creates[0] }, { table_name: 'main.ot.t', record_type: WIRE_RECORD_TYPE.JSON });
    const md = server.metadata[0];
    assert.equal(md.get('authorization')[0], 'Bearer tok');
    assert.equal(md.get('x-databricks-zerobus-table-name')[0], 'main.ot.t');
    assert.match(String(md.get('x-zerobus-sdk')[0]), /^tests\/1 node-red-zerobus\//);
    assert.match(String(md.get('user-agent')[0]), /tests\/1/);
    assert.deepEqual(server.received.map((r) => [r.offset, r.records.length]), [[0, 3], [1, 1]]);
    assert.deepEqual(states, ['connecting', 'open']);
    const m = stream.metrics();
    assert.equal(m.recordsAcked, 4);
    assert.equal(m.recordsInFlight, 0);
    assert.equal(m.streamId, 'fake-0');
    await stream.close();
    assert.equal(stream.state, 'closed');
  });

  for (const [name, badAck] of [['goes backwards', (o: number) => (o === 2 ? 0 : o)], ['is beyond the highest offset sent', (o: number) => (o === 1 ? 5 : o)]] as const) {
    it(`treats an ack that ${name} as a protocol violation and recovers with a resend`, async () => {
      let first = true;
      server = await startFakeServer({
        onIngest: ({ callIndex, offset }) => (callIndex === 0 && first ? badAck(offset) : offset),
      });
      const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', ...FAST });
      const errors: ZerobusError[] = [];
      stream.on('state', (_s: StreamState, d: { error?: ZerobusError }) => d.error && errors.push(d.error));
      const all = [stream.ingest(rows(0, 1)), stream.ingest(rows(1, 1)), stream.ingest(rows(2, 1))];
      await Promise.all(all);
      first = false;
      assert.equal(errors[0]?.code, 'PROTOCOL');
      assert.ok(stream.metrics().reconnects >= 1);
      const ids = new Set(server.received.flatMap((r) => r.records.map((x) => JSON.parse(x).id)));
      assert.deepEqual([...ids].sort(), [0, 1, 2]);
      const second = server.received.filter((r) => r.call === 1).map((r) => r.offset);
      assert.equal(second[0], 0, 'the new stream starts at offset 0');
    });
  }

  it('recovers when the first response is not create_stream_response', async () => {
    server = await startFakeServer({
      onCreate: ({ callIndex, call }) => {
        if (callIndex > 0) return false;
        call.write({ ingest_record_response: { durability_ack_up_to_offset: 0 } });
        return true;
      },
    });
    const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', ...FAST });
    await stream.ingest(rows(0, 2));
    assert.equal(server.creates.length, 2);
    assert.equal(stream.metrics().lastError?.code, 'PROTOCOL');
  });

  it('waits for room when the in-flight limit is full, then admits in order', async () => {
    const held: { offset: number; call: import('./fake-server').FakeCall }[] = [];
    server = await startFakeServer({ onIngest: ({ offset, call }) => void held.push({ offset, call }) });
    const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', maxInflightRecords: 4, ...FAST });
    const done: number[] = [];
    const a = stream.ingest(rows(0, 3)).then(() => done.push(0));
    const b = stream.ingest(rows(3, 3)).then(() => done.push(1));
    assert.equal(stream.hasCapacity(), false);
    // once the first request reached the server, the client has written all it was allowed to
    await waitFor('the first request at the server', () => server!.received.length >= 1);
    assert.equal(stream.metrics().requestsSent, 1, 'the second call waits without being written');
    assert.equal(server.received.length, 1, 'the second call waits without being sent');
    assert.equal(stream.metrics().recordsInFlight, 6);
    held[0].call.write({ ingest_record_response: { durability_ack_up_to_offset: 0 } });
    await a;
    await waitFor('the second call sent once there was room', () => server!.received.length === 2);
    held[1].call.write({ ingest_record_response: { durability_ack_up_to_offset: 1 } });
    await b;
    assert.deepEqual(done, [0, 1]);
    assert.equal(stream.hasCapacity(), true);
  });

  it('splits an ingest call into requests under maxRequestBytes', async () => {
    server = await startFakeServer();
    const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', maxRequestBytes: 2048, ...FAST });
    const big = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, pad: 'x'.repeat(200) }));
    await stream.ingest(big);
    assert.ok(server.received.length >= 5, `${server.received.length} requests`);
    assert.deepEqual(server.received.flatMap((r) => r.records), big);
    assert.deepEqual(server.received.map((r) => r.offset), server.received.map((_, i) => i));
    await assert.rejects(stream.ingest(['x'.repeat(5000)]), (e: ZerobusError) => e.code === 'INVALID_ARGUMENT' && !e.retryable);
    assert.equal(stream.state, 'open', 'an oversize record fails alone');
  });

  it('a fixed token rejected with UNAUTHENTICATED fails the stream and rejects pending ingests', async () => {
    server = await startFakeServer({
      onCreate: ({ call }) => {
        call.emit('error', { code: status.UNAUTHENTICATED, details: 'bad token' });
        return true;
      },
    });
    const stream = connect(server).createStream({ table: 'main.ot.t', recordType: 'json', ...FAST });
    const errs: ZerobusError[] = [];
    stream.on('error', (e: ZerobusError) => errs.push(e));
    await assert.rejects(stream.ingest(rows(0, 2)), (e: ZerobusError) => e.code === 'UNAUTHENTICATED' && /bearer token/.test(e.hint));
    assert.equal(stream.state, 'failed');
    assert.equal(errs.length, 1);
    await assert.rejects(stream.ingest(rows(2, 1)), /UNAUTHENTICATED/);
    await stream.close();
  });
});
