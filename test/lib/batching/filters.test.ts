import assert from 'node:assert/strict';
import { disposeHarness, ev, makeHarness, type Harness } from './harness';

/** size 1: every event that leaves the filters is emitted at once, so emission times are visible. */
const immediate = { size: 1, intervalMs: 0 };

describe('TagBatcher per-tag filters', () => {
  let h: Harness | undefined;
  afterEach(() => {
    disposeHarness(h);
    h = undefined;
  });
  const push = (...events: Record<string, unknown>[]) => events.forEach((e) => h!.batcher.push(e));
  const emittedAt = () => h!.batches.map((b) => [b.at, (b.batch.events[0] as { value: unknown }).value]);

  describe('debounce', () => {
    it('emits only the newest value of a tag at the end of its window', () => {
      h = makeHarness({ ...immediate, debounceMs: 50 });
      push(ev('A', 1));
      h.clock.tick(10);
      push(ev('A', 2));
      h.clock.tick(5);
      push(ev('B', 'b1'));
      h.clock.tick(5);
      push(ev('A', 3));
      h.clock.tick(29);
      assert.equal(h.batches.length, 0);
      h.clock.tick(1); // t=50: A's window (opened at 0) ends
      h.clock.tick(15); // t=65: B's window ends
      assert.deepEqual(emittedAt(), [[50, 3], [65, 'b1']]);
      const d = h.batcher.stats().filters.debounce;
      assert.deepEqual(d, { in: 4, out: 2 });
      assert.equal(h.batcher.stats().filtered, 2);
    });

    it('never delays a value longer than the window, even for a tag that changes continuously', () => {
      h = makeHarness({ ...immediate, debounceMs: 50 });
      for (let t = 0; t < 200; t += 10) {
        push(ev('A', t));
        h.clock.tick(10);
      }
      // windows [0,50) [50,100) [100,150) [150,200): the last value pushed before each window end
      assert.deepEqual(emittedAt(), [[50, 40], [100, 90], [150, 140], [200, 190]]);
    });

    it('flush() ends the open windows at once', () => {
      h = makeHarness({ size: 10, intervalMs: 0, debounceMs: 1000 });
      push(ev('A', 1), ev('A', 2), ev('B', 3));
      h.batcher.flush();
      assert.deepEqual(h.values(), [2, 3]);
      h.clock.tick(1000);
      assert.equal(h.batches.length, 1, 'the old window deadlines are stale');
      push(ev('A', 4));
      h.clock.tick(999);
      h.batcher.push(ev('A', 5));
      h.clock.tick(1);
      h.batcher.flush();
      assert.deepEqual(h.values(), [2, 3, 5], 'a new window after a flush keeps its full length');
    });
  });

  describe('deadband', () => {
    it('absolute: passes a numeric change larger than the band, against the last value that passed', () => {
      h = makeHarness({ ...immediate, deadband: 0.5 });
      push(...[10, 10.3, 10.6, 10.4, 11.1, 11.6, 11.1, 9].map((v) => ev('A', v)));
      // 10 first; 10.3 (Δ0.3) drop; 10.6 (Δ0.6) pass; 10.4 (Δ0.2 vs 10.6) drop; 11.1 (Δ0.5, not more) drop;
      // 11.6 (Δ1.0) pass; 11.1 (Δ0.5) drop; 9 pass
      assert.deepEqual(h.values(), [10, 10.6, 11.6, 9]);
      assert.deepEqual(h.batcher.stats().filters.deadband, { in: 8, out: 4 });
    });

    it('percent: the band is a percentage of the last value that passed', () => {
      h = makeHarness({ ...immediate, deadbandPercent: 5 });
      push(...[100, 104, 106, 110, 112, 0, 0, 0.001].map((v) => ev('A', v)));
      // band 5 around 100: 104 drop, 106 pass; band 5.3 around 106: 110 drop, 112 pass;
      // 0 pass (Δ112); band 0 around 0: 0 drop (not more than 0), 0.001 pass
      assert.deepEqual(h.values(), [100, 106, 112, 0, 0.001]);
    });

    it('absolute and percent together: the wider band applies', () => {
      h = makeHarness({ ...immediate, deadband: 1, deadbandPercent: 10 });
      push(...[100, 109, 111, 111.5, 1, 1.5, 2.1].map((v) => ev('A', v)));
      // at 100: band max(1, 10) = 10 → 109 drop, 111 pass; at 111: band 11.1 → 111.5 drop, 1 pass;
      // at 1: band max(1, 0.1) = 1 → 1.5 drop, 2.1 pass
      assert.deepEqual(h.values(), [100, 111, 1, 2.1]);
    });

    it('a quality change, a type change or a non-numeric value always passes', () => {
      h = makeHarness({ ...immediate, deadband: 100 });
      push(
        ev('A', 1),
        ev('A', 2, { quality: 'Bad', qualityCode: -2147483136 }),
        ev('A', 3, { quality: 'Bad', qualityCode: -2147483136 }),
        ev('A', 3),
        ev('A', 'text', { dataType: 'String' }),
        ev('A', 'text', { dataType: 'String' }),
        ev('A', 4),
        ev('A', 5),
        ev('A', Number.NaN),
        ev('A', 6),
        ev('A', 7, { dataType: 'Int4' }),
        ev('B', 1000),
      );
      assert.deepEqual(h.values(), [1, 2, 3, 'text', 'text', 4, Number.NaN, 6, 7, 1000]);
    });

    it('keeps separate references per tag', () => {
      h = makeHarness({ ...immediate, deadband: 1 });
      push(ev('A', 0), ev('B', 10), ev('A', 0.5), ev('B', 12), ev('A', 2));
      assert.deepEqual(h.values(), [0, 10, 12, 2]);
    });
  });

  describe('drop repeats', () => {
    it('drops a value equal in value, quality and type to the last one that passed', () => {
      h = makeHarness({ ...immediate, dropRepeats: true });
      push(
        ev('A', 1), ev('A', 1), ev('A', 2), ev('A', 1),
        ev('A', 1, { quality: 'Bad' }),
        ev('A', 1, { quality: 'Bad' }),
        ev('S', 'on'), ev('S', 'on'), ev('S', 'off'),
        ev('J', { x: [1, 2] }), ev('J', { x: [1, 2] }), ev('J', { x: [1, 3] }),
        ev('N', null), ev('N', null),
        ev('T', true), ev('T', true), ev('T', 1),
      );
      assert.deepEqual(h.values(), [1, 2, 1, 1, 'on', 'off', { x: [1, 2] }, { x: [1, 3] }, null, true, 1]);
      assert.deepEqual(h.batcher.stats().filters.repeats, { in: 17, out: 11 });
    });

    it('leaves historical (store-and-forward) events alone', () => {
      h = makeHarness({ ...immediate, dropRepeats: true });
      push(ev('A', 1), ev('A', 1, { historical: true }), ev('A', 1, { historical: true }), ev('A', 1));
      assert.deepEqual(h.values(), [1, 1, 1]);
      assert.equal(h.batcher.stats().passThrough, 2);
    });
  });

  describe('swinging door', () => {
    it('emits the archived points of the worked example (see swinging-door.test.ts) and the snapshot on flush', () => {
      h = makeHarness({ size: 100, intervalMs: 0, swingingDoor: { deviation: 1 } });
      const series: [number, number][] = [[0, 0], [1, 0.5], [2, 1.2], [3, 1.5], [4, 3.5], [5, 2.0], [6, 0.6], [7, -0.4], [8, -0.5], [9, -0.5], [10, -0.5]];
      for (const [t, v] of series) h.batcher.push(ev('A', v, { timestamp: 1_000 * t }));
      assert.equal(h.batcher.stats().held, 1);
      h.batcher.flush();
      assert.deepEqual(h.emitted().map((e) => (e as { timestamp: number }).timestamp), [0, 4000, 9000, 10000]);
      assert.deepEqual(h.batcher.stats().filters.swingingDoor, { in: 11, out: 4 });
      assert.equal(h.batcher.stats().filtered, 7);
    });

    it('compMaxInterval: an archive point at least that often in event time, and no value held longer in wall time', () => {
      h = makeHarness({ ...immediate, swingingDoor: { deviation: 100, maxIntervalMs: 1000 } });
      push(ev('A', 1, { timestamp: 0 }), ev('A', 1, { timestamp: 400 }), ev('A', 1, { timestamp: 900 }), ev('A', 1, { timestamp: 1100 }));
      assert.deepEqual(h.emitted().map((e) => (e as { timestamp: number }).timestamp), [0, 900]);
      // the tag goes quiet: the held point (t=1100) is archived at the latest 1000 ms (wall clock) after the tag began holding
      h.clock.tick(999);
      assert.equal(h.batches.length, 2);
      h.clock.tick(1);
      assert.deepEqual(h.emitted().map((e) => (e as { timestamp: number }).timestamp), [0, 900, 1100]);
      assert.equal(h.batcher.stats().held, 0);
    });

    it('uses the arrival time when an event has no usable timestamp', () => {
      h = makeHarness({ ...immediate, swingingDoor: { deviation: 0.1 } });
      push(ev('A', 0, { timestamp: undefined }));
      h.clock.tick(10);
      push(ev('A', 1, { timestamp: 'garbage' }));
      h.clock.tick(10);
      push(ev('A', 2, { timestamp: undefined }));
      h.clock.tick(10);
      push(ev('A', 10, { timestamp: new Date(30).toISOString() }));
      // 0,1,2 lie on one line (slope 0.1/ms) → 1 discarded; 10 breaks it → 2 archived
      assert.deepEqual(h.values(), [0, 2]);
    });
  });

  describe('combinations', () => {
    it('applies debounce → deadband → repeats → swinging door in that order', () => {
      h = makeHarness({ size: 100, intervalMs: 0, debounceMs: 100, deadband: 0.5, dropRepeats: true, swingingDoor: { deviation: 1 } });
      // windows of 100 ms; per window only the last value reaches the deadband
      const windows: (number | string)[][] = [[5, 0], [0.3, 0.4], [2, 2.2], [2.2], [4], [6], [8], [3, 'x'], ['x']];
      let t = 0;
      for (const values of windows) {
        for (const v of values) h.batcher.push(ev('A', v, { timestamp: t, dataType: typeof v === 'string' ? 'String' : 'Float8' }));
        t += 100;
        h.clock.tick(100);
      }
      h.batcher.flush();
      // after debounce: 0, 0.4, 2.2, 2.2, 4, 6, 8, 'x', 'x' (at t = 0..800)
      // deadband 0.5: 0 pass, 0.4 drop, 2.2 pass, 2.2 drop, 4, 6, 8 pass, 'x' pass, 'x' pass (non-numeric)
      // repeats: 'x' twice → second dropped
      // swinging door E=1 over (0,0) (200,2.2) (400,4) (500,6) (600,8) (700,'x'):
      //   (0,0) archived; (200,2.2) held; (400,4): su=(4−1)/400=0.0075 sl=5/400=0.0125 with
      //   (200,2.2): su=0.006 sl=0.016 → upper 0.0075 ≤ lower 0.0125 → held;
      //   (500,6): su=5/500=0.01, sl=7/500=0.014 → upper 0.01 ≤ 0.0125 → held;
      //   (600,8): su=7/600=0.01167, sl=9/600=0.015 → upper 0.01167 ≤ 0.0125 → held;
      //   'x' non-numeric → archives snapshot (600,8) and 'x'.
      assert.deepEqual(h.values(), [0, 8, 'x']);
      const s = h.batcher.stats();
      assert.deepEqual(s.filters, {
        debounce: { in: 13, out: 9 }, deadband: { in: 9, out: 7 }, repeats: { in: 7, out: 6 }, swingingDoor: { in: 6, out: 3 }, minInterval: { in: 0, out: 0 },
      });
      assert.equal(s.in, 13);
      assert.equal(s.out, 3);
      assert.equal(s.filtered, 10);
    });

    it('reset() forgets buffered and held events and every per-tag reference', () => {
      h = makeHarness({ size: 100, intervalMs: 0, dropRepeats: true, swingingDoor: { deviation: 5 } });
      push(ev('A', 1, { timestamp: 0 }), ev('A', 2, { timestamp: 1 }));
      assert.equal(h.batcher.pendingCount, 2);
      assert.equal(h.batcher.reset(), 2);
      assert.equal(h.batcher.pendingCount, 0);
      assert.equal(h.batcher.stats().tags, 0);
      push(ev('A', 1, { timestamp: 2 }));
      h.batcher.flush();
      assert.deepEqual(h.values(), [1], 'the first value after a reset passes again');
      assert.equal(h.batcher.stats().resetDropped, 2);
    });
  });

  describe('memory bounds', () => {
    it('evicts the least recently seen tag beyond maxTags, emitting its held values', () => {
      h = makeHarness({ ...immediate, debounceMs: 1000, dropRepeats: true, maxTags: 3 });
      push(ev('A', 1), ev('B', 1), ev('C', 1));
      push(ev('A', 2)); // A is now the most recent: B is the eldest
      push(ev('D', 1));
      assert.deepEqual(h.emitted().map((e) => (e as { tagPath: string }).tagPath), ['B']);
      const s = h.batcher.stats();
      assert.equal(s.tags, 3);
      assert.equal(s.evictedTags, 1);
      h.clock.tick(1000);
      assert.deepEqual(h.values(), [1, 2, 1, 1]);
      push(ev('B', 1));
      h.clock.tick(1000);
      assert.equal(h.values().length, 5, 'an evicted tag starts afresh: its repeat passes');
    });

    it('keeps per-tag state within the cap for 100k distinct tags', () => {
      h = makeHarness({ size: 1000, intervalMs: 0, deadband: 1, dropRepeats: true, swingingDoor: { deviation: 1, maxIntervalMs: 60_000 }, maxTags: 5_000 });
      let maxTags = 0;
      for (let chunk = 0; chunk < 100; chunk++) {
        const events = Array.from({ length: 1000 }, (_, i) => ev(`Site/Tag${chunk * 1000 + i}`, i));
        h.batcher.push(events);
        maxTags = Math.max(maxTags, h.batcher.stats().tags);
      }
      h.batcher.flush();
      const s = h.batcher.stats();
      assert.equal(maxTags, 5_000);
      assert.equal(s.evictedTags, 95_000);
      assert.equal(s.out, 100_000, 'first values always pass');
      assert.equal(s.held, 0);
      assert.ok(h.clock.countTimers() <= 1);
    });
  });
});
