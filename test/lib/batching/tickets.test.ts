import assert from 'node:assert/strict';
import { distributeTickets } from '../../../lib/batching';
import { addShare } from '../../../lib/batching/item-tickets';
import { disposeHarness, ev, makeHarness, type Harness } from './harness';

describe('TagBatcher delivery tickets', () => {
  let h: Harness | undefined;
  afterEach(() => {
    disposeHarness(h);
    h = undefined;
  });
  const ticketsOfBatches = () => h!.batches.map((b) => b.batch.tickets);

  it('distributes the tickets of one message over its events in order', () => {
    const share = distributeTickets({ A: 2, B: 1 }, 3);
    assert.deepEqual([0, 1, 2].map((i) => [share(i).id, share(i).count]), [['A', 1], ['A', 1], ['B', 1]]);
    const over = distributeTickets({ A: 1, B: 4 }, 2);
    assert.deepEqual([over(0), over(1)].map((s) => [s.id, s.count, s.extra]), [['A', 1, undefined], ['B', 1, { B: 3 }]]);
    const under = distributeTickets({ A: 1 }, 3);
    assert.deepEqual([under(1).id, under(2).id], [undefined, undefined]);
    assert.equal(distributeTickets(undefined, 3)(0).id, undefined);
  });

  it('adds a run of events that carry the same share as that many single events', () => {
    const over = distributeTickets({ A: 1, B: 4 }, 2);
    const once: Record<string, number> = { A: 1 };
    for (let i = 0; i < 3; i++) addShare(once, over(1));
    const run: Record<string, number> = { A: 1 };
    addShare(run, over(1), 3);
    assert.deepEqual(run, once);
    assert.deepEqual(run, { A: 1, B: 12 });
  });

  it('gives every event of a one-ticket message that ticket, and merges counts per batch', () => {
    h = makeHarness({ size: 3, intervalMs: 100 });
    h.batcher.push([ev('a', 1), ev('b', 2), ev('c', 3), ev('d', 4)], { tickets: { T1: 4 } });
    h.batcher.push([ev('e', 5), ev('f', 6)], { tickets: { T2: 2 } });
    assert.deepEqual(ticketsOfBatches(), [{ T1: 3 }, { T1: 1, T2: 2 }]);
  });

  it('carries several tickets of one message to the batches that hold their events', () => {
    h = makeHarness({ size: 2, intervalMs: 100 });
    h.batcher.push([ev('a', 1), ev('b', 2), ev('c', 3)], { tickets: { A: 2, B: 1 } });
    h.batcher.push(ev('d', 4));
    assert.deepEqual(ticketsOfBatches(), [{ A: 2 }, { B: 1 }]);
  });

  it('keeps ticket counts beyond the events on the last event, and emits batches without tickets as undefined', () => {
    h = makeHarness({ size: 10, intervalMs: 100 });
    h.batcher.push([ev('a', 1), ev('b', 2)], { tickets: { A: 5 } });
    h.batcher.flush();
    h.batcher.push(ev('c', 3));
    h.batcher.flush();
    assert.deepEqual(ticketsOfBatches(), [{ A: 5 }, undefined]);
  });

  it('settles events dropped by a filter at once, so that the ticket completes when the rest is durable', async () => {
    h = makeHarness({ size: 10, intervalMs: 100, dropRepeats: true, debounceMs: 50 });
    const t = h.tracker.openTicket(5, 60_000);
    // A: 1 then 1 in the same window (debounce supersedes one), B: 7; then A: 1 again (a repeat)
    h.batcher.push([ev('A', 1), ev('A', 1), ev('B', 7)], { tickets: { [t.id]: 3 } });
    h.clock.tick(50);
    h.batcher.push(ev('A', 1), { tickets: { [t.id]: 1 } });
    h.clock.tick(50);
    h.batcher.push(ev('C', 0), { tickets: { [t.id]: 1 } });
    h.batcher.flush();
    assert.deepEqual(h.values(), [1, 7, 0]);
    // the sink makes the emitted events durable and settles the batch tickets
    for (const b of h.batches) h.tracker.settleAll(b.batch.tickets);
    assert.deepEqual(await t.settled, { delivered: 5, failed: 0, errors: [] });
    assert.equal(h.tracker.openCount, 0);
  });

  it('settles swinging-door discards, and holds the ticket of the snapshot until it is archived', () => {
    h = makeHarness({ size: 10, intervalMs: 0, swingingDoor: { deviation: 10 } });
    const t = h.tracker.openTicket(3, 60_000);
    let outcome: unknown;
    void t.settled.then((o) => (outcome = o));
    h.batcher.push([ev('A', 1, { timestamp: 0 }), ev('A', 1, { timestamp: 1 }), ev('A', 1, { timestamp: 2 })], { tickets: { [t.id]: 3 } });
    assert.equal(h.tracker.openCount, 1, 'archived point buffered, snapshot held: 2 of 3 open');
    h.batcher.flush();
    assert.deepEqual(ticketsOfBatches(), [{ [t.id]: 2 }]);
    h.tracker.settleAll(h.batches[0].batch.tickets);
    assert.equal(h.tracker.openCount, 0);
    return Promise.resolve().then(() => assert.deepEqual(outcome, { delivered: 3, failed: 0, errors: [] }));
  });

  it('settles buffered and held events as done on reset', async () => {
    h = makeHarness({ size: 10, intervalMs: 100, debounceMs: 1000 });
    const t = h.tracker.openTicket(3, 60_000);
    h.batcher.push([ev('A', 1), ev('B', 2), { value: 'untagged' }], { tickets: { [t.id]: 3 } });
    h.batcher.reset();
    assert.deepEqual(await t.settled, { delivered: 3, failed: 0, errors: [] });
    h.clock.tick(2000);
    assert.equal(h.batches.length, 0);
  });

  it('leaves the tickets of abandoned (close without emitting) and refused events open', () => {
    h = makeHarness({ size: 2, intervalMs: 100, maxBuffered: 2, isBlocked: () => true });
    const held = h.tracker.openTicket(2, 60_000);
    const refused = h.tracker.openTicket(1, 60_000);
    h.batcher.push([ev('A', 1), ev('B', 2)], { tickets: { [held.id]: 2 } });
    assert.equal(h.batcher.push(ev('C', 3), { tickets: { [refused.id]: 1 } }).accepted, false);
    assert.equal(h.batcher.close(false).abandoned, 2);
    assert.equal(h.tracker.openCount, 2);
    void held.settled.catch(() => undefined);
    void refused.settled.catch(() => undefined);
  });

  it('settles the tickets of a message that carries no events', async () => {
    h = makeHarness({ size: 2, intervalMs: 100 });
    const t = h.tracker.openTicket(4, 60_000);
    let left = false;
    h.batcher.push([], { tickets: { [t.id]: 4 }, onLeft: () => (left = true) });
    assert.equal(left, true);
    assert.deepEqual(await t.settled, { delivered: 4, failed: 0, errors: [] });
  });

  it('calls onLeft once, after the last event of the input left (emitted or filtered)', () => {
    h = makeHarness({ size: 3, intervalMs: 100, dropRepeats: true });
    const left: string[] = [];
    h.batcher.push([ev('A', 1), ev('A', 1), ev('A', 2)], { onLeft: () => left.push('m1'), origin: 'topic-1' });
    assert.equal(left.length, 0, 'the second value was dropped, the third still waits');
    h.batcher.push(ev('B', 1), { onLeft: () => left.push('m2'), origin: 'topic-2' });
    assert.deepEqual(left, ['m1', 'm2'], 'one batch carried the rest of m1 and m2');
    assert.equal(h.batches[0].batch.origin, 'topic-1');
  });
});
