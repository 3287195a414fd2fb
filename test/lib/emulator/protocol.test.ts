import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { descriptorForTable, parseCreateTables } from '../../../lib/schema';
import { OT_DESCRIPTOR, OT_SQL, OT_TABLE, RawClient, otJson, otProto, otRow } from './raw-client';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('emulator: EphemeralStream protocol', () => {
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

  it('creates a PROTO stream, stores single and batch records, acks cumulatively and ends OK on half-close', async () => {
    const s = client.open().create();
    assert.match(await s.created(), UUID);
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
    s.write({ ingest_record_batch: { offset_id: 1, proto_encoded_batch: { records: [otProto(1), otProto(2), otProto(3)] } } });
    s.write({ ingest_record: { offset_id: 2, proto_encoded_record: otProto(4) } });
    await s.ackedUpTo(2);
    s.end();
    const st = await s.status;
    assert.equal(st.code, Status.OK);
    assert.deepEqual(s.responses[0].create_stream_response?.stream_id !== undefined, true, 'the create response comes first');
    const acks = s.acks();
    assert.deepEqual([...acks].sort((a, b) => a - b), acks, 'acks never go down');
    assert.ok(acks.every((a) => a <= 2));
    assert.deepEqual(emu.allRows(OT_TABLE), [0, 1, 2, 3, 4].map(otRow));
    assert.deepEqual(emu.rows(OT_TABLE, { limit: 2 }), [otRow(4), otRow(3)]);
    assert.equal(emu.stats().rowsTotal, 5);
    assert.equal(emu.stats().streamsTotal, 1);
  });

  it('JSON streams: single and batch, no descriptor; rows stored without NULL columns', async () => {
    const s = client.open().create({ recordType: 2 });
    await s.created();
    const withNull = JSON.stringify({ ...otRow(1), string_value: null });
    s.write({ ingest_record: { offset_id: 0, json_record: otJson(0) } });
    s.write({ ingest_record_batch: { offset_id: 1, json_batch: { records: [withNull, otJson(2)] } } });
    s.end();
    assert.equal((await s.status).code, Status.OK);
    assert.deepEqual(s.acks().at(-1), 1, 'outstanding acks are sent before the end');
    assert.deepEqual(emu.allRows(OT_TABLE), [otRow(0), otRow(1), otRow(2)]);
  });

  it('record_type absent means PROTO', async () => {
    const s = client.open().create({ recordType: null });
    await s.created();
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(7) } });
    await s.ackedUpTo(0);
    s.end();
    assert.equal((await s.status).code, Status.OK);
    assert.deepEqual(emu.allRows(OT_TABLE), [otRow(7)]);
  });

  it('gives every stream its own id and offsets that restart at 0', async () => {
    const a = client.open().create();
    const b = client.open().create({ recordType: 2 });
    const [ida, idb] = await Promise.all([a.created(), b.created()]);
    assert.notEqual(ida, idb);
    a.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(1) } });
    b.write({ ingest_record: { offset_id: 0, json_record: otJson(2) } });
    await Promise.all([a.ackedUpTo(0), b.ackedUpTo(0)]);
    assert.equal(emu.stats().streamsOpen, 2);
    a.end();
    b.end();
    await Promise.all([a.status, b.status]);
    assert.equal(emu.tables()[0].rowCount, 2);
  });

  it('accepts an empty batch and acks it', async () => {
    const s = client.open().create();
    await s.created();
    s.write({ ingest_record_batch: { offset_id: 0, proto_encoded_batch: { records: [] } } });
    await s.ackedUpTo(0);
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('tolerates a CANCEL at any time and keeps what was stored', async () => {
    const s = client.open().create();
    await s.created();
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
    await s.ackedUpTo(0);
    s.call.cancel();
    assert.equal((await s.status).code, Status.CANCELLED);
    const early = client.open();
    early.call.cancel();
    await early.status;
    // the emulator still serves new streams
    const again = client.open().create();
    await again.created();
    again.end();
    assert.equal((await again.status).code, Status.OK);
    assert.equal(emu.allRows(OT_TABLE).length, 1);
    assert.equal(emu.stats().streamsOpen, 0);
  });

  it('rotates a stream: CloseStreamSignal{duration}, then UNAVAILABLE after that duration', async () => {
    await emu.stop();
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], streamMaxAgeMs: 50, closeSignalDurationMs: 120 });
    client.close();
    client = new RawClient(emu.endpoint);
    const s = client.open().create();
    await s.created();
    const signal = await s.waitFor((r) => r.close_stream_signal != null, 'close signal');
    const d = signal.close_stream_signal!.duration!;
    assert.equal(Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6, 120);
    // still served during the announced duration
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
    await s.ackedUpTo(0);
    const st = await s.status;
    assert.equal(st.code, Status.UNAVAILABLE);
    assert.match(st.details, /Stream timeout reached/);
    assert.equal(emu.allRows(OT_TABLE).length, 1);
  });

  it('stop() ends open streams with UNAVAILABLE after acking what is stored', async () => {
    const s = client.open().create();
    await s.created();
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
    await s.ackedUpTo(0);
    const waiting = client.open();
    await emu.stop();
    assert.equal((await s.status).code, Status.UNAVAILABLE);
    assert.notEqual((await waiting.status).code, Status.OK);
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL] }); // for afterEach
  });

  describe('status codes', () => {
    async function expectStatus(s: ReturnType<RawClient['open']>, code: number, pattern: RegExp): Promise<void> {
      const st = await s.status;
      assert.equal(st.code, code, `expected ${Status[code]}, got ${Status[st.code]}: ${st.details}`);
      assert.match(st.details, pattern);
    }

    it('INVALID_ARGUMENT when the first message is not create_stream', async () => {
      const s = client.open().write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
      await expectStatus(s, Status.INVALID_ARGUMENT, /first message must be CreateStream/);
    });

    it('INVALID_ARGUMENT for a second create_stream', async () => {
      const s = client.open().create();
      await s.created();
      s.create();
      await expectStatus(s, Status.INVALID_ARGUMENT, /only once/);
    });

    it('INVALID_ARGUMENT for an explicit RECORD_TYPE_UNSPECIFIED or an unknown record type', async () => {
      await expectStatus(client.open().create({ recordType: 0 }), Status.INVALID_ARGUMENT, /record_type 0/);
      await expectStatus(client.open().create({ recordType: 9 }), Status.INVALID_ARGUMENT, /record_type/);
    });

    it('INVALID_ARGUMENT without table_name', async () => {
      await expectStatus(client.open().write({ create_stream: { record_type: 2 } }), Status.INVALID_ARGUMENT, /table_name is required/);
    });

    it('NOT_FOUND for an unknown table', async () => {
      const s = client.open({ table: 'main.ot.nope' }).create({ table: 'main.ot.nope', recordType: 2 });
      await expectStatus(s, Status.NOT_FOUND, /main\.ot\.nope/);
    });

    it('INVALID_ARGUMENT when the table header is missing or differs from table_name', async () => {
      await expectStatus(client.open({ table: null }).create(), Status.INVALID_ARGUMENT, /x-databricks-zerobus-table-name/);
      await expectStatus(client.open({ table: 'main.ot.other' }).create(), Status.INVALID_ARGUMENT, /does not match/);
      const caseOnly = client.open({ table: 'MAIN.OT.TAG_EVENTS' }).create();
      await caseOnly.created();
      caseOnly.end();
      assert.equal((await caseOnly.status).code, Status.OK);
    });

    it('UNAUTHENTICATED without a bearer token', async () => {
      await expectStatus(client.open({ authorization: null }).create(), Status.UNAUTHENTICATED, /authorization/);
      await expectStatus(client.open({ authorization: 'Basic abc' }).create(), Status.UNAUTHENTICATED, /Bearer/);
      await expectStatus(client.open({ authorization: 'Bearer ' }).create(), Status.UNAUTHENTICATED, /authorization/);
    });

    it('INVALID_ARGUMENT for PROTO without a descriptor or with an incompatible one', async () => {
      await expectStatus(client.open().create({ descriptor: null }), Status.INVALID_ARGUMENT, /descriptor_proto is required/);
      await expectStatus(client.open().create({ descriptor: Buffer.from([0xff, 0xff, 0xff]) }), Status.INVALID_ARGUMENT, /descriptor_proto/);
      const other = descriptorForTable(parseCreateTables('CREATE TABLE a.b.c (event_id INT NOT NULL)')[0]);
      await expectStatus(client.open().create({ descriptor: other.descriptorProto }), Status.INVALID_ARGUMENT, /event_id/);
    });

    it('INVALID_ARGUMENT for offsets out of order or missing, nothing stored', async () => {
      const s = client.open().create();
      await s.created();
      s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(0) } });
      s.write({ ingest_record: { offset_id: 2, proto_encoded_record: otProto(2) } });
      await expectStatus(s, Status.INVALID_ARGUMENT, /offset_id 2 is out of order: expected 1/);
      assert.deepEqual(emu.allRows(OT_TABLE), [otRow(0)]);

      const noOffset = client.open().create();
      await noOffset.created();
      noOffset.write({ ingest_record: { proto_encoded_record: otProto(1) } });
      await expectStatus(noOffset, Status.INVALID_ARGUMENT, /offset_id is required/);
    });

    it('INVALID_ARGUMENT for a record of the other record type', async () => {
      const s = client.open().create();
      await s.created();
      s.write({ ingest_record: { offset_id: 0, json_record: otJson(0) } });
      await expectStatus(s, Status.INVALID_ARGUMENT, /record type does not match/);
    });

    it('INVALID_ARGUMENT naming the record index and column for a record that does not fit; nothing of the request stored', async () => {
      const cases: [unknown, RegExp][] = [
        [{ ...otRow(1), color: 'red' }, /record 1: column 'color': no such column/],
        [{ ...otRow(1), tag_path: undefined }, /record 1: column 'tag_path': NOT NULL/],
        [{ ...otRow(1), quality_code: 'good' }, /record 1: column 'quality_code': expected INT, got string/],
        [{ ...otRow(1), event_time: 1.5 }, /record 1: column 'event_time': expected TIMESTAMP/],
      ];
      for (const [bad, pattern] of cases) {
        const s = client.open().create({ recordType: 2 });
        await s.created();
        s.write({ ingest_record_batch: { offset_id: 0, json_batch: { records: [otJson(0), JSON.stringify(bad), otJson(2)] } } });
        await expectStatus(s, Status.INVALID_ARGUMENT, pattern);
      }
      const notJson = client.open().create({ recordType: 2 });
      await notJson.created();
      notJson.write({ ingest_record: { offset_id: 0, json_record: '{"event_id": ' } });
      await expectStatus(notJson, Status.INVALID_ARGUMENT, /record 0: not valid JSON/);

      const proto = client.open().create();
      await proto.created();
      const missing = Buffer.from(OT_DESCRIPTOR.messageType.encode({ event_id: 'x', tag_path: 'p', ingestion_timestamp: 1 }).finish());
      proto.write({ ingest_record_batch: { offset_id: 0, proto_encoded_batch: { records: [otProto(0), missing] } } });
      await expectStatus(proto, Status.INVALID_ARGUMENT, /record 1: column 'event_time': NOT NULL/);

      const garbage = client.open().create();
      await garbage.created();
      garbage.write({ ingest_record: { offset_id: 0, proto_encoded_record: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]) } });
      await expectStatus(garbage, Status.INVALID_ARGUMENT, /record 0: not a valid OtEvent message/);

      assert.equal(emu.allRows(OT_TABLE).length, 0);
      assert.ok(emu.stats().rejectedTotal >= 12);
    });
  });
});
