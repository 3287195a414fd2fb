/**
 * Nothing accepted is lost at the edges, from outside, in a real Node-RED process with the packed
 * package installed by npm and the emulator: a SIGTERM while zerobus-batch holds events of the Ignition (ack `received`), Sparkplug
 * and inject paths (Zerobus up, then down), resends after a restart, a second Node-RED on the
 * same spool folder, a full 64 KiB spool disk, and the time to resume after a 10 s outage and
 * after a 401 burst on the token endpoint with the node's default retry settings.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import Aedes from 'aedes';
import * as mqtt from 'mqtt';
import { httpJson } from '../../demo/emulator-process';
import { NodeRedProcess } from '../../demo/node-red-process';
import { encodePayload } from '../../lib/sparkplug/codec';
import { eventually } from '../support/dist';
import { packInto } from '../e2e/acceptance-kit';
import { BATCH_ID, ChaosRig, IN_ID, isAlive, OUT_ID, report, scaled, sleep, TAB_ID, TABLE, useChaosRig } from './rig';

const HOLD = { size: 100_000, interval: 30_000 };
const GROUP = 'EdgesGrp';

/**
 * Three paths into one zerobus-out, each through a zerobus-batch that holds everything for 30 s:
 * Ignition (ack: received), Sparkplug B over MQTT, and inject → function.
 */
function holdingFlows(rig: ChaosRig, mqttUrl: string): object[] {
  const flows = rig.flows().map((n) => {
    const node = n as { id: string };
    if (node.id === BATCH_ID) return { ...node, ...HOLD };
    if (node.id === IN_ID) return { ...node, ack: 'received' };
    return node;
  });
  return [
    ...flows,
    { id: 'edges-spb', type: 'zerobus-sparkplug-broker', url: mqttUrl },
    { id: 'edges-sp', type: 'zerobus-sparkplug-in', z: TAB_ID, broker: 'edges-spb', group: GROUP, wires: [['edges-sp-batch'], []] },
    { id: 'edges-sp-batch', type: 'zerobus-batch', z: TAB_ID, ...HOLD, wires: [[OUT_ID], []] },
    { id: 'edges-inject', type: 'inject', z: TAB_ID, props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [['edges-fn']] },
    {
      id: 'edges-fn', type: 'function', z: TAB_ID, outputs: 1,
      func: "const base = msg.payload; msg.payload = Array.from({ length: 500 }, (_, i) => ({ tagPath: '[inject]Line/T' + (i % 20), value: i, quality: 192, timestamp: base + i })); return msg;",
      wires: [['edges-inject-batch']],
    },
    { id: 'edges-inject-batch', type: 'zerobus-batch', z: TAB_ID, ...HOLD, wires: [[OUT_ID], []] },
  ];
}

/** An MQTT broker for the Sparkplug path; `subscribed` counts subscriptions to the group. */
async function startBroker(): Promise<{ url: string; subscribed: () => number; stop: () => Promise<void> }> {
  const aedes = new Aedes();
  let subscribed = 0;
  aedes.on('subscribe', (subs) => {
    if (subs.some((s) => s.topic.includes(GROUP))) subscribed++;
  });
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    subscribed: () => subscribed,
    stop: () => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  };
}

/** An edge node: NBIRTH of 10 metrics, then 20 NDATA of all 10 (200 events newer than the birth). */
async function publishEdge(url: string, edge: string): Promise<{ since: number; events: number }> {
  const client = mqtt.connect(url, { clientId: `edges-${edge}` });
  await new Promise<void>((resolve) => client.on('connect', () => resolve()));
  const t = Date.now();
  const names = Array.from({ length: 10 }, (_, i) => `M${i}`);
  await client.publishAsync(`spBv1.0/${GROUP}/NBIRTH/${edge}`, encodePayload({
    timestamp: t, seq: 0,
    metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }, ...names.map((name, i) => ({ name, alias: i + 1, datatype: 'Double', value: 0, timestamp: t }))],
  }), { qos: 1 });
  for (let k = 1; k <= 20; k++) {
    await client.publishAsync(`spBv1.0/${GROUP}/NDATA/${edge}`, encodePayload({
      timestamp: t + k, seq: k, metrics: names.map((_, i) => ({ alias: i + 1, datatype: 'Double', value: k * 10 + i, timestamp: t + k })),
    }), { qos: 1 });
  }
  await client.endAsync();
  return { since: t, events: 200 };
}

