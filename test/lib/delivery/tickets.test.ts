import assert from 'node:assert/strict';
import { DeliveryTracker, DeliveryTimeoutError, mergeTickets, ticketsOf, TICKETS_PROPERTY } from '../../../lib/delivery/tickets';

describe('delivery tickets', () => {
  it('resolves once every event of a ticket is settled, across several messages', async () => {
    const tracker = new DeliveryTracker();
    const { id, settled } = tracker.openTicket(5, 1000);
    tracker.settle(id, 3);
    assert.equal(tracker.openCount, 1);
    tracker.settle(id, 1, 'does not fit the table');
    tracker.settle(id, 1);
    const outcome = await settled;
    assert.deepEqual(outcome, { delivered: 4, failed: 1, errors: ['does not fit the table'] });
    assert.equal(tracker.openCount, 0);
  });

  it('rejects with the partial outcome when events are not settled in time', async () => {
    const tracker = new DeliveryTracker();
    const { id, settled } = tracker.openTicket(2, 20);
    tracker.settle(id, 1);
    await assert.rejects(settled, (err: unknown) => err instanceof DeliveryTimeoutError && err.outcome.delivered === 1);
    tracker.settle(id, 1); // late settlement of an expired ticket is ignored
    assert.equal(tracker.openCount, 0);
  });

  it('resolves at once for an empty ticket and ignores unknown ids', async () => {
    const tracker = new DeliveryTracker();
    const { settled } = tracker.openTicket(0, 10);
    assert.deepEqual(await settled, { delivered: 0, failed: 0, errors: [] });
    tracker.settle('nope', 3);
  });

  it('merges ticket counts carried by messages and settles them all', async () => {
    const tracker = new DeliveryTracker();
    const a = tracker.openTicket(2, 1000);
    const b = tracker.openTicket(1, 1000);
    const merged = mergeTickets(mergeTickets({}, { [a.id]: 1 }), { [a.id]: 1, [b.id]: 1 });
    assert.deepEqual(merged, { [a.id]: 2, [b.id]: 1 });
    tracker.settleAll(ticketsOf({ [TICKETS_PROPERTY]: merged }));
    assert.equal((await a.settled).delivered, 2);
    assert.equal((await b.settled).delivered, 1);
    assert.equal(ticketsOf({ payload: 1 }), undefined);
  });

  it('fails every open ticket on failAll', async () => {
    const tracker = new DeliveryTracker();
    const { settled } = tracker.openTicket(1, 1000);
    tracker.failAll('shutting down');
    await assert.rejects(settled, /shutting down/);
  });

  it('charges refused events to a message\'s tickets in order and settles the rest as delivered', async () => {
    const tracker = new DeliveryTracker();
    const a = tracker.openTicket(3, 1000);
    const b = tracker.openTicket(4, 1000);
    tracker.settleWithFailures({ [a.id]: 3, [b.id]: 4 }, 5, 'too large');
    assert.deepEqual(await a.settled, { delivered: 0, failed: 3, errors: ['too large'] });
    assert.deepEqual(await b.settled, { delivered: 2, failed: 2, errors: ['too large'] });
    tracker.settleWithFailures(undefined, 2, 'nothing to charge'); // a message without tickets
    assert.equal(tracker.openCount, 0);
  });
});
