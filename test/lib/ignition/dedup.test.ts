import assert from 'node:assert/strict';
import { dedupKey, DedupWindow, type PendingDelivery } from '../../../lib/ignition';
import { keys } from './dedup-keys';
import type { TagEvent } from '../../../lib/tags';


function keyOf(e: TagEvent): string {
  const out = new Int32Array(4);
  dedupKey(e, out, 0);
  return Array.from(out).join(',');
}

describe('ignition: dedup window', () => {
  it('remembers ids up to its capacity and evicts the oldest first', () => {
    const w = new DedupWindow(3);
    const abc = keys('a', 'b', 'c');
    for (let i = 0; i < 3; i++) w.remember(abc, i);
    assert.equal(w.lookup(abc, 0).state, 'known');
    w.remember(keys('d'), 0);
    assert.equal(w.lookup(abc, 0).state, 'new');
    assert.equal(w.lookup(abc, 1).state, 'known');
    assert.equal(w.size, 3);
  });

  it('keeps pending deliveries, confirms them, and forgets failed ones', async () => {
    const w = new DedupWindow(10);
    const ok = Promise.resolve(true);
    const bad = Promise.resolve(false);
    const x = keys('x');
    const y = keys('y');
    w.remember(x, 0, ok);
    w.remember(y, 0, bad);
    const seen = w.lookup(x, 0);
    assert.equal(seen.state, 'pending');
    assert.equal(seen.state === 'pending' && seen.delivery, ok);
    w.confirm(ok);
    assert.equal(w.lookup(x, 0).state, 'known');
    assert.equal(w.lookup(x, 0).state, 'known');
    // a confirmed delivery is done: a late forget for it leaves its ids known
    w.forget(x, 1, ok);
    assert.equal(w.lookup(x, 0).state, 'known');
    assert.equal(w.size, 2);
    w.forget(y, 1, bad);
    assert.equal(w.lookup(y, 0).state, 'new');
    // a forget for another delivery does not touch an id that was re-remembered meanwhile
    const again = Promise.resolve(true);
    w.remember(y, 0, again);
    w.forget(y, 1, bad);
    assert.equal(w.lookup(y, 0).state, 'pending');
    w.drop(y, 1);
    assert.equal(w.lookup(y, 0).state, 'new');
  });

  it('does nothing with capacity 0', () => {
    const w = new DedupWindow(0);
    const a = keys('a');
    w.remember(a, 0);
    assert.equal(w.lookup(a, 0).state, 'new');
  });

  it('keys events by source, path, timestamp, value and quality code only', () => {
    const e: TagEvent = { tagPath: '[default]Line1/Speed', tagProvider: 'default', value: 42.5, quality: 'Good', qualityCode: 192, timestamp: 1700000000123.5, dataType: 'Float8' };
    const k = keyOf(e);
    assert.equal(keyOf(JSON.parse(JSON.stringify(e)) as TagEvent), k, 'a resend parsed again');
    assert.equal(keyOf({ ...e, dataType: 'Int4', quality: 'Whatever', alarmState: 'x', tagProvider: 'p' }), k);
    const others = [
      { ...e, sourceSystem: 'gw' },
      { ...e, sourceSystem: '' },
      { ...e, tagPath: '[default]Line1/Speed2' },
      { ...e, timestamp: e.timestamp + 0.5 },
      { ...e, value: 42.6 },
      { ...e, value: '42.5' },
      { ...e, value: null },
      { ...e, value: true },
      { ...e, value: 'true' },
      { ...e, value: NaN },
      { ...e, value: 'NaN' },
      { ...e, value: [42.5] },
      { ...e, value: { a: 42.5 } },
      { ...e, value: 5n },
      { ...e, qualityCode: -2147483132 },
      { ...e, qualityCode: undefined },
      // a path whose text could run into the next field if lengths were not encoded
      { ...e, tagPath: '[default]Line1/Speed","x' },
      { ...e, tagPath: 'Ünïcödé/😀' },
    ];
    const all = new Set([k, ...others.map((o) => keyOf(o as TagEvent))]);
    assert.equal(all.size, others.length + 1);
  });

  it('keys events longer than its starting buffer, byte for byte', () => {
    // 600 characters are 1200 key bytes: the key buffer grows to 2 KiB, which Node may cut from its
    // shared pool (so numbers written after the path must land at that buffer's offset)
    const medium: TagEvent = { tagPath: `[default]${'M'.repeat(600)}`, value: 1, timestamp: 1700000000000 };
    assert.notEqual(keyOf({ ...medium, timestamp: 1700000000001 }), keyOf(medium));
    assert.notEqual(keyOf({ ...medium, value: 2 }), keyOf(medium));
    // 3000 characters are 6000 key bytes
    const long = (tail: string): TagEvent => ({ tagPath: `[default]${'L'.repeat(3000)}${tail}`, value: 'v'.repeat(3000), timestamp: 1700000000000 });
    const a = keyOf(long('a'));
    assert.equal(keyOf(long('a')), a);
    assert.notEqual(keyOf(long('b')), a, 'bytes past the first KiB count');
    assert.notEqual(keyOf({ ...long('a'), timestamp: 1700000000001 }), a, 'numbers written past the first KiB count');
    // a short key after the growth is still the key it was before
    const short: TagEvent = { tagPath: 'p', value: 1, timestamp: 1700000000000 };
    const before = keyOf(short);
    keyOf(long('c'));
    assert.equal(keyOf(short), before);
  });

  it('agrees with a plain Map model through long runs of remember, evict, forget, drop and saving', () => {
    // small table, so that probe runs are long and deletions shift entries often
    const capacity = 50;
    const w = new DedupWindow(capacity);
    const model = new Map<string, PendingDelivery | null>();
    const ring: string[] = [];
    // as in the receiver, a delivery is confirmed once for all its ids and never used again
    const deliveries = [Promise.resolve(true), Promise.resolve(false)];
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const name = `id-${rand(120)}`;
      const k = keys(name);
      const op = rand(10);
      if (op < 6) {
        const delivery = rand(3) === 0 ? deliveries[rand(2)] : undefined;
        if (model.has(name)) model.set(name, delivery ?? null);
        else {
          if (ring.length === capacity) model.delete(ring.shift()!);
          ring.push(name);
          model.set(name, delivery ?? null);
        }
        w.remember(k, 0, delivery);
      } else if (op < 8) {
        const delivery = deliveries[rand(2)];
        if (model.get(name) === delivery) model.delete(name);
        w.forget(k, 1, delivery);
      } else if (op < 9) {
        model.delete(name);
        w.drop(k, 1);
      } else {
        const which = rand(2);
        const delivery = deliveries[which];
        for (const [n, d] of model) if (d === delivery) model.set(n, null);
        w.confirm(delivery);
        deliveries[which] = Promise.resolve(which === 0);
      }
      if (step % 50 === 0) {
        // what a restart would restore: every id whose delivery is done, none pending
        const saved = w.knownIds();
        const savedIds = new Set(Array.from({ length: saved.length / 4 }, (_, j) => Array.from(saved.subarray(4 * j, 4 * j + 4)).join()));
        const doneIds = new Set([...model].filter(([, d]) => d === null).map(([n]) => Array.from(keys(n)).join()));
        assert.deepEqual(savedIds, doneIds, `known ids at step ${step}`);
        for (let i = 0; i < 120; i++) {
          const n = `id-${i}`;
          const expected = model.has(n) ? (model.get(n) === null ? 'known' : 'pending') : 'new';
          assert.equal(w.lookup(keys(n), 0).state, expected, `${n} at step ${step}`);
        }
        assert.equal(w.size, model.size);
      }
    }
  });
});
