import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { OT_SQL, OT_TABLE, RawClient, otJson, otProto, otRow } from './raw-client';

const ROWS_FILE = (dir: string) => path.join(dir, 'tables', `${OT_TABLE}.jsonl`);

async function ingest(emu: Emulator, first: number, count: number, batch = 10): Promise<void> {
  const client = new RawClient(emu.endpoint);
  const s = client.open().create();
  await s.created();
  let offset = 0;
  for (let i = first; i < first + count; i += batch) {
    const records = [];
    for (let k = i; k < Math.min(first + count, i + batch); k++) records.push(otProto(k));
    s.write({ ingest_record_batch: { offset_id: offset++, proto_encoded_batch: { records } } });
  }
  s.end();
  assert.equal((await s.status).code, Status.OK);
  assert.equal(s.acks().at(-1), offset - 1);
  client.close();
}

describe('emulator: durable storage under dataDir', () => {
  let dir: string;
  let schemaFile: string;
  let emu: Emulator | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zerobus-emu-data-'));
    schemaFile = path.join(dir, 'schema.sql');
    fs.writeFileSync(schemaFile, OT_SQL);
  });
  afterEach(async () => {
    await emu?.stop();
    emu = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acked row across a restart, with or without the schema file', async () => {
    const dataDir = path.join(dir, 'data');
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir, schemaFiles: [schemaFile] });
    await ingest(emu, 0, 95);
    await emu.stop();

    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir, schemaFiles: [schemaFile] });
    assert.deepEqual(emu.tables(), [{ name: OT_TABLE, rowCount: 95 }]);
    assert.deepEqual(emu.allRows(OT_TABLE), Array.from({ length: 95 }, (_, i) => otRow(i)));
    await ingest(emu, 95, 5);
    await emu.stop();

    // no --schema: the table definition was kept in the data dir
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir });
    assert.deepEqual(emu.tables(), [{ name: OT_TABLE, rowCount: 100 }]);
    assert.deepEqual(emu.rows(OT_TABLE, { limit: 2 }), [otRow(99), otRow(98)]);
    assert.equal(emu.stats().rowsTotal, 100);
    assert.ok(fs.existsSync(path.join(dataDir, 'tables', `${OT_TABLE}.sql`)));
  });

  it('acks only rows that are already in the file', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir, schemaSql: [OT_SQL] });
    const client = new RawClient(emu.endpoint);
    const s = client.open().create({ recordType: 2 });
    await s.created();
    const linesAtAck: number[] = [];
    s.call.on('data', (m) => {
      if (m.ingest_record_response) linesAtAck.push(fs.readFileSync(ROWS_FILE(dir), 'utf8').split('\n').filter(Boolean).length);
    });
    for (let i = 0; i < 20; i++) s.write({ ingest_record_batch: { offset_id: i, json_batch: { records: [otJson(2 * i), otJson(2 * i + 1)] } } });
    await s.ackedUpTo(19);
    const acks = s.acks();
    acks.forEach((offset, k) => assert.ok(linesAtAck[k] >= (offset + 1) * 2, `ack ${offset} came with ${linesAtAck[k]} rows on disk`));
    s.end();
    await s.status;
    client.close();
  });

  it('cuts off a torn last line left by a crash and keeps the rest', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir, schemaSql: [OT_SQL] });
    await ingest(emu, 0, 3);
    await emu.stop();
    fs.appendFileSync(ROWS_FILE(dir), '{"event_id":"half');
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir });
    assert.equal(emu.tables()[0].rowCount, 3);
    await ingest(emu, 3, 1);
    assert.deepEqual(emu.allRows(OT_TABLE), [0, 1, 2, 3].map(otRow));
    assert.ok(fs.readFileSync(ROWS_FILE(dir), 'utf8').endsWith('}\n'));
  });

  it('keeps only the newest rows in memory but all of them on disk', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir, schemaSql: [OT_SQL], maxRowsInMemory: 7 });
    await ingest(emu, 0, 30);
    assert.equal(emu.rows(OT_TABLE, { limit: 100 }).length, 7);
    assert.deepEqual(emu.rows(OT_TABLE, { limit: 1 }), [otRow(29)]);
    assert.equal(emu.allRows(OT_TABLE).length, 30);
    await emu.stop();
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir, maxRowsInMemory: 7 });
    assert.deepEqual(emu.rows(OT_TABLE, { limit: 100 }), Array.from({ length: 7 }, (_, i) => otRow(29 - i)));
  });

  it('memory mode caps the rows it keeps but counts them all', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], maxRowsInMemory: 5 });
    await ingest(emu, 0, 12);
    assert.deepEqual(emu.tables(), [{ name: OT_TABLE, rowCount: 12 }]);
    assert.deepEqual(emu.allRows(OT_TABLE), [7, 8, 9, 10, 11].map(otRow));
  });

  it('clearTable empties memory and file', async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, dataDir: dir, schemaSql: [OT_SQL] });
    await ingest(emu, 0, 4);
    await emu.clearTable(OT_TABLE);
    assert.equal(emu.tables()[0].rowCount, 0);
    assert.equal(fs.readFileSync(ROWS_FILE(dir), 'utf8'), '');
    await ingest(emu, 4, 1);
    assert.deepEqual(emu.allRows(OT_TABLE), [otRow(4)]);
  });

  it('refuses an unreadable schema file or bad DDL with a clear error', async () => {
    await assert.rejects(startEmulator({ grpcPort: 0, httpPort: 0, schemaFiles: [path.join(dir, 'missing.sql')] }), /cannot read schema file .*missing\.sql/);
    const bad = path.join(dir, 'bad.sql');
    fs.writeFileSync(bad, 'CREATE TABLE a.b.c (x WHAT)');
    await assert.rejects(startEmulator({ grpcPort: 0, httpPort: 0, schemaFiles: [bad] }), /bad\.sql: unsupported data type WHAT \(line 1, column 23\)/);
  });
});
