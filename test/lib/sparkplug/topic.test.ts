import assert from 'node:assert/strict';
import { coveringFilters, filterCovers } from '../../../lib/sparkplug/topic';

describe('sparkplug topic filters', () => {
  it('filterCovers: # and + cover what they match, never the other way round', () => {
    assert.equal(filterCovers('spBv1.0/+/#', 'spBv1.0/Plant1/#'), true);
    assert.equal(filterCovers('spBv1.0/Plant1/#', 'spBv1.0/+/#'), false);
    assert.equal(filterCovers('spBv1.0/#', 'spBv1.0/+/#'), true);
    assert.equal(filterCovers('spBv1.0/Plant1/#', 'spBv1.0/Plant2/#'), false);
    assert.equal(filterCovers('spBv1.0/+/NDATA', 'spBv1.0/Plant1/NDATA/x'), false);
    assert.equal(filterCovers('spBv1.0/+', 'spBv1.0/Plant1'), true);
    assert.equal(filterCovers('a/b', 'a/b'), true);
  });

  it('coveringFilters keeps one subscription per area: no broker sends a Sparkplug message twice', () => {
    assert.deepEqual(coveringFilters(['spBv1.0/Plant1/#', 'spBv1.0/+/#', 'spBv1.0/Plant2/#']), ['spBv1.0/+/#']);
    assert.deepEqual(coveringFilters(['spBv1.0/Plant1/#', 'spBv1.0/Plant2/#', 'spBv1.0/Plant1/#']), ['spBv1.0/Plant1/#', 'spBv1.0/Plant2/#']);
    assert.deepEqual(coveringFilters([]), []);
  });
});
