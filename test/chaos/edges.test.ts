/**
 * Nothing accepted is lost at the edges, from outside, in a real Node-RED process with the
 * emulator: a SIGTERM while zerobus-batch holds events acknowledged with `received` (Zerobus up,
 * then down), a second Node-RED on the same spool folder, and the time to resume after a 10 s
 * outage and after a 401 burst on the token endpoint with the node's default retry settings.
 */
import assert from 'node:assert/strict';
import * as path from 'path';
import { NodeRedProcess } from '../../demo/node-red-process';
import { eventually } from '../support/dist';
import { BATCH_ID, ChaosRig, IN_ID, isAlive, report, scaled, sleep, useChaosRig } from './rig';

/** the ignition → batch → out flow with a batch that holds everything for 30 s, and ack: received */
function holdingFlows(rig: ChaosRig): object[] {
  return rig.flows().map((n) => {
    const node = n as { id: string };
    if (node.id === BATCH_ID) return { ...node, size: 100_000, interval: 30_000 };
    if (node.id === IN_ID) return { ...node, ack: 'received' };
    return node;
  });
}

async function sigterm(rig: ChaosRig): Promise<void> {
  const pid = rig.nodeRed.pid!;
  process.kill(pid, 'SIGTERM');
  await eventually('Node-RED to exit after SIGTERM', async () => !isAlive(pid), 20_000, 100);
  await rig.nodeRed.stop(); // already gone: forgets the child
}

describe('chaos: the edges (stop, second process, outages)', function () {
  this.timeout(scaled(240_000));
  let rig: ChaosRig;
  // the node's defaults: retry backoff cap 30 s, failed-retry interval 60 s
  useChaosRig({ name: 'edges', clientId: 'edges-client', clientSecret: 'edges-secret', outProps: { retryBackoffMax: 30, failedRetryInterval: 60 } }, (started) => {
    rig = started;
  });

  async function rowsReach(n: number, timeoutMs = 60_000): Promise<void> {
    await eventually(`${n} rows`, async () => (await rig.emulator.rowCount()) >= n, timeoutMs, 200);
  }

  it('SIGTERM while the batch holds 2,000 received events: all arrive after the restart (Zerobus up, then down)', async () => {
    assert.equal(await rig.deploy(holdingFlows(rig), 'full'), 204);
    await rig.waitForRoute();
    const figures: Record<string, number> = {};
    for (const zerobus of ['up', 'down'] as const) {
      const before = await rig.emulator.rowCount();
      const accepted = rig.source.accepted.size;
      for (let i = 0; i < 10; i++) assert.equal(await rig.source.post(rig.source.nextBatch(200)), 200);
      const held = rig.source.accepted.size - accepted;
      await sleep(1000); // the scenario: stopped 1 s after the POSTs, well inside the 30 s batch interval
      assert.equal(await rig.emulator.rowCount(), before, 'the batch still holds the events');
      if (zerobus === 'down') await rig.emulator.kill();
      await sigterm(rig);
      if (zerobus === 'down') await rig.emulator.start();
      await rig.restartNodeRed();
      await rowsReach(before + held);
      figures[`held_${zerobus}`] = held;
      figures[`delivered_${zerobus}`] = (await rig.emulator.rowCount()) - before;
    }
    report('SIGTERM during a batch hold (ack received)', figures);
    assert.equal(figures.delivered_up, 2000);
    assert.equal(figures.delivered_down, 2000);
  });

  it('a second Node-RED on the same spool folder is refused with the owner named; its receiver answers 503', async () => {
    const second = new NodeRedProcess({
      userDir: path.join(rig.dir, 'node-red-2'),
      flows: [],
      settings: { logging: { console: { level: 'info', metrics: false, audit: false } } },
      onLine: (l) => rig.lines.push(`[node-red-2] ${l}`),
    });
    second.prepare();
    second.writeFlows(rig.flows(), rig.credentials());
    await second.start();
    try {
      const url = `${second.url}/system/zerobus/ingest/batch`;
      const owner = new RegExp(`in use by process ${rig.nodeRed.pid} on host`);
      await eventually('the second zerobus-out to name the owner', async () => rig.lines.some((l) => l.startsWith('[node-red-2]') && owner.test(l)), 30_000, 200);
      const status = await new Promise<number>((resolve) => {
        const body = rig.source.nextBatch(10).body;
        const req = require('http').request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res: import('http').IncomingMessage) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
      assert.equal(status, 503);
    } finally {
      await second.stop();
    }
  });

  it('resumes within 5 s after a 10 s outage and after a 401 burst, with the default retry settings', async () => {
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.sink()).state === 'streaming', 30_000, 200);

    await rig.emulator.kill();
    await sleep(10_000);
    const countBefore = await rig.emulator.rowCount().catch(() => 0);
    await rig.emulator.start();
    const back = Date.now();
    const base = await rig.emulator.rowCount();
    await eventually('rows after the outage', async () => (await rig.emulator.rowCount()) > base, 30_000, 100);
    const outageResumeMs = Date.now() - back;

    // a 401 burst: tokens expire and the server ends the stream, so the next stream needs a new
    // token, which the token endpoint refuses (a final error for that stream) until it heals
    await rig.emulator.fault('tokenEndpointStatus', 401);
    await rig.emulator.fault('expireTokens');
    const lineMark = rig.lines.length;
    await rig.emulator.fault('sendCloseSignal', 0);
    await eventually('the sink to fail on the 401', async () => (await rig.sink()).state === 'failed', 30_000, 100);
    await eventually('the next retry time in the status', async () => rig.lines.slice(lineMark).some((l) => /auth failed: .* · retry \d\d:\d\d:\d\d/.test(l)), 10_000, 100);
    await rig.emulator.fault('tokenEndpointStatus', null);
    const healed = Date.now();
    const base2 = await rig.emulator.rowCount();
    await eventually('rows after the 401 burst', async () => (await rig.emulator.rowCount()) > base2, 60_000, 100);
    const authResumeMs = Date.now() - healed;

    const v = await rig.verify();
    report('outage and 401 burst', { outageResumeMs, authResumeMs, countBefore, ...v, missingSample: undefined });
    rig.expectComplete(v, 100);
    assert.ok(outageResumeMs < 5000, `resumed ${outageResumeMs} ms after a 10 s outage`);
    assert.ok(authResumeMs < 10_000, `resumed ${authResumeMs} ms after the 401 burst ended`);
  });
});
