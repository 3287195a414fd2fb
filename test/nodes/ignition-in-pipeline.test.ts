/**
 * The real pipeline: zerobus-ignition-in → zerobus-batch → zerobus-out (disk spool) → emulator.
 * A 200 in durable mode means the events are in the spool, even while Zerobus holds back its
 * acknowledgements; resends never add rows.
 */
import assert from 'node:assert/strict';
import supertest from 'supertest';
import type { Emulator } from '../../lib/emulator';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import batchNode from '../../nodes/zerobus-batch/zerobus-batch';
import { sinkRegistry } from '../../lib/delivery/sinks';
import { waitFor } from '../support/wait-for';
import { CLIENT_ID, CLIENT_SECRET, OT_TABLE, startTestEmulator, tempDir } from '../lib/sink/helpers';
import { captured, ev, helper, ignitionInCapturing } from '../lib/ignition/node-harness';

const BATCH = '/system/zerobus/ingest/batch';

describe('zerobus-ignition-in → zerobus-batch → zerobus-out → emulator', function () {
  this.timeout(30_000);
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };

  beforeEach(async () => {
    emu = await startTestEmulator();
    spool = tempDir('zb-ign');
    helper.settings({ zerobusOutCloseTimeout: 1000 });
    await helper.startServer();
    const flow = [
      { id: 'tab', type: 'tab', label: 'pipeline' },
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
      { id: 'in', z: 'tab', type: 'zerobus-ignition-in', path: '/system/zerobus', ack: 'durable', durableTimeout: 8000, wires: [['batch']] },
      { id: 'batch', z: 'tab', type: 'zerobus-batch', size: 50, interval: 50, wires: [['out'], []] },
      {
        id: 'out', z: 'tab', type: 'zerobus-out', connection: 'cfg', table: OT_TABLE, format: 'ot-event', recordType: 'proto', sourceSystem: 'gateway-1',
        spool: 'disk', spoolDir: spool.dir, statsInterval: 0, retryBackoffMax: 0.2, wires: [[]],
      },
    ];
    await helper.load([configNode, outNode, batchNode, ignitionInCapturing], flow, { cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    // while zerobus-out opens its spool the receiver answers 503 (clients retry); wait for ready
    await waitFor('the receiver to be ready', async () => (await agent().get('/system/zerobus/health')).status === 200, { timeoutMs: 10_000 });
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    spool.remove();
    helper.settings({});
  });

  const agent = () => supertest(captured.RED!.httpNode as unknown as Parameters<typeof supertest>[0]);

  it('answers 200 once spooled, lands every event once, and drops resends', async () => {
    const batches = [0, 1, 2].map((b) => Array.from({ length: 40 }, (_, i) => ev(b * 100 + i)));
    const answers = await Promise.all(batches.map((b) => agent().post(BATCH).send(b)));
    for (const a of answers) assert.equal(a.status, 200, a.text);
    await waitFor('rows in the table', () => emu.allRows(OT_TABLE).length === 120, { timeoutMs: 15_000 });
    const again = await agent().post(BATCH).send(batches[1]).expect(200);
    assert.equal(again.body.duplicates, 40);
    const health = await agent().get('/system/zerobus/health').expect(200);
    assert.equal(health.body.sinks[0].id, 'out');
    const diag = (await agent().get('/system/zerobus/diagnostics').expect(200)).body;
    assert.equal(diag.sinkScope, 'reachable');
    assert.equal(diag.totalEventsSpooled, 120);
    // acknowledged by Zerobus: the rows are stored before the acknowledgement reaches the sink
    await waitFor('totalEventsSent = acknowledged', async () => (await agent().get('/system/zerobus/diagnostics')).body.totalEventsSent === 120, { timeoutMs: 15_000, everyMs: 50 });
    // with the spool empty nothing is left to send again: the row count is final
    await waitFor('an empty spool', () => sinkRegistry.get('out')?.backlog === 0);
    assert.equal(emu.allRows(OT_TABLE).length, 120);
    const ids = new Set(emu.allRows(OT_TABLE).map((r) => r.event_id));
    assert.equal(ids.size, 120);
  });

  it('answers 200 from the disk spool while Zerobus withholds acknowledgements', async () => {
    await agent().post(BATCH).send([ev(1)]).expect(200);
    await waitFor('the first row', () => emu.allRows(OT_TABLE).length === 1, { timeoutMs: 15_000 });
    emu.faults.withholdAcks(true);
    const res = await agent().post(BATCH).send([ev(2), ev(3)]).expect(200);
    assert.equal(res.body.accepted, 2);
    emu.faults.withholdAcks(false);
    await waitFor('all rows', () => emu.allRows(OT_TABLE).length === 3, { timeoutMs: 15_000 });
  });
});
