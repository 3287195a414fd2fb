/**
 * Acceptance, black box: what someone who has read only docs/DESIGN.md gets. The package is packed and
 * installed into a fresh Node-RED user dir with npm (as the palette manager does), Node-RED runs
 * with its default settings, flows set only the property names docs/DESIGN.md names (everything else left
 * to the defaults), the emulator is the installed `zerobus-emulator` bin with OAuth enforced, and
 * the peers are real: HTTP clients posting the Ignition seed-script payloads, an Eclipse Tahu
 * edge node through an aedes broker, the official Databricks SDK against the emulator, and the
 * emulator's `/api/tables` routes to read rows back.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mqtt from 'mqtt';
import * as protobuf from 'protobufjs';
import { newClient } from 'sparkplug-client';
import { freePort, NodeRedProcess } from '../../demo/node-red-process';
import { httpJson } from '../../demo/emulator-process';
import { OT_DESCRIPTOR, otJson, otProto } from '../lib/emulator/raw-client';
import { EmulatorBin, packedWorkspace, post, runtimes } from './acceptance-kit';
import { startWatchedBroker, type WatchedBroker } from './watched-broker';
import { eventually } from '../support/dist';
import { skipBecause } from '../support/skip-summary';

const PKG = '@ot-lakehouse/node-red-zerobus';
const OT = 'main.ot.tag_events';
const ENERGY = 'main.ot.energy_readings';
const CLIENT_ID = 'acceptance-sp';
const CLIENT_SECRET = 'acceptance-secret-value';
const API_KEY = 'acceptance-api-key';
const HOST_ID = 'acc-host';
const GROUP = 'AccGroup';
const STALE_CODE = -2147483132;

interface OfficialStream {
  ingestRecordOffset(payload: Buffer | string): Promise<bigint>;
  ingestRecordsOffset(payloads: (Buffer | string)[]): Promise<bigint | null>;
  waitForOffset(offset: bigint): Promise<void>;
  close(): Promise<void>;
}
interface OfficialSdk {
  ZerobusSdk: new (endpoint: string, unityCatalogUrl: string) => {
    createStream(table: { tableName: string; descriptorProto?: string }, clientId: string, clientSecret: string, options?: Record<string, unknown>): Promise<OfficialStream>;
  };
  RecordType: { Json: number; Proto: number };
}


const RUNTIMES = runtimes();

for (const runtime of RUNTIMES) describe(`acceptance on ${runtime.name}: docs/DESIGN.md promises against the packed package in a fresh Node-RED`, function () {
  this.timeout(120_000);
  let work: string;
  let userDir: string;
  let emulator: EmulatorBin;
  let watched: WatchedBroker | undefined;
  let mqttUrl: string;
  let nodeRed: NodeRedProcess;
  let base: string;
  /** messages the flows publish to the test through a core `mqtt out` node, by topic */
  let seen = new Map<string, any[]>();
  /** fired before the other tests: a memory-spool sink whose Zerobus cannot be reached */
  let downResponse: Promise<Awaited<ReturnType<typeof post>>>;

  before(async function () {
    this.timeout(240_000);
    let tarball: string;
    ({ work, tarball, userDir } = packedWorkspace('zb-accept-'));
    nodeRed = new NodeRedProcess({ userDir, flows: [], install: { tarball }, redJs: runtime.redJs, nodeBinary: runtime.nodeBinary });
    nodeRed.prepare(); // npm install <tarball> into the user dir, default settings

    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    emulator = EmulatorBin.installed(userDir, { grpcPort, httpPort, dataDir: path.join(work, 'emulator-data'), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    await emulator.start();

    watched = await startWatchedBroker('acceptance-watcher', ['spBv1.0/STATE/+', 'acc/#', `spBv1.0/${GROUP}/NCMD/#`]);
    mqttUrl = watched.url;
    seen = watched.seen;

    const port = new URL(mqttUrl).port;
    const flows = [
      { id: 'acc-tab', type: 'tab', label: 'acceptance' },
      { id: 'cfg', type: 'zerobus-config', workspaceUrl: emulator.httpUrl, endpoint: emulator.grpcEndpoint, authType: 'oauth' },
      { id: 'cfg-down', type: 'zerobus-config', workspaceUrl: 'http://127.0.0.1:1', endpoint: 'http://127.0.0.1:1', authType: 'oauth' },
      { id: 'mq', type: 'mqtt-broker', broker: '127.0.0.1', port },
      // Ignition receiver with only `path`, straight into a zerobus-out with only connection + table
      { id: 'ign', type: 'zerobus-ignition-in', z: 'acc-tab', path: '/system/zerobus', wires: [['out', 'ign-events']] },
      { id: 'ign-events', type: 'mqtt out', z: 'acc-tab', broker: 'mq', topic: 'acc/events', wires: [] },
      { id: 'out', type: 'zerobus-out', z: 'acc-tab', connection: 'cfg', table: OT, wires: [[]] },
      // with an API key, through a tag batch with defaults, to a JSON-record sink
      { id: 'ign-key', type: 'zerobus-ignition-in', z: 'acc-tab', path: '/acc/keyed', wires: [['batch']] },
      { id: 'batch', type: 'zerobus-batch', z: 'acc-tab', wires: [['out-json']] },
      { id: 'out-json', type: 'zerobus-out', z: 'acc-tab', connection: 'cfg', table: OT, recordType: 'json', sourceSystem: 'acc-json', wires: [['receipts']] },
      { id: 'receipts', type: 'mqtt out', z: 'acc-tab', broker: 'mq', topic: 'acc/receipts', wires: [] },
      // rows format: core http in → zerobus-out (rows) → custom table
      { id: 'rows-in', type: 'http in', z: 'acc-tab', url: '/acc/energy', method: 'post', wires: [['out-rows', 'rows-ok']] },
      { id: 'rows-ok', type: 'http response', z: 'acc-tab', statusCode: '204', wires: [] },
      { id: 'out-rows', type: 'zerobus-out', z: 'acc-tab', connection: 'cfg', table: ENERGY, format: 'rows', wires: [[]] },
      // a memory spool whose Zerobus is unreachable: durable acks cannot happen
      { id: 'ign-down', type: 'zerobus-ignition-in', z: 'acc-tab', path: '/acc/down', wires: [['out-down']] },
      { id: 'out-down', type: 'zerobus-out', z: 'acc-tab', connection: 'cfg-down', table: OT, spool: 'memory', wires: [[]] },
      // a table that does not exist: non-retryable, reported to Catch
      { id: 'ign-missing', type: 'zerobus-ignition-in', z: 'acc-tab', path: '/acc/missing', ack: 'received', wires: [['out-missing']] },
      { id: 'out-missing', type: 'zerobus-out', z: 'acc-tab', connection: 'cfg', table: 'main.ot.no_such_table', wires: [[]] },
      { id: 'catch', type: 'catch', z: 'acc-tab', scope: ['out-missing'], wires: [['caught']] },
      { id: 'caught', type: 'change', z: 'acc-tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'error.message', tot: 'msg' }], wires: [['caught-out']] },
      { id: 'caught-out', type: 'mqtt out', z: 'acc-tab', broker: 'mq', topic: 'acc/catch', wires: [] },
      { id: 'status', type: 'status', z: 'acc-tab', scope: ['out', 'out-missing'], wires: [['status-text']] },
      { id: 'status-text', type: 'change', z: 'acc-tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'status.text', tot: 'msg' }], wires: [['status-out']] },
      { id: 'status-out', type: 'mqtt out', z: 'acc-tab', broker: 'mq', topic: 'acc/status', wires: [] },
      // without a broker: decodes what a core mqtt in node hands it
      { id: 'sp-mqtt', type: 'mqtt in', z: 'acc-tab', broker: 'mq', topic: 'spBv1.0/RawGroup/#', qos: '0', datatype: 'buffer', wires: [['sp-plain']] },
      { id: 'sp-plain', type: 'zerobus-sparkplug-in', z: 'acc-tab', wires: [['out']] },
      // Sparkplug host with only broker + group
      { id: 'spb', type: 'zerobus-sparkplug-broker', url: mqttUrl, hostId: HOST_ID },
      { id: 'sp', type: 'zerobus-sparkplug-in', z: 'acc-tab', broker: 'spb', group: GROUP, wires: [['out']] },
      // a broker config with nothing but its url, as a flow written by hand may have it
      { id: 'spb-bare', type: 'zerobus-sparkplug-broker', url: mqttUrl },
      { id: 'sp-bare', type: 'zerobus-sparkplug-in', z: 'acc-tab', broker: 'spb-bare', group: 'NoSuchGroup', wires: [[]] },
    ];
    // flow nodes carry a position, as the editor writes them (Node-RED takes nodes without one for config nodes)
    nodeRed.writeFlows(flows.map((n, i) => ('z' in n ? { x: 200, y: 40 * (i + 1), ...n } : n)), {
      cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      'cfg-down': { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      'ign-key': { apiKey: API_KEY },
    });
    await nodeRed.start(120_000);
    base = `${nodeRed.url}/system/zerobus`;
    await eventually('the receiver route', async () => (await fetch(`${base}/health`)).status !== 404);
    await eventually('zerobus-out to stream', async () => (await httpJson(`${base}/health`)).json?.ready === true);
    downResponse = post(`${nodeRed.url}/acc/down/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc/Down', value: 1, timestamp: Date.now() }]));
  });

  after(async () => {
    await nodeRed?.stop();
    await watched?.stop();
    await emulator?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('§6 emulator bin: prints its endpoints and lists the tables of every --schema file', async () => {
    assert.match(emulator.grpcEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpJson(`${emulator.httpUrl}/api/tables`);
    assert.equal(res.status, 200);
    const names = (res.json as { name: string }[]).map((t) => t.name);
    assert.ok(names.includes(OT) && names.includes(ENERGY), names.join());
    const page = await fetch(`${emulator.httpUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  });

  it('every node type loads and deploys without errors', () => {
    const problems = nodeRed.log.filter((l) => /\[error\]|missing types|Unknown type|TypeError/i.test(l) && !/no_such_table/.test(l));
    assert.deepEqual(problems, []);
  });

  it('§8 Import → Examples offers at least the four example flows, each folder a flow, each using only types this Node-RED knows', async () => {
    const lib = `${nodeRed.url}/library/examples/flows/${PKG}`;
    const list = (await httpJson(lib)).json as (string | { fn: string })[];
    const top = list.filter((e): e is { fn: string } => typeof e === 'object').map((e) => e.fn);
    assert.ok(top.length >= 4, JSON.stringify(list));
    const folders = list.filter((e): e is string => typeof e === 'string');
    const names = [...top];
    for (const folder of folders) {
      const inside = ((await httpJson(`${lib}/${encodeURIComponent(folder)}`)).json as (string | { fn: string })[])
        .filter((e): e is { fn: string } => typeof e === 'object').map((e) => `${folder}/${e.fn}`);
      assert.ok(inside.length > 0, `examples folder ${folder} holds no flow`);
      names.push(...inside);
    }
    const sets = (await (await fetch(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } })).json()) as { types: string[] }[];
    const known = new Set(sets.flatMap((set) => set.types));
    for (const name of names) {
      const flow = (await httpJson(`${lib}/${name.split('/').map(encodeURIComponent).join('/')}`)).json as { type: string }[];
      const unknown = flow.map((n) => n.type).filter((t) => t !== 'tab' && !known.has(t));
      assert.deepEqual(unknown, [], name);
    }
  });

  it('§4.3 /health and /diagnostics answer with the promised fields', async () => {
    const health = await httpJson(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json.ready, true);
    assert.equal(typeof health.json.version, 'string');
    const diag = await httpJson(`${base}/diagnostics`);
    assert.equal(diag.status, 200);
    for (const k of ['totalEventsReceived', 'totalEventsSent', 'totalEventsFailed', 'queueSize', 'lastEventTime', 'zerobusConnected']) {
      assert.ok(k in diag.json, `diagnostics.${k}`);
    }
    // the stream may still be (re)opening right after the deploy: connected within a few seconds
    const connected = async () => (await httpJson(`${base}/diagnostics`)).json?.zerobusConnected === true;
    await eventually('diagnostics to report the stream connected', connected, 15_000);
  });

  it('§4.3/§5 a seed-script batch lands as docs/DESIGN.md §5 rows; NULL columns stay absent; output carries normalised events', async () => {
    const t = Date.now() - 60_000;
    const batch = [
      { tagPath: '[Sample_Tags]Sine/Sine0', tagProvider: 'Sample_Tags', value: 0.42, quality: 'Good', qualityCode: 192, timestamp: t, dataType: 'float' },
      { tagPath: '[default]Acc/Count', tagProvider: 'None', value: 7, quality: 'Good', qualityCode: 192, timestamp: String(t + 1), dataType: 'int' },
      { tagPath: '[default]Acc/Text', value: 'hello', quality: 'Bad_Stale', qualityCode: STALE_CODE, timestamp: t + 2, dataType: 'unicode' },
      { tagPath: 'Acc/NoProvider', value: true, qualityCode: 192, timestamp: t + 3, dataType: 'bool' },
      { tagPath: '[default]Acc/Nothing', value: null, quality: 'Bad_NotConnected', qualityCode: -2147483126, timestamp: t + 4, dataType: 'NoneType' },
      { value: 1, timestamp: t },
      { tagPath: '[default]Acc/Alarm', value: 3, quality: 'Good', qualityCode: 192, timestamp: t + 5, dataType: 'int', alarmState: 'Active', alarmPriority: 2, sourceSystem: 'gw-7' },
    ];
    const res = await post(`${base}/ingest/batch`, JSON.stringify(batch));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.received, 7);
    assert.equal(res.json.accepted, 6);
    assert.equal(res.json.rejected, 1);
    assert.equal(res.json.errors.length, 1);
    assert.equal(res.json.errors[0].index, 5);
    assert.equal(typeof res.json.errors[0].message, 'string');

    const rows = await eventually('six rows', async () => {
      const r = (await emulator.rows(OT, 50)).filter((x) => String(x.tag_path).includes('Acc/') || x.tag_path === '[Sample_Tags]Sine/Sine0');
      return r.length >= 6 ? r : undefined;
    });
    const by = (p: string) => rows.find((r) => r.tag_path === p)!;
    const sine = by('[Sample_Tags]Sine/Sine0');
    assert.equal(sine.numeric_value, 0.42);
    assert.equal(sine.tag_provider, 'Sample_Tags');
    assert.equal(sine.quality, 'Good');
    assert.equal(sine.quality_code, 192);
    assert.equal(sine.source_system, os.hostname());
    assert.equal(sine.data_type, 'Float8');
    assert.match(String(sine.event_id), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Number(sine.ingestion_timestamp) > t * 1000, 'ingestion_timestamp in µs');
    for (const col of ['string_value', 'boolean_value', 'alarm_state', 'alarm_priority']) assert.equal(sine[col] ?? null, null, `${col} is NULL`);
    assert.equal(by('[default]Acc/Count').tag_provider, 'default');
    assert.equal(by('[default]Acc/Count').numeric_value, 7);
    const text = by('[default]Acc/Text');
    assert.equal(text.string_value, 'hello');
    assert.equal(text.numeric_value ?? null, null);
    assert.equal(text.quality, 'Bad_Stale');
    assert.equal(text.quality_code, STALE_CODE);
    const bool = by('Acc/NoProvider');
    assert.equal(bool.boolean_value, true);
    assert.equal(bool.tag_provider, 'default');
    assert.equal(bool.quality, 'Good', 'quality derived from qualityCode');
    const nothing = by('[default]Acc/Nothing');
    for (const col of ['numeric_value', 'string_value', 'boolean_value']) assert.equal(nothing[col] ?? null, null, `${col} is NULL`);
    const alarm = by('[default]Acc/Alarm');
    assert.equal(alarm.alarm_state, 'Active');
    assert.equal(alarm.alarm_priority, 2);
    assert.equal(alarm.source_system, 'gw-7');

    const emitted = await eventually('the receiver output on MQTT', () => (seen.get('acc/events') ?? []).flat().find((e: any) => e?.tagPath === '[default]Acc/Count'));
    assert.equal(emitted.tagProvider, 'default');
    assert.equal(typeof emitted.timestamp, 'number');

    // The 8.1 script resends delivered batches: exact repeats are dropped and counted.
    const before = (await httpJson(`${base}/diagnostics`)).json;
    const again = await post(`${base}/ingest/batch`, JSON.stringify(batch));
    assert.equal(again.status, 200);
    const after = (await httpJson(`${base}/diagnostics`)).json;
    assert.equal(after.duplicatesDropped - before.duplicatesDropped, 6);
    assert.equal(after.totalEventsReceived - before.totalEventsReceived, 7, 'a resent batch still counts as received');
  });

  it('§4.3 POST {path}/ingest takes one event; rows come back newest first', async () => {
    const t = Date.now();
    for (const i of [1, 2]) {
      const res = await post(`${base}/ingest`, JSON.stringify({ tagPath: `[default]Acc/Single${i}`, value: i, quality: 'Good', qualityCode: 192, timestamp: t + i, dataType: 'float' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.accepted, 1);
    }
    const rows = await eventually('both rows', async () => {
      const r = await emulator.rows(OT, 2);
      return r.length === 2 && r.every((x) => String(x.tag_path).startsWith('[default]Acc/Single')) ? r : undefined;
    });
    assert.deepEqual(rows.map((r) => r.tag_path), ['[default]Acc/Single2', '[default]Acc/Single1']);
  });

  it('§4.3 refusals: 400 bad JSON or shape, 401 key, 413 too many events, 415 content type', async () => {
    const one = JSON.stringify([{ tagPath: '[default]Acc/K', value: 1, timestamp: Date.now() }]);
    assert.equal((await post(`${base}/ingest/batch`, '{"not":"an array"}')).status, 400);
    assert.equal((await post(`${base}/ingest/batch`, '[{"tagPath": ')).status, 400);
    assert.equal((await post(`${base}/ingest`, '[1,2]')).status, 400);
    const noKey = await post(`${nodeRed.url}/acc/keyed/ingest/batch`, one);
    assert.equal(noKey.status, 401);
    assert.doesNotMatch(noKey.text, new RegExp(API_KEY));
    assert.equal((await post(`${nodeRed.url}/acc/keyed/ingest/batch`, one, { 'content-type': 'application/json', authorization: 'Bearer wrong' })).status, 401);
    const ok = await post(`${nodeRed.url}/acc/keyed/ingest/batch`, one, { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` });
    assert.equal(ok.status, 200, ok.text);
    const many = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => ({ tagPath: `[default]Many/${i}`, value: i, timestamp: 1 })));
    assert.equal((await post(`${base}/ingest/batch`, many)).status, 413);
    assert.equal((await post(`${base}/ingest/batch`, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
    assert.equal((await post(`${base}/ingest/batch`, '<tags/>', { 'content-type': 'application/xml' })).status, 415);
    // default settings: the editor's parser read the body first, and the receiver says so
    const diag = (await httpJson(`${base}/diagnostics`)).json;
    assert.equal(diag.bodyPreParsed, true);
    assert.match(diag.bodyPreParsedExplanation, /httpAdminRoot|apiMaxLength/);
  });

  it('§4.2 through zerobus-batch to a JSON-record sink: rows with the node sourceSystem, receipts on the output', async () => {
    const t = Date.now();
    const events = [0, 1, 2].map((i) => ({ tagPath: `[default]Acc/Json${i}`, value: i + 0.25, quality: 'Good', qualityCode: 192, timestamp: t + i, dataType: 'float' }));
    const res = await post(`${nodeRed.url}/acc/keyed/ingest/batch`, JSON.stringify(events), { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` });
    assert.equal(res.status, 200, res.text);
    const rows = await eventually('json rows', async () => {
      const r = (await emulator.rows(OT, 50)).filter((x) => String(x.tag_path).startsWith('[default]Acc/Json'));
      return r.length === 3 ? r : undefined;
    });
    assert.ok(rows.every((r) => r.source_system === 'acc-json'));
    await eventually('a receipt on the zerobus-out output', () => (seen.get('acc/receipts') ?? []).length > 0);
  });

  it('§4.2 format rows: table rows from a core http in node land in a custom table', async () => {
    const res = await post(`${nodeRed.url}/acc/energy`, JSON.stringify({ meter_id: 'EM-ACC', reading_time: Date.now() * 1000, active_power_kw: 12.5, site: 'Acceptance' }));
    assert.equal(res.status, 204);
    const rows = await eventually('energy row', async () => (await emulator.rows(ENERGY, 10)).find((r) => r.meter_id === 'EM-ACC'));
    assert.equal(rows.active_power_kw, 12.5);
    assert.equal(rows.energy_kwh ?? null, null);
  });

  it('§4.2 a non-retryable failure (unknown table) reaches Catch with a reason', async () => {
    const res = await post(`${nodeRed.url}/acc/missing/ingest/batch`, JSON.stringify([{ tagPath: '[default]Acc/Missing', value: 1, timestamp: Date.now() }]));
    assert.equal(res.status, 200);
    const caught = await eventually('a Catch message', () => (seen.get('acc/catch') ?? [])[0]);
    assert.match(String(caught), /no_such_table|not found/i);
    assert.doesNotMatch(String(caught), new RegExp(CLIENT_SECRET));
  });

  it('§4.1/§4.2/§7 status texts, Test connection, and no secret in exported flows, status or diagnostics', async () => {
    const texts = () => (seen.get('acc/status') ?? []).map(String);
    await eventually('a streaming status', () => texts().some((x) => /streaming/.test(x)));
    await eventually('a table-not-found status', () => texts().some((x) => /table not found/i.test(x)));

    const test = (body: object) => post(`${nodeRed.url}/zerobus/test`, JSON.stringify(body));
    const settings = { workspaceUrl: emulator.httpUrl, endpoint: emulator.grpcEndpoint, authType: 'oauth', table: OT };
    const ok = await test({ ...settings, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.ok, true, ok.text);
    const bad = await test({ ...settings, clientId: CLIENT_ID, clientSecret: 'not-the-secret-xyz' });
    assert.equal(bad.json.ok, false);
    assert.match(bad.json.message, /secret|credential|client/i);
    assert.doesNotMatch(bad.text, /not-the-secret-xyz/);
    const missing = await test({ ...settings, table: 'main.ot.no_such_table', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    assert.equal(missing.json.ok, false);
    assert.match(missing.json.message, /no_such_table/);

    // an export that failed (e.g. refused) would hold no secret either: make sure it is the real one
    const exported = await httpJson(`${nodeRed.url}/flows`);
    assert.equal(exported.status, 200);
    assert.ok(exported.text.includes('"cfg-down"'), 'the flow export');
    const everything = [
      exported.text,
      (await httpJson(`${base}/diagnostics`)).text,
      (await httpJson(`${base}/health`)).text,
      JSON.stringify([...seen.entries()].filter(([topic]) => topic.startsWith('acc/'))),
      nodeRed.log.join('\n'),
    ].join('\n');
    for (const secret of [CLIENT_SECRET, API_KEY]) assert.ok(!everything.includes(secret), 'a secret leaked');
  });

  it('§4.3 durable mode answers 503 with Retry-After when events cannot become durable', async () => {
    const res = await downResponse;
    assert.equal(res.status, 503, res.text);
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  });

  it('§6 the official Databricks SDK streams JSON and PROTO to the emulator with OAuth', async function () {
    let sdk: OfficialSdk;
    try {

      sdk = require('@databricks/zerobus-ingest-sdk-linux-x64-gnu/zerobus-ingest-sdk.linux-x64-gnu.node') as OfficialSdk;
    } catch {
      skipBecause(this, 'the official Zerobus SDK (@databricks/zerobus-ingest-sdk-linux-x64-gnu) is not installed for this platform');
    }
    const options = { recoveryRetries: 0, recoveryTimeoutMs: 5000, flushTimeoutMs: 10_000 };
    const z = new sdk.ZerobusSdk(emulator.grpcEndpoint, emulator.httpUrl);
    const json = await z.createStream({ tableName: OT }, CLIENT_ID, CLIENT_SECRET, { ...options, recordType: sdk.RecordType.Json });
    await json.waitForOffset((await json.ingestRecordsOffset([900_001, 900_002].map(otJson)))!);
    await json.close();
    const proto = await z.createStream({ tableName: OT, descriptorProto: OT_DESCRIPTOR.descriptorProto.toString('base64') }, CLIENT_ID, CLIENT_SECRET, { ...options, recordType: sdk.RecordType.Proto });
    await proto.waitForOffset(await proto.ingestRecordOffset(otProto(900_003)));
    await proto.close();
    const ids = (await emulator.rows(OT, 3)).map((r) => r.event_id);
    assert.deepEqual(ids, [900_003, 900_002, 900_001].map((i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`));
    await assert.rejects(z.createStream({ tableName: OT }, CLIENT_ID, 'wrong-secret', { ...options, recordType: sdk.RecordType.Json }));
  });

  it('§4.5 a broker config without hostId is a host with the default id', async () => {
    await eventually('STATE of the default host id', () => (seen.get('spBv1.0/STATE/node-red-zerobus') ?? []).find((s: any) => s?.online === true));
  });

  it('§4.5 Sparkplug host: STATE birth, Tahu births/data to tag events, rebirth on a gap, stale on death', async () => {
    const state = await eventually('STATE birth', () => (seen.get(`spBv1.0/STATE/${HOST_ID}`) ?? []).find((s: any) => s?.online === true));
    assert.equal(typeof state.timestamp, 'number');
    const late = await mqtt.connectAsync(mqttUrl, { clientId: 'acc-late-subscriber' });
    try {
      const retained = new Promise<{ payload: any; retain: boolean; qos: number }>((resolve) =>
        late.on('message', (_t, payload, packet) => resolve({ payload: JSON.parse(payload.toString()), retain: packet.retain, qos: packet.qos })),
      );
      await late.subscribeAsync(`spBv1.0/STATE/${HOST_ID}`, { qos: 1 });
      const got = await retained;
      assert.equal(got.retain, true, 'STATE is retained');
      assert.equal(got.qos, 1);
      assert.deepEqual(got.payload, state);
    } finally {
      await late.endAsync();
    }

    const edge = newClient({ serverUrl: mqttUrl, username: '', password: '', groupId: GROUP, edgeNode: 'Edge1', clientId: 'acc-tahu-edge', publishDeath: true, keepalive: 30 });
    let rebirths = 0;
    const t = Date.now();
    const births = () => {
      edge.publishNodeBirth({
        timestamp: Date.now(),
        metrics: [
          { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
          { name: 'Line Speed', alias: 1, type: 'Double', value: 120.5, timestamp: t },
          { name: 'Recipe', alias: 2, type: 'String', value: 'COLA', timestamp: t },
          { name: 'Motor', type: 'Template', isDefinition: true, value: { isDefinition: true, metrics: [{ name: 'Amps', type: 'Float', value: 0 }, { name: 'Running', type: 'Boolean', value: false }], parameters: [] } } as any,
          { name: 'Pump1', alias: 3, type: 'Template', timestamp: t, value: { isDefinition: false, templateRef: 'Motor', metrics: [{ name: 'Amps', type: 'Float', value: 4.5 }, { name: 'Running', type: 'Boolean', value: true }], parameters: [] } } as any,
          { name: 'Recipe Table', alias: 4, type: 'DataSet', timestamp: t, value: { numOfColumns: 2, columns: ['Step', 'Temp'], types: ['Int32', 'Double'], rows: [[1, 80.5], [2, 90]] } } as any,
        ],
      });
      edge.publishDeviceBirth('Dev1', { timestamp: Date.now(), metrics: [{ name: 'Temperature', alias: 10, type: 'Int32', value: -5, timestamp: t }] });
    };
    edge.on('birth', births);
    edge.on('ncmd', (payload: any) => {
      if (payload.metrics?.some((m: any) => m.name === 'Node Control/Rebirth' && m.value === true)) {
        rebirths++;
        births();
      }
    });
    try {
      const prefix = `[MQTT Engine]Edge Nodes/${GROUP}/Edge1/`;
      const rows = await eventually('birth rows', async () => {
        const r = (await emulator.rows(OT, 200)).filter((x) => String(x.tag_path).startsWith(prefix));
        const paths = new Set(r.map((x) => x.tag_path));
        return ['Line Speed', 'Recipe', 'Pump1/Amps', 'Pump1/Running', 'Recipe Table', 'Dev1/Temperature'].every((p) => paths.has(prefix + p)) ? r : undefined;
      });
      const at = (p: string) => rows.find((r) => r.tag_path === prefix + p)!;
      assert.equal(at('Line Speed').numeric_value, 120.5);
      assert.equal(at('Recipe').string_value, 'COLA');
      assert.equal(at('Pump1/Running').boolean_value, true);
      assert.equal(at('Dev1/Temperature').numeric_value, -5);
      assert.equal(at('Line Speed').tag_provider, 'MQTT Engine');
      assert.ok(at('Recipe Table').string_value, 'DataSet as JSON text');

      // data by alias, then a seq gap (a message lost on the way): the host asks for a rebirth
      edge.publishNodeData({ timestamp: Date.now(), metrics: [{ alias: 1, type: 'Double', value: 130.25, timestamp: Date.now() }] });
      await eventually('NDATA row', async () => (await emulator.rows(OT, 50)).find((r) => r.tag_path === prefix + 'Line Speed' && r.numeric_value === 130.25));
      (edge as any).seq = ((edge as any).seq ?? 0) + 5;
      edge.publishNodeData({ timestamp: Date.now(), metrics: [{ alias: 1, type: 'Double', value: 131, timestamp: Date.now() }] });
      await eventually('a rebirth NCMD', () => rebirths > 0 && (seen.get(`spBv1.0/${GROUP}/NCMD/Edge1`) ?? []).length > 0);
    } finally {
      edge.stop(); // publishDeath: NDEATH with the current bdSeq
    }
    const stale = await eventually('stale rows after NDEATH', async () => {
      const r = (await emulator.rows(OT, 200)).filter((x) => x.tag_path === '[MQTT Engine]Edge Nodes/AccGroup/Edge1/Line Speed' && x.quality_code === STALE_CODE);
      return r.length ? r : undefined;
    });
    assert.match(String(stale[0].quality), /Stale/);
  });

  it('§4.5 arrays (3.0 types) and DDEATH through a core mqtt in node; data before birth asks for a rebirth', async () => {
    const root = protobuf.loadSync(path.join(userDir, 'node_modules', PKG, 'proto', 'sparkplug_b.proto'));
    const Payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');
    const encode = (p: Record<string, unknown>) => Buffer.from(Payload.encode(Payload.fromObject(p)).finish());
    const i32 = Buffer.alloc(12);
    [1, -2, 3].forEach((v, i) => i32.writeInt32LE(v, 4 * i));
    const bools = Buffer.from([3, 0, 0, 0, 0b10100000]);
    const strs = Buffer.from('a\0bc\0', 'utf8');
    const pub = mqtt.connect(mqttUrl, { clientId: 'acc-raw-edge' });
    await new Promise<void>((resolve) => pub.on('connect', () => resolve()));
    const t = Date.now();
    try {
      await pub.publishAsync('spBv1.0/RawGroup/NBIRTH/Raw1', encode({ timestamp: t, seq: 0, metrics: [
        { name: 'bdSeq', datatype: 8, longValue: 0 },
        { name: 'Node Control/Rebirth', datatype: 11, booleanValue: false },
        { name: 'Ints', alias: 1, datatype: 24, timestamp: t, bytesValue: i32 },
        { name: 'Flags', alias: 2, datatype: 32, timestamp: t, bytesValue: bools },
        { name: 'Names', alias: 3, datatype: 33, timestamp: t, bytesValue: strs },
      ] }));
      await pub.publishAsync('spBv1.0/RawGroup/DBIRTH/Raw1/Pump', encode({ timestamp: t, seq: 1, metrics: [{ name: 'Speed', alias: 10, datatype: 10, timestamp: t, doubleValue: 1450 }] }));
      const prefix = '[MQTT Engine]Edge Nodes/RawGroup/Raw1/';
      const rows = await eventually('array rows', async () => {
        const r = (await emulator.rows(OT, 200)).filter((x) => String(x.tag_path).startsWith(prefix));
        return ['Ints', 'Flags', 'Names', 'Pump/Speed'].every((p) => r.some((x) => x.tag_path === prefix + p)) ? r : undefined;
      });
      const at = (p: string) => rows.find((r) => r.tag_path === prefix + p)!;
      assert.deepEqual(JSON.parse(String(at('Ints').string_value)), [1, -2, 3]);
      assert.deepEqual(JSON.parse(String(at('Flags').string_value)), [true, false, true]);
      assert.deepEqual(JSON.parse(String(at('Names').string_value)), ['a', 'bc']);
      assert.equal(at('Pump/Speed').numeric_value, 1450);

      await pub.publishAsync('spBv1.0/RawGroup/DDEATH/Raw1/Pump', encode({ timestamp: t + 10, seq: 2 }));
      const stale = await eventually('stale device metric', async () => (await emulator.rows(OT, 200)).find((r) => r.tag_path === prefix + 'Pump/Speed' && r.quality_code === STALE_CODE));
      assert.match(String(stale.quality), /Stale/);
    } finally {
      await pub.endAsync();
    }

    // the host through its broker: data from an edge it never saw born
    const late = mqtt.connect(mqttUrl, { clientId: 'acc-late-edge' });
    await new Promise<void>((resolve) => late.on('connect', () => resolve()));
    try {
      await late.publishAsync(`spBv1.0/${GROUP}/NDATA/LateEdge`, encode({ timestamp: Date.now(), seq: 7, metrics: [{ alias: 5, datatype: 10, doubleValue: 1 }] }));
      // eventually throws unless an NCMD for this edge arrives
      await eventually('rebirth request', () => (seen.get(`spBv1.0/${GROUP}/NCMD/LateEdge`) ?? []).length > 0);
    } finally {
      await late.endAsync();
    }
  });

  it('§4.5 the host STATE will marks it offline when Node-RED dies', async () => {
    await nodeRed.kill();
    const offline = await eventually('STATE online:false', () => (seen.get(`spBv1.0/STATE/${HOST_ID}`) ?? []).find((s: any) => s?.online === false), 15_000);
    assert.equal(typeof offline.timestamp, 'number');
  });
});
