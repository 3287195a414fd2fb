/**
 * Scenario 2: Node-RED itself dies (its zerobus-out runs three streams).
 * - SIGKILL during load, restart, repeatedly: every event that got a 200 is delivered
 *   (the spool is fsync'd before the 200, and resent from the oldest unacknowledged record).
 * - A power-cut style torn tail: with Zerobus down (so the spool holds a backlog), Node-RED is
 *   killed, garbage and a partial frame are appended to the newest spool segment, and Node-RED
 *   starts again: recovery cuts the tail, and nothing that was answered 200 is lost.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { eventually } from '../support/dist';
import { httpJson } from '../../demo/emulator-process';
import { ChaosRig, isAlive, report, scaled, sleep, TABLE, useChaosRig } from './rig';
import { Prng } from '../support/prng';

function newestSegment(dir: string): string | undefined {
  const names = fs.readdirSync(dir).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
  return names.length ? path.join(dir, names[names.length - 1]) : undefined;
}

describe('chaos: Node-RED is killed with SIGKILL', function () {
  this.timeout(scaled(240_000));
  let rig: ChaosRig;
  // three streams to the table: what one stream left unacknowledged must come back as surely
  useChaosRig({ name: 'nodered', outProps: { streams: '3' } }, (started) => {
    rig = started;
  });

  it('delivers every event answered 200 across kills, and recovers a torn spool tail', async () => {
    const prng = new Prng(0xc4a05);
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.emulator.rowCount()) > 0, 30_000);
    await eventually('three streams open to the table', async () => {
      const stats = (await httpJson(`${rig.emulator.url}/api/stats`)).json as { streams: { table: string }[] };
      return stats.streams.filter((s) => s.table === TABLE).length === 3;
    }, 10_000);

    const kills = scaled(3);
    const restartMs: number[] = [];
    for (let i = 0; i < kills; i++) {
      await sleep(1000 + prng.int(1500));
      const pid = rig.nodeRed.pid;
      await rig.nodeRed.kill();
      assert.ok(!isAlive(pid));
      const t0 = Date.now();
      await rig.restartNodeRed();
      restartMs.push(Date.now() - t0);
      await eventually('a 200 after the restart', () => rig.source.countSince(200, t0) > 0, 30_000);
    }

    // torn tail: Zerobus down so that the newest segment holds unacknowledged records
    await rig.emulator.kill();
    await sleep(2500);
    const acceptedBeforeTear = rig.source.accepted.size;
    await rig.nodeRed.kill();
    await rig.source.stop();
    const segment = newestSegment(rig.spoolDir);
    assert.ok(segment, 'no spool segment on disk while Zerobus was down');
    const goodSize = fs.statSync(segment).size;
    assert.ok(goodSize > 0);
    const garbage = prng.bytes(37 + prng.int(200));
    const partialFrame = Buffer.concat([Buffer.from([0x5a, 0x42, 0x53, 0x50]), Buffer.from([0, 0, 0x01, 0xf4]), prng.bytes(100)]); // magic, length 500, 100 of its bytes
    fs.appendFileSync(segment, Buffer.concat([garbage, partialFrame]));
    const tornSize = fs.statSync(segment).size;

    await rig.restartNodeRed();
    await eventually('recovery to cut the torn tail', () => fs.statSync(segment).size === goodSize, 20_000);
    const afterRecovery = await rig.sink();
    assert.ok(afterRecovery.backlog > 0, `the backlog did not survive the crash: ${JSON.stringify(afterRecovery)}`);

    rig.source.start();
    await sleep(1500);
    const back = Date.now();
    await rig.emulator.start();
    await rig.waitDrained(60_000);
    const drainMs = Date.now() - back;

    const v = await rig.verify();
    const uncaught = rig.nodeRedLines().filter((l) => /uncaught|unhandled/i.test(l));
    report('Node-RED SIGKILL x' + kills + ' + torn tail', {
      ...v, missingSample: undefined, restartMs, acceptedBeforeTear, tornBytes: tornSize - goodSize, backlogAfterRecovery: afterRecovery.backlog, drainMs, statuses: rig.source.statuses,
    });
    rig.expectComplete(v, 2000);
    assert.deepEqual(uncaught, []);
  });
});
