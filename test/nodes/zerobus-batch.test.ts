import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { SinonSpy } from 'sinon';
import { sinkRegistry } from '../../lib/delivery/sinks';
import { DeliveryTimeoutError, deliveryTracker, TICKETS_PROPERTY } from '../../lib/delivery/tickets';
import { NODE_RED_PATH } from '../support/node-red-path';

const helper = require('node-red-node-test-helper');
helper.init(NODE_RED_PATH);
const batchNode = require('../../nodes/zerobus-batch/zerobus-batch').default as (RED: NodeAPI) => void;
// The helper loads the Complete and Catch nodes of the Node-RED under test itself when the flow
// names them; passing our own copies too would register those types twice on Node-RED 5.
const nodes = [batchNode];

type Msg = NodeMessageInFlow & Record<string, unknown>;
interface TestNode extends Node {
  receive(msg: Record<string, unknown>): void;
}

const ev = (tagPath: string, value: unknown, extra: Record<string, unknown> = {}) => ({
  tagPath, value, quality: 'Good', qualityCode: 192, timestamp: Date.now(), dataType: 'Float8', ...extra,
});

/** Resolves with the next `n` messages a helper node receives. */
function collect(node: Node, n: number): Promise<Msg[]> {
  return new Promise((resolve) => {
    const got: Msg[] = [];
    const onInput = (msg: Msg) => {
      got.push(msg);
      if (got.length === n) {
        node.removeListener('input', onInput);
        resolve(got);
      }
    };
    node.on('input', onInput);
  });
}

/** Output-1 messages the node sent (Node.prototype.send is a spy shared by every node). */
function batchesSentBy(node: Node): Msg[] {
  const send = (node as unknown as { send: SinonSpy }).send;
  return send.getCalls().filter((c) => c.thisValue === node && Array.isArray(c.args[0]) && c.args[0][0]).map((c) => (c.args[0] as Msg[])[0]);
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

function flow(props: Record<string, unknown>, extra: Record<string, unknown>[] = []) {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'b', z: 'tab', type: 'zerobus-batch', name: 'batch', size: 3, interval: 10_000, statsInterval: 0, ...props, wires: [['out'], ['stats']] },
    { id: 'out', z: 'tab', type: 'helper' },
    { id: 'stats', z: 'tab', type: 'helper' },
    { id: 'complete', z: 'tab', type: 'complete', scope: ['b'], wires: [['completed']] },
    { id: 'completed', z: 'tab', type: 'helper' },
    { id: 'catch', z: 'tab', type: 'catch', scope: ['b'], uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', type: 'helper' },
    ...extra,
  ].map((n) => (n.type === 'tab' ? n : { x: 100, y: 100, ...n })); // with x/y the runtime never mistakes a node for a config node
}

