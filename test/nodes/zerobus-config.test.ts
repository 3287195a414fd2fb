import assert from 'node:assert/strict';
import * as net from 'net';
import type { Emulator } from '../../lib/emulator';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import { clientOptionsFrom, isValidEndpoint, plaintextRemoteHost } from '../../nodes/zerobus-config/connection-options';
import { CLIENT_ID, CLIENT_SECRET, nodeHelper as helper, OT_TABLE, startTestEmulator, tempDir } from '../lib/sink/helpers';

type Msg = Record<string, any>;

describe('zerobus-config node', function () {
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };

  beforeEach(async () => {
    emu = await startTestEmulator();
    spool = tempDir('zb-cfg');
    helper.settings({ zerobusOutSpoolDir: spool.dir, zerobusOutCloseTimeout: 500 });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    spool.remove();
    delete process.env.ZB_TEST_SECRET;
  });

  const cfg = (extra: Record<string, unknown> = {}) => ({ id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth', ...extra });
  const out = (id: string, table = OT_TABLE) => ({ id, type: 'zerobus-out', z: 'tab', x: 10, y: 10, connection: 'cfg', table, statsInterval: 0, wires: [[]] });

  describe('shared client', () => {
    it('gives every zerobus-out the same client, and closes it when the last one leaves', async () => {
      await helper.load([configNode, outNode], [{ id: 'tab', type: 'tab' }, cfg(), out('a'), out('b', 'main.plant.readings')], {
        cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      });
      const config = helper.getNode('cfg');
      const a = helper.getNode('a');
      const clientA = config.register(a);
      const clientB = config.register(helper.getNode('b'));
      assert.equal(clientA, clientB, 'one client (one channel, one token cache)');
      await config.deregister(a);
      await config.deregister(helper.getNode('b'));
      await config.deregister(a);
      const fresh = config.register(a);
      assert.notEqual(fresh, clientA, 'a new client after the last user left');
      await config.deregister(a);
    });

    it('warns once when plaintext http:// leaves the machine, not for the local emulator', async () => {
      await helper.load([configNode, outNode], [{ id: 'tab', type: 'tab' }, cfg({ endpoint: 'http://10.9.8.7:50051' }), out('a'), out('b')], {
        cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      });
      const config = helper.getNode('cfg');
      const warnings = config.warn.args.filter((a: unknown[]) => /plaintext http:\/\/ is used for 10\.9\.8\.7/.test(String(a[0])));
      assert.equal(warnings.length, 1);
      assert.equal(plaintextRemoteHost('http://127.0.0.1:1'), undefined);
      assert.equal(plaintextRemoteHost('http://localhost:1'), undefined);
      assert.equal(plaintextRemoteHost('https://example.com'), undefined);
    });

    it('names the missing setting when the credentials are incomplete (a real workspace endpoint)', async () => {
      await helper.load([configNode, outNode], [{ id: 'tab', type: 'tab' }, cfg({ endpoint: 'https://1234.zerobus.us-west-2.cloud.databricks.com' }), out('a')], { cfg: { clientId: CLIENT_ID } });
      const a = helper.getNode('a');
      const status = a.status.args.map((x: unknown[]) => x[0] as Msg);
      assert.ok(status.some((s: Msg) => s.fill === 'red' && /client secret is not set/.test(s.text)), JSON.stringify(status));
    });
  });

  describe('connection settings', () => {
    it('accepts the endpoint forms of docs/DESIGN.md §4.1 and refuses others', () => {
      for (const ok of ['1234567890123456.zerobus.us-west-2.cloud.databricks.com', 'host:443', 'https://host', 'https://host:8443', 'http://127.0.0.1:50051']) {
        assert.ok(isValidEndpoint(ok), ok);
      }
      for (const bad of ['', 'ftp://host', 'https://host/path', 'host name', 'https://']) assert.ok(!isValidEndpoint(bad), bad);
      assert.deepEqual(clientOptionsFrom({ endpoint: 'h', authType: 'oauth', clientId: 'x', clientSecret: 'y' }), { ok: false, problem: 'workspaceUrlMissing' });
      assert.deepEqual(clientOptionsFrom({ endpoint: 'h', workspaceUrl: 'not a url', clientId: 'x', clientSecret: 'y' }), { ok: false, problem: 'workspaceUrlInvalid' });
      assert.deepEqual(clientOptionsFrom({ endpoint: 'h', authType: 'token' }), { ok: false, problem: 'tokenMissing' });
      const built = clientOptionsFrom({ endpoint: 'h', authType: 'token', token: 't' });
      assert.ok(built.ok && built.options.auth.type === 'token');
    });
  });

  describe('Test connection (POST zerobus/test)', () => {
    beforeEach(async () => {
      await helper.load([configNode], [cfg()], { cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    });

    async function test(body: Record<string, unknown>): Promise<Msg> {
      const res = await helper
        .request()
        .post('/zerobus/test')
        .send({ id: 'cfg', table: OT_TABLE, endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...body })
        .expect(200);
      const text = JSON.stringify(res.body);
      for (const secret of [CLIENT_SECRET, 'wrong-secret-9876', 'fixed-token-5555']) assert.ok(!text.includes(secret), `no secret in ${text}`);
      assert.ok(!/Bearer\s+[A-Za-z0-9]/.test(text), 'no bearer token');
      return res.body;
    }

    it('succeeds with good settings', async () => {
      const r = await test({});
      assert.equal(r.ok, true);
      assert.equal(r.code, 'OK');
      assert.match(r.message, /stream to main\.ot\.tag_events opened/);
    });

    it('uses the deployed secret when the dialog still shows the placeholder, and ${ENV} references', async () => {
      assert.equal((await test({ clientSecret: '__PWRD__' })).ok, true);
      process.env.ZB_TEST_SECRET = CLIENT_SECRET;
      assert.equal((await test({ clientSecret: '${ZB_TEST_SECRET}' })).ok, true);
      const notDeployed = await test({ id: 'never-deployed', clientSecret: '__PWRD__' });
      assert.equal(notDeployed.code, 'NOT_DEPLOYED');
      assert.match(notDeployed.hint, /deploy/);
    });

    it('bad secret ⇒ BAD_CREDENTIALS', async () => {
      const r = await test({ clientSecret: 'wrong-secret-9876' });
      assert.equal(r.ok, false);
      assert.equal(r.code, 'BAD_CREDENTIALS');
      assert.match(r.message, /refused the client ID or client secret/);
      assert.match(r.hint, /secret/);
    });

    it('missing grant ⇒ MISSING_GRANT with the GRANT to run', async () => {
      emu.faults.revokeGrant(OT_TABLE, true);
      const r = await test({});
      assert.equal(r.code, 'MISSING_GRANT');
      assert.match(r.hint, /MODIFY/);
    });

    it('unknown table ⇒ UNKNOWN_TABLE; a malformed name ⇒ TABLE_NAME', async () => {
      const r = await test({ table: 'main.ot.no_such_table' });
      assert.equal(r.code, 'UNKNOWN_TABLE');
      assert.match(r.message, /main\.ot\.no_such_table does not exist/);
      assert.equal((await test({ table: 'just_a_table' })).code, 'TABLE_NAME');
    });

    it('unreachable endpoint ⇒ UNREACHABLE', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const r = await test({ endpoint: `http://127.0.0.1:${port}` });
      assert.equal(r.code, 'UNREACHABLE');
      assert.match(r.hint, /firewall|DNS|proxy/i);
      assert.match(r.hint, new RegExp(`TCP port ${port}\\b`), 'the hint names the port in use');
      assert.doesNotMatch(r.hint, /443/);
      assert.doesNotMatch(r.detail ?? '', /Resolution note:\s*$/, `detail "${r.detail}" ends in a dangling label`);
      assert.ok((r.detail ?? '').length > 0, 'the underlying error is still shown');
    });

    it('TLS failure ⇒ TLS', async () => {
      const r = await test({ endpoint: `https://127.0.0.1:${emu.grpcPort}` });
      assert.equal(r.code, 'TLS', JSON.stringify(r));
      assert.match(r.hint, /CA|TLS|certificate/i);
    });

    it('token refused by Zerobus ⇒ UNAUTHENTICATED with the workspace-id hint', async () => {
      const r = await test({ authType: 'token', token: 'fixed-token-5555' });
      assert.equal(r.code, 'UNAUTHENTICATED');
      assert.match(r.hint, /workspace/);
    });

    it('token endpoint failing ⇒ TOKEN_ENDPOINT', async () => {
      emu.faults.tokenEndpointStatus(500);
      const r = await test({});
      assert.equal(r.code, 'TOKEN_ENDPOINT');
    });

    it('incomplete settings ⇒ CONFIG naming the field', async () => {
      const r = await test({ clientId: '', endpoint: 'https://1234.zerobus.us-west-2.cloud.databricks.com' });
      assert.equal(r.code, 'CONFIG');
      assert.match(r.message, /client ID is not set/);
    });

    it('empty credentials work against the local emulator (as the bundled examples are shipped)', async () => {
      const open = await startTestEmulator({ clientId: undefined, clientSecret: undefined });
      try {
        const r = await test({ clientId: '', clientSecret: '', endpoint: open.endpoint, workspaceUrl: open.workspaceUrl });
        assert.equal(r.ok, true, JSON.stringify(r));
      } finally {
        await open.stop();
      }
    });

    it('empty credentials fall back to DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET', async () => {
      emu.faults.reset();
      process.env.DATABRICKS_CLIENT_ID = CLIENT_ID;
      process.env.DATABRICKS_CLIENT_SECRET = 'wrong-secret-9876';
      try {
        const r = await test({ clientId: '', clientSecret: '' });
        // the emulator enforces OAuth here: the wrong secret from the environment proves it was used
        assert.equal(r.code, 'BAD_CREDENTIALS', JSON.stringify(r));
      } finally {
        delete process.env.DATABRICKS_CLIENT_ID;
        delete process.env.DATABRICKS_CLIENT_SECRET;
      }
    });
  });
});
