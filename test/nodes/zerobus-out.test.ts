import assert from 'node:assert/strict';
import * as net from 'net';
import type { Emulator } from '../../lib/emulator';
import { deliveryTracker, TICKETS_PROPERTY } from '../../lib/delivery/tickets';
import { sinkRegistry } from '../../lib/delivery/sinks';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import {
  activeHandles, nodeHelper as helper, CLIENT_ID, CLIENT_SECRET, delay, leakedSince, numericEvents, OT_TABLE, startTestEmulator, tempDir, waitFor,
} from '../lib/sink/helpers';

type Msg = Record<string, any>;

describe('zerobus-out node', function () {
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };

  /** what the emulator logged: refused stream attempts show there as `... ends: <code>` */
  let emuLog: string[];
  beforeEach(async () => {
    emuLog = [];
    emu = await startTestEmulator({ log: (line) => emuLog.push(line) });
    spool = tempDir('zb-out');
    helper.settings({ zerobusOutCloseTimeout: 1000 });
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    spool.remove();
  });

  /** Flow nodes need x/y: without them Node-RED treats a node as a config node. */
  function flow(out: Record<string, unknown> = {}, cfg: Record<string, unknown> = {}): Record<string, unknown>[] {
    return withPositions([
      { id: 'tab', type: 'tab', label: 'test' },
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth', ...cfg },
      {
        id: 'out', type: 'zerobus-out', z: 'tab', name: 'to delta', connection: 'cfg', table: OT_TABLE, format: 'ot-event', recordType: 'proto',
        sourceSystem: 'edge-test', spool: 'disk', spoolDir: spool.dir, statsInterval: 0, failedRetryInterval: 0.05, retryBackoffMax: 0.2,
        wires: [['receipts']], ...out,
      },
      { id: 'receipts', type: 'helper', z: 'tab' },
      { id: 'catch', type: 'catch', z: 'tab', scope: ['out'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
      { id: 'complete', type: 'complete', z: 'tab', scope: ['out'], uncaught: false, wires: [['completed']] },
      { id: 'completed', type: 'helper', z: 'tab' },
    ]);
  }
  const withPositions = (nodes: Record<string, unknown>[]) => nodes.map((n, i) => (n.z ? { x: 100, y: 40 * i, ...n } : n));
  const creds = (secret = CLIENT_SECRET) => ({ cfg: { clientId: CLIENT_ID, clientSecret: secret } });

  async function load(out: Record<string, unknown> = {}, secret?: string, cfg: Record<string, unknown> = {}) {
    await helper.load([configNode, outNode], flow(out, cfg), creds(secret));
    const node = helper.getNode('out');
    const caught: Msg[] = [];
    const completed: Msg[] = [];
    const receipts: Msg[] = [];
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    helper.getNode('completed').on('input', (m: Msg) => completed.push(m));
    helper.getNode('receipts').on('input', (m: Msg) => receipts.push(m));
    return { node, caught, completed, receipts };
  }

  const statusCalls = (node: any): Msg[] => node.status.args.map((a: unknown[]) => a[0] as Msg);

  it('streams tag events to the table, completes each message once durable and settles its delivery tickets', async () => {
    const { node, completed, receipts } = await load();
    const events = numericEvents(30, 'Node');
    const ticket = deliveryTracker.openTicket(30, 5000);
    node.receive({ payload: events.slice(0, 20), [TICKETS_PROPERTY]: { [ticket.id]: 20 } });
    node.receive({ payload: events.slice(20), [TICKETS_PROPERTY]: { [ticket.id]: 10 } });
    const outcome = await ticket.settled;
    assert.deepEqual(outcome, { delivered: 30, failed: 0, errors: [] });
    await waitFor(() => completed.length === 2, 'two Complete messages');
    await waitFor(() => emu.allRows(OT_TABLE).length === 30, 'rows in the table');
    const row = emu.allRows(OT_TABLE)[0];
    assert.equal(row.source_system, 'edge-test');
    await waitFor(() => receipts.some((m) => m.topic === 'receipt'), 'a receipt', 3000);
    const total = receipts.filter((m) => m.topic === 'receipt').reduce((n, m) => n + m.payload.acknowledged, 0);
    assert.ok(total > 0 && total <= 30);
    assert.deepEqual(Object.keys(receipts[0].payload).sort(), ['acknowledged', 'backlog', 'latencyMs', 'offset']);
    await waitFor(() => statusCalls(node).some((s) => s.fill === 'green' && /^streaming · .*\/s · backlog \d/.test(s.text)), 'green streaming status');
    const state = sinkRegistry.get('out');
    assert.equal(state?.accepting, true);
    assert.equal(state?.table, OT_TABLE);
  });

  it('reports records that can never fit to Catch with the records; the rest are delivered and the ticket says so', async () => {
    const { node, caught, completed } = await load();
    const good = numericEvents(3, 'Fit');
    const ticket = deliveryTracker.openTicket(5, 5000);
    node.receive({ payload: [good[0], { value: 1 }, good[1], 'not an event', good[2]], [TICKETS_PROPERTY]: { [ticket.id]: 5 } });
    const outcome = await ticket.settled;
    assert.equal(outcome.delivered, 3);
    assert.equal(outcome.failed, 2);
    await waitFor(() => caught.length === 1, 'one Catch message');
    const msg = caught[0];
    assert.match(msg.error.message, /2 of 5 records/);
    assert.deepEqual(msg.rejected.map((r: Msg) => r.index), [1, 3]);
    assert.deepEqual(msg.rejected[0].record, { value: 1 });
    assert.equal(msg.rejected[1].record, 'not an event');
    await waitFor(() => emu.allRows(OT_TABLE).length === 3, 'the three good rows');
    assert.equal(completed.length, 0, 'a failed message is not complete');
  });

  it('rows without a schema: a row the table refuses goes to Catch with the row, the others land', async () => {
    const { node, caught } = await load({ table: 'main.plant.readings', format: 'rows', recordType: 'json' });
    node.receive({ payload: [{ id: 1 }, { id: 2, bogus: 'x' }, { id: 3 }] });
    await waitFor(() => caught.length === 1, 'Catch for the refused row');
    assert.equal(caught[0].topic, 'rejected');
    assert.deepEqual(caught[0].payload, { id: 2, bogus: 'x' });
    assert.match(caught[0].error.message, /refused a record for main\.plant\.readings/);
    await waitFor(() => emu.allRows('main.plant.readings').length === 2, 'the other rows');
  });

  it('refuses a payload that is neither an event, a row nor an array', async () => {
    const { node, caught } = await load();
    node.receive({ payload: 'hello' });
    await waitFor(() => caught.length === 1, 'Catch');
    assert.match(caught[0].error.message, /msg.payload must be/);
  });

  it("answers backpressure with done(err) and leaves the message's tickets open when the spool is full", async () => {
    emu.faults.withholdAcks(true);
    const { node, caught } = await load({ spoolMaxMB: 0.01, overflow: 'block' });
    const ticketIds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = deliveryTracker.openTicket(10, 60_000);
      t.settled.catch(() => undefined);
      ticketIds.push(t.id);
      node.receive({ payload: numericEvents(10, 'Full', i * 10), [TICKETS_PROPERTY]: { [t.id]: 10 } });
      await delay(5);
    }
    await waitFor(() => caught.length > 0, 'a backpressure error');
    assert.match(caught[0].error.message, /send again later.*spool full/);
    await waitFor(() => statusCalls(node).some((s) => /spool full/.test(s.text ?? '')), 'spool full status', 3000);
    const open = deliveryTracker.openCount;
    assert.ok(open >= caught.length, 'refused messages keep their tickets open (the source answers 503)');
    emu.faults.withholdAcks(false);
    deliveryTracker.failAll('test over');
  });

  it('drop-oldest: keeps accepting, counts and warns about dropped records', async () => {
    emu.faults.withholdAcks(true);
    const { node, caught, completed } = await load({ spoolMaxMB: 0.01, overflow: 'drop-oldest', maxInflight: 5 });
    // One message at a time: appends not yet on disk cannot be dropped, so a burst larger than
    // the whole (tiny) spool would be refused instead.
    for (let i = 0; i < 40; i++) {
      node.receive({ payload: numericEvents(10, 'Drop', i * 10) });
      await waitFor(() => completed.length === i + 1, `message ${i} complete`);
    }
    await waitFor(() => (node as any).warn.args.some((a: unknown[]) => /dropped the \d+ oldest/.test(String(a[0]))), 'a drop warning');
    assert.equal(caught.length, 0, 'no message failed');
    assert.ok((node as any).sink.stats().dropped > 0);
    emu.faults.withholdAcks(false);
  });

  it('final error (revoked grant): red status, ONE Catch message with the reason, data kept, recovery when fixed', async () => {
    emu.faults.revokeGrant(OT_TABLE, true);
    const { node, caught, completed } = await load();
    for (let i = 0; i < 5; i++) node.receive({ payload: numericEvents(10, 'Grant', i * 10) });
    // a message that arrives after the failure was found goes to Catch too (once per 10 s)
    const late = () => caught.filter((m) => m.topic !== 'error');
    await waitFor(() => completed.length + late().length === 5, 'spooled messages complete (disk spool)');
    await waitFor(() => caught.length - late().length === 1, 'one Catch message for the failure');
    const mark = emuLog.length;
    await waitFor(() => emuLog.slice(mark).filter((l) => /ends: PERMISSION_DENIED/.test(l)).length >= 3, 'three more refused attempts (retries at 50 ms)');
    assert.equal(caught.length - late().length, 1, 'reported once, not per retry');
    assert.ok(late().length <= 1, 'not per message');
    caught.sort((a, b) => (a.topic === 'error' ? -1 : b.topic === 'error' ? 1 : 0));
    assert.equal(caught[0].payload.code, 'PERMISSION_DENIED');
    assert.equal(caught[0].payload.table, OT_TABLE);
    assert.match(caught[0].error.message, /may not write/);
    assert.ok(statusCalls(node).some((s) => s.fill === 'red' && s.shape === 'ring' && /^no permission: /.test(s.text)), 'red ring with the reason');
    assert.equal((node as any).sink.stats().backlog, 50, 'data kept in the spool');
    emu.faults.revokeGrant(OT_TABLE, false);
    await waitFor(() => emu.allRows(OT_TABLE).length === 50, 'delivered after the grant came back');
    await waitFor(() => statusCalls(node).slice(-3).some((s) => s.fill === 'green'), 'green again');
  });

  it('bad secret: red "auth failed" status, one Catch, and the secret never appears in logs, status, receipts or errors', async () => {
    const secret = 'Wr0ng-but-secret-value-77';
    const { node, caught, receipts } = await load({ statsInterval: 0.05 }, secret);
    node.receive({ payload: numericEvents(5, 'Auth') });
    await waitFor(() => caught.filter((m) => m.topic === 'error').length === 1, 'one Catch message for the failure');
    assert.equal(caught.find((m) => m.topic === 'error')!.payload.code, 'TOKEN_REJECTED');
    await waitFor(() => statusCalls(node).some((s) => s.fill === 'red' && /^auth failed: /.test(s.text)), 'auth failed status');
    // The token can be refused before the disk spool has committed the 5 events: wait for the
    // statistics that show them kept in the spool.
    const failedWithBacklog = () => receipts.find((m) => m.topic === 'stats' && m.payload.state === 'failed' && m.payload.backlog === 5);
    await waitFor(() => failedWithBacklog() !== undefined, 'stats message: failed, 5 events kept in the spool');
    const everything = JSON.stringify({
      log: helper.log().args,
      status: statusCalls(node),
      caught: caught.map((m) => ({ ...m, error: m.error })),
      out: receipts,
      warn: (node as any).warn.args,
      error: (node as any).error.args.map((a: unknown[]) => [String(a[0]), a[1]]),
      registry: sinkRegistry.all(),
    });
    assert.ok(!everything.includes(secret), 'the secret appears nowhere');
    assert.ok(!everything.includes(CLIENT_SECRET));
  });

  it('unknown table: red status and one Catch message', async () => {
    const { node, caught } = await load({ table: 'main.ot.nope' });
    node.receive({ payload: numericEvents(2, 'Nope') });
    await waitFor(() => caught.some((m) => m.topic === 'error'), 'Catch');
    assert.equal(caught.find((m) => m.topic === 'error')!.payload.code, 'NOT_FOUND');
    await waitFor(() => statusCalls(node).some((s) => s.fill === 'red' && /^table not found/.test(s.text)), 'red status');
  });

  it('while stuck in a final error, an arriving message goes to Catch too (at most one per 10 s), and its data is kept', async () => {
    const { node, caught, completed } = await load({ table: 'main.ot.nope' });
    await waitFor(() => caught.length === 1, 'the failure reported on its own');
    node.receive({ payload: numericEvents(2, 'Late') });
    node.receive({ payload: numericEvents(2, 'Later', 2) });
    await waitFor(() => caught.length === 2, 'Catch for the first message that arrived meanwhile');
    await waitFor(() => completed.length === 1, 'the second message completes');
    assert.match(caught[1].error.message, /main\.ot\.nope was not found/);
    assert.equal(caught[1].payload[0].tagPath, numericEvents(2, 'Late')[0].tagPath, 'Catch gets the message itself');
    assert.equal((node as any).sink.stats().backlog, 4, 'both messages spooled');
  });

  it('a memory spool stuck in a final error tells durable sources it cannot accept; a disk spool still can', async () => {
    await load({ table: 'main.ot.nope', spool: 'memory' });
    await waitFor(() => sinkRegistry.get('out')?.state === 'failed', 'failed');
    assert.equal(sinkRegistry.get('out')!.accepting, false);
    assert.match(String(sinkRegistry.get('out')!.lastError), /main\.ot\.nope/);
    await helper.unload();
    await load({ table: 'main.ot.nope' });
    await waitFor(() => sinkRegistry.get('out')?.state === 'failed', 'failed');
    assert.equal(sinkRegistry.get('out')!.accepting, true);
  });

  it('format rows with the default PROTO records and no schema sends JSON records', async () => {
    const { node, caught, completed } = await load({ table: 'main.plant.readings', format: 'rows' });
    node.receive({ payload: [{ id: 1 }, { id: 2 }] });
    await waitFor(() => completed.length === 1, 'message complete');
    await waitFor(() => emu.allRows('main.plant.readings').length === 2, 'rows landed');
    assert.equal(caught.length, 0);
    assert.ok((node as any).warn.args.some((a: unknown[]) => /sent as JSON records/.test(String(a[0]))), 'says so');
  });

  it('a missing configuration shows a red status and fails each message', async () => {
    await helper.load([configNode, outNode], flow({ connection: '' }), creds());
    const node = helper.getNode('out');
    const caught: Msg[] = [];
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    node.receive({ payload: numericEvents(1) });
    await waitFor(() => caught.length >= 1, 'Catch');
    assert.ok(statusCalls(node).some((s) => s.fill === 'red' && /^config: no Zerobus connection/.test(s.text)));
  });

  it('loses nothing on a redeploy while streaming', async () => {
    const { node } = await load();
    const done: Record<string, unknown>[] = [];
    let current: any = node;
    let stop = false;
    let i = 0;
    const pump = (async () => {
      while (!stop) {
        const batch = numericEvents(20, 'Redeploy', i);
        i += 20;
        const ticket = deliveryTracker.openTicket(20, 10_000);
        current.receive({ payload: batch, [TICKETS_PROPERTY]: { [ticket.id]: 20 } });
        ticket.settled.then(() => done.push(...batch), () => undefined);
        await delay(5);
      }
    })();
    await delay(150);
    const changed = flow({ name: 'renamed' });
    await helper.setFlows(changed, 'nodes', creds());
    current = helper.getNode('out');
    assert.notEqual(current, node, 'a new instance after the redeploy');
    await delay(150);
    stop = true;
    await pump;
    await waitFor(() => done.length > 0, 'some events durable');
    await waitFor(() => {
      const landed = new Set(emu.allRows(OT_TABLE).map((r) => `${String(r.tag_path)}@${String(r.event_time)}`));
      return done.every((e) => landed.has(`${String(e.tagPath)}@${(e.timestamp as number) * 1000}`));
    }, 'every durable event landed', 10_000);
  });

  it('emits periodic statistics', async () => {
    const { node, receipts } = await load({ statsInterval: 0.05 });
    node.receive({ payload: numericEvents(10, 'Stats') });
    await waitFor(() => receipts.filter((m) => m.topic === 'stats').some((m) => m.payload.recordsOut === 10), 'stats with 10 out');
    const s = receipts.filter((m) => m.topic === 'stats').pop()!.payload;
    for (const key of ['rateIn', 'rateOut', 'backlog', 'inFlight', 'latencyMs', 'reconnects', 'dropped', 'rejected']) assert.ok(key in s, key);
  });

  it('closes within the bound when the server hangs, deregisters, and leaves nothing behind', async () => {
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as net.AddressInfo).port;
    const before = activeHandles();
    await helper.load([configNode, outNode], flow({}, { endpoint: `http://127.0.0.1:${port}`, authType: 'token' }), { cfg: { token: 'tok-123456' } });
    const n2 = helper.getNode('out');
    n2.receive({ payload: numericEvents(5, 'Hang') });
    await waitFor(() => sockets.size > 0, 'connected to the hung server');
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 8000, 'close finished in bounded time');
    assert.equal(sinkRegistry.get('out'), undefined, 'removed from the sink registry');
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => hung.close(() => resolve()));
    await waitFor(() => Object.keys(leakedSince(before)).length === 0, 'every handle closed').catch(() => undefined);
    assert.deepEqual(leakedSince(before), {}, 'no handle left');
  });
});
