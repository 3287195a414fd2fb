import assert from 'node:assert/strict';
import { SwingingDoor, type DoorOutcome, type DoorPoint } from '../../../lib/batching';

/**
 * Runs points through one door and returns, per offered point, what it archived and discarded
 * (point names), then what a final release() archived.
 */
function run(door: SwingingDoor<string>, points: [string, number, number | undefined, string?][]) {
  const steps: { archived: string[]; discarded: string[] }[] = [];
  for (const [name, t, v, cls] of points) {
    const out: DoorOutcome<string> = { archive: [], discard: [] };
    const p: DoorPoint = { t, v, cls: cls ?? 'Good' };
    door.offer(p, name, out);
    steps.push({ archived: out.archive, discarded: out.discard });
  }
  return { steps, archivedAll: steps.flatMap((s) => s.archived) };
}

describe('SwingingDoor (Bristol 1990, PI "compression deviation")', () => {
  /*
   * Worked example built by hand from the published definition of swinging door trending
   * (E. H. Bristol, "Swinging Door Trending: Adaptive Trend Recording?", ISA 1990; the same
   * algorithm is OSIsoft PI's CompDev compression). Deviation E = 1.
   *
   * From the last archived point A, pivots sit at A+E and A−E. For each point P since A:
   *   su(P) = (vP − vA − E)/(tP − tA)   (slope from the upper pivot through P)
   *   sl(P) = (vP − vA + E)/(tP − tA)   (slope from the lower pivot through P)
   *   upper = max su, lower = min sl over all points since A.
   * While upper <= lower a line from A exists that stays within E of every point, so the new
   * point only replaces the snapshot S. When upper > lower ("the doors opened past parallel"),
   * S is archived, becomes A, and the doors restart from it with P.
   *
   *  P0 (0,  0)   first point: archived. A = P0.
   *  P1 (1,  0.5) su = (0.5−1)/1 = −0.5      sl = 1.5/1 = 1.5          upper −0.5   lower 1.5     S = P1
   *  P2 (2,  1.2) su = 0.2/2 = 0.1           sl = 2.2/2 = 1.1          upper 0.1    lower 1.1     P1 discarded, S = P2
   *  P3 (3,  1.5) su = 0.5/3 = 0.1667        sl = 2.5/3 = 0.8333       upper 0.1667 lower 0.8333  P2 discarded, S = P3
   *  P4 (4,  3.5) su = 2.5/4 = 0.625         sl = 4.5/4 = 1.125        upper 0.625  lower 0.8333  P3 discarded, S = P4
   *  P5 (5,  2.0) su = 1/5 = 0.2             sl = 3/5 = 0.6            upper 0.625 > lower 0.6: doors open past
   *               parallel → P4 archived, A = P4 (4, 3.5); restart with P5 (dt 1):
   *               su = (2−3.5−1)/1 = −2.5    sl = (2−3.5+1)/1 = −0.5   upper −2.5   lower −0.5    S = P5
   *  P6 (6,  0.6) su = −3.9/2 = −1.95        sl = −1.9/2 = −0.95       upper −1.95  lower −0.95   P5 discarded, S = P6
   *  P7 (7, −0.4) su = −4.9/3 = −1.6333      sl = −2.9/3 = −0.9667     upper −1.6333 lower −0.9667 P6 discarded, S = P7
   *  P8 (8, −0.5) su = −5/4 = −1.25          sl = −3/4 = −0.75         upper −1.25  lower −0.9667 P7 discarded, S = P8
   *  P9 (9, −0.5) su = −5/5 = −1.0           sl = −3/5 = −0.6          upper −1.0   lower −0.9667 P8 discarded, S = P9
   *  P10(10,−0.5) su = −5/6 = −0.8333        sl = −3/6 = −0.5          upper −0.8333 > lower −0.9667 → P9 archived,
   *               A = P9 (9, −0.5); restart with P10: su = −1, sl = 1                              S = P10
   *  release() (flush/close) archives the held snapshot P10.
   * Archive: P0, P4, P9, P10 — 4 of 11 points.
   */
  it('archives exactly the points of the hand-worked example', () => {
    const door = new SwingingDoor<string>(1);
    const { steps, archivedAll } = run(door, [
      ['P0', 0, 0], ['P1', 1, 0.5], ['P2', 2, 1.2], ['P3', 3, 1.5], ['P4', 4, 3.5], ['P5', 5, 2.0],
      ['P6', 6, 0.6], ['P7', 7, -0.4], ['P8', 8, -0.5], ['P9', 9, -0.5], ['P10', 10, -0.5],
    ]);
    assert.deepEqual(archivedAll, ['P0', 'P4', 'P9']);
    assert.deepEqual(steps[5], { archived: ['P4'], discarded: [] }, 'P5 opens the door: the last point before it is archived');
    assert.deepEqual(steps[4], { archived: [], discarded: ['P3'] });
    assert.deepEqual(steps[10], { archived: ['P9'], discarded: [] });
    assert.deepEqual(steps.flatMap((s) => s.discarded), ['P1', 'P2', 'P3', 'P5', 'P6', 'P7', 'P8']);
    assert.equal(door.holding, true);
    assert.equal(door.release(), 'P10');
    assert.equal(door.holding, false);
    assert.equal(door.release(), undefined);
  });

  it('with deviation 0 keeps only the corners of a piecewise-linear signal', () => {
    const door = new SwingingDoor<string>(0);
    // ramp up 0..4 (slope 1), then flat at 4 until t=8, then down
    const { archivedAll } = run(door, [
      ['a', 0, 0], ['b', 1, 1], ['c', 2, 2], ['d', 3, 3], ['e', 4, 4], ['f', 5, 4], ['g', 6, 4], ['h', 7, 4], ['i', 8, 4], ['j', 9, 2],
    ]);
    // f breaks the slope-1 line → e archived; j breaks the flat line → i archived; j is held
    assert.deepEqual(archivedAll, ['a', 'e', 'i']);
    assert.equal(door.release(), 'j');
  });

  it('restarts the doors from a released point', () => {
    const door = new SwingingDoor<string>(1);
    run(door, [['a', 0, 0], ['b', 1, 0.2]]);
    assert.equal(door.release(), 'b');
    // from b (1, 0.2): c within E of any line → held; d far away opens at once relative to b..c
    const { steps } = run(door, [['c', 2, 0.3], ['d', 3, 5]]);
    assert.deepEqual(steps[0], { archived: [], discarded: [] });
    assert.deepEqual(steps[1], { archived: ['c'], discarded: [] });
  });

  it('archives the snapshot and the new point on a quality change', () => {
    const door = new SwingingDoor<string>(10);
    const { steps } = run(door, [['a', 0, 1], ['b', 1, 1], ['c', 2, 1, 'Bad'], ['d', 3, 1, 'Bad'], ['e', 4, 1, 'Good']]);
    assert.deepEqual(steps.map((s) => s.archived), [['a'], [], ['b', 'c'], [], ['d', 'e']]);
  });

  it('archives non-numeric values and the numeric value after them', () => {
    const door = new SwingingDoor<string>(10);
    const { steps } = run(door, [['a', 0, 1], ['b', 1, 1], ['c', 2, undefined], ['d', 3, 1], ['e', 4, 1]]);
    assert.deepEqual(steps.map((s) => s.archived), [['a'], [], ['b', 'c'], ['d'], []]);
  });

  it('archives both points when the timestamp does not advance', () => {
    const door = new SwingingDoor<string>(10);
    const { steps } = run(door, [['a', 0, 1], ['b', 5, 1], ['c', 5, 2], ['d', 3, 2]]);
    assert.deepEqual(steps.map((s) => s.archived), [['a'], [], ['b', 'c'], ['d']]);
  });

  it('maxInterval (CompMax) archives the snapshot when the next point is too far from the archive', () => {
    const door = new SwingingDoor<string>(100, 10);
    const { steps } = run(door, [['a', 0, 1], ['b', 4, 1], ['c', 9, 1], ['d', 11, 1], ['e', 15, 1], ['f', 22, 1]]);
    // d is 11 > 10 from a → c (held) archived; f is 13 > 10 from c → e archived
    assert.deepEqual(steps.map((s) => s.archived), [['a'], [], [], ['c'], [], ['e']]);
    assert.deepEqual(steps.flatMap((s) => s.discarded), ['b', 'd']);
  });

  it('rejects a negative deviation', () => {
    assert.throws(() => new SwingingDoor(-1), RangeError);
  });
});
