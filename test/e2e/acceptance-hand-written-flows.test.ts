/**
 * Acceptance, black box, second pass: what a stranger's test does that the first pass
 * (acceptance-defaults.test.ts) did not. The packed package in a fresh Node-RED user dir with the settings
 * the README recommends (a separate httpAdminRoot), node routes under their own httpNodeRoot and
 * adminAuth on; flows written by hand with every number and boolean as a string, most properties
 * left out, and `${VAR}` environment variables in config fields and credentials. It acts right after deploy, right after a
 * redeploy and right after the emulator restarts, with no sleeps a user would not know about,
 * and checks the messages the nodes promise on their outputs (receipts, Complete, Catch, batch
 * arrays, Sparkplug events) and the emulator's documented HTTP routes and OAuth answers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as mqtt from 'mqtt';
import * as protobuf from 'protobufjs';
import { freePort, LINKED_PACKAGE_DIR, NodeRedProcess } from '../../demo/node-red-process';
import { httpJson } from '../../demo/emulator-process';
import { EmulatorBin, packedWorkspace, post, runtimes, type Row } from './acceptance-kit';
import { startWatchedBroker, type WatchedBroker } from './watched-broker';
import { eventually } from '../support/dist';

const PKG = '@ot-lakehouse/node-red-zerobus';
const OT = 'main.ot.tag_events';
const ENERGY = 'main.ot.energy_readings';
const CLIENT_ID = 'acceptance2-sp';
const CLIENT_SECRET = 'acceptance2-secret-value';
const WRONG_SECRET = 'acc2-wrong-secret-value';
const ADMIN_PASSWORD = 'acc2-admin-pw';
const bcrypt = require('bcryptjs') as { hashSync(text: string, rounds: number): string };


/** A function node that copies the fields a test looks at into the payload, and an mqtt out that publishes it. */
function probe(id: string, topic: string): object[] {
  const func = [
    'msg.payload = { topic: msg.topic, payload: msg.payload, batch: msg.batch, ignition: msg.ignition, sparkplug: msg.sparkplug,',
    '  rejected: msg.rejected, error: msg.error && { message: msg.error.message, source: msg.error.source && msg.error.source.id },',
    '  status: msg.status && { text: msg.status.text, fill: msg.status.fill, source: msg.status.source && msg.status.source.id } };',
    'return msg;',
  ].join('\n');
  return [
    { id, type: 'function', z: 'acc2-tab', func, outputs: '1', wires: [[`${id}-mq`]] },
    { id: `${id}-mq`, type: 'mqtt out', z: 'acc2-tab', broker: 'mq', topic, qos: '1', wires: [] },
  ];
}

const RUNTIMES = runtimes();

