import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { startEmulator, type Emulator } from '../../../lib/emulator';
import { OT_SQL, OT_TABLE, RawClient, otProto } from './raw-client';

const ID = 'sp-client-id';
const SECRET = 'sp-secret-value';

function details(table: string): string {
  const [catalog, schema] = table.split('.');
  return JSON.stringify([
    { type: 'unity_catalog_privileges', privileges: ['USE CATALOG'], object_type: 'CATALOG', object_full_path: catalog },
    { type: 'unity_catalog_privileges', privileges: ['USE SCHEMA'], object_type: 'SCHEMA', object_full_path: `${catalog}.${schema}` },
    { type: 'unity_catalog_privileges', privileges: ['SELECT', 'MODIFY'], object_type: 'TABLE', object_full_path: table, operations: ['zerobuswrite'] },
  ]);
}

function form(table = OT_TABLE, overrides: Record<string, string | null> = {}): string {
  const fields: Record<string, string | null> = {
    grant_type: 'client_credentials',
    scope: 'all-apis',
    resource: 'api://databricks/workspaces/127/zerobusDirectWriteApi',
    authorization_details: details(table),
    ...overrides,
  };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== null) p.set(k, v);
  return p.toString();
}

async function tokenRequest(emu: Emulator, body: string, creds: [string, string] | null = [ID, SECRET], type = 'application/x-www-form-urlencoded') {
  const headers: Record<string, string> = { 'content-type': type };
  if (creds) headers.authorization = 'Basic ' + Buffer.from(`${creds[0]}:${creds[1]}`).toString('base64');
  const res = await fetch(`${emu.workspaceUrl}/oidc/v1/token`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('emulator: OAuth token endpoint and token checks', () => {
  let emu: Emulator;
  let client: RawClient;

  beforeEach(async () => {
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL, 'CREATE TABLE main.ot.other (x INT)'], clientId: ID, clientSecret: SECRET });
    client = new RawClient(emu.endpoint);
  });
  afterEach(async () => {
    client.close();
    await emu.stop();
  });

  it('issues a large opaque bearer token for one table, valid for an hour', async () => {
    const res = await tokenRequest(emu, form());
    assert.equal(res.status, 200);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 3600);
    const token = res.body.access_token as string;
    assert.ok(token.length >= 1024, 'tokens are multi-kB like real ones');
    assert.notEqual((await tokenRequest(emu, form())).body.access_token, token, 'every token is new');
    assert.equal(emu.stats().tokensIssued, 2);

    const s = client.open({ authorization: `Bearer ${token}` }).create();
    await s.created();
    s.write({ ingest_record: { offset_id: 0, proto_encoded_record: otProto(1) } });
    await s.ackedUpTo(0);
    s.end();
    assert.equal((await s.status).code, Status.OK);
  });

  it('answers 401 for wrong or missing client credentials', async () => {
    for (const creds of [[ID, 'wrong'], ['other', SECRET], null] as ([string, string] | null)[]) {
      const res = await tokenRequest(emu, form(), creds);
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_client');
      assert.ok(!JSON.stringify(res.body).includes(SECRET), 'no secret in errors');
    }
  });

  it('answers 400 for a malformed form', async () => {
    const cases: [string, string, string?][] = [
      [form(OT_TABLE, { grant_type: 'password' }), 'unsupported_grant_type'],
      [form(OT_TABLE, { scope: 'sql' }), 'invalid_scope'],
      [form(OT_TABLE, { resource: 'api://elsewhere' }), 'invalid_target'],
      [form(OT_TABLE, { authorization_details: null }), 'invalid_request'],
      [form(OT_TABLE, { authorization_details: '{not json' }), 'invalid_request'],
      [form(OT_TABLE, { authorization_details: '[{"object_type":"CATALOG","object_full_path":"main"}]' }), 'invalid_request'],
      [form('main.ot'), 'invalid_request'],
      [form(), 'invalid_request', 'application/json'],
    ];
    for (const [body, error, type] of cases) {
      const res = await tokenRequest(emu, body, [ID, SECRET], type);
      assert.equal(res.status, 400, `${error}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, error);
    }
    const get = await fetch(`${emu.workspaceUrl}/oidc/v1/token`);
    assert.equal(get.status, 405);
  });

  it('enforces tokens: unknown ⇒ UNAUTHENTICATED, other table ⇒ PERMISSION_DENIED, expired ⇒ UNAUTHENTICATED', async () => {
    const unknown = client.open({ authorization: 'Bearer made-up' }).create();
    assert.equal((await unknown.status).code, Status.UNAUTHENTICATED);

    const otherToken = (await tokenRequest(emu, form('main.ot.other'))).body.access_token as string;
    const wrongTable = client.open({ authorization: `Bearer ${otherToken}` }).create();
    const st = await wrongTable.status;
    assert.equal(st.code, Status.PERMISSION_DENIED);
    assert.match(st.details, /scoped to table main\.ot\.other/);
    assert.ok(!st.details.includes(otherToken), 'no token in errors');

    const token = (await tokenRequest(emu, form())).body.access_token as string;
    emu.faults.expireTokens();
    const expired = client.open({ authorization: `Bearer ${token}` }).create();
    const est = await expired.status;
    assert.equal(est.code, Status.UNAUTHENTICATED);
    assert.match(est.details, /expired/);
    // a fresh token works again
    const fresh = (await tokenRequest(emu, form())).body.access_token as string;
    const ok = client.open({ authorization: `Bearer ${fresh}` }).create();
    await ok.created();
    ok.end();
    assert.equal((await ok.status).code, Status.OK);
  });

  it('without OAuth configured: any Basic credentials get a token and any bearer token opens a stream', async () => {
    await emu.stop();
    emu = await startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: [OT_SQL] });
    client.close();
    client = new RawClient(emu.endpoint);
    const res = await tokenRequest(emu, form(), ['anyone', 'anything']);
    assert.equal(res.status, 200);
    const s = client.open({ authorization: 'Bearer whatever-pat' }).create();
    await s.created();
    s.end();
    assert.equal((await s.status).code, Status.OK);
    // tokens it issued are still checked for their table
    const scoped = client.open({ authorization: `Bearer ${res.body.access_token}`, table: 'main.ot.other' }).create({ table: 'main.ot.other', recordType: 2 });
    assert.equal((await scoped.status).code, Status.PERMISSION_DENIED);
  });
});
