/**
 * The hand-over at a stop inside a real Node-RED runtime: unloading the flows closes every node
 * at once (as SIGTERM, a full deploy or a flows restart do); whatever zerobus-batch holds must be
 * in zerobus-out's disk spool afterwards, whichever of the two Node-RED closes first. A memory
 * spool that cannot reach Zerobus says how many records it could not send.
 */
import assert from 'node:assert/strict';
import type { Emulator } from '../../lib/emulator';
import { createSpool } from '../../lib/spool';
import batchNode from '../../nodes/zerobus-batch/zerobus-batch';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import { nodeHelper as helper, CLIENT_ID, CLIENT_SECRET, numericEvents, OT_TABLE, startTestEmulator, tempDir } from '../lib/sink/helpers';

describe('stop: zerobus-batch hands what it holds to zerobus-out', function () {
  this.timeout(30_000);
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };

  beforeEach(async () => {
    emu = await startTestEmulator();
    spool = tempDir('zb-handover');
    helper.settings({ zerobusOutCloseTimeout: 1000 });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop().catch(() => undefined);
    spool.remove();
  });

  function flow(outFirst: boolean, out: Record<string, unknown> = {}): Record<string, unknown>[] {
    const batch = { id: 'batch', type: 'zerobus-batch', z: 'tab', x: 100, y: 100, size: 100_000, interval: 30_000, wires: [['out'], []] };
    const sink = {
      id: 'out', type: 'zerobus-out', z: 'tab', x: 300, y: 100, connection: 'cfg', table: OT_TABLE, format: 'ot-event', recordType: 'proto',
      spool: 'disk', spoolDir: spool.dir, statsInterval: 0, wires: [[]], ...out,
    };
    return [
      { id: 'tab', type: 'tab', label: 'test' },
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
      // upstream senders: one into the batch, one straight into zerobus-out
      { id: 'to-batch', type: 'helper', z: 'tab', x: 10, y: 10, wires: [['batch']] },
      { id: 'to-out', type: 'helper', z: 'tab', x: 10, y: 50, wires: [['out']] },
      ...(outFirst ? [sink, batch] : [batch, sink]),
    ];
  }

  /** Loads the flows with Zerobus down: nothing can be acknowledged, so the spool shows what was handed over. */
  async function loadWithZerobusDown(outFirst: boolean, out: Record<string, unknown> = {}): Promise<void> {
    await emu.stop();
    await helper.load([configNode, batchNode, outNode], flow(outFirst, out), { cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
  }

  /** Records in the disk spool once the flows were unloaded (every node closed at once). */
  async function spooledAfterStop(): Promise<number> {
    await helper.unload();
    const reopened = createSpool({ dir: spool.dir });
    const found = await reopened.open();
    await reopened.close();
    return found.records;
  }

  for (const outFirst of [false, true]) {
    it(`spools every held event although the nodes close at once (${outFirst ? 'zerobus-out' : 'zerobus-batch'} closes first), Zerobus down`, async () => {
      await loadWithZerobusDown(outFirst);
      const batch = helper.getNode('batch');
      for (let i = 0; i < 3; i++) batch.receive({ payload: numericEvents(100, 'Held/T', 100 * i) });
      assert.equal(await spooledAfterStop(), 300);
    });
  }

  it('spools messages sent just before the stop, delivered after the nodes closed', async () => {
    await loadWithZerobusDown(false);
    // Node-RED delivers a message a tick after it is sent: these two arrive after the stop began
    helper.getNode('to-batch').send({ payload: numericEvents(70, 'Late/B') });
    helper.getNode('to-out').send({ payload: numericEvents(30, 'Late/O') });
    assert.equal(await spooledAfterStop(), 100);
  });

  it('a memory spool that cannot reach Zerobus logs how many records it could not send', async () => {
    await loadWithZerobusDown(false, { spool: 'memory' });
    // the helper's spies are removed before the nodes close: record on the instance
    const warnings: string[] = [];
    helper.getNode('out').warn = (text: unknown) => void warnings.push(String(text));
    helper.getNode('batch').receive({ payload: numericEvents(40, 'Held/M') });
    await helper.unload();
    assert.ok(warnings.some((w) => /^40 records in the memory spool .* were not acknowledged by Zerobus before the close/.test(w)), warnings.join('\n'));
  });
});