describe('zerobus-batch node', () => {
  let unregisterSink: (() => void) | undefined;
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    unregisterSink?.();
    unregisterSink = undefined;
    await helper.unload();
    // flows without node 'b': what a test's 'b' held is given up rather than handed to the next test's 'b'
    await helper.load(nodes, []);
    await helper.unload();
    await helper.stopServer();
  });

  function fakeSink(accepting: () => boolean): void {
    unregisterSink = sinkRegistry.register('out', () => ({
      id: 'out', table: 'main.ot.tag_events', accepting: accepting(), connected: true, state: 'streaming', backlog: 0,
    }));
  }

  it('batches by size in a flow zerobus-batch → helper, and flushes the rest on msg.flush', async () => {
    await helper.load(nodes, flow({ size: 3 }));
    const b = helper.getNode('b') as TestNode;
    const out = helper.getNode('out') as Node;
    const two = collect(out, 2);
    for (let i = 0; i < 7; i++) b.receive({ payload: ev(`T${i}`, i), topic: `line${i}` });
    const batches = await two;
    assert.deepEqual(batches.map((m) => (m.payload as { value: number }[]).map((e) => e.value)), [[0, 1, 2], [3, 4, 5]]);
    assert.deepEqual(batches.map((m) => m.batch), [{ reason: 'size', count: 3 }, { reason: 'size', count: 3 }]);
    assert.deepEqual(batches.map((m) => m.topic), ['line0', 'line3'], 'topic of the message that gave the first event');
    const last = collect(out, 1);
    b.receive({ payload: Date.now(), flush: true }); // an inject timestamp: ignored, only flushes
    const [rest] = await last;
    assert.deepEqual((rest.payload as { value: number }[]).map((e) => e.value), [6]);
    assert.deepEqual(rest.batch, { reason: 'flush', count: 1 });
  });

  it('batches by interval from the first buffered event', async () => {
    await helper.load(nodes, flow({ size: 100, interval: 40 }));
    const b = helper.getNode('b') as TestNode;
    const one = collect(helper.getNode('out'), 1);
    b.receive({ payload: [ev('A', 1), ev('B', 2)] });
    b.receive({ payload: ev('C', 3) });
    const [batch] = await one;
    assert.equal((batch.payload as unknown[]).length, 3);
    assert.deepEqual(batch.batch, { reason: 'interval', count: 3 });
  });

  it('includes the payload of a flush message first, and completes each message only when its events left', async () => {
    await helper.load(nodes, flow({ size: 100, dropRepeats: true }));
    const b = helper.getNode('b') as TestNode;
    const order: string[] = [];
    helper.getNode('out').on('input', (m: Msg) => order.push(`batch:${(m.payload as unknown[]).length}`));
    helper.getNode('completed').on('input', (m: Msg) => order.push(`done:${String(m.topic)}`));
    b.receive({ payload: [ev('A', 1), ev('A', 1)], topic: 'm1' }); // second value is a repeat
    b.receive({ payload: ev('A', 1), topic: 'm2' }); // entirely a repeat: completes at once
    await tick(50);
    assert.deepEqual(order, ['done:m2']);
    b.receive({ payload: [ev('B', 5)], topic: 'm3', flush: true });
    await tick(50);
    assert.deepEqual(order, ['done:m2', 'batch:2', 'done:m1', 'done:m3']);
  });

  it('carries delivery tickets through to the batches, merged per batch', async () => {
    await helper.load(nodes, flow({ size: 4 }));
    const b = helper.getNode('b') as TestNode;
    const two = collect(helper.getNode('out'), 2);
    b.receive({ payload: [ev('A', 1), ev('B', 2), ev('C', 3)], [TICKETS_PROPERTY]: { t1: 3 } });
    b.receive({ payload: [ev('D', 4), ev('E', 5)], [TICKETS_PROPERTY]: { t2: 1, t3: 1 } });
    b.receive({ payload: ev('F', 6), flush: true });
    const batches = await two;
    assert.deepEqual(batches.map((m) => m[TICKETS_PROPERTY]), [{ t1: 3, t2: 1 }, { t3: 1 }]);
  });

  it('msg.reset drops buffered events, settles their tickets and completes their messages', async () => {
    await helper.load(nodes, flow({ size: 100, debounce: 5000 }));
    const b = helper.getNode('b') as TestNode;
    const ticket = deliveryTracker.openTicket(3, 10_000);
    const completed = collect(helper.getNode('completed'), 2);
    b.receive({ payload: [ev('A', 1), ev('A', 2), ev('B', 3)], topic: 'data', [TICKETS_PROPERTY]: { [ticket.id]: 3 } });
    b.receive({ reset: true, topic: 'reset' });
    assert.deepEqual(await ticket.settled, { delivered: 3, failed: 0, errors: [] });
    assert.deepEqual((await completed).map((m) => m.topic).sort(), ['data', 'reset']);
    b.receive({ flush: true });
    await tick(50);
    assert.equal(batchesSentBy(b).length, 0, 'nothing was emitted');
  });

  it('reports a payload that is not a tag event to Catch nodes', async () => {
    await helper.load(nodes, flow({}));
    const caught = collect(helper.getNode('caught'), 1);
    (helper.getNode('b') as TestNode).receive({ payload: 'not an event' });
    const [err] = await caught;
    assert.match(String((err.error as { message: string }).message), /tag event/);
  });

  it('reports a configuration error and refuses input', async () => {
    await helper.load(nodes, flow({ size: 'lots' }));
    const b = helper.getNode('b') as TestNode & { error: SinonSpy };
    assert.ok(b.error.calledWithMatch(/size/));
    const caught = collect(helper.getNode('caught'), 1);
    b.receive({ payload: ev('A', 1) });
    const [err] = await caught;
    assert.match(String((err.error as { message: string }).message), /Invalid configuration/);
  });

  it('sends statistics on output 2', async () => {
    await helper.load(nodes, flow({ size: 2, statsInterval: 0.05, deadband: 1 }));
    const b = helper.getNode('b') as TestNode;
    b.receive({ payload: [ev('A', 1), ev('A', 1.5), ev('A', 3)] });
    const [stats] = await collect(helper.getNode('stats'), 1);
    assert.equal(stats.topic, 'stats');
    const p = stats.payload as Record<string, unknown> & { filters: Record<string, { in: number; out: number }> };
    assert.equal(p.in, 3);
    assert.equal(p.out, 2);
    assert.equal(p.filtered, 1);
    assert.deepEqual(p.filters.deadband, { in: 3, out: 2 });
    assert.equal(p.reductionPercent, 33.33);
    assert.equal(typeof p.inPerSecond, 'number');
  });

  it('shows the buffered events in a blue status with their unit, singular or plural, and a ring when empty', async () => {
    await helper.load(nodes, flow({ size: 100, dropRepeats: true }));
    const b = helper.getNode('b') as TestNode & { status: SinonSpy };
    // status updates are throttled to 2/s: wait for the one expected
    const shows = async (text: string) => {
      for (const deadline = Date.now() + 3000; !b.status.calledWithMatch({ fill: 'blue', text }); await tick()) {
        assert.ok(Date.now() < deadline, `status "${text}" never shown: ${JSON.stringify(b.status.args)}`);
      }
    };
    await shows('empty');
    assert.ok(b.status.calledWithMatch({ shape: 'ring', text: 'empty' }));
    b.receive({ payload: [ev('A', 1)] });
    await shows('1 event buffered');
    b.receive({ payload: [ev('B', 2)] });
    await shows('2 events buffered');
    b.receive({ payload: [ev('A', 1), ev('B', 2)] }); // exact repeats: filtered out
    await shows('2 events buffered · 50% filtered out');
    assert.ok(b.status.calledWithMatch({ shape: 'dot', text: '2 events buffered' }));
  });

  it('on a redeploy hands what it holds to its next instance, which sends it once the flows started', async () => {
    await helper.load(nodes, flow({ size: 100, swingingDoor: true, compDeviation: 10 }));
    const b = helper.getNode('b') as TestNode;
    b.receive({ payload: [ev('A', 1, { timestamp: 1 }), ev('A', 2, { timestamp: 2 }), ev('A', 3, { timestamp: 3 })] });
    await tick(20);
    assert.equal(batchesSentBy(b).length, 0);
    await helper.unload();
    assert.equal(batchesSentBy(b).length, 0, 'not into a downstream that may be closing too');
    await helper.load(nodes, flow({ size: 100 }));
    const next = helper.getNode('b') as TestNode;
    await tick(20);
    const sent = batchesSentBy(next);
    assert.equal(sent.length, 1);
    assert.deepEqual((sent[0].payload as { value: number }[]).map((e) => e.value), [1, 3], 'archived point and held snapshot');
    assert.deepEqual(sent[0].batch, { reason: 'close', count: 2 });
  });

  it('removed from the flows, emits what it holds on close', async () => {
    await helper.load(nodes, flow({ size: 100 }));
    const b = helper.getNode('b') as TestNode & { close(removed: boolean): Promise<void> };
    b.receive({ payload: [ev('A', 1), ev('B', 2)] });
    await tick(20);
    await b.close(true);
    const sent = batchesSentBy(b);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].batch && (sent[0].batch as { count: number }).count, 2);
  });

  it('when the downstream sink is full: holds batches, refuses input beyond maxBuffered, and on close leaves tickets open', async () => {
    fakeSink(() => false);
    await helper.load(nodes, flow({ size: 2, maxBuffered: 4 }));
    const b = helper.getNode('b') as TestNode;
    const kept = deliveryTracker.openTicket(4, 300);
    const refused = deliveryTracker.openTicket(1, 300);
    const outcomes = [kept.settled, refused.settled].map((p) => p.then(() => 'settled', (e: unknown) => (e instanceof DeliveryTimeoutError ? 'timeout' : 'failed')));
    b.receive({ payload: [ev('A', 1), ev('B', 2), ev('C', 3), ev('D', 4)], [TICKETS_PROPERTY]: { [kept.id]: 4 } });
    const caught = collect(helper.getNode('caught'), 1);
    b.receive({ payload: ev('E', 5), [TICKETS_PROPERTY]: { [refused.id]: 1 } });
    const [err] = await caught;
    assert.match(String((err.error as { message: string }).message), /buffer full/);
    const warnings: string[] = [];
    b.warn = (text: unknown) => warnings.push(String(text));
    await helper.unload();
    // no instance of 'b' in the next flows: what it held is given up, with a warning
    await helper.load(nodes, []);
    assert.equal(batchesSentBy(b).length, 0, 'nothing emitted into a full sink, not even on close');
    assert.ok(warnings.some((w) => /4 held events were not emitted/.test(w)), JSON.stringify(warnings));
    assert.deepEqual(await Promise.all(outcomes), ['timeout', 'timeout'], 'neither ticket was settled: their senders will resend');
  });
});
