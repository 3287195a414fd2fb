/**
 * Scenario 5: the spool limit is reached (a 1 MB spool, Zerobus down). The receiver answers
 * 503 with Retry-After instead of dropping (backpressure), /health says not ready, Node-RED
 * does not crash, and once Zerobus is back the spool drains and 200s resume. Every event
 * answered 200 is delivered.
 */
import assert from 'node:assert/strict';
import { eventually } from '../support/dist';
import { ChaosRig, isAlive, processFigures, report, scaled, sleep, useChaosRig } from './rig';

describe('chaos: the spool limit is reached', function () {
  this.timeout(scaled(180_000));
  let rig: ChaosRig;
  useChaosRig({ name: 'spoolfull', outProps: { spoolMaxMB: 1 }, source: { batch: 200, intervalMs: 20, concurrency: 3 } }, (started) => {
    rig = started;
  });

  it('answers 503 with Retry-After while full, and recovers when Zerobus returns', async () => {
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.emulator.rowCount()) > 0, 30_000);
    await rig.emulator.kill();
    const down = Date.now();

    await eventually('503 answers once the spool is full', () => rig.source.countSince(503, down) >= 3, scaled(60_000), 200);
    const full = Date.now();
    const fullAfterMs = full - down;
    const sinkFull = await rig.sink();
    const health = await rig.health();
    await sleep(scaled(3000));
    const refusals = rig.source.recent.filter((r) => r.at >= full && r.status === 503);
    const okWhileFull = rig.source.countSince(200, full + 1000);
    const pid = rig.nodeRed.pid!;
    const figuresFull = processFigures(pid);

    assert.ok(isAlive(pid), 'Node-RED died');
    assert.ok(refusals.length > 0);
    assert.ok(refusals.every((r) => r.retryAfter && Number(r.retryAfter) > 0), `a 503 without Retry-After: ${JSON.stringify(refusals.slice(0, 3))}`);
    assert.equal(sinkFull.accepting, false, `the sink should refuse while full: ${JSON.stringify(sinkFull)}`);
    assert.equal(health.status, 503, `health while the spool is full: ${health.status} ${JSON.stringify(health.json)}`);
    assert.ok(okWhileFull <= 2, `${okWhileFull} answers 200 while the spool was full`);

    const back = Date.now();
    await rig.emulator.start();
    await eventually('200 answers again', () => rig.source.countSince(200, back) >= 3, 60_000, 200);
    const recoveryMs = Date.now() - back;

    const v = await rig.verify();
    const uncaught = rig.nodeRedLines().filter((l) => /uncaught|unhandled/i.test(l));
    report('spool limit 1 MB', {
      ...v, missingSample: undefined, fullAfterMs, backlogWhenFull: sinkFull.backlog, refusals503: refusals.length, retryAfter: refusals[0]?.retryAfter,
      rssMBWhileFull: figuresFull.rssMB, recoveryMs, statuses: rig.source.statuses,
    });
    assert.ok(isAlive(pid), 'Node-RED died');
    assert.deepEqual(uncaught, []);
    rig.expectComplete(v, 2000);
  });
});
