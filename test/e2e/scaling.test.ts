/**
 * The layouts of docs/SCALING.md, tried on loopback with real parts: two Node-RED processes
 * running the same flow (the package linked, as a user installs it), one Zerobus emulator, one
 * aedes broker, a loopback load balancer sticky by gateway, Ignition-like gateways and Tahu
 * Sparkplug edge nodes. Each instance has its own user dir, so its own spool folders and
 * duplicate window.
 *
 * - several `zerobus-out` nodes writing one table: two receiver routes, two sinks, one table;
 *   a switch node splitting Sparkplug tags over two sinks
 * - Sparkplug groups split across hosts: each instance is the host of one group
 * - several instances behind a balancer: one is killed (-9) under load and started again;
 *   every event answered 200 is in the table, and the copies a failover causes share an
 *   event_id with identical content (what the silver table of examples/tables/ folds)
 *
 * Figures go through report() (CHAOS_VERBOSE=1 prints them).
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import Aedes from 'aedes';
import { httpJson } from '../../demo/emulator-process';
import { LINKED_PACKAGE_DIR, NodeRedProcess } from '../../demo/node-red-process';
import { SparkplugEdgeSimulator } from '../../demo/sparkplug-simulator';
import { AcceptedSource, countCopies, report } from '../chaos/rig';
import { eventually, requireBuiltPackage } from '../support/dist';
import { LoopbackBalancer } from './loopback-balancer';

const TABLE = 'main.ot.tag_events';
const CLIENT_ID = 'scaling-client';
const CLIENT_SECRET = 'scaling-secret';
const MAIN_PATH = '/system/zerobus';
const LINE2_PATH = '/line2/zerobus';

type Row = Record<string, unknown>;
type EmulatorModule = typeof import('../../lib/emulator');

interface Instance {
  name: string;
  group: string;
  red: NodeRedProcess;
  lines: string[];
}

/** The flow every instance runs; only the Sparkplug host id and group differ (docs/SCALING.md). */
function instanceFlow(dir: string, emu: { endpoint: string; workspaceUrl: string }, brokerUrl: string, name: string, group: string): object[] {
  const z = 'scale-tab';
  const sink = (id: string, spool: string) => ({
    id, type: 'zerobus-out', z, name: `sink ${spool}`, connection: 'scale-cfg', table: TABLE, format: 'ot-event', recordType: 'proto', sourceSystem: '',
    spool: 'disk', spoolDir: path.join(dir, spool), spoolMaxMB: 64, overflow: 'block', statsInterval: 0, retryBackoffMax: 1, failedRetryInterval: 3, wires: [[]],
  });
  const receiver = (id: string, routePath: string, batch: string) => ({
    id, type: 'zerobus-ignition-in', z, name: `receiver ${routePath}`, path: routePath, ack: 'durable', durableTimeout: 10_000, wires: [[batch]],
  });
  const batch = (id: string, out: string) => ({ id, type: 'zerobus-batch', z, name: `batch to ${out}`, size: 500, interval: 100, wires: [[out], []] });
  return [
    { id: z, type: 'tab', label: `scaling ${name}` },
    { id: 'scale-cfg', type: 'zerobus-config', name: 'emulator', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
    receiver('in-main', MAIN_PATH, 'batch-main'),
    batch('batch-main', 'out-1'),
    receiver('in-line2', LINE2_PATH, 'batch-line2'),
    batch('batch-line2', 'out-2'),
    sink('out-1', 'spool-1'),
    sink('out-2', 'spool-2'),
    { id: 'sp-broker', type: 'zerobus-sparkplug-broker', name: 'broker', url: brokerUrl, hostId: `zerobus-${name}`, protocolVersion: '4', keepalive: 30 },
    { id: 'sp-in', type: 'zerobus-sparkplug-in', z, name: 'host', broker: 'sp-broker', group, rebirth: true, rebirthInterval: 1, outputMode: 'event', wires: [['sp-split'], []] },
    // one source's tags over two sinks: the Filler device to out-1, the rest to out-2
    {
      id: 'sp-split', type: 'switch', z, name: 'by tag path', property: 'payload.tagPath', propertyType: 'msg',
      rules: [{ t: 'regex', v: '/Filler/', vt: 'str', case: false }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2, wires: [['out-1'], ['out-2']],
    },
  ];
}

/** The sinks a receiver feeds, as its diagnostics report them. */
async function sinks(inst: Instance, routePath: string): Promise<{ id: string; state: string; backlog: number }[]> {
  const res = await httpJson(`${inst.red.url}${routePath}/diagnostics`);
  assert.equal(res.status, 200, res.text);
  return res.json.sinks;
}

async function waitDrained(inst: Instance): Promise<void> {
  await eventually(`${inst.name}'s sinks to drain`, async () => {
    const all = [...(await sinks(inst, MAIN_PATH)), ...(await sinks(inst, LINE2_PATH))];
    return all.length === 2 && all.every((s) => s.state === 'streaming' && s.backlog === 0);
  }, 60_000, 200);
}

/** Rows keyed as the gateways key their events: source system, tag path, event time (ms). */
function rowKeys(rows: Row[]): Set<string> {
  return new Set(rows.map((r) => `${r.source_system}|${r.tag_path}|${Math.round(Number(r.event_time) / 1000)}`));
}

function missingOf(source: AcceptedSource, gateway: string, present: Set<string>): string[] {
  return [...source.accepted].filter((k) => !present.has(`${gateway}|${k}`));
}

describe('scaling out on loopback (docs/SCALING.md)', function () {
  this.timeout(90_000);
  let dir: string;
  let emulator: Awaited<ReturnType<EmulatorModule['startEmulator']>>;
  let aedes: InstanceType<typeof Aedes>;
  let mqttServer: net.Server;
  let instances: Instance[];
  let a: Instance;
  let b: Instance;

  before(async function () {
    this.timeout(120_000);
    requireBuiltPackage();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-scaling-'));
    const mod = require(path.join(LINKED_PACKAGE_DIR, 'dist', 'lib', 'emulator')) as EmulatorModule;
    emulator = await mod.startEmulator({
      grpcPort: 0, httpPort: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
      schemaFiles: [path.join(LINKED_PACKAGE_DIR, 'examples', 'tables', 'ot_events.sql')],
    });
    aedes = new Aedes();
    mqttServer = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => mqttServer.listen(0, '127.0.0.1', resolve));
    const brokerUrl = `mqtt://127.0.0.1:${(mqttServer.address() as net.AddressInfo).port}`;
    instances = [['a', 'Plant A'], ['b', 'Plant B']].map(([name, group]) => {
      const lines: string[] = [];
      const userDir = path.join(dir, `node-red-${name}`);
      const red = new NodeRedProcess({
        userDir,
        flows: instanceFlow(userDir, emulator, brokerUrl, name, group),
        credentials: { 'scale-cfg': { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } },
        settings: { nodeCloseTimeout: 10_000 },
        onLine: (l) => lines.push(l),
      });
      return { name, group, red, lines };
    });
    [a, b] = instances;
    await Promise.all(instances.map((i) => i.red.start()));
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const i of instances ?? []) console.log(`--- last lines of Node-RED ${i.name} ---\n${i.lines.slice(-40).join('\n')}`);
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.all((instances ?? []).map((i) => i.red.stop()));
    await emulator?.stop();
    await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (mqttServer ? mqttServer.close(() => resolve()) : resolve()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two zerobus-out nodes with their own spools write one table and deliver everything', async () => {
    const gateways = [
      { name: 'site-main', source: new AcceptedSource(`${b.red.url}${MAIN_PATH}/ingest/batch?sourceSystem=site-main`, { batch: 100, intervalMs: 10, concurrency: 2 }) },
      { name: 'site-line2', source: new AcceptedSource(`${b.red.url}${LINE2_PATH}/ingest/batch?sourceSystem=site-line2`, { batch: 100, intervalMs: 10, concurrency: 2 }) },
    ];
    const started = Date.now();
    for (const g of gateways) g.source.start();
    await eventually('both routes to accept 5,000 events', () => gateways.every((g) => g.source.accepted.size >= 5000), 30_000, 100);
    await Promise.all(gateways.map((g) => g.source.stop()));
    const seconds = (Date.now() - started) / 1000;
    await waitDrained(b);
    const [main, line2] = [await sinks(b, MAIN_PATH), await sinks(b, LINE2_PATH)];
    assert.deepEqual([main.map((s) => s.id), line2.map((s) => s.id)], [['out-1'], ['out-2']]);
    const rows = emulator.allRows(TABLE);
    const present = rowKeys(rows);
    for (const g of gateways) {
      assert.deepEqual(missingOf(g.source, g.name, present).slice(0, 5), [], `${g.name}: accepted events missing`);
      g.source.close();
    }
    const accepted = gateways.reduce((n, g) => n + g.source.accepted.size, 0);
    report('two sinks, one table', { accepted, seconds: +seconds.toFixed(1), eventsPerSecond: Math.round(accepted / seconds), ...countCopies(rows) });
  });

  it('Sparkplug groups split across two hosts by group filter land once each, split over two sinks', async () => {
    const edges = [
      new SparkplugEdgeSimulator({ brokerUrl: `mqtt://127.0.0.1:${(mqttServer.address() as net.AddressInfo).port}`, groupId: 'Plant A', edgeNode: 'Line 1', intervalMs: 100, deviceCycleMs: 0 }),
      new SparkplugEdgeSimulator({ brokerUrl: `mqtt://127.0.0.1:${(mqttServer.address() as net.AddressInfo).port}`, groupId: 'Plant B', edgeNode: 'Line 1', intervalMs: 100, deviceCycleMs: 0 }),
    ];
    const prefix = (group: string) => `[MQTT Engine]Edge Nodes/${group}/Line 1/`;
    const sparkplugRows = () => emulator.allRows(TABLE).filter((r) => String(r.tag_path).startsWith('[MQTT Engine]'));
    for (const e of edges) e.start();
    try {
      // every device of both groups, through both sinks (Filler via out-1, Capper via out-2), 20 data rounds
      await eventually('20 data rounds of both groups in the table', () => {
        const rows = sparkplugRows();
        return ['Plant A', 'Plant B'].every((g) =>
          ['Filler', 'Capper'].every((d) => rows.filter((r) => String(r.tag_path).startsWith(`${prefix(g)}${d}/Process/Temperature`)).length >= 20),
        );
      }, 30_000, 200);
    } finally {
      for (const e of edges) e.stop();
    }
    await Promise.all(instances.map(waitDrained));
    const rows = sparkplugRows();
    // each event once: a host subscribed to both groups would write every event twice, same event_id
    const { duplicates, conflicts } = countCopies(rows);
    assert.equal(duplicates, 0, 'an event of one group reached the table twice');
    assert.equal(conflicts, 0);
    for (const g of ['Plant A', 'Plant B']) {
      const tags = new Set(rows.filter((r) => String(r.tag_path).startsWith(prefix(g))).map((r) => r.tag_path));
      assert.ok(tags.size >= 12, `${g}: ${tags.size} tags in the table (want the six metrics of both devices)`);
    }
    assert.ok(rows.every((r) => r.source_system === `${String(r.tag_path).split('/')[1]}/Line 1`), 'source_system is group/edge');
    report('sparkplug groups over two hosts', { rows: rows.length, duplicates, dataMessages: edges.map((e) => e.stats.dataMessages) });
  });

  it("keeps a gateway's duplicate window on its own instance: a resend that reaches another one lands again", async () => {
    const events = JSON.stringify([{ tagPath: '[probe]Window/Resend', value: 1.5, quality: 'Good', qualityCode: 192, timestamp: Date.parse('2026-01-01T00:00:00Z'), dataType: 'Float8' }]);
    const post = async (inst: Instance) => {
      const res = await fetch(`${inst.red.url}${MAIN_PATH}/ingest/batch?sourceSystem=probe-gw`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: events });
      assert.equal(res.status, 200, await res.text());
    };
    const dropped = async (inst: Instance) => (await httpJson(`${inst.red.url}${MAIN_PATH}/diagnostics`)).json.duplicatesDropped as number;
    const before = await dropped(a);
    await post(a);
    await post(a); // the same instance knows it
    assert.equal(await dropped(a), before + 1);
    await post(b); // another instance does not
    await Promise.all(instances.map(waitDrained));
    const probe = emulator.allRows(TABLE).filter((r) => r.tag_path === '[probe]Window/Resend');
    assert.equal(probe.length, 2, 'one row from each instance');
    assert.equal(probe[0].event_id, probe[1].event_id, 'the copies share their event_id');
  });

  it('two instances behind a sticky balancer: an instance killed under load loses nothing, its resends land as copies', async () => {
    const balancer = new LoopbackBalancer([a.red.port, b.red.port]);
    await balancer.start();
    // two gateways stick to each instance (the balancer's hash of their names)
    const names = ['gateway-1', 'gateway-2', 'gateway-3', 'gateway-4'];
    assert.deepEqual(names.map((n) => LoopbackBalancer.indexFor(n, 2)).sort(), [0, 0, 1, 1]);
    const gateways = names.map((name) => ({
      name,
      source: new AcceptedSource(`${balancer.url}${MAIN_PATH}/ingest/batch?sourceSystem=${name}`, { batch: 100, intervalMs: 20, concurrency: 2 }),
    }));
    const onA = gateways.filter((g) => LoopbackBalancer.indexFor(g.name, 2) === 0);
    try {
      const started = Date.now();
      for (const g of gateways) g.source.start();
      await eventually('every gateway to be answered', () => gateways.every((g) => g.source.accepted.size >= 1000), 30_000, 50);
      assert.equal(balancer.failovers, 0);
      // A's answers get lost on the way back, then A dies: what it had made durable, its gateways
      // resend to B (A itself dropped those resends as duplicates while it lived)
      balancer.cutAnswersFrom = a.red.port;
      await eventually('answers of A lost', () => balancer.lostAnswers >= 2, 30_000, 10);
      const acceptedBeforeKill = onA.map((g) => g.source.accepted.size);
      const killedAt = Date.now();
      await a.red.kill();
      balancer.cutAnswersFrom = undefined;
      // A's gateways go on through B: their resends, then new events
      await eventually("A's gateways answered again", () => onA.every((g) => g.source.countSince(200, killedAt) > 0), 30_000, 20);
      const failoverMs = Date.now() - killedAt;
      await eventually("A's gateways answered by B", () => onA.every((g, i) => g.source.accepted.size >= acceptedBeforeKill[i] + 1000), 30_000, 50);
      await a.red.start();
      const restartedAt = Date.now();
      const atRestart = onA.map((g) => g.source.accepted.size);
      const answeredByA = balancer.answeredBy.get(a.red.port) ?? 0;
      await eventually("A's gateways back on A", () => onA.every((g, i) => g.source.accepted.size >= atRestart[i] + 1000), 30_000, 50);
      assert.ok((balancer.answeredBy.get(a.red.port) ?? 0) > answeredByA, 'sticky routing returns the gateways to their instance');
      await Promise.all(gateways.map((g) => g.source.stop()));
      const seconds = (Date.now() - started) / 1000;
      await Promise.all(instances.map(waitDrained));
      const drainedMs = Date.now() - restartedAt;

      const rows = emulator.allRows(TABLE);
      const present = rowKeys(rows);
      for (const g of gateways) assert.deepEqual(missingOf(g.source, g.name, present).slice(0, 5), [], `${g.name}: accepted events missing`);
      const gatewayRows = rows.filter((r) => String(r.source_system).startsWith('gateway-'));
      const { duplicates, conflicts } = countCopies(gatewayRows);
      assert.equal(conflicts, 0, 'rows sharing an event_id differ in content');
      assert.ok(duplicates >= 100, `the batch A made durable and B accepted again is in bronze twice (${duplicates} copies)`);
      const accepted = gateways.reduce((n, g) => n + g.source.accepted.size, 0);
      const sent = gateways.reduce((n, g) => n + g.source.sent, 0);
      assert.ok(gatewayRows.length - duplicates <= sent, 'no event the gateways did not send');
      report('two instances behind a balancer, one killed', {
        accepted, seconds: +seconds.toFixed(1), eventsPerSecond: Math.round(accepted / seconds), failoverMs, failovers: balancer.failovers,
        lostAnswers: balancer.lostAnswers, duplicates, statuses: gateways.map((g) => g.source.statuses), restartToDrainedMs: drainedMs,
      });
    } finally {
      await Promise.all(gateways.map((g) => g.source.stop()));
      for (const g of gateways) g.source.close();
      await balancer.stop();
    }
  });
});
