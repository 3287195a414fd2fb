/**
 * Scenario 3: redeploys under load. Ten deploys through the admin API (alternating `full` and
 * `nodes`), each changing a property of zerobus-out, some also the receiver's limits:
 * - no event answered 200 is lost;
 * - the receiver route is not duplicated: after each full deploy the answering receiver is the
 *   new one (fresh `startedAt`, the new limits in /diagnostics, /health ready), never a stale one;
 * - the gateway never gets a 404 (requests wait for the redeployed receiver; those held by the old
 *   one when it closes get 503 + Retry-After) and
 *   no request is left without an answer;
 * - no leaked handles: open descriptors and sockets of the Node-RED process return to where they
 *   were before the deploys (within a small margin).
 */
import assert from 'node:assert/strict';
import { eventually } from '../support/dist';
import { ChaosRig, IN_ID, processFigures, report, scaled, sleep, useChaosRig } from './rig';

/** descriptors a deploy may legitimately leave different (a keep-alive socket, a log file rotating) */
const FD_MARGIN = 5;

describe('chaos: redeploys during load', function () {
  this.timeout(scaled(180_000));
  let rig: ChaosRig;
  useChaosRig({ name: 'redeploy' }, (started) => {
    rig = started;
  });

  it('loses nothing, serves one fresh route, and leaks no handles', async () => {
    const pid = rig.nodeRed.pid!;
    // warm up: one stream open, the source's keep-alive sockets in place, then measure at rest
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.emulator.rowCount()) > 0, 30_000);
    await rig.source.stop();
    await rig.waitDrained(30_000);
    await sleep(500);
    const before = processFigures(pid);

    rig.source.start();
    const deploys = scaled(10);
    const deployMs: number[] = [];
    for (let i = 1; i <= deploys; i++) {
      const type = i % 2 ? 'full' : 'nodes';
      const maxEvents = 5000 + i;
      const flows = rig.flows({ batchBytes: 1_000_000 + i * 1024, name: `sink v${i}` }).map((n) =>
        type === 'full' && (n as { id: string }).id === IN_ID ? { ...n, maxEvents } : n,
      );
      const t0 = Date.now();
      const previous = (await rig.diagnostics()).startedAt as string;
      const status = await rig.deploy(flows, type);
      assert.ok(status === 200 || status === 204, `deploy ${i} (${type}) answered ${status}`);
      // the new receiver answers (a full deploy restarts it: fresh startedAt, the new limits)
      const d = await eventually(
        `the receiver after deploy ${i}`,
        async () => {
          const x = await rig.diagnostics();
          return type === 'nodes' || x.startedAt !== previous ? x : undefined;
        },
        30_000,
        100,
      );
      if (type === 'full') assert.equal(d.limits.maxEvents, maxEvents, 'the answering receiver is not the newly deployed one');
      const settled = Date.now();
      await eventually(`a 200 after deploy ${i}`, () => rig.source.countSince(200, settled) > 0, 30_000, 100);
      deployMs.push(Date.now() - t0);
      const h = await rig.health();
      assert.equal(h.status, 200, `health after deploy ${i}: ${JSON.stringify(h.json)}`);
      assert.equal(h.json.sinks.length, 1, `one sink expected after deploy ${i}: ${JSON.stringify(h.json.sinks)}`);
      await sleep(300);
    }

    const v = await (async () => {
      await rig.source.stop();
      await rig.waitDrained(60_000);
      // handles: back to the level before the deploys (closing sockets take a moment)
      let after = processFigures(pid);
      await eventually(
        'descriptors back to their level before the deploys',
        () => {
          after = processFigures(pid);
          return after.fds <= before.fds + FD_MARGIN && after.sockets <= before.sockets + FD_MARGIN;
        },
        20_000,
        500,
      ).catch(() => undefined);
      report('redeploy x' + deploys, { before, after, deployMs });
      assert.ok(after.fds <= before.fds + FD_MARGIN, `descriptors grew from ${before.fds} to ${after.fds}`);
      assert.ok(after.sockets <= before.sockets + FD_MARGIN, `sockets grew from ${before.sockets} to ${after.sockets}`);
      return rig.verify();
    })();
    report('redeploy x' + deploys + ' delivery', { ...v, missingSample: undefined, statuses: rig.source.statuses });
    assert.equal(rig.source.statuses[404], undefined, `404 during redeploys: ${JSON.stringify(rig.source.statuses)}`);
    assert.equal(rig.source.statuses[0], undefined, `requests without an answer: ${JSON.stringify(rig.source.statuses)}`);
    rig.expectComplete(v, 1000);
  });
});
