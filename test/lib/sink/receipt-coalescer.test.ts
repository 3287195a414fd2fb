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

  it('sends nothing after close, neither what was pending nor what comes later', () => {
    const sent: SinkReceipt[] = [];
    const receipts = new ReceiptCoalescer(1000, (r) => sent.push(r));
    receipts.add({ acknowledged: 10, offset: 1, latencyMs: 5, backlog: 0 });
    receipts.close();
    receipts.add({ acknowledged: 5, offset: 2, latencyMs: 5, backlog: 0 });
    clock.tick(5000);
    assert.deepEqual(sent, []);
    assert.equal(clock.countTimers(), 0);
  });
});