for (const runtime of RUNTIMES) describe(`acceptance on ${runtime.name}: hand-written flows, env vars, timing, outputs, emulator routes`, function () {
  this.timeout(60_000);
  let work: string;
  let userDir: string;
  let emulator: EmulatorBin;
  let watched: WatchedBroker | undefined;
  let mqttUrl: string;
  let nodeRed: NodeRedProcess;
  let flows: object[];
  let admin: string;
  /** node routes live under httpNodeRoot */
  let nodes: string;
  let bearer: string;
  let seen = new Map<string, any[]>();
  const seenOn = (topic: string) => seen.get(topic) ?? [];
  /** POSTs fired the moment Node-RED said its flows started */
  let firstPost: Promise<Awaited<ReturnType<typeof post>>>;

  before(async function () {
    this.timeout(240_000);
    let tarball: string;
    ({ work, tarball, userDir } = packedWorkspace('zb-accept2-'));

    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const grpcEndpoint = `http://127.0.0.1:${grpcPort}`;
    const workspaceUrl = `http://127.0.0.1:${httpPort}`;

    watched = await startWatchedBroker('acceptance2-watcher', ['acc2/#', 'spBv1.0/Acc2Group/NCMD/#'], 1);
    mqttUrl = watched.url;
    seen = watched.seen;

    const port = new URL(mqttUrl).port;
    flows = [
      { id: 'acc2-tab', type: 'tab', label: 'acceptance 2' },
      // everything from the environment, credentials included; authType left out
      { id: 'cfg', type: 'zerobus-config', workspaceUrl: '${ZB_WORKSPACE}', endpoint: '${ZB_ENDPOINT}' },
      { id: 'mq', type: 'mqtt-broker', broker: '127.0.0.1', port },
      // receiver with string limits, path from the environment, into a sink with string tuning values
      { id: 'ign', type: 'zerobus-ignition-in', z: 'acc2-tab', path: '${ZB_PATH}', ack: 'durable', maxEvents: '5', maxBodyBytes: '4000', wires: [['out']] },
      { id: 'out', type: 'zerobus-out', z: 'acc2-tab', connection: 'cfg', table: '${ZB_TABLE}', sourceSystem: '${ZB_SOURCE}', spool: 'disk', maxInflight: '1000', batchBytes: '65536', retryBackoffMax: '1', spoolMaxMB: '64', statsInterval: '1', wires: [['out-stats']] },
      ...probe('out-stats', 'acc2/out'),
      // a function node hands zerobus-out events directly; Complete and Catch watch it
      { id: 'direct-in', type: 'http in', z: 'acc2-tab', url: '/acc2/direct', method: 'post', wires: [['direct-out', 'direct-ok']] },
      { id: 'direct-ok', type: 'http response', z: 'acc2-tab', statusCode: '204', wires: [] },
      { id: 'direct-out', type: 'zerobus-out', z: 'acc2-tab', connection: 'cfg', table: OT, recordType: 'json', wires: [[]] },
      { id: 'direct-complete', type: 'complete', z: 'acc2-tab', scope: ['direct-out'], wires: [['complete']] },
      ...probe('complete', 'acc2/complete'),
      { id: 'direct-catch', type: 'catch', z: 'acc2-tab', scope: ['direct-out', 'rows-out', 'out-bad', 'proto-out'], wires: [['caught']] },
      ...probe('caught', 'acc2/catch'),
      // rows with a bad one among them
      { id: 'rows-in', type: 'http in', z: 'acc2-tab', url: '/acc2/rows', method: 'post', wires: [['rows-out', 'rows-ok']] },
      { id: 'rows-ok', type: 'http response', z: 'acc2-tab', statusCode: '204', wires: [] },
      { id: 'rows-out', type: 'zerobus-out', z: 'acc2-tab', connection: 'cfg', table: ENERGY, format: 'rows', wires: [[]] },
      // tag batch with string properties: control fields come in the body
      { id: 'batch-in', type: 'http in', z: 'acc2-tab', url: '/acc2/batch', method: 'post', wires: [['batch-shape', 'batch-ok']] },
      { id: 'batch-ok', type: 'http response', z: 'acc2-tab', statusCode: '204', wires: [] },
      { id: 'batch-shape', type: 'function', z: 'acc2-tab', outputs: '1', func: 'const b = msg.payload; return { payload: b.events, flush: b.flush, reset: b.reset, topic: b.topic };', wires: [['batch']] },
      { id: 'batch', type: 'zerobus-batch', z: 'acc2-tab', size: '3', interval: '60000', deadband: '0.5', debounce: '0', dropRepeats: 'false', wires: [['batch-probe'], []] },
      ...probe('batch-probe', 'acc2/batch'),
      // Sparkplug through a core mqtt in node, its output watched
      { id: 'sp-mqtt', type: 'mqtt in', z: 'acc2-tab', broker: 'mq', topic: 'spBv1.0/Acc2Group/#', qos: '0', datatype: 'buffer', wires: [['sp']] },
      { id: 'sp', type: 'zerobus-sparkplug-in', z: 'acc2-tab', wires: [['sp-probe'], ['sp-cmd']] },
      // its rebirth requests go out through a core mqtt out with no topic of its own
      { id: 'sp-cmd', type: 'mqtt out', z: 'acc2-tab', broker: 'mq', topic: '', wires: [] },
      // rows with the table's CREATE TABLE: PROTO records (the default), checked before they are sent
      { id: 'proto-in', type: 'http in', z: 'acc2-tab', url: '/acc2/proto-rows', method: 'post', wires: [['proto-out', 'proto-ok']] },
      { id: 'proto-ok', type: 'http response', z: 'acc2-tab', statusCode: '204', wires: [] },
      { id: 'proto-out', type: 'zerobus-out', z: 'acc2-tab', connection: 'cfg', table: ENERGY, format: 'rows', schema: fs.readFileSync(path.join(LINKED_PACKAGE_DIR, 'examples/tables/energy_readings.sql'), 'utf8'), wires: [[]] },
      ...probe('sp-probe', 'acc2/sp'),
      // durable through core nodes that split and change the events
      { id: 'ign-split', type: 'zerobus-ignition-in', z: 'acc2-tab', path: '/acc2/split', wires: [['split']] },
      { id: 'split', type: 'split', z: 'acc2-tab', splt: '\\n', spltType: 'str', arraySplt: '1', arraySpltType: 'len', stream: false, addname: '', wires: [['split-change']] },
      { id: 'split-change', type: 'change', z: 'acc2-tab', rules: [{ t: 'set', p: 'payload.sourceSystem', pt: 'msg', to: 'split-line', tot: 'str' }], wires: [['out']] },
      // out-bad (deployed by a test) is watched from the start
      { id: 'status', type: 'status', z: 'acc2-tab', scope: ['out', 'out-bad', 'batch'], wires: [['status-probe']] },
      ...probe('status-probe', 'acc2/status'),
    ].map((n, i) => ('z' in n ? { x: 200, y: 40 * (i + 1), ...n } : n));

    nodeRed = new NodeRedProcess({
      userDir,
      flows,
      credentials: { cfg: { clientId: '${ZB_CLIENT_ID}', clientSecret: '${ZB_CLIENT_SECRET}' } },
      install: { tarball },
      redJs: runtime.redJs,
      nodeBinary: runtime.nodeBinary,
      settings: {
        httpAdminRoot: '/admin',
        httpNodeRoot: '/nodes',
        adminAuth: { type: 'credentials', users: [{ username: 'admin', password: bcrypt.hashSync(ADMIN_PASSWORD, 4), permissions: '*' }] },
      },
      env: {
        ZB_WORKSPACE: workspaceUrl,
        ZB_ENDPOINT: grpcEndpoint,
        ZB_TABLE: OT,
        ZB_PATH: '/plant7',
        ZB_SOURCE: 'acc2-gateway',
        ZB_CLIENT_ID: CLIENT_ID,
        ZB_CLIENT_SECRET: CLIENT_SECRET,
      },
      onLine: (line) => {
        // a stranger's test posts the moment the log says the flows started
        if (line.includes('Started flows') && !firstPost) {
          firstPost = post(`${nodeRed.url}/nodes/plant7/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc2/First', value: 1, quality: 'Good', qualityCode: 192, timestamp: Date.now() }]));
        }
      },
    });
    nodeRed.prepare();
    emulator = EmulatorBin.installed(userDir, { grpcPort, httpPort, dataDir: path.join(work, 'emulator-data'), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    await emulator.start();
    await nodeRed.start(120_000);
    admin = `${nodeRed.url}/admin`;
    nodes = `${nodeRed.url}/nodes`;
    const token = await post(`${admin}/auth/token`, JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: ADMIN_PASSWORD }));
    assert.equal(token.status, 200, token.text);
    bearer = token.json.access_token;
  });

  after(async () => {
    await nodeRed?.stop();
    await watched?.stop();
    await emulator?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('a durable POST sent the moment the flows started is answered 200, and its row lands', async () => {
    const res = await firstPost;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.accepted, 1);
    const row = await eventually('the first row', async () => (await emulator.rows(OT, 50)).find((r) => r.tag_path === '[default]Acc2/First'));
    assert.equal(row.source_system, 'acc2-gateway', '${ZB_SOURCE} in sourceSystem');
  });

  it('nothing in the log complains about the hand-written flow', () => {
    // the one warning expected: these receivers have no API key and Node-RED listens on every interface
    const problems = nodeRed.log.filter((l) => /\[error\]|missing types|Unknown type|TypeError|zerobus-(?!out:rows-out).*\[warn\]|\[warn\] \[zerobus-(?!out:rows-out)/i.test(l) && !/has no API key and Node-RED listens beyond this machine/.test(l));
    assert.deepEqual(problems, []);
  });

  it('§4.3 string limits from the flow hold; with a separate httpAdminRoot the receiver parses bodies itself', async () => {
    const base = `${nodes}/plant7`;
    const events = (n: number, tag = 'Lim') => JSON.stringify(Array.from({ length: n }, (_, i) => ({ tagPath: `[default]Acc2/${tag}${i}`, value: i, timestamp: Date.now() })));
    assert.equal((await post(`${base}/ingest/batch`, events(5))).status, 200);
    assert.equal((await post(`${base}/ingest/batch`, events(6))).status, 413, 'maxEvents "5"');
    const big = JSON.stringify([{ tagPath: '[default]Acc2/Big', value: 'x'.repeat(4100), timestamp: Date.now() }]);
    assert.equal((await post(`${base}/ingest/batch`, big)).status, 413, 'maxBodyBytes "4000"');
    const bad = await post(`${base}/ingest/batch`, '[{"tagPath": ');
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json?.error, 'string', `a JSON answer of the receiver, not Node-RED's HTML: ${bad.text}`);
    const nan = await post(`${base}/ingest/batch`, '[{"tagPath": "[default]Acc2/NaN", "value": NaN, "timestamp": 1764221000000, "dataType": "float"}]');
    assert.equal(nan.status, 200, nan.text);
    const diag = (await httpJson(`${base}/diagnostics`)).json;
    assert.equal(diag.bodyPreParsed, false, JSON.stringify(diag));
    assert.equal((await httpJson(`${base}/health`)).json.ready, true);
  });

  it('§3/§4.2 a function hands zerobus-out one Ignition-style event: normalised row, Complete fires', async () => {
    const t = Date.now() - 5000;
    const res = await post(`${nodes}/acc2/direct`, JSON.stringify({ tagPath: '[edge]Line/Temp', value: 21.5, quality: 'Bad_Disabled("New Quality")', qualityCode: 2147483648 + 12, timestamp: String(t), dataType: 'float' }));
    assert.equal(res.status, 204);
    const row = await eventually('the direct row', async () => (await emulator.rows(OT, 50)).find((r) => r.tag_path === '[edge]Line/Temp'));
    assert.equal(row.numeric_value, 21.5);
    assert.equal(row.tag_provider, 'edge');
    assert.equal(Number(row.event_time), t * 1000);
    assert.equal(row.quality_code, -2147483636, 'the unsigned code as the signed INT of the table');
    assert.equal(row.quality, 'Bad_Disabled');
    assert.equal(row.data_type, 'Float8');
    const done = await eventually('a Complete message', () => seenOn('acc2/complete').find((m) => m.payload?.tagPath === '[edge]Line/Temp'));
    assert.equal(done.payload.value, 21.5);
  });

  it('§4.2 an array with an event that can never fit: the rest land, Catch gets msg.rejected with the record', async () => {
    const t = Date.now();
    const res = await post(`${nodes}/acc2/direct`, JSON.stringify([
      { tagPath: '[default]Acc2/Arr0', value: { a: 1 }, timestamp: t },
      { value: 5, timestamp: t },
      { tagPath: '[default]Acc2/Arr2', value: 'text', timestamp: t },
    ]));
    assert.equal(res.status, 204);
    const rows = await eventually('two array rows', async () => {
      const r = (await emulator.rows(OT, 50)).filter((x) => /^\[default\]Acc2\/Arr/.test(String(x.tag_path)));
      return r.length === 2 ? r : undefined;
    });
    assert.equal(rows.find((r) => r.tag_path === '[default]Acc2/Arr0')!.string_value, '{"a":1}');
    const caught = await eventually('a Catch message with msg.rejected', () => seenOn('acc2/catch').find((m) => Array.isArray(m.rejected) && m.error?.source === 'direct-out'));
    assert.equal(caught.rejected.length, 1);
    assert.equal(caught.rejected[0].index, 1);
    assert.deepEqual(caught.rejected[0].record, { value: 5, timestamp: t });
    assert.equal(typeof caught.error.message, 'string');
  });

  it('§4.2 format rows: a row that does not fit the table goes to Catch with the record, the others land', async () => {
    const t = Date.now() * 1000;
    const res = await post(`${nodes}/acc2/rows`, JSON.stringify([
      { meter_id: 'EM-A2-1', reading_time: t, active_power_kw: 1.5, site: 'Acc2' },
      { meter_id: 'EM-A2-2', reading_time: t, active_power_kw: 2.5, site: 'Acc2', no_such_column: 1 },
      { meter_id: 'EM-A2-3', reading_time: t, active_power_kw: 3.5, site: 'Acc2' },
    ]));
    assert.equal(res.status, 204);
    await eventually('rows 1 and 3', async () => {
      const ids = (await emulator.rows(ENERGY, 50)).map((r) => r.meter_id);
      return ids.includes('EM-A2-1') && ids.includes('EM-A2-3');
    });
    const caught = await eventually('the bad row in Catch', () => seenOn('acc2/catch').find((m) => m.error?.source === 'rows-out'));
    assert.match(JSON.stringify(caught), /EM-A2-2/);
    assert.ok(!(await emulator.rows(ENERGY, 50)).some((r) => r.meter_id === 'EM-A2-2'));
  });

  it('§4.2 format rows with the CREATE TABLE: PROTO rows land; rows that cannot fit are refused before sending, to Catch', async () => {
    const t = Date.now() * 1000;
    const res = await post(`${nodes}/acc2/proto-rows`, JSON.stringify([
      { meter_id: 'EM-P-1', reading_time: t, active_power_kw: 4.5, energy_kwh: 1000.25, site: 'Acc2' },
      { meter_id: 'EM-P-2', reading_time: t, active_power_kw: 'lots' },
      { reading_time: t, active_power_kw: 1 },
      { meter_id: 'EM-P-4', reading_time: t, voltage_v: 231 },
    ]));
    assert.equal(res.status, 204);
    const rows = await eventually('rows 1 and 4', async () => {
      const r = (await emulator.rows(ENERGY, 100)).filter((x) => String(x.meter_id).startsWith('EM-P-'));
      return r.length >= 2 ? r : undefined;
    });
    assert.deepEqual(rows.map((r) => r.meter_id).sort(), ['EM-P-1', 'EM-P-4']);
    assert.equal(rows.find((r) => r.meter_id === 'EM-P-1')!.energy_kwh, 1000.25);
    assert.equal(rows.find((r) => r.meter_id === 'EM-P-4')!.active_power_kw ?? null, null);
    const caught = await eventually('the refused rows in Catch', () => seenOn('acc2/catch').find((m) => m.error?.source === 'proto-out'), 10_000).catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(seenOn('acc2/catch'))} ${nodeRed.log.slice(-20).join('\n')}`);
    });
    assert.deepEqual(caught.rejected.map((r: any) => r.index), [1, 2]);
    assert.equal(caught.rejected[0].record.meter_id, 'EM-P-2');
  });

  it('§4.3 durable through core split and change nodes: 200, every event lands with the change applied', async () => {
    const t = Date.now();
    const res = await post(`${nodes}/acc2/split/ingest/batch`, JSON.stringify([0, 1, 2].map((i) => ({ tagPath: `[default]Acc2/Split${i}`, value: i, timestamp: t }))));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.accepted, 3);
    const rows = await eventually('three split rows', async () => {
      const r = (await emulator.rows(OT, 100)).filter((x) => String(x.tag_path).startsWith('[default]Acc2/Split'));
      return r.length === 3 ? r : undefined;
    });
    assert.ok(rows.every((r) => r.source_system === 'split-line'));
  });

  it('§4.4 tag batch with string properties: arrays of size "3", msg.flush, msg.reset, deadband "0.5"', async () => {
    const t = Date.now();
    const send = (body: object) => post(`${nodes}/acc2/batch`, JSON.stringify(body));
    const ev = (tag: string, value: number, dt = 0) => ({ tagPath: `[default]Acc2/B/${tag}`, value, timestamp: t + dt });
    await send({ events: [ev('a', 1), ev('b', 1)], topic: 'lineA' });
    await send({ events: ev('c', 1), topic: 'lineA' });
    const full = await eventually('a batch of three', () => seenOn('acc2/batch')[0]);
    assert.ok(Array.isArray(full.payload), 'an array of tag events');
    assert.deepEqual(full.payload.map((e: any) => e.tagPath), ['a', 'b', 'c'].map((x) => `[default]Acc2/B/${x}`));
    assert.equal(full.topic, 'lineA');
    assert.equal(full.batch?.count, 3);
    // deadband 0.5: 1.2 is within it, 2 is not
    await send({ events: [ev('a', 1.2, 1), ev('a', 2, 2)] });
    await send({ flush: true });
    const flushed = await eventually('a flushed batch', () => seenOn('acc2/batch')[1]);
    assert.deepEqual(flushed.payload.map((e: any) => e.value), [2]);
    // reset drops what is buffered: the next flush sends only what came after; the status shows the count
    await send({ events: [ev('r1', 100)] });
    await eventually('a buffered count in the status', () => seenOn('acc2/status').find((m) => m.status?.source === 'batch' && /\b1\b/.test(m.status.text)));
    await send({ reset: true });
    await send({ events: [ev('r2', 100)], flush: true });
    const afterReset = await eventually('the batch after a reset', () => seenOn('acc2/batch')[2]);
    assert.deepEqual(afterReset.payload.map((e: any) => e.tagPath), ['[default]Acc2/B/r2']);
  });

  it('§4.2 zerobus-out output: receipts and statistics (statsInterval "1")', async () => {
    await eventually('a receipt', () => seenOn('acc2/out').find((m) => m.topic === 'receipt'));
    const receipt = seenOn('acc2/out').find((m) => m.topic === 'receipt');
    assert.ok(receipt.payload.acknowledged > 0, JSON.stringify(receipt));
    const stats = await eventually('a stats message', () => seenOn('acc2/out').find((m) => m.topic === 'stats'));
    assert.equal(typeof stats.payload.backlog, 'number');
    assert.doesNotMatch(JSON.stringify(seenOn('acc2/out')), new RegExp(CLIENT_SECRET));
  });

  it('§4.5 sparkplug in (no broker) emits arrays of tag events with the Sparkplug topic', async () => {
    const root = protobuf.loadSync(path.join(userDir, 'node_modules', PKG, 'proto', 'sparkplug_b.proto'));
    const Payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');
    const encode = (p: Record<string, unknown>) => Buffer.from(Payload.encode(Payload.fromObject(p)).finish());
    const pub = await mqtt.connectAsync(mqttUrl, { clientId: 'acc2-edge' });
    const t = Date.now();
    try {
      await pub.publishAsync('spBv1.0/Acc2Group/NBIRTH/E1', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 0 },
        { name: 'Speed', alias: 1, datatype: 10, timestamp: t, doubleValue: 12.5 },
      ] }));
      const msg = await eventually('sparkplug in output', () => seenOn('acc2/sp').find((m) => Array.isArray(m.payload) && m.payload.some((e: any) => /Speed$/.test(e.tagPath))));
      const e = msg.payload.find((x: any) => /Speed$/.test(x.tagPath));
      assert.equal(e.tagPath, '[MQTT Engine]Edge Nodes/Acc2Group/E1/Speed');
      assert.equal(e.value, 12.5);
      assert.equal(e.timestamp, t);
      assert.equal(typeof e.qualityCode, 'number');
      assert.match(String(msg.topic), /^spBv1\.0\/Acc2Group\/NBIRTH\/E1/);
      // data from an edge never seen born: a rebirth request on the second output
      await pub.publishAsync('spBv1.0/Acc2Group/NDATA/Unborn', encode({ timestamp: t, seq: 3, metrics: [{ alias: 1, datatype: 10, doubleValue: 1 }] }));
      await eventually('an NCMD rebirth through mqtt out', () => seenOn('spBv1.0/Acc2Group/NCMD/Unborn').length > 0);
    } finally {
      await pub.endAsync();
    }
  });

  it('§6 emulator routes: tables with columns, rows newest first with limit, 404/400 as JSON, fault route', async () => {
    const tables = await httpJson(`${emulator.httpUrl}/api/tables`);
    const ot = (tables.json as any[]).find((x) => x.name === OT);
    assert.equal(typeof ot.rowCount, 'number');
    assert.ok(ot.columns.some((c: any) => c.name === 'event_id'));
    const one = await httpJson(`${emulator.httpUrl}/api/tables/${OT}/rows?limit=1`);
    assert.equal((one.json as Row[]).length, 1);
    const missing = await httpJson(`${emulator.httpUrl}/api/tables/main.ot.nope/rows`);
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, 'string');
    assert.equal((await httpJson(`${emulator.httpUrl}/api/tables/${OT}/rows?limit=abc`)).status, 400);
    const badFault = await post(`${emulator.httpUrl}/api/faults`, JSON.stringify({ action: 'explode' }), emulator.writeHeaders());
    assert.equal(badFault.status, 400);
    // the web page shows tables, counts and the latest rows in what it serves, not only after its script ran
    const page = await (await fetch(`${emulator.httpUrl}/`)).text();
    const html = page.slice(0, page.indexOf('<script>'));
    assert.ok(html.includes(OT) && html.includes(ENERGY), 'table names');
    assert.ok(html.includes(String((one.json as Row[])[0].event_id)), 'the newest row');
  });

  it('§6 the emulator is importable from the installed package (require and import)', async () => {

    const pkg = require(path.join(userDir, 'node_modules', PKG)) as { startEmulator(o: object): Promise<{ endpoint: string; workspaceUrl: string; stop(): Promise<void> }> };
    assert.equal(typeof pkg.startEmulator, 'function');
    const inProcess = await pkg.startEmulator({ grpcPort: 0, httpPort: 0, schemaSql: ['CREATE TABLE main.ot.imported (id BIGINT)'] });
    try {
      assert.match(inProcess.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      const tables = (await httpJson(`${inProcess.workspaceUrl}/api/tables`)).json as { name: string }[];
      assert.deepEqual(tables.map((t) => t.name), ['main.ot.imported']);
    } finally {
      await inProcess.stop();
    }
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import { startEmulator } from '${PKG}'; console.log(typeof startEmulator)`], { cwd: userDir, encoding: 'utf8' });
    assert.equal(esm.trim(), 'function');
  });

  it('§6 OAuth token endpoint: wrong secret and no credentials get 401 invalid_client; right ones a bearer token', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'all-apis',
      resource: 'api://databricks/workspaces/1234/zerobusDirectWriteApi',
      authorization_details: JSON.stringify([{ type: 'unity_catalog_privileges', privileges: ['USE CATALOG'], object_type: 'CATALOG', object_full_path: 'main' }, { type: 'unity_catalog_privileges', privileges: ['USE SCHEMA'], object_type: 'SCHEMA', object_full_path: 'main.ot' }, { type: 'unity_catalog_privileges', privileges: ['SELECT', 'MODIFY'], object_type: 'TABLE', object_full_path: OT }]),
    }).toString();
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const ask = (headers: Record<string, string>) => post(`${emulator.httpUrl}/oidc/v1/token`, form, { 'content-type': 'application/x-www-form-urlencoded', ...headers });
    const wrong = await ask({ authorization: basic(CLIENT_ID, 'nope') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error, 'invalid_client');
    assert.equal((await ask({})).status, 401);
    const ok = await ask({ authorization: basic(CLIENT_ID, CLIENT_SECRET) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal(typeof ok.json.access_token, 'string');
    assert.equal(ok.json.expires_in, 3600);
  });

  it('§4.1 Test connection with adminAuth: refused without a login; with one, ${VAR} values of the deployed config work and failures are named', async () => {
    const form = { id: 'cfg', workspaceUrl: '${ZB_WORKSPACE}', endpoint: '${ZB_ENDPOINT}', authType: 'oauth', clientId: '${ZB_CLIENT_ID}', clientSecret: '${ZB_CLIENT_SECRET}', table: OT };
    // values typed into the dialog go wherever the dialog says; deployed ones only to the deployed URLs
    const typed = { workspaceUrl: emulator.httpUrl, endpoint: emulator.grpcEndpoint, authType: 'oauth', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, table: OT };
    const anon = await post(`${admin}/zerobus/test`, JSON.stringify(form));
    assert.equal(anon.status, 401);
    // the sidebar plugin is served to a logged-in editor, and only to one
    assert.equal((await fetch(`${admin}/plugins`, { headers: { accept: 'text/html' } })).status, 401);
    const plugins = await fetch(`${admin}/plugins`, { headers: { accept: 'text/html', authorization: `Bearer ${bearer}` } });
    assert.equal(plugins.status, 200);
    assert.match(await plugins.text(), /zerobus-sidebar/);
    const test = (body: object) => post(`${admin}/zerobus/test`, JSON.stringify(body), { 'content-type': 'application/json', authorization: `Bearer ${bearer}` });
    const ok = await test(form);
    assert.equal(ok.json?.ok, true, ok.text);
    try {
      await emulator.fault('revokeGrant', OT, true);
      const grant = await test(form);
      assert.equal(grant.json.ok, false);
      assert.equal(grant.json.code, 'MISSING_GRANT', grant.text);
      await emulator.fault('revokeGrant', OT, false);
      await emulator.fault('tokenEndpointStatus', 503);
      const down = await test(form);
      assert.equal(down.json.ok, false);
      assert.match(down.json.message, /token/i);
    } finally {
      await emulator.fault('reset');
    }
    // ${VAR}s are never read from the runtime's environment for a request: only a deployed config's values stand for them
    const noId = await test({ ...form, id: undefined });
    assert.equal(noId.json.code, 'ENV_NOT_DEPLOYED', noId.text);
    const elsewhere = await test({ ...form, endpoint: 'http://127.0.0.1:1' });
    assert.equal(elsewhere.json.code, 'SECRET_ELSEWHERE', elsewhere.text);
    const unreachable = await test({ ...typed, endpoint: 'http://127.0.0.1:1' });
    assert.equal(unreachable.json.code, 'UNREACHABLE', unreachable.text);
    // TLS (the default without a scheme) against the plaintext emulator: named as a TLS problem
    const tls = await test({ ...typed, endpoint: emulator.grpcEndpoint.replace(/^http:\/\//, '') });
    assert.equal(tls.json.ok, false);
    assert.equal(tls.json.code, 'TLS', tls.text);
    const tlsToken = await test({ ...typed, workspaceUrl: emulator.httpUrl.replace(/^http:/, 'https:') });
    assert.equal(tlsToken.json.ok, false);
    assert.equal(tlsToken.json.code, 'TLS', tlsToken.text);
    assert.doesNotMatch(JSON.stringify([ok, anon, noId, elsewhere, unreachable, tls, tlsToken].map((r) => r.text)), new RegExp(CLIENT_SECRET));
  });

  it('§4.3 diagnostics count what was received and sent; health says ready with a version', async () => {
    const base = `${nodes}/plant7`;
    const before = (await httpJson(`${base}/diagnostics`)).json;
    const res = await post(`${base}/ingest/batch`, JSON.stringify([1, 2].map((i) => ({ tagPath: `[default]Acc2/Diag${i}`, value: i, timestamp: Date.now() }))));
    assert.equal(res.status, 200);
    const after = await eventually('the counters', async () => {
      const d = (await httpJson(`${base}/diagnostics`)).json;
      // sent = acknowledged by Zerobus; the spool releases acknowledged records a moment later
      return d.totalEventsSent - before.totalEventsSent >= 2 && d.queueSize === 0 ? d : undefined;
    });
    assert.equal(after.totalEventsReceived - before.totalEventsReceived, 2);
    assert.equal(after.totalEventsFailed, 0);
    assert.equal(after.queueSize, 0);
    assert.ok(after.lastEventTime, 'lastEventTime');
    assert.equal(after.zerobusConnected, true);
    const health = await httpJson(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json.ready, true);
    assert.equal(typeof health.json.version, 'string');
  });

  it('§4.2 deployed while running, a wrong client secret: red "auth failed" status, the reason in Catch, no secret shown', async () => {
    // added by a deploy of the changed nodes, as the editor does, the credentials inline
    const added = [
      { id: 'cfg-bad', type: 'zerobus-config', workspaceUrl: '${ZB_WORKSPACE}', endpoint: '${ZB_ENDPOINT}', authType: 'oauth', credentials: { clientId: CLIENT_ID, clientSecret: WRONG_SECRET } },
      { id: 'ign-bad', type: 'zerobus-ignition-in', z: 'acc2-tab', x: 100, y: 900, path: '/acc2/bad', wires: [['out-bad']] },
      { id: 'out-bad', type: 'zerobus-out', z: 'acc2-tab', x: 300, y: 900, connection: 'cfg-bad', wires: [[]] },
    ];
    const deploy = await post(`${admin}/flows`, JSON.stringify([...flows, ...added]), { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'node-red-deployment-type': 'nodes' });
    assert.ok(deploy.status === 200 || deploy.status === 204, deploy.text);
    // right after the deploy request returned: the new path answers
    const res = await post(`${nodes}/acc2/bad/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc2/BadSecret', value: 1, timestamp: Date.now() }]));
    assert.equal(res.status, 200, `spooled on disk: ${res.text}`);
    const status = await eventually('auth failed status', () => seenOn('acc2/status').find((m) => m.status?.source === 'out-bad' && /auth/i.test(m.status.text))).catch((err) => {
      throw new Error(`${err.message}; statuses of out-bad: ${JSON.stringify(seenOn('acc2/status').filter((m) => m.status?.source === 'out-bad'))}; all: ${JSON.stringify(seenOn('acc2/status').slice(-10))}; log: ${nodeRed.log.slice(-15).join('\n')}`);
    });
    assert.equal(status.status.fill, 'red');
    const caught = await eventually('the failure in Catch', () => seenOn('acc2/catch').find((m) => m.error?.source === 'out-bad'));
    assert.match(caught.error.message, /secret|credential|client/i);
    const everything = JSON.stringify([...seen.values()]) + nodeRed.log.join('\n') + (await httpJson(`${nodes}/acc2/bad/diagnostics`)).text;
    assert.ok(!everything.includes(WRONG_SECRET) && !everything.includes(CLIENT_SECRET), 'a secret leaked');
  });

  it('§4.1 Test connection of a deployed config: the editor sends the password placeholder, the deployed secret is used', async () => {
    const res = await post(`${admin}/zerobus/test`, JSON.stringify({ id: 'cfg', workspaceUrl: '${ZB_WORKSPACE}', endpoint: '${ZB_ENDPOINT}', authType: 'oauth', clientId: '${ZB_CLIENT_ID}', clientSecret: '__PWRD__', table: OT }), { 'content-type': 'application/json', authorization: `Bearer ${bearer}` });
    assert.equal(res.json?.ok, true, res.text);
    const bad = await post(`${admin}/zerobus/test`, JSON.stringify({ id: 'cfg-bad', workspaceUrl: '${ZB_WORKSPACE}', endpoint: '${ZB_ENDPOINT}', authType: 'oauth', clientId: CLIENT_ID, clientSecret: '__PWRD__', table: OT }), { 'content-type': 'application/json', authorization: `Bearer ${bearer}` });
    assert.equal(bad.json.ok, false);
    assert.equal(bad.json.code, 'BAD_CREDENTIALS', bad.text);
    assert.ok(!bad.text.includes(WRONG_SECRET));
  });

  it('redeploy: a POST right after each deploy request returns is answered 200; old streams do not linger', async () => {
    for (const round of [1, 2, 3]) {
      const changed = flows.map((n: any) => (n.id === 'ign' ? { ...n, name: `redeployed ${round}` } : n));
      const deploy = await post(`${admin}/flows`, JSON.stringify(changed), { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'node-red-deployment-type': 'full' });
      assert.ok(deploy.status === 200 || deploy.status === 204, deploy.text);
      const res = await post(`${nodes}/plant7/ingest/batch`, JSON.stringify([{ tagPath: `[default]Acc2/AfterRedeploy${round}`, value: round, timestamp: Date.now() }]));
      assert.equal(res.status, 200, res.text);
    }
    await eventually('the rows after redeploys', async () => {
      const paths = (await emulator.rows(OT, 100)).map((r) => r.tag_path);
      return [1, 2, 3].every((i) => paths.includes(`[default]Acc2/AfterRedeploy${i}`));
    });
    // one stream per zerobus-out of the flow (out, direct-out, rows-out, proto-out), none left over
    const open = await eventually('old streams closed', async () => {
      const streams = (await httpJson(`${emulator.httpUrl}/api/stats`)).json.streams as unknown[];
      return streams.length === 4 ? streams : undefined;
    }, 15_000).catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify((await httpJson(`${emulator.httpUrl}/api/stats`)).json.streams)}`);
    });
    assert.equal(open.length, 4);
  });

  it('emulator restart: data posted while it is down and right after it is back lands without help', async () => {
    await emulator.stop();
    await eventually('a reconnecting status', () => seenOn('acc2/status').find((m) => m.status?.source === 'out' && /reconnect|connecting/i.test(m.status.text)), 15_000);
    const down = await post(`${nodes}/plant7/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc2/WhileDown', value: 1, timestamp: Date.now() }]));
    assert.equal(down.status, 200, 'the disk spool takes it');
    await emulator.start();
    const back = await post(`${nodes}/plant7/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc2/AfterRestart', value: 1, timestamp: Date.now() }]));
    assert.equal(back.status, 200);
    await eventually('both rows', async () => {
      const paths = (await emulator.rows(OT, 100)).map((r) => r.tag_path);
      return paths.includes('[default]Acc2/WhileDown') && paths.includes('[default]Acc2/AfterRestart');
    }, 20_000);
    // --data-dir: what was stored before the restart is still there
    assert.ok((await emulator.rows(OT, 10_000)).some((r) => r.tag_path === '[default]Acc2/First'));
  });

  it('§4.2/§7 shutdown while Zerobus is away is bounded; after a restart the spooled events are sent', async () => {
    await emulator.stop();
    const t = Date.now();
    const res = await post(`${nodes}/plant7/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc2/AcrossRestart', value: 1, timestamp: t }]));
    assert.equal(res.status, 200);
    const began = Date.now();
    const code = await nodeRed.stop(20_000);
    assert.notEqual(code, null, 'Node-RED exited by itself');
    assert.ok(Date.now() - began < 15_000, `shutdown took ${Date.now() - began} ms`);
    await emulator.start();
    await nodeRed.start(60_000);
    await eventually('the spooled row after the restart', async () => (await emulator.rows(OT, 100)).some((r) => r.tag_path === '[default]Acc2/AcrossRestart'), 30_000);
  });
});
