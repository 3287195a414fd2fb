import assert from 'node:assert/strict';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { officialSdk as sdk, OFFICIAL_ID as ID, OFFICIAL_SECRET as SECRET } from './official-sdk';
import { OT_DESCRIPTOR, OT_SQL, OT_TABLE, otJson, otProto, otRow } from './raw-client';

/**
 * Databricks' own SDK (the official native binary) as an independent client of the emulator:
 * if it can open streams, ingest and get acks here, the emulator speaks the real protocol.
 */

const OPTIONS = { recoveryRetries: 0, recoveryTimeoutMs: 5000, flushTimeoutMs: 10_000 };

describe('emulator: the official Databricks Zerobus SDK as client', () => {
  let emu: Emulator;

  beforeEach(async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL], clientId: ID, clientSecret: SECRET });
  });
  afterEach(async () => {
    await emu.stop();
  });

  it('PROTO with OAuth: single and batch ingest, waitForOffset, flush, close; rows stored exactly', async () => {
    const z = new sdk.ZerobusSdk(emu.endpoint, emu.workspaceUrl);
    const stream = await z.createStream(
      { tableName: OT_TABLE, descriptorProto: OT_DESCRIPTOR.descriptorProto.toString('base64') },
      ID,
      SECRET,
      { ...OPTIONS, recordType: sdk.RecordType.Proto },
    );
    const first = await stream.ingestRecordOffset(otProto(0));
    const batch = await stream.ingestRecordsOffset([1, 2, 3, 4].map(otProto));
    const last = await stream.ingestRecordOffset(otProto(5));
    assert.equal(first, 0n);
    assert.equal(batch, 1n);
    assert.equal(last, 2n);
    await stream.waitForOffset(batch!);
    await stream.flush();
    await stream.close();
    assert.deepEqual(emu.allRows(OT_TABLE), [0, 1, 2, 3, 4, 5].map(otRow));
    assert.equal(emu.stats().tokensIssued, 1);
  });

  it('JSON with OAuth: single and batch ingest; rows stored exactly', async () => {
    const z = new sdk.ZerobusSdk(emu.endpoint, emu.workspaceUrl);
    const stream = await z.createStream({ tableName: OT_TABLE }, ID, SECRET, { ...OPTIONS, recordType: sdk.RecordType.Json });
    await stream.ingestRecordOffset(otJson(10));
    const offset = await stream.ingestRecordsOffset([11, 12, 13].map(otJson));
    await stream.waitForOffset(offset!);
    await stream.flush();
    await stream.close();
    assert.deepEqual(emu.allRows(OT_TABLE), [10, 11, 12, 13].map(otRow));
  });

  it('with a synchronous headers callback instead of client credentials', async () => {
    const z = new sdk.ZerobusSdk(emu.endpoint, emu.workspaceUrl);
    const res = await fetch(`${emu.workspaceUrl}/oidc/v1/token`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${ID}:${SECRET}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'all-apis',
        resource: 'api://databricks/workspaces/127/zerobusDirectWriteApi',
        authorization_details: JSON.stringify([{ type: 'unity_catalog_privileges', object_type: 'TABLE', object_full_path: OT_TABLE, privileges: ['SELECT', 'MODIFY'] }]),
      }).toString(),
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    const headers = { getHeadersCallback: (): [string, string][] => [['authorization', `Bearer ${token}`], ['x-databricks-zerobus-table-name', OT_TABLE]] };
    const stream = await z.createStream({ tableName: OT_TABLE, descriptorProto: OT_DESCRIPTOR.descriptorProto.toString('base64') }, '', '', { ...OPTIONS, recordType: sdk.RecordType.Proto }, headers);
    await stream.ingestRecordsOffset([20, 21].map(otProto));
    const offset = await stream.ingestRecordOffset(otProto(22));
    await stream.waitForOffset(offset);
    await stream.close();
    assert.deepEqual(emu.allRows(OT_TABLE), [20, 21, 22].map(otRow));
  });

  it('reports the emulator’s errors: unknown table (NOT_FOUND) and bad credentials (401)', async () => {
    const z = new sdk.ZerobusSdk(emu.endpoint, emu.workspaceUrl);
    await assert.rejects(
      z.createStream({ tableName: 'main.ot.missing' }, ID, SECRET, { ...OPTIONS, recordType: sdk.RecordType.Json }),
      /not found/i,
    );
    await assert.rejects(z.createStream({ tableName: OT_TABLE }, ID, 'wrong-secret', { ...OPTIONS, recordType: sdk.RecordType.Json }), /401|token|unauthor/i);
    assert.deepEqual(emu.allRows(OT_TABLE), []);
  });
});
