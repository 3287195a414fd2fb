import assert from 'node:assert/strict';
import { DedupWindow } from '../../../lib/ignition';

describe('ignition: dedup window', () => {
  it('remembers ids up to its capacity and evicts the oldest first', () => {
    const w = new DedupWindow(3);
    for (const id of ['a', 'b', 'c']) w.remember(id);
    assert.equal(w.lookup('a').state, 'known');
    w.remember('d');
    assert.equal(w.lookup('a').state, 'new');
    assert.equal(w.lookup('b').state, 'known');
    assert.equal(w.size, 3);
  });

  it('keeps pending deliveries, confirms them, and forgets failed ones', async () => {
    const w = new DedupWindow(10);
    const ok = Promise.resolve(true);
    const bad = Promise.resolve(false);
    w.remember('x', ok);
    w.remember('y', bad);
    const x = w.lookup('x');
    assert.equal(x.state, 'pending');
    assert.equal(x.state === 'pending' && x.delivery, ok);
    w.confirm(['x'], ok);
    assert.equal(w.lookup('x').state, 'known');
    w.forget(['y'], bad);
    assert.equal(w.lookup('y').state, 'new');
    // a forget for another delivery does not touch an id that was re-remembered meanwhile
    const again = Promise.resolve(true);
    w.remember('y', again);
    w.forget(['y'], bad);
    assert.equal(w.lookup('y').state, 'pending');
    w.drop(['y']);
    assert.equal(w.lookup('y').state, 'new');
  });

  it('does nothing with capacity 0', () => {
    const w = new DedupWindow(0);
    w.remember('a');
    assert.equal(w.lookup('a').state, 'new');
  });
});
