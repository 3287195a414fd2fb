import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { NodeUpkeep } from '../../nodes/common/upkeep';
import { NextInstanceHandover } from '../../nodes/common/next-instance';
import { redact, redactorFor } from '../../nodes/common/redact';

/** The few parts of RED and a node that the shared glue touches, recording what it does. */
function fakeNode(): { RED: NodeAPI; node: Node; statuses: NodeStatus[]; published: Array<{ topic: string; data: Record<string, unknown> }> } {
  const statuses: NodeStatus[] = [];
  const published: Array<{ topic: string; data: Record<string, unknown> }> = [];
  const RED = { comms: { publish: (topic: string, data: Record<string, unknown>) => published.push({ topic, data }) } } as unknown as NodeAPI;
  const node = { id: 'n1', status: (s: NodeStatus) => statuses.push(s) } as unknown as Node;
  return { RED, node, statuses, published };
}

describe('shared node glue', () => {
  describe('NodeUpkeep', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => (clock = sinon.useFakeTimers()));
    afterEach(() => clock.restore());

    it('runs its timers until close, withdraws the sidebar figures and leaves the final status', () => {
      const { RED, node, statuses, published } = fakeNode();
      const upkeep = new NodeUpkeep(RED, node);
      let ticks = 0;
      upkeep.every(1000, () => ticks++);
      upkeep.live.publish({ id: 'n1', type: 't', name: 'n', state: 'running', eventsPerSec: 1 });
      upkeep.status.now({ fill: 'green', shape: 'dot', text: 'running' });
      clock.tick(3000);
      assert.equal(ticks, 3);

      upkeep.quiet();
      clock.tick(3000);
      assert.equal(ticks, 3, 'timers stop at quiet()');
      assert.deepEqual(published.at(-1), { topic: 'zerobus/stats/n1', data: { removed: true } });
      upkeep.live.publish({ id: 'n1', type: 't', name: 'n', state: 'late', eventsPerSec: 0 });
      upkeep.every(1000, () => ticks++);
      clock.tick(3000);
      assert.equal(ticks, 3, 'no timer starts after close');
      assert.deepEqual(published.at(-1)?.data, { removed: true }, 'a late refresh does not bring the node back into the sidebar');

      upkeep.end({});
      assert.deepEqual(statuses, [{ fill: 'green', shape: 'dot', text: 'running' }, {}]);
      assert.equal(clock.countTimers(), 0);
    });

    it('a node that never published figures sends no withdrawal at close', () => {
      const { RED, node, published } = fakeNode();
      new NodeUpkeep(RED, node).end();
      assert.deepEqual(published, []);
    });
  });

  describe('NextInstanceHandover', () => {
    it('hands what a closed instance left to the next instance of the same id, once', () => {
      const events = new EventEmitter();
      const store = new NextInstanceHandover<string>();
      const on = { abandoned: sinon.spy(), lost: sinon.spy() };
      store.leave('a', ['x', 'y'], events as unknown as NodeAPI['events'], on);
      assert.equal(store.take('b'), undefined);
      assert.deepEqual(store.take('a'), ['x', 'y']);
      assert.equal(store.take('a'), undefined);
      events.emit('flows:started');
      assert.equal(on.abandoned.called, false);
      assert.equal(on.lost.called, false);
    });

    it('reports what no instance took when the flows start, and what Node-RED exits with', () => {
      const events = new EventEmitter();
      const store = new NextInstanceHandover<string>();
      const removed = { abandoned: sinon.spy(), lost: sinon.spy() };
      const exitBefore = process.listeners('exit');
      store.leave('gone', ['x'], events as unknown as NodeAPI['events'], removed);
      const onExit = process.listeners('exit').find((l) => !exitBefore.includes(l))!;
      onExit(0); // Node-RED exiting while the batches wait
      assert.equal(removed.lost.callCount, 1);
      events.emit('flows:started');
      assert.equal(removed.abandoned.callCount, 1);
      assert.equal(store.take('gone'), undefined);
      assert.ok(!process.listeners('exit').includes(onExit), 'the exit listener goes once the flows started');
    });
  });

  describe('redact', () => {
    it('hides the secrets it is given and any bearer token', () => {
      assert.equal(redact('secret s3cr3t in Bearer abc.def-1 text', ['s3cr3t']), 'secret *** in Bearer *** text');
    });

    it('redactorFor takes a config node\'s client secret and token, ignoring short or missing ones', () => {
      const clean = redactorFor({ clientSecret: 'dose-1234', token: 'ab' });
      assert.equal(clean('dose-1234 / ab'), '*** / ab');
      assert.equal(redactorFor(undefined)('nothing to hide'), 'nothing to hide');
    });
  });
});
