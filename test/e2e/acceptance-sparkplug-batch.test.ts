/**
 * Acceptance, black box: the Sparkplug B host (§4.5) and tag batch (§4.4) probed the way a
 * stranger would. The packed package runs in a fresh Node-RED; the Sparkplug broker is a real
 * mosquitto speaking MQTT 5 with a password file (the host logs in with the broker config's
 * credentials), edge nodes are Eclipse Tahu clients or raw protobuf publishers controlling seq
 * and bdSeq, rows are read back from the installed emulator. What flows emit reaches the test
 * through core `mqtt out` nodes on a second (aedes) broker.
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as mqtt from 'mqtt';
import * as protobuf from 'protobufjs';
import { newClient } from 'sparkplug-client';
import { freePort, NodeRedProcess } from '../../demo/node-red-process';
import { EmulatorBin, packedWorkspace, post, runtimes } from './acceptance-kit';
import { startWatchedBroker, type WatchedBroker } from './watched-broker';
import { eventually } from '../support/dist';

const PKG = '@ot-lakehouse/node-red-zerobus';
const OT = 'main.ot.tag_events';
const CLIENT_ID = 'acc3-sp';
const CLIENT_SECRET = 'acc3-secret-value';
const HOST_ID = 'acc3-host';
const MQTT_USER = 'acc3-user';
const MQTT_PASSWORD = 'acc3-broker-pw';
const STALE_CODE = -2147483132;

const RUNTIMES = runtimes();

function hasMosquitto(): boolean {
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `mosquitto -h` exits non-zero after printing its help: only a missing binary is ENOENT
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
const MOSQUITTO = hasMosquitto();

/** mosquitto with a password file on a free loopback port; anonymous clients are refused. */
async function startMosquitto(dir: string, port?: number): Promise<Mosquitto> {
  fs.mkdirSync(dir, { recursive: true });
  port ??= await freePort();
  const pw = path.join(dir, 'passwd');
  fs.writeFileSync(pw, '');
  execFileSync('mosquitto_passwd', ['-b', pw, MQTT_USER, MQTT_PASSWORD]);
  // mosquitto started as root drops to its own user, which must be able to read the file
  for (const p of [path.dirname(dir), dir]) fs.chmodSync(p, 0o755);
  fs.chmodSync(pw, 0o644);
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${pw}`, 'persistence false', 'log_dest stderr'].join('\n') + '\n');
  const log: string[] = [];
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => log.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  await eventually('mosquitto to listen', () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 10_000, 50);
  return { url: `mqtt://127.0.0.1:${port}`, port, dir, child, log };
}

interface Mosquitto {
  url: string;
  port: number;
  dir: string;
  child: ChildProcess;
  log: string[];
}

