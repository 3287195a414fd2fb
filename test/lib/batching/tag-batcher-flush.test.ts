import assert from 'node:assert/strict';
import { approxEventBytes, BatcherOptionsError, TagBatcher } from '../../../lib/batching';
import { integerTextLength } from '../../../lib/batching/event-fields';
import { disposeHarness, ev, makeHarness, type Harness } from './harness';

describe('TagBatcher flush triggers', () => {
  let h: Harness | undefined;
  afterEach(() => {
    disposeHarness(h);
    h = undefined;
  });

  it('emits a batch as soon as `size` events are buffered, keeping order', () => {
    h = makeHarness({ size: 3, intervalMs: 1000 });
    for (let i = 0; i < 7; i++) h.batcher.push(ev('a', i));
    assert.equal(h.batches.length, 2);
    assert.deepEqual(h.batches.map((b) => b.batch.reason), ['size', 'size']);
    assert.deepEqual(h.values(), [0, 1, 2, 3, 4, 5]);
    assert.equal(h.batcher.stats().buffered, 1);
  });

  it('splits one large array into batches of `size`', () => {
    h = makeHarness({ size: 4, intervalMs: 100 });
    h.batcher.push(Array.from({ length: 10 }, (_, i) => ev('a', i)));
    assert.deepEqual(h.batches.map((b) => b.batch.events.length), [4, 4]);
    h.clock.tick(100);
    assert.deepEqual(h.batches.map((b) => b.batch.events.length), [4, 4, 2]);
    assert.equal(h.batches[2].batch.reason, 'interval');
    assert.deepEqual(h.values(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('emits a partial batch `interval` ms after the first buffered event', () => {
    h = makeHarness({ size: 100, intervalMs: 100 });
    h.batcher.push(ev('a', 1));
    h.clock.tick(60);
    h.batcher.push(ev('b', 2));
    h.clock.tick(39);
    assert.equal(h.batches.length, 0, 'not before the interval of the FIRST event');
    h.clock.tick(1);
    assert.equal(h.batches.length, 1);
    assert.deepEqual({ at: h.batches[0].at, n: h.batches[0].batch.events.length, r: h.batches[0].batch.reason }, { at: 100, n: 2, r: 'interval' });
    // the next interval starts with the next event, not with the last flush
    h.clock.tick(50);
    h.batcher.push(ev('a', 3));
    h.clock.tick(99);
    assert.equal(h.batches.length, 1);
    h.clock.tick(1);
    assert.equal(h.batches[1].at, 250);
    assert.equal(h.clock.countTimers(), 0, 'no timer left when empty');
  });

  it('cuts batches so that their approximate JSON size stays within maxBytes', () => {
    const sample = ev('Line1/Speed', 12.5);
    const one = approxEventBytes(sample);
    assert.ok(Math.abs(one - JSON.stringify(sample).length) <= 20, `estimate ${one} vs ${JSON.stringify(sample).length}`);
    h = makeHarness({ size: 100, intervalMs: 1000, maxBytes: Math.floor(one * 2.5) });
    for (let i = 0; i < 5; i++) h.batcher.push(ev('Line1/Speed', 12.5));
    assert.deepEqual(h.batches.map((b) => b.batch.events.length), [2, 2]);
    assert.deepEqual(h.batches.map((b) => b.batch.reason), ['bytes', 'bytes']);
    for (const b of h.batches) assert.ok(b.batch.bytes <= one * 2.5 && b.batch.bytes > 0);
    // an event larger than the budget on its own: the buffered event leaves first, then it goes alone
    h.batcher.push(ev('big', 'x'.repeat(one * 3)));
    assert.deepEqual(h.batches.slice(2).map((b) => b.batch.events.map((e) => (e as { tagPath: string }).tagPath)), [['Line1/Speed'], ['big']]);
    assert.equal(h.batcher.stats().buffered, 0);
  });

  it('counts the digits of integers as String writes them', () => {
    const cases = [0, -0, 7, -7, 9, 10, 99, 100, 192, -2147483132, 2 ** 53 - 1, -(2 ** 53), 1e20, 999999999999999900000, 1e21, -1e21, 1.5e300, 123456789012345680000];
    for (let k = 0; k < 22; k++) cases.push(10 ** k, 10 ** k - 1, -(10 ** k));
    for (const v of cases) assert.equal(integerTextLength(v), String(v).length, String(v));
    assert.equal(approxEventBytes({ qualityCode: -192 }), 2 + 'qualityCode'.length + 4 + '-192'.length);
  });

  it('size wins over maxBytes when reached first', () => {
    h = makeHarness({ size: 2, intervalMs: 1000, maxBytes: 1_000_000 });
    for (let i = 0; i < 4; i++) h.batcher.push(ev('a', i));
    assert.deepEqual(h.batches.map((b) => b.batch.reason), ['size', 'size']);
  });

  it('flush() emits what is buffered now, and nothing when empty', () => {
    h = makeHarness({ size: 3, intervalMs: 1000 });
    h.batcher.flush();
    assert.equal(h.batches.length, 0);
    for (let i = 0; i < 5; i++) h.batcher.push(ev('a', i));
    h.batcher.flush();
    assert.deepEqual(h.batches.map((b) => [b.batch.reason, b.batch.events.length]), [['size', 3], ['flush', 2]]);
    h.clock.tick(5000);
    assert.equal(h.batches.length, 2, 'the interval timer was cancelled');
  });

  it('interval 0 turns the time trigger off', () => {
    h = makeHarness({ size: 3, intervalMs: 0 });
    h.batcher.push([ev('a', 1), ev('a', 2)]);
    assert.equal(h.clock.countTimers(), 0);
    h.clock.tick(60_000);
    assert.equal(h.batches.length, 0);
    h.batcher.push(ev('a', 3));
    assert.equal(h.batches.length, 1);
  });

  it('passes events without tagPath and non-objects through unchanged', () => {
    h = makeHarness({ size: 10, intervalMs: 10, dropRepeats: true, deadband: 5 });
    const odd = [{ value: 1 }, { value: 1 }, 42, null, 'text', { tagPath: '', value: 1 }];
    h.batcher.push(odd);
    h.clock.tick(10);
    assert.deepEqual(h.emitted(), odd);
    assert.equal(h.batcher.stats().passThrough, 6);
  });

  it('holds batches while the downstream is blocked, refuses input beyond maxBuffered, resumes when unblocked', () => {
    let blocked = true;
    h = makeHarness({ size: 2, intervalMs: 100, maxBuffered: 5, blockedRetryMs: 50, isBlocked: () => blocked });
    assert.deepEqual(h.batcher.push([ev('a', 1), ev('a', 2), ev('a', 3)]), { accepted: true, events: 3 });
    assert.equal(h.batches.length, 0, 'a full batch is held while blocked');
    assert.equal(h.batcher.stats().blocked, true);
    assert.deepEqual(h.batcher.push([ev('a', 4), ev('a', 5)]), { accepted: true, events: 2 });
    let left = false;
    const refused = h.batcher.push([ev('a', 6)], { onLeft: () => (left = true) });
    assert.deepEqual(refused, { accepted: false, reason: 'full', buffered: 5, maxBuffered: 5 });
    assert.equal(left, false, 'refused input is not completed: the caller reports it');
    assert.equal(h.batcher.stats().refused, 1);
    h.clock.tick(200);
    assert.equal(h.batches.length, 0);
    blocked = false;
    h.clock.tick(50);
    assert.deepEqual(h.batches.map((b) => b.batch.events.length), [2, 2, 1], 'the retry emits everything that is due');
    assert.deepEqual(h.values(), [1, 2, 3, 4, 5]);
    assert.equal(h.batcher.stats().blocked, false);
    assert.equal(h.batcher.push(ev('a', 6)).accepted, true);
  });

  it('accepts input over maxBuffered when the downstream is not blocked (it drains at once)', () => {
    h = makeHarness({ size: 2, intervalMs: 100, maxBuffered: 2, isBlocked: () => false });
    h.batcher.push(ev('a', 1));
    assert.equal(h.batcher.push([ev('a', 2), ev('a', 3), ev('a', 4)]).accepted, true);
    assert.equal(h.batches.length, 2);
  });

  it('close(true) emits everything it holds; close(false) abandons it; both stop the timers', () => {
    h = makeHarness({ size: 10, intervalMs: 100, debounceMs: 1000 });
    h.batcher.push([ev('a', 1), ev('b', 2)]);
    h.batcher.push({ value: 'no tag' });
    assert.equal(h.batcher.pendingCount, 3);
    assert.deepEqual(h.batcher.close(true), { emitted: 3, abandoned: 0 });
    assert.equal(h.batches[0].batch.reason, 'close');
    assert.equal(h.clock.countTimers(), 0);
    assert.deepEqual(h.batcher.push(ev('a', 3)), { accepted: false, reason: 'closed', buffered: 0, maxBuffered: 100_000 });
    disposeHarness(h);

    h = makeHarness({ size: 10, intervalMs: 100, debounceMs: 1000 });
    let lefts = 0;
    h.batcher.push([ev('a', 1), ev('b', 2)], { onLeft: () => lefts++ });
    h.batcher.push({ value: 'no tag' }, { onLeft: () => lefts++ });
    assert.deepEqual(h.batcher.close(false), { emitted: 0, abandoned: 3 });
    assert.equal(lefts, 2);
    assert.equal(h.batches.length, 0);
    assert.equal(h.clock.countTimers(), 0);
  });

  it('reports exceptions of the batch handler and carries on', () => {
    h = makeHarness({ size: 1, intervalMs: 100 });
    const failing = new TagBatcher({ size: 1, intervalMs: 0 }, { onBatch: () => { throw new Error('boom'); }, onError: (e) => h!.errors.push(e) });
    let left = 0;
    failing.push([ev('a', 1), ev('a', 2)], { onLeft: () => left++ });
    assert.equal(h.errors.length, 2);
    assert.equal(left, 1);
    assert.equal(failing.stats().out, 2);
  });

  it('validates options', () => {
    const onBatch = () => undefined;
    assert.throws(() => new TagBatcher({ size: 0, intervalMs: 1 }, { onBatch }), (e: unknown) => e instanceof BatcherOptionsError && e.option === 'size');
    assert.throws(() => new TagBatcher({ size: 1.5, intervalMs: 1 }, { onBatch }), BatcherOptionsError);
    assert.throws(() => new TagBatcher({ size: 1, intervalMs: -1 }, { onBatch }), /intervalMs/);
    assert.throws(() => new TagBatcher({ size: 1, intervalMs: 1, deadband: Number.NaN }, { onBatch }), /deadband/);
    assert.throws(() => new TagBatcher({ size: 1, intervalMs: 1, swingingDoor: { deviation: -2 } }, { onBatch }), /deviation/);
    assert.throws(() => new TagBatcher({ size: 1, intervalMs: 1, maxTags: 0 }, { onBatch }), /maxTags/);
    const b = new TagBatcher({ size: 50, intervalMs: 1, maxBuffered: 10 }, { onBatch });
    assert.equal(b.options.maxBuffered, 50, 'maxBuffered never below one batch');
    b.close(false);
  });
});