/** Rows of the table whose tag path starts with `prefix` and whose event time is after `since` (ms). */
async function rowsOf(rig: ChaosRig, prefix: string, since: number): Promise<number> {
  const res = await httpJson(`${rig.emulator.url}/api/tables/${TABLE}/rows?limit=10000`);
  const rows = res.json as { tag_path: string; event_time: number | string }[];
  return rows.filter((r) => r.tag_path.startsWith(prefix) && Number(r.event_time) / 1000 > since).length;
}

async function sigterm(rig: ChaosRig): Promise<void> {
  const pid = rig.nodeRed.pid!;
  process.kill(pid, 'SIGTERM');
  await eventually('Node-RED to exit after SIGTERM', async () => !isAlive(pid), 20_000, 100);
  await rig.nodeRed.stop(); // already gone: forgets the child
}

describe('chaos: the edges (stop, second process, outages)', function () {
  this.timeout(scaled(240_000));
  let rig: ChaosRig;
  // the node's defaults: retry backoff cap 30 s, failed-retry interval 60 s
  // the packed package, installed with npm as the palette manager does (once; both Node-REDs copy it)
  let packDir: string | undefined;
  const install = (): { tarball: string } => {
    packDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'zb-edges-pack-'));
    return { tarball: packInto(packDir) };
  };
  after(() => packDir && fs.rmSync(packDir, { recursive: true, force: true }));
  let packed: { tarball: string };
  useChaosRig(() => ({ name: 'edges', clientId: 'edges-client', clientSecret: 'edges-secret', outProps: { retryBackoffMax: 30, failedRetryInterval: 60 }, install: (packed = install()) }), (started) => {
    rig = started;
  });
  after(() => {
    if (!mountPoint) return;
    execFileSync('umount', ['-l', mountPoint]);
    fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  // a real 64 KiB file system for the full-disk case, where this process may mount one
  let mountPoint: string | undefined;
  let mountError: string | undefined;
  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-edges-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
      mountPoint = dir;
    } catch (err) {
      mountError = (err as Error).message.split('\n')[0];
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  async function rowsReach(n: number, timeoutMs = 60_000): Promise<void> {
    try {
      await eventually(`${n} rows`, async () => (await rig.emulator.rowCount()) >= n, timeoutMs, 200);
    } catch (err) {
      const said = rig.lines.filter((l) => /\[(warn|error)\]/.test(l) && !/unencrypted|Projects disabled/.test(l));
      throw new Error(`${(err as Error).message}: ${await rig.emulator.rowCount()} rows; warnings and errors:\n${said.join('\n')}`);
    }
  }

  it('SIGTERM while batches hold events of the Ignition, Sparkplug and inject paths: all arrive after the restart (Zerobus up, then down)', async () => {
    const broker = await startBroker();
    try {
      assert.equal(await rig.deploy(holdingFlows(rig, broker.url), 'full'), 204);
      await rig.waitForRoute();
      const figures: Record<string, number> = {};
      for (const zerobus of ['up', 'down'] as const) {
        const before = await rig.emulator.rowCount();
        const accepted = rig.source.accepted.size;
        for (let i = 0; i < 10; i++) assert.equal(await rig.source.post(rig.source.nextBatch(200)), 200);
        const ignitionHeld = rig.source.accepted.size - accepted;
        await eventually('the Sparkplug host to subscribe', async () => broker.subscribed() > 0, 30_000, 100);
        const edge = await publishEdge(broker.url, `E_${zerobus}`);
        const injectSince = Date.now() - 1;
        const inject = await httpJson(`${rig.nodeRed.url}/inject/edges-inject`, 'POST', {});
        assert.equal(inject.status, 200);
        await sleep(1000); // the scenario: stopped 1 s later, well inside the 30 s batch interval
        assert.equal(await rig.emulator.rowCount(), before, 'the batches still hold the events');
        if (zerobus === 'down') await rig.emulator.kill();
        const stopMark = rig.lines.length;
        await sigterm(rig);
        if (zerobus === 'down') await rig.emulator.start();
        await rig.restartNodeRed();
        const held = ignitionHeld + edge.events + 500;
        await rowsReach(before + held);
        const edgePrefix = `[MQTT Engine]Edge Nodes/${GROUP}/E_${zerobus}/`;
        const sparkplugAll = await rowsOf(rig, edgePrefix, 0); // the birth's values too
        figures[`sparkplug_delivered_${zerobus}`] = await rowsOf(rig, edgePrefix, edge.since);
        figures[`inject_delivered_${zerobus}`] = await rowsOf(rig, '[inject]', injectSince);
        figures[`ignition_held_${zerobus}`] = ignitionHeld;
        figures[`ignition_delivered_${zerobus}`] = (await rig.emulator.rowCount()) - before - sparkplugAll - figures[`inject_delivered_${zerobus}`];
        assert.ok(!rig.lines.slice(stopMark).some((l) => /held events|not acknowledged by Zerobus/.test(l)), 'nothing was reported lost at the stop');
      }
      report('SIGTERM during batch holds', figures);
      for (const zerobus of ['up', 'down']) {
        assert.equal(figures[`sparkplug_delivered_${zerobus}`], 200, `sparkplug, Zerobus ${zerobus}`);
        assert.equal(figures[`inject_delivered_${zerobus}`], 500, `inject, Zerobus ${zerobus}`);
        assert.equal(figures[`ignition_delivered_${zerobus}`], 2000, `ignition, Zerobus ${zerobus}`);
      }
      // (the last test's verify() checks each accepted Ignition event by key, these included)
    } finally {
      await broker.stop();
    }
  });

  it('resends after a restart are dropped as duplicates: the window was saved at the stop', async () => {
    const before = await rig.emulator.rowCount();
    const batches = Array.from({ length: 5 }, () => rig.source.nextBatch(200));
    for (const b of batches) assert.equal(await rig.source.post(b), 200);
    await sigterm(rig); // at once: the last batch may still be on its way between two nodes
    await rig.restartNodeRed();
    await rowsReach(before + 1000);
    const dropped = (await rig.diagnostics()).duplicatesDropped as number;
    for (const b of batches) assert.equal(await rig.source.post(b), 200); // the 8.1 script resends every batch
    const droppedAfter = (await rig.diagnostics()).duplicatesDropped as number;
    // a second stop hands over anything the resends let through
    await sigterm(rig);
    await rig.restartNodeRed();
    const rows = (await rig.emulator.rowCount()) - before;
    report('resends after a restart', { resent: 1000, duplicatesDropped: droppedAfter - dropped, rows });
    assert.equal(droppedAfter - dropped, 1000);
    assert.equal(rows, 1000);
  });

  it('a second Node-RED on the same spool folder is refused with the owner named; its receiver answers 503', async () => {
    const second = new NodeRedProcess({
      userDir: path.join(rig.dir, 'node-red-2'),
      flows: [],
      install: packed,
      settings: { logging: { console: { level: 'info', metrics: false, audit: false } } },
      onLine: (l) => rig.lines.push(`[node-red-2] ${l}`),
    });
    second.prepare();
    second.writeFlows(rig.flows(), rig.credentials());
    await second.start();
    try {
      const url = `${second.url}/system/zerobus/ingest/batch`;
      const owner = new RegExp(`in use by process ${rig.nodeRed.pid} on host`);
      await eventually('the second zerobus-out to name the owner', async () => rig.lines.some((l) => l.startsWith('[node-red-2]') && owner.test(l)), 30_000, 200);
      const status = await new Promise<number>((resolve) => {
        const body = rig.source.nextBatch(10).body;
        const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
      assert.equal(status, 503);
    } finally {
      await second.stop();
    }
  });

  it('refuses with 503 and Retry-After while a 64 KiB spool disk is full, keeps sending, and recovers by itself', async function () {
    if (!mountPoint) {
      console.log(`      skipped: cannot mount a 64 KiB tmpfs here (${mountError})`);
      this.skip();
    }
    assert.equal(await rig.deploy(rig.flows({ spoolDir: path.join(mountPoint, 'spool') }), 'full'), 204);
    await rig.waitForRoute();
    await rig.emulator.kill(); // nothing is acknowledged: the spool fills the disk
    let refusal: { status: number; retryAfter?: string } | undefined;
    for (let i = 0; i < 200 && !refusal; i++) {
      const status = await rig.source.post(rig.source.nextBatch(50));
      if (status === 503) refusal = rig.source.recent[rig.source.recent.length - 1];
    }
    assert.ok(refusal, 'the full disk was never refused');
    assert.ok(Number(refusal.retryAfter) > 0, 'a 503 with Retry-After');
    assert.ok(rig.lines.some((l) => /disk of (the )?spool.* is full/.test(l)), 'the refusal says why');
    await rig.emulator.start();
    // no one frees space by hand: acknowledged segments go, and new data is taken again
    await eventually('a 200 after the disk was freed', async () => (await rig.source.post(rig.source.nextBatch(50))) === 200, 60_000, 200);
    await rig.waitDrained();
    // back to the spool folder on the ordinary disk (every accepted event is checked at the end)
    assert.equal(await rig.deploy(rig.flows(), 'full'), 204);
    await rig.waitForRoute();
  });

  it('resumes within 5 s after a 10 s outage and after a 401 burst, with the default retry settings', async () => {
    rig.source.start();
    await eventually('rows flowing', async () => (await rig.sink()).state === 'streaming', 30_000, 200);

    await rig.emulator.kill();
    await sleep(10_000);
    const countBefore = await rig.emulator.rowCount().catch(() => 0);
    await rig.emulator.start();
    const back = Date.now();
    const base = await rig.emulator.rowCount();
    await eventually('rows after the outage', async () => (await rig.emulator.rowCount()) > base, 30_000, 100);
    const outageResumeMs = Date.now() - back;

    // a 401 burst: tokens expire and the server ends the stream, so the next stream needs a new
    // token, which the token endpoint refuses (a final error for that stream) until it heals
    await rig.emulator.fault('tokenEndpointStatus', 401);
    await rig.emulator.fault('expireTokens');
    const lineMark = rig.lines.length;
    await rig.emulator.fault('sendCloseSignal', 0);
    await eventually('the sink to fail on the 401', async () => (await rig.sink()).state === 'failed', 30_000, 100);
    await eventually('the next retry time in the status', async () => rig.lines.slice(lineMark).some((l) => /auth failed: .* · retry \d\d:\d\d:\d\d/.test(l)), 10_000, 100);
    await rig.emulator.fault('tokenEndpointStatus', null);
    const healed = Date.now();
    const base2 = await rig.emulator.rowCount();
    await eventually('rows after the 401 burst', async () => (await rig.emulator.rowCount()) > base2, 60_000, 100);
    const authResumeMs = Date.now() - healed;

    const v = await rig.verify();
    report('outage and 401 burst', { outageResumeMs, authResumeMs, countBefore, ...v, missingSample: undefined });
    rig.expectComplete(v, 100);
    assert.ok(outageResumeMs < 5000, `resumed ${outageResumeMs} ms after a 10 s outage`);
    assert.ok(authResumeMs < 10_000, `resumed ${authResumeMs} ms after the 401 burst ended`);
  });
});