for (const runtime of RUNTIMES) describe(`acceptance on ${runtime.name}: Sparkplug host on MQTT 5 with credentials, tag batch filters`, function () {
  this.timeout(90_000);
  if (!MOSQUITTO) {
    // CI installs mosquitto (.ci/run); there, a missing broker is a failure, not a skip
    if (process.env.CI) it('needs mosquitto', () => assert.fail('mosquitto is not installed'));
    else it.skip('needs mosquitto (apt-get install mosquitto)');
    return;
  }
  let work: string;
  let userDir: string;
  let emulator: EmulatorBin;
  let watched: WatchedBroker;
  let mosq: Mosquitto;
  /** a logged-in MQTT 5 client on mosquitto recording STATE and NCMD */
  let spy: mqtt.MqttClient;
  const spySeen = new Map<string, { payload: Buffer; retain: boolean }[]>();
  let nodeRed: NodeRedProcess;
  let flows: any[];
  let encode: (p: Record<string, unknown>) => Buffer;
  const seenOn = (topic: string): any[] => watched.seen.get(topic) ?? [];
  const ncmds = (group: string, edge: string) => spySeen.get(`spBv1.0/${group}/NCMD/${edge}`) ?? [];
  /** the durable receiver's POST has been emitted and waits to be spooled (held in its tag batch) */
  const heldForSpool = () => eventually('the durable POST waiting in its batch', async () => (await (await fetch(`${nodeRed.url}/acc3/dur/diagnostics`)).json()).eventsAwaitingSpool === 1);

  before(async function () {
    this.timeout(240_000);
    let tarball: string;
    ({ work, tarball, userDir } = packedWorkspace('zb-accept3-'));
    nodeRed = new NodeRedProcess({ userDir, flows: [], install: { tarball }, redJs: runtime.redJs, nodeBinary: runtime.nodeBinary });
    nodeRed.prepare();
    const root = protobuf.loadSync(path.join(userDir, 'node_modules', PKG, 'proto', 'sparkplug_b.proto'));
    const Payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');
    encode = (p) => Buffer.from(Payload.encode(Payload.fromObject(p)).finish());

    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    emulator = EmulatorBin.installed(userDir, { grpcPort, httpPort, dataDir: path.join(work, 'emulator-data'), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    await emulator.start();
    mosq = await startMosquitto(path.join(work, 'mosquitto'));
    watched = await startWatchedBroker('acc3-watcher', ['acc3/#'], 1);
    spy = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-spy', username: MQTT_USER, password: MQTT_PASSWORD, protocolVersion: 5 });
    spy.on('message', (topic, payload, packet) => {
      if (!spySeen.has(topic)) spySeen.set(topic, []);
      spySeen.get(topic)!.push({ payload, retain: packet.retain });
    });
    await spy.subscribeAsync(['spBv1.0/+/NCMD/#', 'spBv1.0/STATE/+'], { qos: 0 });

    const port = new URL(watched.url).port;
    const report = (id: string, topic: string) => [
      { id, type: 'function', z: 't3', outputs: '1', wires: [[`${id}-mq`]], func: 'msg.payload = { topic: msg.topic, payload: msg.payload, batch: msg.batch, status: msg.status && { text: msg.status.text, source: msg.status.source && msg.status.source.id } }; return msg;' },
      { id: `${id}-mq`, type: 'mqtt out', z: 't3', broker: 'mq', topic, qos: '1', wires: [] },
    ];
    const batchFeed = (name: string, props: Record<string, unknown>) => [
      { id: `${name}-in`, type: 'http in', z: 't3', url: `/acc3/${name}`, method: 'post', wires: [[`${name}-shape`, `${name}-ok`]] },
      { id: `${name}-ok`, type: 'http response', z: 't3', statusCode: '204', wires: [] },
      { id: `${name}-shape`, type: 'function', z: 't3', outputs: '1', func: 'const b = msg.payload; return { payload: b.events, flush: b.flush, reset: b.reset };', wires: [[name]] },
      { id: name, type: 'zerobus-batch', z: 't3', ...props, wires: [[`${name}-probe`]] },
      ...report(`${name}-probe`, `acc3/${name}`),
    ];
    flows = [
      { id: 't3', type: 'tab', label: 'acceptance 3' },
      { id: 'cfg', type: 'zerobus-config', workspaceUrl: emulator.httpUrl, endpoint: emulator.grpcEndpoint },
      { id: 'mq', type: 'mqtt-broker', broker: '127.0.0.1', port },
      { id: 'out', type: 'zerobus-out', z: 't3', connection: 'cfg', table: OT, wires: [[]] },
      // the host: MQTT 5, credentials, group left to its default
      { id: 'spb', type: 'zerobus-sparkplug-broker', url: mosq.url, hostId: HOST_ID, protocolVersion: '5' },
      { id: 'sp-all', type: 'zerobus-sparkplug-in', z: 't3', broker: 'spb', wires: [['out', 'sp-all-probe']] },
      ...report('sp-all-probe', 'acc3/sp-all'),
      // a second host input on the same broker, one group only
      { id: 'sp-b', type: 'zerobus-sparkplug-in', z: 't3', broker: 'spb', group: 'Acc3B', wires: [['sp-b-probe']] },
      ...report('sp-b-probe', 'acc3/sp-b'),
      // a custom path template
      { id: 'sp-tpl', type: 'zerobus-sparkplug-in', z: 't3', broker: 'spb', group: 'Acc3P', tagPathTemplate: 'plant/{group}/{edge}/{device}/{metric}', wires: [['out']] },
      ...batchFeed('debounce', { debounce: 400, interval: 100 }),
      ...batchFeed('pct', { deadbandPercent: 10, interval: 60000 }),
      ...batchFeed('door', { swingingDoor: true, compDeviation: 1, interval: 60000 }),
      ...batchFeed('bytes', { maxBytes: 600, interval: 60000 }),
      ...batchFeed('timer', { interval: 300 }),
      // buffered events on redeploy: a batch with a long interval in front of zerobus-out
      { id: 'held-in', type: 'http in', z: 't3', url: '/acc3/held', method: 'post', wires: [['held', 'held-ok']] },
      { id: 'held-ok', type: 'http response', z: 't3', statusCode: '204', wires: [] },
      { id: 'held', type: 'zerobus-batch', z: 't3', interval: 600000, wires: [['out']] },
      // the same behind a durable receiver: the 200 waits until the events are spooled
      { id: 'dur-in', type: 'zerobus-ignition-in', z: 't3', path: '/acc3/dur', wires: [['held-dur']] },
      { id: 'held-dur', type: 'zerobus-batch', z: 't3', interval: 600000, wires: [['out']] },
      { id: 'status', type: 'status', z: 't3', scope: ['pct', 'held'], wires: [['status-probe']] },
      ...report('status-probe', 'acc3/status'),
    ];
    nodeRed.writeFlows(flows.map((n, i) => ('z' in n ? { x: 200, y: 40 * (i + 1), ...n } : n)), {
      cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      spb: { username: MQTT_USER, password: MQTT_PASSWORD },
    });
    await nodeRed.start(120_000);
  });

  after(async () => {
    await nodeRed?.stop();
    await spy?.endAsync();
    await watched?.stop();
    mosq?.child.kill('SIGTERM');
    await emulator?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('§4.5 STATE on MQTT 5 with credentials: retained JSON {online, timestamp} on spBv1.0/STATE/{hostId}', async () => {
    // once the host is up, a late subscriber gets the birth as a retained message
    await eventually('the STATE birth', () => (spySeen.get(`spBv1.0/STATE/${HOST_ID}`) ?? []).some((m) => JSON.parse(m.payload.toString()).online === true), 20_000);
    const late = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-late', username: MQTT_USER, password: MQTT_PASSWORD, protocolVersion: 5 });
    try {
      const got = await new Promise<{ payload: any; retain: boolean; qos: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no retained STATE; mosquitto: ${mosq.log.join('').slice(-1500)}`)), 20_000);
        late.on('message', (_t, payload, packet) => {
          clearTimeout(timer);
          resolve({ payload: JSON.parse(payload.toString()), retain: packet.retain, qos: packet.qos });
        });
        void late.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      });
      const history = (spySeen.get(`spBv1.0/STATE/${HOST_ID}`) ?? []).map((m) => m.payload.toString());
      assert.equal(got.payload.online, true, `${JSON.stringify(got.payload)}; STATE history: ${history.join(' ')}; log: ${nodeRed.log.filter((l) => /sparkplug/i.test(l)).join('\n')}; mosquitto: ${mosq.log.join('').slice(-3000)}`);
      assert.equal(got.retain, true);
      assert.equal(got.qos, 1);
      assert.deepEqual(Object.keys(got.payload).sort(), ['online', 'timestamp']);
      assert.equal(got.payload.online, true);
      assert.ok(Math.abs(got.payload.timestamp - Date.now()) < 120_000, 'timestamp in ms since the epoch');
    } finally {
      await late.endAsync();
    }
  });

  it('§4.5 group "+" by default sees every group; group "Acc3B" only its own', async () => {
    const edges = ['Acc3A', 'Acc3B'].map((g) => newClient({ serverUrl: mosq.url, username: MQTT_USER, password: MQTT_PASSWORD, groupId: g, edgeNode: 'E', clientId: `acc3-tahu-${g}`, publishDeath: true, keepalive: 30 } as any));
    for (const [i, edge] of edges.entries()) {
      edge.on('birth', () => edge.publishNodeBirth({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: false }, { name: 'Level', alias: 1, type: 'Double', value: 10 + i }] }));
    }
    try {
      const rows = await eventually('rows of both groups', async () => {
        const r = await emulator.rows(OT, 200);
        const want = ['[MQTT Engine]Edge Nodes/Acc3A/E/Level', '[MQTT Engine]Edge Nodes/Acc3B/E/Level'];
        return want.every((p) => r.some((x) => x.tag_path === p)) ? r : undefined;
      });
      assert.equal(rows.find((x) => x.tag_path === '[MQTT Engine]Edge Nodes/Acc3A/E/Level')!.numeric_value, 10);
      await eventually('the Acc3B input', () => seenOn('acc3/sp-b').some((m) => m.payload.some((e: any) => e.tagPath === '[MQTT Engine]Edge Nodes/Acc3B/E/Level')));
      const paths = seenOn('acc3/sp-b').flatMap((m) => m.payload.map((e: any) => e.tagPath));
      assert.ok(paths.every((p: string) => p.startsWith('[MQTT Engine]Edge Nodes/Acc3B/')), paths.join());
    } finally {
      edges.forEach((e) => e.stop());
    }
  });

  it('§4.5 seq wraps 255 → 0 without a rebirth; a real gap asks once (rate-limited)', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-seq', username: MQTT_USER, password: MQTT_PASSWORD });
    const t = Date.now();
    try {
      await pub.publishAsync('spBv1.0/Acc3S/NBIRTH/Wrap', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 3 },
        { name: 'Node Control/Rebirth', datatype: 11, booleanValue: false },
        { name: 'Count', alias: 1, datatype: 7, intValue: 0, timestamp: t },
      ] }), { qos: 1 });
      for (let i = 1; i <= 260; i++) {
        await pub.publishAsync('spBv1.0/Acc3S/NDATA/Wrap', encode({ timestamp: t + i, seq: i % 256, metrics: [{ alias: 1, datatype: 7, intValue: i, timestamp: t + i }] }), { qos: 1 });
      }
      await eventually('the last count', async () => (await emulator.rows(OT, 50)).some((r) => r.tag_path === '[MQTT Engine]Edge Nodes/Acc3S/Wrap/Count' && r.numeric_value === 260));
      assert.equal(ncmds('Acc3S', 'Wrap').length, 0, 'no rebirth for a wrap');
      // two gaps in a row: one NCMD Node Control/Rebirth
      await pub.publishAsync('spBv1.0/Acc3S/NDATA/Wrap', encode({ timestamp: t + 300, seq: 10, metrics: [{ alias: 1, datatype: 7, intValue: 300 }] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3S/NDATA/Wrap', encode({ timestamp: t + 301, seq: 20, metrics: [{ alias: 1, datatype: 7, intValue: 301 }] }), { qos: 1 });
      await eventually('a rebirth request', () => ncmds('Acc3S', 'Wrap').length > 0);
      // a later message of the same edge node, once stored, was handled after both gaps: a second
      // request would have been published before its row could land
      await pub.publishAsync('spBv1.0/Acc3S/NDATA/Wrap', encode({ timestamp: t + 302, seq: 21, metrics: [{ alias: 1, datatype: 7, intValue: 302 }] }), { qos: 1 });
      await eventually('the later value stored', async () => (await emulator.rows(OT, 50)).some((r) => r.tag_path === '[MQTT Engine]Edge Nodes/Acc3S/Wrap/Count' && r.numeric_value === 302));
      assert.equal(ncmds('Acc3S', 'Wrap').length, 1);
      const Payload = protobuf.loadSync(path.join(userDir, 'node_modules', PKG, 'proto', 'sparkplug_b.proto')).lookupType('org.eclipse.tahu.protobuf.Payload');
      const cmd = Payload.toObject(Payload.decode(ncmds('Acc3S', 'Wrap')[0].payload)) as any;
      assert.deepEqual(cmd.metrics.map((m: any) => [m.name, m.booleanValue]), [['Node Control/Rebirth', true]]);
    } finally {
      await pub.endAsync();
    }
  });

  it('§4.5 bdSeq: a late NDEATH of an older session does not stale the new one; its own NDEATH does', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-bd', username: MQTT_USER, password: MQTT_PASSWORD });
    const t = Date.now();
    const path0 = '[MQTT Engine]Edge Nodes/Acc3S/Bd/Temp';
    const stale = async () => (await emulator.rows(OT, 300)).filter((r) => r.tag_path === path0 && r.quality_code === STALE_CODE);
    try {
      await pub.publishAsync('spBv1.0/Acc3S/NBIRTH/Bd', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 5 },
        { name: 'Temp', alias: 1, datatype: 10, doubleValue: 21.5, timestamp: t },
      ] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3S/DBIRTH/Bd/Dev', encode({ timestamp: t, seq: 1, metrics: [{ name: 'Rpm', alias: 2, datatype: 10, doubleValue: 900, timestamp: t }] }), { qos: 1 });
      await eventually('birth rows', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === '[MQTT Engine]Edge Nodes/Acc3S/Bd/Dev/Rpm'));
      // the will of the previous connection (bdSeq 4) arrives late
      await pub.publishAsync('spBv1.0/Acc3S/NDEATH/Bd', encode({ timestamp: t + 5, metrics: [{ name: 'bdSeq', datatype: 8, longValue: 4 }] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3S/NDATA/Bd', encode({ timestamp: t + 10, seq: 2, metrics: [{ alias: 1, datatype: 10, doubleValue: 22.5, timestamp: t + 10 }] }), { qos: 1 });
      await eventually('data after the stale NDEATH', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === path0 && r.numeric_value === 22.5));
      assert.equal((await stale()).length, 0, 'the old session\'s NDEATH staled the new one');
      // a device death stales the device only
      await pub.publishAsync('spBv1.0/Acc3S/DDEATH/Bd/Dev', encode({ timestamp: t + 20, seq: 3 }), { qos: 1 });
      await eventually('the stale device metric', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === '[MQTT Engine]Edge Nodes/Acc3S/Bd/Dev/Rpm' && r.quality_code === STALE_CODE));
      assert.equal((await stale()).length, 0, 'DDEATH staled a node metric');
      // now its own NDEATH
      await pub.publishAsync('spBv1.0/Acc3S/NDEATH/Bd', encode({ timestamp: t + 30, metrics: [{ name: 'bdSeq', datatype: 8, longValue: 5 }] }), { qos: 1 });
      const rows = await eventually('the node metric stale', async () => ((await stale()).length ? stale() : undefined));
      assert.match(String(rows[0].quality), /Stale/);
      assert.equal(rows[0].numeric_value, 22.5, 'the stale event carries the last value');
    } finally {
      await pub.endAsync();
    }
  });

  it('§4.5/§5 every metric kind reaches a row: 64-bit beyond 2^53, DateTime, Text, UUID, Bytes, DataSet, properties', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-types', username: MQTT_USER, password: MQTT_PASSWORD });
    const t = Date.now();
    const when = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    try {
      await pub.publishAsync('spBv1.0/Acc3T/NBIRTH/Types', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 0 },
        { name: 'BigI64', datatype: 4, timestamp: t, longValue: '-9007199254740993' },
        { name: 'BigU64', datatype: 8, timestamp: t, longValue: '18446744073709551615' },
        { name: 'When', datatype: 13, timestamp: t, longValue: when },
        { name: 'Note', datatype: 14, timestamp: t, stringValue: 'line 1\nline 2' },
        { name: 'Id', datatype: 15, timestamp: t, stringValue: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
        { name: 'Blob', datatype: 17, timestamp: t, bytesValue: Buffer.from([0, 1, 254, 255]) },
        { name: 'Table', datatype: 16, timestamp: t, datasetValue: { numOfColumns: 2, columns: ['k', 'v'], types: [12, 10], rows: [{ elements: [{ stringValue: 'a' }, { doubleValue: 1.5 }] }] } },
        { name: 'Scaled', datatype: 9, timestamp: t, floatValue: 2.5, properties: { keys: ['engUnit'], values: [{ type: 12, stringValue: 'bar' }] } },
      ] }), { qos: 1 });
      const prefix = '[MQTT Engine]Edge Nodes/Acc3T/Types/';
      const names = ['BigI64', 'BigU64', 'When', 'Note', 'Id', 'Blob', 'Table', 'Scaled'];
      const rows = await eventually('rows of every kind', async () => {
        const r = (await emulator.rows(OT, 300)).filter((x) => String(x.tag_path).startsWith(prefix));
        return names.every((n) => r.some((x) => x.tag_path === prefix + n)) ? r : undefined;
      });
      const at = (n: string) => rows.find((r) => r.tag_path === prefix + n)!;
      const desc = JSON.stringify(rows, null, 1);
      assert.equal(at('BigI64').string_value, '-9007199254740993', desc);
      assert.equal(at('BigU64').string_value, '18446744073709551615', desc);
      assert.equal(at('When').numeric_value, when, desc);
      assert.equal(at('Note').string_value, 'line 1\nline 2');
      assert.equal(at('Id').string_value, '3f2504e0-4f89-11d3-9a0c-0305e82c3301');
      assert.equal(at('Blob').string_value, Buffer.from([0, 1, 254, 255]).toString('base64'));
      assert.ok(String(at('Table').string_value).includes('1.5'), desc);
      assert.equal(at('Scaled').numeric_value, 2.5);
      for (const n of names) assert.ok(at(n).data_type, `data_type of ${n}`);
      // the exact value is the text; numeric_value holds the nearest double so that sums and charts work
      assert.equal(at('BigI64').numeric_value, -9007199254740992);
    } finally {
      await pub.endAsync();
    }
  });

  const send = (name: string, body: object) => post(`${nodeRed.url}/acc3/${name}`, JSON.stringify(body));
  const ev = (tag: string, value: number, dt = 0, t = 1_800_000_000_000) => ({ tagPath: `[default]Acc3/${tag}`, value, timestamp: t + dt });

  it('§4.4 debounce keeps the newest value of a tag per window; the interval timer emits', async () => {
    await send('debounce', { events: [ev('d', 1, 0), ev('d', 2, 1), ev('d', 3, 2), ev('e', 7, 0)] });
    const batch = await eventually('a debounced batch', () => seenOn('acc3/debounce').find((m) => m.payload.some((e: any) => e.tagPath === '[default]Acc3/d')), 5000);
    const all = seenOn('acc3/debounce').flatMap((m) => m.payload).filter((e: any) => e.tagPath === '[default]Acc3/d');
    assert.deepEqual(all.map((e: any) => e.value), [3], JSON.stringify(batch));
    await send('timer', { events: [ev('t', 1)] });
    const timed = await eventually('the interval batch', () => seenOn('acc3/timer')[0], 5000);
    assert.equal(timed.batch.count, 1);
  });

  it('§4.4 percent deadband against the last passed value; status shows the buffered count', async () => {
    await send('pct', { events: [ev('p', 100, 0), ev('p', 105, 1), ev('p', 111, 2), ev('p', 115, 3), ev('p', 99, 4)] });
    await eventually('the buffered count', () => seenOn('acc3/status').find((m) => m.status?.source === 'pct' && /\b3\b/.test(m.status.text)));
    await send('pct', { flush: true });
    const b = await eventually('flushed', () => seenOn('acc3/pct')[0]);
    assert.deepEqual(b.payload.map((e: any) => e.value), [100, 111, 99]);
  });

  it('§4.4 swinging door keeps the corners of the textbook example', async () => {
    const pts = [0, 0.5, 1.2, 1.5, 3.5, 2.0, 0.6, -0.4, -0.5, -0.5, -0.5];
    await send('door', { events: pts.map((v, i) => ev('s', v, i)) });
    await send('door', { flush: true });
    const b = await eventually('flushed', () => seenOn('acc3/door')[0]);
    assert.deepEqual(b.payload.map((e: any) => e.timestamp - 1_800_000_000_000), [0, 4, 9, 10]);
  });

  it('§4.4 maxBytes splits batches', async () => {
    const events = Array.from({ length: 20 }, (_, i) => ({ ...ev(`b${i}`, i), quality: 'Good', qualityCode: 192 }));
    await send('bytes', { events });
    await send('bytes', { flush: true });
    const got = await eventually('all 20 events', () => {
      const all = seenOn('acc3/bytes');
      return all.flatMap((m) => m.payload).length >= 20 ? all : undefined;
    });
    assert.ok(got.length >= 2, `split into ${got.length}`);
    for (const m of got) assert.ok(Buffer.byteLength(JSON.stringify(m.payload)) <= 600 || m.payload.length === 1, JSON.stringify(m.payload).length.toString());
  });

  it('§4.4 events buffered in a tag batch are not lost on a redeploy', async () => {
    const t = Date.now();
    await send('held', [ev('Held1', 1, 0, t), ev('Held2', 2, 0, t)] as any);
    await eventually('held in the batch', () => seenOn('acc3/status').find((m) => m.status?.source === 'held' && /\b2\b/.test(m.status.text)));
    const changed = flows.map((n) => (n.id === 'held' ? { ...n, name: 'changed' } : n)).map((n, i) => ('z' in n ? { x: 200, y: 40 * (i + 1), ...n } : n));
    const statusMark = seenOn('acc3/status').length;
    const res = await post(`${nodeRed.url}/flows`, JSON.stringify(changed), { 'content-type': 'application/json', 'node-red-deployment-type': 'nodes' });
    assert.ok(res.status === 200 || res.status === 204, res.text);
    await eventually('the held rows', async () => {
      const paths = (await emulator.rows(OT, 100)).map((r) => r.tag_path);
      return paths.includes('[default]Acc3/Held1') && paths.includes('[default]Acc3/Held2');
    }, 15_000);
    // a full deploy restarts zerobus-out at the same time; a durable POST waiting in a batch is answered once spooled.
    // A message sent before the redeployed batch has started is dropped by Node-RED itself (and its first status
    // reaches no status node), so Held3 is sent again until the new instance shows it held.
    let sentAt = 0;
    await eventually('held again', async () => {
      if (Date.now() - sentAt > 3000) {
        await send('held', [ev('Held3', 3, 0, t)] as any);
        sentAt = Date.now();
      }
      return seenOn('acc3/status').slice(statusMark).some((m) => m.status?.source === 'held' && /buffered/.test(m.status.text ?? ''));
    });
    const durable = post(`${nodeRed.url}/acc3/dur/ingest/batch`, JSON.stringify([ev('HeldDurable', 5, 0, t)]));
    await heldForSpool();
    const full = await post(`${nodeRed.url}/flows`, JSON.stringify(changed), { 'content-type': 'application/json', 'node-red-deployment-type': 'full' });
    assert.ok(full.status === 200 || full.status === 204, full.text);
    await eventually('the held row after a full deploy', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === '[default]Acc3/Held3'), 15_000).catch((err) => {
      throw new Error(`${err.message}; log: ${nodeRed.log.slice(-10).join('\n')}`);
    });
    // the receiver itself restarted: 503 "send them again" is its answer, yet what it had taken still lands
    const answered = await durable;
    assert.ok(answered.status === 200 || answered.status === 503, answered.text);
    await eventually('the durable row', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === '[default]Acc3/HeldDurable'));
  });

  it('§4.5 a stale offline STATE of this host (an old Will) is answered with the online birth at once', async () => {
    const other = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-will-replay', username: MQTT_USER, password: MQTT_PASSWORD });
    const states: any[] = [];
    try {
      other.on('message', (_t, p) => states.push(JSON.parse(p.toString())));
      await other.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      const birth = await eventually('the retained birth', () => states.find((x) => x.online === true));
      await other.publishAsync(`spBv1.0/STATE/${HOST_ID}`, JSON.stringify({ online: false, timestamp: birth.timestamp - 1000 }), { qos: 1, retain: true });
      const again = await eventually('the birth republished', () => states.slice(states.findIndex((x) => x.online === false) + 1).find((x) => x.online === true));
      assert.equal(again.timestamp, birth.timestamp, 'same timestamp for the whole session');
    } finally {
      await other.endAsync();
    }
  });

  it('§4.5/B2 Quality property and flags: 500 → Bad_Stale, 0 → Bad, Cirrus full code, is_null row without a value, template members in NDATA', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-q', username: MQTT_USER, password: MQTT_PASSWORD });
    const t = Date.now();
    const q = (v: number) => ({ keys: ['Quality'], values: [{ type: 3, intValue: v }] });
    const prefix = '[MQTT Engine]Edge Nodes/Acc3Q/Q/';
    try {
      await pub.publishAsync('spBv1.0/Acc3Q/NBIRTH/Q', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 0 },
        { name: 'Motor', datatype: 19, templateValue: { isDefinition: true, metrics: [{ name: 'Amps', datatype: 9, floatValue: 0 }, { name: 'Run', datatype: 11, booleanValue: false }] } },
        { name: 'M1', alias: 1, datatype: 19, timestamp: t, templateValue: { isDefinition: false, templateRef: 'Motor', metrics: [{ name: 'Amps', datatype: 9, floatValue: 1.5 }, { name: 'Run', datatype: 11, booleanValue: true }] } },
        { name: 'QStale', alias: 2, datatype: 10, timestamp: t, doubleValue: 1, properties: q(500) },
        { name: 'QBad', alias: 3, datatype: 10, timestamp: t, doubleValue: 2, properties: q(0) },
        { name: 'QCirrus', alias: 4, datatype: 10, timestamp: t, doubleValue: 3, properties: q(2147484164) },
        { name: 'Empty', alias: 5, datatype: 12, timestamp: t, isNull: true },
      ] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3Q/NDATA/Q', encode({ timestamp: t + 5, seq: 1, metrics: [
        { alias: 1, timestamp: t + 5, templateValue: { isDefinition: false, templateRef: 'Motor', metrics: [{ name: 'Amps', datatype: 9, floatValue: 2.5 }] } },
      ] }), { qos: 1 });
      const rows = await eventually('rows', async () => {
        const r = (await emulator.rows(OT, 300)).filter((x) => String(x.tag_path).startsWith(prefix));
        return r.some((x) => x.tag_path === prefix + 'M1/Amps' && x.numeric_value === 2.5) && r.some((x) => x.tag_path === prefix + 'Empty') ? r : undefined;
      });
      const at = (n: string) => rows.find((r) => r.tag_path === prefix + n)!;
      const desc = JSON.stringify(rows, null, 1);
      assert.deepEqual([at('QStale').quality, at('QStale').quality_code], ['Bad_Stale', STALE_CODE], desc);
      assert.deepEqual([at('QBad').quality, at('QBad').quality_code], ['Bad', -2147483136], desc);
      assert.deepEqual([at('QCirrus').quality, at('QCirrus').quality_code], ['Bad_Stale', STALE_CODE], desc);
      assert.deepEqual([at('M1/Run').boolean_value, at('M1/Run').quality], [true, 'Good'], desc);
      const empty = at('Empty');
      for (const c of ['numeric_value', 'string_value', 'boolean_value']) assert.equal(empty[c], undefined, `${c} of a null metric`);
      assert.equal(rows.filter((r) => r.tag_path === prefix + 'M1/Run').length, 1, 'a member not in the NDATA is not repeated');
    } finally {
      await pub.endAsync();
    }
  });

  it('§4.5 DBIRTH before NBIRTH and an unknown alias ask for a rebirth; several values of a metric in one NDATA, historical ones too; a custom tagPathTemplate', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-p', username: MQTT_USER, password: MQTT_PASSWORD });
    const t = Date.now() - 10_000;
    try {
      await pub.publishAsync('spBv1.0/Acc3P/DBIRTH/Early/D', encode({ timestamp: t, seq: 0, metrics: [{ name: 'X', alias: 9, datatype: 10, doubleValue: 1, timestamp: t }] }), { qos: 1 });
      await eventually('a rebirth for DBIRTH before NBIRTH', () => ncmds('Acc3P', 'Early').length > 0);
      await pub.publishAsync('spBv1.0/Acc3P/NBIRTH/P', encode({ timestamp: t, seq: 0, metrics: [{ name: 'bdSeq', datatype: 8, longValue: 0 }, { name: 'Level', alias: 1, datatype: 10, doubleValue: 1, timestamp: t }] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3P/DBIRTH/P/Tank', encode({ timestamp: t, seq: 1, metrics: [{ name: 'Temp', alias: 2, datatype: 10, doubleValue: 20, timestamp: t }] }), { qos: 1 });
      await pub.publishAsync('spBv1.0/Acc3P/DDATA/P/Tank', encode({ timestamp: t + 3, seq: 2, metrics: [
        { alias: 2, datatype: 10, doubleValue: 21, timestamp: t + 1 },
        { alias: 2, datatype: 10, doubleValue: 22, timestamp: t + 2 },
        { alias: 2, datatype: 10, doubleValue: 19, timestamp: t - 5000, isHistorical: true },
      ] }), { qos: 1 });
      const rows = await eventually('three values of Temp', async () => {
        const r = (await emulator.rows(OT, 300)).filter((x) => x.tag_path === 'plant/Acc3P/P/Tank/Temp');
        return [21, 22, 19].every((v) => r.some((x) => x.numeric_value === v)) ? r : undefined;
      });
      assert.equal(rows.find((x) => x.numeric_value === 22)!.tag_provider, 'default', 'no [provider] prefix in the template');
      assert.equal(ncmds('Acc3P', 'P').length, 0);
      await pub.publishAsync('spBv1.0/Acc3P/DDATA/P/Tank', encode({ timestamp: t + 4, seq: 3, metrics: [{ alias: 77, datatype: 10, doubleValue: 1, timestamp: t + 4 }] }), { qos: 1 });
      await eventually('a rebirth for an unknown alias', () => ncmds('Acc3P', 'P').length > 0);
    } finally {
      await pub.endAsync();
    }
  });

  it('§4.5 broker lost: every metric goes stale; back: STATE birth again and edges are asked to rebirth', async () => {
    const pub = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-lost', username: MQTT_USER, password: MQTT_PASSWORD, reconnectPeriod: 0 });
    const t = Date.now();
    await pub.publishAsync('spBv1.0/Acc3L/NBIRTH/L', encode({ timestamp: t, seq: 0, metrics: [{ name: 'bdSeq', datatype: 8, longValue: 0 }, { name: 'Flow', datatype: 10, timestamp: t, doubleValue: 7.5 }] }), { qos: 1 });
    const tag = '[MQTT Engine]Edge Nodes/Acc3L/L/Flow';
    await eventually('the birth row', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === tag));
    pub.end(true);
    const lostAt = Date.now();
    await new Promise<void>((resolve) => { mosq.child.once('exit', () => resolve()); mosq.child.kill('SIGTERM'); });
    const stale = await eventually('stale after the broker went away', async () => (await emulator.rows(OT, 100)).find((r) => r.tag_path === tag && r.quality_code === STALE_CODE), 15_000);
    assert.equal(stale.numeric_value, 7.5);
    assert.ok(Date.parse(String(stale.event_time)) >= lostAt - 1000 || Number(stale.event_time) >= (lostAt - 1000) * 1000, JSON.stringify(stale));
    const restarted = await startMosquitto(mosq.dir, mosq.port);
    mosq = restarted;
    const late = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-after', username: MQTT_USER, password: MQTT_PASSWORD });
    try {
      const states: any[] = [];
      late.on('message', (_t, p) => states.push(JSON.parse(p.toString())));
      await late.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      await eventually('the host online again', () => states.find((x) => x.online === true), 30_000);
    } finally {
      await late.endAsync();
    }
  });

  it('nothing in the log complains', () => {
    const bad = nodeRed.log.filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|unencrypted credentials|arrive already parsed|has no API key and Node-RED listens beyond this machine/.test(l));
    assert.deepEqual(bad, []);
  });

  it('§4.5 stopping Node-RED publishes the offline STATE (retained) before it disconnects', async () => {
    const code = await nodeRed.stop();
    assert.equal(code, 0);
    const late = await mqtt.connectAsync(mosq.url, { clientId: 'acc3-end', username: MQTT_USER, password: MQTT_PASSWORD });
    try {
      const got = await new Promise<any>((resolve) => {
        late.on('message', (_t, p) => resolve(JSON.parse(p.toString())));
        void late.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      });
      assert.equal(got.online, false);
      assert.ok(Math.abs(got.timestamp - Date.now()) < 60_000);
    } finally {
      await late.endAsync();
    }
  });

  it('§4.4/§7 a durable POST held in a tag batch when Node-RED stops is not answered 200 (the sender keeps it)', async () => {
    await nodeRed.start(60_000);
    await eventually('the receiver route', async () => (await fetch(`${nodeRed.url}/acc3/dur/health`)).status === 200);
    const pending = post(`${nodeRed.url}/acc3/dur/ingest/batch`, JSON.stringify([ev('HeldAtStop', 6, 0, Date.now())])).catch((err: Error) => ({ status: 0, text: err.message }));
    await heldForSpool();
    await nodeRed.stop();
    const res = await pending;
    assert.notEqual(res.status, 200, res.text);
  });
});
