/**
 * Scenario 1: Zerobus goes away under sustained load — the emulator process is killed with
 * SIGKILL and restarted several times, then stays unreachable for a while. The receiver keeps
 * answering 200 (the disk spool takes the backlog), the backlog drains once Zerobus is back,
 * and every event answered 200 is in the table.
 */
import assert from 'node:assert/strict';
import { eventually } from '../support/dist';
import { ChaosRig, report, scaled, sleep, useChaosRig } from './rig';

describe('chaos: the emulator is killed and unreachable during load', function () {
  this.timeout(scaled(180_000));
  let rig: ChaosRig;
  useChaosRig({ name: 'emulator', clientId: 'chaos-emu-client', clientSecret: 'chaos-emu-secret' }, (started) => {
    rig = started;
  });

  it('delivers every accepted event across SIGKILLs and an outage', async () => {
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.emulator.rowCount()) > 0, 30_000);

    const kills = scaled(3);
    for (let i = 0; i < kills; i++) {
      await sleep(1500);
      await rig.emulator.kill();
      await sleep(700);
      await rig.emulator.start();
    }

    // a longer outage: the backlog grows in the spool while the receiver keeps answering 200
    await rig.emulator.kill();
    const acceptedBefore = rig.source.accepted.size;
    await sleep(scaled(5000));
    const during = await rig.sink();
    const acceptedDuringOutage = rig.source.accepted.size - acceptedBefore;
    assert.ok(acceptedDuringOutage > 0, `the receiver accepted nothing while Zerobus was down: ${JSON.stringify(rig.source.statuses)}`);
    assert.ok(during.backlog > 0, `no backlog in the spool during the outage: ${JSON.stringify(during)}`);
    assert.notEqual(during.state, 'streaming');

    const back = Date.now();
    await rig.emulator.start();
    await rig.waitDrained(60_000);
    const recoveryMs = Date.now() - back;
    await sleep(1000); // some load on the recovered stream

    const v = await rig.verify();
    report('emulator SIGKILL x' + kills + ' + outage', { ...v, missingSample: undefined, backlogDuringOutage: during.backlog, acceptedDuringOutage, recoveryMs, statuses: rig.source.statuses });
    rig.expectComplete(v, 2000);
  });
});
