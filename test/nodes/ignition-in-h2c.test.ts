import assert from 'node:assert/strict';
import type { RequestHandler } from 'express';
import { ev, flowOf, helper, loadFlow, sinkControl } from '../lib/ignition/node-harness';
import type { NodeAPI } from 'node-red';
import { serveH2cOnReceiverRoutes } from '../../nodes/zerobus-ignition-in/http-setup';
import { translator } from '../../nodes/common/i18n';
import { h2cExchange } from '../support/h2c-request';

/**
 * The receiver inside Node-RED's runtime, whose own 'upgrade' listener would otherwise take every
 * request that offers h2c (as Java's HttpClient, behind Ignition's system.net.httpClient(), does).
 */
describe('zerobus-ignition-in: requests offering Upgrade: h2c', function () {
  this.timeout(20_000);
  let port: number;

  async function start(httpNodeRoot: string): Promise<void> {
    sinkControl.reset();
    helper.settings({ httpNodeRoot });
    await helper.startServer();
    const RED = await loadFlow(flowOf({ path: '/gw' }));
    // the helper's server does not mount the node app: mount it where Node-RED would
    (helper as unknown as { _app: { use: (root: string, h: RequestHandler) => void } })._app.use(httpNodeRoot, RED.httpNode as unknown as RequestHandler);
    port = Number(new URL(helper.url()).port);
  }
  beforeEach(() => start('/'));

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    helper.settings({});
  });

  it('answers them on its routes as HTTP/1.1, several on one connection, and emits the events', async () => {
    const answers = await h2cExchange(port, [
      { path: '/gw/ingest/batch', body: JSON.stringify([ev(1), ev(2)]), headers: { 'Content-Type': 'application/json' } },
      { path: '/gw/ingest', body: JSON.stringify(ev(3)), headers: { 'Content-Type': 'application/json' } },
    ]);
    assert.deepEqual(answers.map((a) => a.statuses.at(-1)), [200, 200]);
    assert.deepEqual(answers.map((a) => JSON.parse(a.body).accepted), [2, 1]);
    assert.deepEqual(sinkControl.received.flatMap((m) => (m.payload as { tagPath: string }[]).map((e) => e.tagPath)), ['[default]Line1/Tag1', '[default]Line1/Tag2', '[default]Line1/Tag3']);
  });

  it('warns, naming the cause and the fix, when Node-RED gives it no HTTP server', () => {
    const warnings: string[] = [];
    const RED = { _: (key: string) => key, log: { warn: (m: string) => warnings.push(m) }, settings: {}, httpNode: {} } as unknown as NodeAPI;
    serveH2cOnReceiverRoutes(RED, translator(RED, 'zerobus-ignition-in'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /Upgrade: h2c/);
    assert.match(warnings[0], /version="HTTP_1_1"/);
  });

  it('finds its routes under httpNodeRoot', async () => {
    await helper.unload();
    await helper.stopServer();
    await start('/api');
    const [answer] = await h2cExchange(port, [{ path: '/api/gw/ingest/batch', body: JSON.stringify([ev(4)]), headers: { 'Content-Type': 'application/json' } }]);
    assert.deepEqual(answer.statuses, [100, 200]);
    assert.equal(JSON.parse(answer.body).accepted, 1);
  });
});
