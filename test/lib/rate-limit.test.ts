import assert from 'node:assert/strict';
import { IntervalGate, StandingNotice, SummedReport } from '../../lib/rate-limit';

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => (at += ms) };
}

describe('rate limits', () => {
  it('IntervalGate passes the first time, then once per interval, and again at once after open()', () => {
    const c = clock();
    const gate = new IntervalGate(10_000, c.now);
    assert.equal(gate.tryPass(), true);
    c.advance(9_999);
    assert.equal(gate.tryPass(), false);
    c.advance(1);
    assert.equal(gate.tryPass(), true);
    gate.open();
    assert.equal(gate.tryPass(), true);
    assert.equal(gate.tryPass(), false);
  });

  it('SummedReport reports the first count at once and the sum of the rest once per interval', () => {
    const c = clock();
    const reports: number[] = [];
    const report = new SummedReport(10_000, (n) => reports.push(n), c.now);
    report.add(3);
    report.add(4);
    c.advance(5_000);
    report.add(5);
    assert.deepEqual(reports, [3]);
    c.advance(5_000);
    report.add(1);
    assert.deepEqual(reports, [3, 10]);
  });

  it('StandingNotice tells a raised condition at once, then at most once per interval, and nothing once cleared', () => {
    const c = clock();
    const notice = new StandingNotice<string>(10_000, c.now);
    assert.equal(notice.due(), undefined);
    notice.raise('stuck');
    assert.equal(notice.due(), 'stuck');
    assert.equal(notice.due(), undefined);
    c.advance(10_000);
    assert.equal(notice.due(), 'stuck');
    notice.raise('stuck again'); // a new episode is told at once
    assert.equal(notice.due(), 'stuck again');
    notice.clear();
    c.advance(20_000);
    assert.equal(notice.due(), undefined);
  });
});
