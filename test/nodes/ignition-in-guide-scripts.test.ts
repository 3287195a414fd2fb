/**
 * The original guide's 8.1 script keeps every batch it delivered and sends it again with each
 * later change (it reads a `statusCode` that system.net.httpPost's string result lacks), so
 * request k carries the first k events. Replayed from a recorded session: the receiver's
 * duplicate window passes each event downstream once; and with a per-request event limit the
 * ever-growing batch is refused for good, which is why docs/MIGRATING.md replaces the script.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import supertest from 'supertest';
import type { NodeAPI } from 'node-red';
import { PACKAGE_ROOT } from '../../lib/paths';
import { flowOf, helper, loadFlow, sinkControl } from '../lib/ignition/node-harness';

const BATCH = '/system/zerobus/ingest/batch';
const SESSION = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'ignition', 'original-guide-8.1-resends.json'), 'utf8')) as {
  requests: Record<string, unknown>[][];
};

describe('zerobus-ignition-in replaying the original guide\'s 8.1 script', function () {
  this.timeout(20_000);
  let RED: NodeAPI;

  beforeEach(async () => {
    sinkControl.reset();
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const agent = () => supertest(RED.httpNode as unknown as Parameters<typeof supertest>[0]);
  const postAsScript = (body: unknown[]) => agent().post(BATCH).set('Content-Type', 'application/json').send(JSON.stringify(body));

  it('passes each event downstream once however often the script resends it', async () => {
    RED = await loadFlow(flowOf({ viaFunction: false }));
    const { requests } = SESSION;
    assert.ok(requests.length >= 5);
    for (let k = 0; k < requests.length; k++) {
      assert.equal(requests[k].length, k + 1, 'the fixture grows by one event per request');
      const res = await postAsScript(requests[k]).expect(200);
      assert.deepEqual(res.body, { received: k + 1, accepted: 1, rejected: 0, duplicates: k, errors: [] });
    }
    const passed = sinkControl.received.flatMap((m) => m.payload as { tagPath: string; timestamp: number }[]);
    assert.equal(passed.length, requests.length);
    assert.deepEqual(
      passed.map((e) => `${e.tagPath}@${e.timestamp}`),
      requests[requests.length - 1].map((e) => `${String(e.tagPath)}@${String(e.timestamp)}`),
    );
    const diag = (await agent().get('/system/zerobus/diagnostics').expect(200)).body;
    assert.equal(diag.duplicatesDropped, (requests.length * (requests.length - 1)) / 2);
    assert.equal(diag.totalEventsReceived, (requests.length * (requests.length + 1)) / 2);
  });

  it('refuses the ever-growing batch for good once it passes maxEvents', async () => {
    const limit = 4;
    RED = await loadFlow(flowOf({ viaFunction: false, maxEvents: limit }));
    const statuses: number[] = [];
    for (const body of SESSION.requests) statuses.push((await postAsScript(body)).status);
    assert.deepEqual(statuses, SESSION.requests.map((b) => (b.length > limit ? 413 : 200)));
    // the events past the limit never went downstream: the script cannot deliver them any more
    assert.equal(sinkControl.received.flatMap((m) => m.payload as unknown[]).length, limit);
  });
});
