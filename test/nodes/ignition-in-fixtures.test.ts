/**
 * The payloads the shipped Ignition scripts (examples/ignition/) produce, and those of the
 * ORIGINAL guide's scripts (Jython type names, "None" providers, bare NaN, Java date text),
 * posted byte for byte to the receiver: everything is accepted and normalised, and the
 * original 8.1 script's resend of every delivered batch costs nothing downstream.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import supertest from 'supertest';
import type { NodeAPI, NodeMessageInFlow } from 'node-red';
import type { TagEvent } from '../../lib/tags';
import { PACKAGE_ROOT } from '../../lib/paths';
import { flowOf, helper, loadFlow, sinkControl } from '../lib/ignition/node-harness';

const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'ignition');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const BATCH = '/system/zerobus/ingest/batch';

function nextPayload(): Promise<TagEvent[]> {
  return new Promise((resolve) => helper.getNode('out').once('input', (msg: NodeMessageInFlow) => resolve(msg.payload as TagEvent[])));
}

describe('zerobus-ignition-in with the Ignition scripts\' payloads', function () {
  this.timeout(20_000);
  let RED: NodeAPI;

  beforeEach(async () => {
    sinkControl.reset();
    await helper.startServer();
    RED = await loadFlow(flowOf());
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const agent = () => supertest(RED.httpNode as unknown as Parameters<typeof supertest>[0]);

  async function postBatch(body: string): Promise<{ result: Record<string, unknown>; events: TagEvent[] }> {
    const emitted = nextPayload();
    const res = await agent().post(BATCH).set('Content-Type', 'application/json;charset=UTF-8').send(body).expect(200);
    return { result: res.body, events: await emitted };
  }

  it('corrected 8.1 Gateway Tag Change script: every Jython type', async () => {
    const body = fixture('gateway-tag-change-8.1.json');
    const { result, events } = await postBatch(body);
    assert.deepEqual(result, { received: 12, accepted: 12, rejected: 0, duplicates: 0, errors: [] });
    const byPath = new Map(events.map((e) => [e.tagPath, e]));
    assert.equal(byPath.get('[default]Line1/Speed')!.dataType, 'Float8');
    assert.equal(byPath.get('[default]Line1/Count')!.dataType, 'Int4');
    assert.equal(byPath.get('[default]Line1/Total')!.dataType, 'Int8');
    assert.equal(byPath.get('[default]Line1/Running')!.dataType, 'Boolean');
    assert.equal(byPath.get('[default]Line1/State')!.dataType, 'String');
    assert.equal(byPath.get('[default]Line1/LastStart')!.dataType, 'DateTime');
    assert.equal(byPath.get('[default]Line1/Broken')!.value, null);
    assert.deepEqual(byPath.get('[default]Line1/Profile')!.value, [1.5, 2.5, 3.5]);
    assert.equal(byPath.get('[default]Line1/Disabled')!.quality, 'Bad_Disabled');
    assert.equal(byPath.get('[Sample_Tags]Sine/Sine0')!.tagProvider, 'Sample_Tags');
    for (const e of events) assert.equal(typeof e.timestamp, 'number');
  });

  it('8.3 Event Streams script handler, both encoders', async () => {
    const { result, events } = await postBatch(fixture('event-streams-handler-8.3.json'));
    assert.equal(result.accepted, 5);
    const pressure = events.find((e) => e.tagPath === '[default]Boiler/Pressure')!;
    assert.equal(pressure.timestamp, Date.parse('2025-12-11T12:30:45.204Z'));
    assert.equal(pressure.qualityCode, 192);
    assert.equal(events.find((e) => e.tagPath === '[edge]Meter/Energy')!.tagProvider, 'edge');
  });

  it('8.3 Event Streams HTTP handler, one event per request on /ingest', async () => {
    const emitted = nextPayload();
    const res = await agent().post('/system/zerobus/ingest').set('Content-Type', 'application/json').send(fixture('event-streams-http-handler-8.3-single.json')).expect(200);
    assert.equal(res.body.accepted, 1);
    assert.equal((await emitted)[0].tagPath, '[default]Boiler/Flow');
  });

  it('original guide 8.1 payload: NaN/Infinity, Java date text, string timestamp, unsigned code; its resend is dropped', async () => {
    const body = fixture('original-guide-8.1.txt');
    const { result, events } = await postBatch(body);
    assert.deepEqual(result, { received: 10, accepted: 10, rejected: 0, duplicates: 0, errors: [] });
    const byPath = new Map(events.map((e) => [e.tagPath, e]));
    assert.ok(Number.isNaN(byPath.get('[default]Line1/Ratio')!.value as number));
    assert.equal(byPath.get('[default]Line1/Limit')!.value, Infinity);
    assert.equal(byPath.get('[default]Line1/Unsigned')!.timestamp, 1765456245409);
    assert.equal(byPath.get('[default]Line1/Unsigned')!.qualityCode, -2147483136);
    assert.equal(byPath.get('[default]Line1/Unsigned')!.quality, 'Bad');
    assert.equal(byPath.get('[default]Line1/LastStart')!.dataType, 'DateTime');
    // the original script re-sends every batch it delivered: the receiver drops all of it
    const again = await agent().post(BATCH).set('Content-Type', 'application/json').send(body).expect(200);
    assert.deepEqual(again.body, { received: 10, accepted: 0, rejected: 0, duplicates: 10, errors: [] });
    assert.equal(sinkControl.received.length, 1);
  });

  it('original guide 8.3 payload: provider "None" is taken from the path', async () => {
    const { result, events } = await postBatch(fixture('original-guide-8.3.json'));
    assert.equal(result.accepted, 3);
    assert.deepEqual(events.map((e) => e.tagProvider), ['default', 'Sample_Tags', 'default']);
    assert.equal(events[2].quality, 'Uncertain');
  });
});
