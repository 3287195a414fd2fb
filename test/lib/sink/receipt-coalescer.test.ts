import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ReceiptCoalescer } from '../../../lib/sink/receipt-coalescer';
import type { SinkReceipt } from '../../../lib/sink';

describe('ReceiptCoalescer', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('sums the receipts of one interval into one, carrying the latest offset, latency and backlog', () => {
    const sent: SinkReceipt[] = [];
    const receipts = new ReceiptCoalescer(1000, (r) => sent.push(r));
    receipts.add({ acknowledged: 10, offset: 1, latencyMs: 5, backlog: 90 });
    receipts.add({ acknowledged: 20, offset: 2, latencyMs: 7, backlog: 70 });
    clock.tick(999);
    assert.deepEqual(sent, []);
    clock.tick(1);
    assert.deepEqual(sent, [{ acknowledged: 30, offset: 2, latencyMs: 7, backlog: 70 }]);
    // a quiet spell sends nothing; the next receipt starts a new interval
    clock.tick(5000);
    receipts.add({ acknowledged: 1, offset: 3, latencyMs: 4, backlog: 0 });
    clock.tick(1000);
    assert.deepEqual(sent.slice(1), [{ acknowledged: 1, offset: 3, latencyMs: 4, backlog: 0 }]);
  });

  it('after its interval is cancelled, sends nothing until a later receipt, whose sum carries what was pending', () => {
    const sent: SinkReceipt[] = [];
    const receipts = new ReceiptCoalescer(1000, (r) => sent.push(r));
    receipts.add({ acknowledged: 10, offset: 1, latencyMs: 5, backlog: 5 });
    receipts.cancelInterval();
    clock.tick(5000);
    assert.deepEqual(sent, []);
    assert.equal(clock.countTimers(), 0);
    receipts.add({ acknowledged: 5, offset: 2, latencyMs: 6, backlog: 0 }); // an ack of the drain at a close
    clock.tick(1000);
    assert.deepEqual(sent, [{ acknowledged: 15, offset: 2, latencyMs: 6, backlog: 0 }]);
  });
});
