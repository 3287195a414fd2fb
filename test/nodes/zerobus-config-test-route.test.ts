/**
 * The Test connection admin route as an attacker with `zerobus-config.write` would use it: URLs
 * of their choosing with the deployed secret (the editor's placeholder), `${ENV}` references and
 * environment fallbacks, ids of nodes that are not a zerobus-config, and a server that answers
 * with text the route must not reflect.
 */
import assert from 'node:assert/strict';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Emulator } from '../../lib/emulator';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import { CLIENT_ID, CLIENT_SECRET, nodeHelper as helper, OT_TABLE, startTestEmulator } from '../lib/sink/helpers';

type Msg = Record<string, any>;
const OTHER_SECRET = 'mqtt-password-of-another-node-42';
const REFLECTED = 'INTERNAL-PAGE-CONTENT-7f3a';

describe('zerobus-config: Test connection refuses to carry secrets elsewhere', function () {
  this.timeout(20_000);
  let emu: Emulator;
  let capture: http.Server;
  let captureUrl: string;
  const captured: string[] = [];

  beforeEach(async () => {
    emu = await startTestEmulator();
    captured.length = 0;
    capture = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        captured.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(REFLECTED);
      });
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
    await helper.startServer();
    await helper.load([configNode], [
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
      { id: 'other', type: 'helper' },
      { id: 'unset', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
    ], {
      cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      other: { clientSecret: OTHER_SECRET, token: OTHER_SECRET },
      unset: { clientId: CLIENT_ID, clientSecret: '${ZB_UNSET_SECRET}' },
    });
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    capture.closeAllConnections();
    await new Promise<void>((r) => capture.close(() => r()));
    delete process.env.ZB_CAPTURE;
    delete process.env.ZB_TEST_SECRET;
    delete process.env.DATABRICKS_CLIENT_SECRET;
  });

  async function test(body: Record<string, unknown>): Promise<Msg> {
    const res = await helper.request().post('/zerobus/test')
      .send({ id: 'cfg', table: OT_TABLE, endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth', clientId: CLIENT_ID, clientSecret: '__PWRD__', ...body })
      .expect(200);
    const text = JSON.stringify(res.body);
    for (const s of [CLIENT_SECRET, OTHER_SECRET, REFLECTED]) assert.ok(!text.includes(s), `${s} in ${text}`);
    return res.body;
  }

  function nothingSentThere(): void {
    assert.deepEqual(captured, [], 'the server at the request\'s URL got a request');
  }

  it('uses the deployed secret only with the deployed URLs', async () => {
    assert.equal((await test({})).ok, true);
    const elsewhere = await test({ workspaceUrl: captureUrl });
    assert.equal(elsewhere.code, 'SECRET_ELSEWHERE');
    assert.match(elsewhere.hint, /deploy/);
    assert.equal((await test({ endpoint: captureUrl })).code, 'SECRET_ELSEWHERE');
    nothingSentThere();
  });

  it('uses deployed credentials only of a zerobus-config node', async () => {
    const r = await test({ id: 'other', workspaceUrl: captureUrl, endpoint: captureUrl });
    assert.equal(r.code, 'NOT_DEPLOYED');
    assert.equal((await test({ id: 'other', authType: 'token', token: '__PWRD__', endpoint: captureUrl })).code, 'NOT_DEPLOYED');
    nothingSentThere();
  });

  it('never reads ${ENV} references or environment fallbacks for URLs the request names', async () => {
    process.env.ZB_CAPTURE = captureUrl;
    process.env.ZB_TEST_SECRET = CLIENT_SECRET;
    process.env.DATABRICKS_CLIENT_SECRET = CLIENT_SECRET;
    // a reference stands for the deployed value: the deployed workspace is tested, not the variable's URL
    assert.equal((await test({ workspaceUrl: '${ZB_CAPTURE}' })).ok, true);
    const notDeployed = await test({ id: 'nope', workspaceUrl: captureUrl, clientSecret: '${ZB_TEST_SECRET}' });
    assert.equal(notDeployed.code, 'ENV_NOT_DEPLOYED');
    const noFallback = await test({ id: undefined, workspaceUrl: captureUrl, endpoint: 'https://1234.zerobus.example.invalid', clientSecret: '' });
    assert.equal(noFallback.code, 'CONFIG');
    assert.match(noFallback.message, /client secret is not set/);
    nothingSentThere();
  });

  it('never sends an unresolved ${VAR} as the secret: a configuration error', async () => {
    delete process.env.ZB_UNSET_SECRET;
    const r = await test({ id: 'unset' });
    assert.equal(r.code, 'CONFIG');
    assert.match(r.message, /variable that is not set/);
    assert.equal(emu.stats().tokensIssued, 0);
    const typed = await test({ id: undefined, clientSecret: '${ZB_UNSET_SECRET}' });
    assert.equal(typed.code, 'ENV_NOT_DEPLOYED');
  });

  it('shows the kind of a failure, never what the server answered', async () => {
    const r = await test({ id: undefined, workspaceUrl: captureUrl, clientSecret: 'typed-in-the-dialog' });
    assert.equal(r.code, 'BAD_CREDENTIALS');
    assert.equal(r.detail, 'TOKEN_REJECTED · HTTP 400');
    assert.equal(captured.length, 1, 'a secret typed in the dialog goes where the dialog says');
  });
});
