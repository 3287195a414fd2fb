import assert from 'node:assert/strict';
import { RecordIndex } from '../../../lib/spool/record-index';

describe('spool record index', () => {
  it('maps seqs to offsets across gaps left by skipped records', () => {
    const index = new RecordIndex();
    // seqs 10..12, then 15..16 (13 and 14 were corrupt), then 20
    [10, 11, 12, 15, 16, 20].forEach((seq, i) => index.add(seq, i * 100));
    assert.equal(index.count, 6);
    assert.equal(index.firstSeq, 10);
    assert.equal(index.lastSeq, 20);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => index.seqAt(i)),
      [10, 11, 12, 15, 16, 20],
    );
    assert.equal(index.lowerBound(1), 0);
    assert.equal(index.lowerBound(11), 1);
    assert.equal(index.lowerBound(13), 3, 'a seq in a gap maps to the next record');
    assert.equal(index.lowerBound(14), 3);
    assert.equal(index.lowerBound(17), 5);
    assert.equal(index.lowerBound(20), 5);
    assert.equal(index.lowerBound(21), 6);
    assert.equal(index.offsetAt(3), 300);
  });

  it('grows past its initial capacity and compacts to its size', () => {
    const index = new RecordIndex();
    for (let i = 0; i < 5000; i++) index.add(i + 1, i * 170);
    assert.equal(index.offsetAt(4999), 4999 * 170);
    assert.equal(index.lowerBound(2500), 2499);
    index.compact();
    assert.ok(index.memoryBytes <= 5000 * 4 + 64);
    assert.equal(index.seqAt(4999), 5000);
  });

  it('refuses seqs that do not increase', () => {
    const index = new RecordIndex();
    index.add(5, 0);
    assert.throws(() => index.add(5, 10));
    assert.throws(() => index.add(4, 10));
  });

  it('is empty before the first record', () => {
    const index = new RecordIndex();
    assert.equal(index.count, 0);
    assert.equal(index.firstSeq, 0);
    assert.equal(index.lowerBound(1), 0);
  });
});
