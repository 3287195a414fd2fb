import assert from 'node:assert/strict';
import * as http2 from 'http2';
import * as net from 'net';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { MAX_MESSAGE_BYTES } from '../../../lib/zerobus/protocol';
import { OT_SQL, OT_TABLE, RawClient, encodeRequest, otJson, otProto, otRow } from './raw-client';

/** A misbehaving client never takes the emulator down: after each abuse a normal stream still works. */
describe('emulator: robustness against misbehaving clients', () => {
  let emu: Emulator;
  let client: RawClient;

  beforeEach(async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL] });
    client = new RawClient(emu.endpoint);
  });
  afterEach(async () => {
    client.close();
    await emu.stop();
  });

  async function stillServes(i = 1000): Promise<void> {
    const c = new RawClient(emu.endpoint);
    const s = c.open().create();
    await s.created();
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(i) } });
    await s.ackedUpTo(0);
    s.end();
    assert.equal((await s.status).code, Status.OK);
    c.close();
  }

  it('garbage request bytes: INVALID_ARGUMENT, as first message and mid-stream', async () => {
    const first = client.openRaw().write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01, 0x02]));
    const st = await first.status;
    assert.equal(st.code, Status.INVALID_ARGUMENT);
    assert.match(st.details, /not a valid EphemeralStreamRequest/);

    const mid = client.openRaw();
    mid.write(encodeRequest({ create_stream: { table_name: OT_TABLE, record_type: 2 } }));
    await mid.created();
    mid.write(Buffer.from('\x1a\x7fgarbage'));
    assert.equal((await mid.status).code, Status.INVALID_ARGUMENT);
    await stillServes();
  });

  it('a request over 10 MB gets an explicit INVALID_ARGUMENT (not RESOURCE_EXHAUSTED), nothing stored', async () => {
    const s = client.open().create({ recordType: 2 });
    await s.created();
    const big = JSON.stringify({ ...otRow(1), string_value: 'x'.repeat(MAX_MESSAGE_BYTES + 1000) });
    s.write({ ingest_record: { offset_id: 0, json_record: big } });
    const st = await s.status;
    assert.equal(st.code, Status.INVALID_ARGUMENT);
    assert.match(st.details, /exceeds the maximum message size/);
    assert.equal(emu.allRows(OT_TABLE).length, 0);
    await stillServes();
  });

  it('abrupt disconnects mid-stream (socket destroyed) leave the emulator serving', async () => {
    for (let round = 0; round < 3; round++) {
      const c = new RawClient(emu.endpoint);
      const s = c.open().create();
      await s.created();
      for (let i = 0; i < 20; i++) s.write({ ingest_record: { offset_id: i, proto_encoded_record: otProto(i) } });
      c.close();
      s.call.cancel();
      await s.status;
    }
    await stillServes();
    assert.equal(emu.stats().streamsOpen, 0);
  });

  it('raw TCP garbage and a bare HTTP/2 session that resets the stream', async () => {
    await new Promise<void>((resolve) => {
      const sock = net.connect(emu.grpcPort, '127.0.0.1', () => {
        sock.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage'));
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 50);
      });
      sock.on('error', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const session = http2.connect(emu.endpoint);
      session.on('error', () => undefined);
      const req = session.request({ ':method': 'POST', ':path': '/databricks.zerobus.Zerobus/EphemeralStream', 'content-type': 'application/grpc' });
      req.on('error', () => undefined);
      // a frame header announcing 1 MB, then only a few bytes, then RST_STREAM
      req.write(Buffer.from([0, 0, 0x10, 0, 0, 1, 2, 3]));
      setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        session.destroy();
        resolve();
      }, 50);
    });
    await stillServes();
  });

  it('unknown method paths get UNIMPLEMENTED and the HTTP port survives bad requests', async () => {
    const st = await new Promise<number>((resolve) => {
      const session = http2.connect(emu.endpoint);
      session.on('error', () => undefined);
      const req = session.request({ ':method': 'POST', ':path': '/databricks.zerobus.Zerobus/Nope', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('response', (headers) => {
        const status = headers['grpc-status'];
        if (status !== undefined) {
          session.destroy();
          resolve(Number(status));
        }
      });
      req.on('trailers', (t) => {
        session.destroy();
        resolve(Number(t['grpc-status']));
      });
      req.end();
    });
    assert.equal(st, Status.UNIMPLEMENTED);
    await new Promise<void>((resolve) => {
      const sock = net.connect(emu.httpPort, '127.0.0.1', () => sock.end('\x16\x03\x01garbage\r\n\r\n'));
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
    const res = await fetch(`${emu.workspaceUrl}/api/stats`);
    assert.equal(res.status, 200);
  });

  it('many concurrent streams with bad and good records only lose the bad requests', async () => {
    const streams = Array.from({ length: 12 }, (_, k) => {
      const s = client.open().create({ recordType: 2 });
      return { s, bad: k % 3 === 0, k };
    });
    await Promise.all(streams.map(({ s }) => s.created()));
    for (const { s, bad, k } of streams) {
      s.write({ ingest_record: { offset_id: 0, json_record: otJson(k) } });
      s.write({ ingest_record: { offset_id: 1, json_record: bad ? '{"event_id": 5}' : otJson(100 + k) } });
      s.end();
    }
    const statuses = await Promise.all(streams.map(({ s }) => s.status));
    statuses.forEach((st, k) => assert.equal(st.code, k % 3 === 0 ? Status.INVALID_ARGUMENT : Status.OK));
    assert.equal(emu.allRows(OT_TABLE).length, 12 + 8);
  });
});
