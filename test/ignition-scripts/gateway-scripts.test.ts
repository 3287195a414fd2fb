/**
 * The bundled Ignition scripts (examples/ignition/), exactly as shipped apart from the settings a
 * user edits (URL, API_KEY), run by a real Jython 2.7 on Java 17 — what Ignition 8.1.33+ ships —
 * behind a stub of Ignition's `system` API written from its documentation (jython/system/; each
 * assumption is marked ASSUMPTION there and listed below), against the packed package in a real
 * Node-RED and the installed Zerobus emulator. Every case reads the stored rows back and checks
 * that each generated event is there exactly once.
 *
 * Assumptions about Ignition the stub makes (details beside each in jython/ and java/):
 *  - values reach scripts as boxed Java objects converted by Jython (int, long, float, bool,
 *    unicode, java.util.Date, array); QualityCode has getCode/getName/isGood and no getIntValue;
 *    str(quality) is the name plus ("diagnostic") when one is attached;
 *  - system.net.httpClient() is Java's HttpClient: `timeout` the connect timeout, `version`
 *    "HTTP_2" by default; post() returns statusCode/text/json/headers (name -> list) for any
 *    status and raises the Java exception on network errors; a text body without a Content-Type
 *    header goes as text/plain;charset=UTF-8;
 *  - system.util.getGlobals() survives a project save, project library modules do not;
 *    getLogger(name) logs under that name; invokeAsynchronous starts one thread per call;
 *    jsonEncode writes plain JSON (bare NaN for non-finite floats) and refuses Java objects;
 *  - [System]Gateway/SystemName holds the gateway's name (system.tag.readBlocking);
 *  - Gateway Event scripts: Tag Change runs once per change, one at a time, with event,
 *    newValue, initialChange; Timer (fixed delay 1000 ms, dedicated thread); on stop the timer
 *    ends, then the Shutdown script runs;
 *  - 8.3 Event Streams: Tag Event source + pass-through encoder gives event.data = QualifiedValue
 *    and event.metadata = {tagPath, isInitial}; the buffer hands the handler all queued events
 *    after max wait; failure strategy RETRY hands the same events again after a delay; the HTTP
 *    handler posts the transformed events as one JSON array with the configured headers through
 *    Java's HttpClient with its defaults, and a non-2xx answer is a failure.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, NodeRedProcess } from '../../demo/node-red-process';
import { EmulatorBin, packInto, type Row } from '../e2e/acceptance-kit';
import { eventually, requireBuiltPackage } from '../support/dist';
import { compileJavaStubs, JythonGateway, missingTools, type Stats } from './gateway-process';

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT_81 = path.join(ROOT, 'examples/ignition/gateway-tag-change-8.1.py');
const SCRIPT_83 = path.join(ROOT, 'examples/ignition/event-streams-handler-8.3.py');
const RECIPE_83 = path.join(ROOT, 'examples/ignition/event-streams-http-handler-8.3.md');
const OT = 'main.ot.tag_events';
const CLIENT_ID = 'gateway-scripts-sp';
const CLIENT_SECRET = 'gateway-scripts-secret';
const KEY = 'gateway-scripts-key';
const GATEWAY_NAME = 'Ignition-Stub-Gateway';

interface Figures {
  generated: number;
  stored: number;
  duplicated: number;
  /** 8.1: sender threads the script started meanwhile */
  threads?: number;
}

describe('Ignition gateway scripts under Jython against the packed package', function () {
  this.timeout(120_000);
  let work: string;
  let emulator: EmulatorBin;
  let nodeRed: NodeRedProcess;
  let gateway: JythonGateway;
  let base: number;
  const figures: Record<string, Figures> = {};

  before(async function () {
    const missing = missingTools();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    this.timeout(240_000);
    requireBuiltPackage();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-ignition-scripts-'));
    gateway = new JythonGateway();
    gateway.start(compileJavaStubs(work)); // the JVM starts while npm installs

    const tarball = packInto(work);
    const userDir = path.join(work, 'user');
    nodeRed = new NodeRedProcess({ userDir, flows: [], install: { tarball }, settings: { zerobusIgnitionInRetryAfter: 1 } });
    nodeRed.prepare();
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    emulator = EmulatorBin.installed(userDir, { grpcPort, httpPort, dataDir: path.join(work, 'emulator-data'), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    await emulator.start();
    const flows = [
      { id: 'tab', type: 'tab', label: 'ignition scripts' },
      { id: 'cfg', type: 'zerobus-config', workspaceUrl: emulator.httpUrl, endpoint: emulator.grpcEndpoint, authType: 'oauth' },
      // the normal receiver, with an API key
      { id: 'gw', type: 'zerobus-ignition-in', z: 'tab', path: '/gw', wires: [['out']] },
      // a small body limit (413)
      { id: 'small', type: 'zerobus-ignition-in', z: 'tab', path: '/small', maxBodyBytes: 60000, wires: [['out']] },
      { id: 'out', type: 'zerobus-out', z: 'tab', connection: 'cfg', table: OT, wires: [[]] },
      // a sink with a tiny spool that fills while Zerobus withholds its acks (503 + Retry-After)
      { id: 'full', type: 'zerobus-ignition-in', z: 'tab', path: '/full', wires: [['out-tiny']] },
      { id: 'out-tiny', type: 'zerobus-out', z: 'tab', connection: 'cfg', table: OT, spoolMaxMB: 0.25, wires: [[]] },
    ];
    nodeRed.writeFlows(flows.map((n, i) => ('z' in n ? { x: 200, y: 40 * (i + 1), ...n } : n)), {
      cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      gw: { apiKey: KEY },
    });
    await nodeRed.start(120_000);
    await eventually('zerobus-out to stream', async () => (await (await fetch(`${url('/full')}/health`)).json())?.ready === true);
    base = Date.now() - 3_600_000;
  });

  after(async () => {
    if (Object.keys(figures).length > 0) {
      console.log('      events per case (generated / stored / duplicated):');
      for (const [name, f] of Object.entries(figures)) console.log(`        ${name}: ${f.generated} / ${f.stored} / ${f.duplicated}${f.threads === undefined ? '' : `, sender threads started: ${f.threads}`}`);
    }
    await gateway?.stop();
    await nodeRed?.stop();
    await emulator?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  function url(receiver: string): string {
    return `${nodeRed.url}${receiver}`;
  }

  /** Waits until the case's `count` events are all stored, then checks each is there once. */
  async function storedOnce(name: string, caseFolder: string, count: number): Promise<Row[]> {
    const prefix = `[default]${caseFolder}/`;
    const mine = async () => (await emulator.rows(OT, 10000)).filter((r) => String(r.tag_path).startsWith(prefix));
    let latest = 0;
    const rows = await eventually(`${count} rows of ${caseFolder}`, async () => {
      const r = await mine();
      latest = r.length;
      return r.length >= count ? r : undefined;
    }, 60_000, 500).catch(async (err: Error) => {
      const recent = (await gateway.stats()).logs.slice(-10).map((l) => l.join(' '));
      throw new Error(`${err.message} (${latest} stored); gateway log:\n${[...gateway.gatewayLogs.slice(-10), ...recent].join('\n')}`);
    });
    const ids = new Set(rows.map((r) => r.event_id));
    const keys = new Set(rows.map((r) => `${r.tag_path}|${r.event_time}`));
    figures[name] = { generated: count, stored: keys.size, duplicated: rows.length - ids.size };
    assert.equal(rows.length, count, `${caseFolder}: ${rows.length} rows for ${count} events`);
    assert.equal(ids.size, count, `${caseFolder}: duplicated event ids`);
    assert.equal(keys.size, count, `${caseFolder}: events stored twice or missing`);
    return rows;
  }

  async function until(what: string, probe: (s: Stats) => boolean): Promise<Stats[]> {
    const seen: Stats[] = [];
    await eventually(what, async () => {
      seen.push(await gateway.stats());
      return seen.some(probe);
    }, 60_000, 300);
    return seen;
  }

  type Send = (tagChanges: { case: string; count: number; size?: number; base: number }) => Promise<unknown>;

  /** Zerobus withholds its acks, so the tiny spool behind /full fills and the node answers 503, until `saw503`. */
  async function spoolFullCase(name: string, save: () => Promise<unknown>, send: Send, saw503: () => Promise<unknown>): Promise<void> {
    const folder = `Full${name.slice(0, 3).replace('.', '')}`;
    await emulator.fault('withholdAcks', true);
    try {
      await save();
      await send({ case: folder, count: 2500, base });
      await saw503();
    } finally {
      await emulator.fault('withholdAcks', false);
    }
    await storedOnce(name, folder, 2500);
  }

  /** 1 KB values to a receiver whose body limit is 60 KB: one 413, then every request fits. */
  async function bigValuesCase(name: string, save: () => Promise<unknown>, send: Send): Promise<Stats[]> {
    const folder = `Big${name.slice(0, 3).replace('.', '')}`;
    await save();
    const stats = [await gateway.stats()];
    await send({ case: folder, count: 400, size: 1000, base });
    await storedOnce(name, folder, 400);
    stats.push(await gateway.stats());
    assert.equal(count(stats, 'HTTP_1_1 application/json 413'), 1, 'one 413, then every request fits');
    return stats;
  }

  const kinds = (...stats: Stats[]) => [...new Set(stats.flatMap((s) => Object.keys(s.exchanges)))].sort();
  const count = (stats: Stats[], kind: string) => stats.reduce((n, s) => n + (s.exchanges[kind] ?? 0), 0);
  const logs = (stats: Stats[], logger: string, level?: string) =>
    stats.flatMap((s) => s.logs).filter(([lv, name]) => name === logger && (!level || lv === level)).map(([, , m]) => m);

  describe('8.1 Gateway Tag Change script', () => {
    const save = (receiver: string, key: string | null) => gateway.command('save81', { file: SCRIPT_81, settings: { URL: `${url(receiver)}/ingest/batch`, API_KEY: key } });

    it('delivers every data type and quality once, over HTTP/1.1 with application/json, one sender at a time, logging each batch', async () => {
      await save('/gw', KEY);
      const before = await gateway.stats();
      await gateway.command('changes81', { case: 'S81Normal', count: 1100, base });
      const rows = await storedOnce('8.1 normal', 'S81Normal', 1100);
      const after = await gateway.stats();
      assert.ok(after.threads.peak <= 1, `at most one sender thread at a time, saw ${after.threads.peak}`);
      figures['8.1 normal'].threads = after.threads.started - before.threads.started;
      assert.ok(figures['8.1 normal'].threads <= 10, `${figures['8.1 normal'].threads} threads for 1100 changes`);
      assert.deepEqual(kinds(before, after), ['HTTP_1_1 application/json 200']);
      const sent = logs([before, after], 'Gateway.ZerobusForwarder', 'INFO').map((m) => Number(/^Sent (\d+) events to Zerobus$/.exec(m)?.[1]));
      assert.equal(sent.reduce((a, b) => a + b, 0), 1100, 'the success lines count every event');
      assertFidelity(rows);
    });

    it('keeps the events while Node-RED is unreachable (a Java network error) and delivers them once it answers', async () => {
      const closedPort = await freePort();
      await gateway.command('save81', { file: SCRIPT_81, settings: { URL: `http://127.0.0.1:${closedPort}/gw/ingest/batch`, API_KEY: KEY } });
      await gateway.command('changes81', { case: 'S81Down', count: 200, base });
      await until('a network error', (s) => logs([s], 'Gateway.ZerobusForwarder', 'WARN').some((m) => m.includes('kept for retry') && m.includes('ConnectException')));
      await save('/gw', KEY);
      await storedOnce('8.1 Node-RED unreachable', 'S81Down', 200);
    });

    it('keeps the events through 401 until the script is saved with the right key', async () => {
      await save('/gw', 'wrong-key');
      await gateway.command('changes81', { case: 'S81Key', count: 300, base });
      const seen = await until('a 401', (s) => logs([s], 'Gateway.ZerobusForwarder', 'WARN').some((m) => m.includes('(401)')));
      assert.equal((await emulator.rows(OT, 10000)).filter((r) => String(r.tag_path).startsWith('[default]S81Key/')).length, 0);
      assert.ok(kinds(...seen).includes('HTTP_1_1 application/json 401'), kinds(...seen).join());
      await save('/gw', KEY);
      await storedOnce('8.1 401 then key fixed', 'S81Key', 300);
    });

    it('waits out 503 + Retry-After while the spool is full and then delivers everything', async () => {
      const before = await gateway.stats();
      await spoolFullCase('8.1 503 spool full', () => save('/full', null), (c) => gateway.command('changes81', c), async () => {
        await until('a 503', (s) => logs([s], 'Gateway.ZerobusForwarder', 'WARN').some((m) => m.includes('(503)')));
      });
      const after = await gateway.stats();
      assert.ok(after.threads.peak <= 1, `at most one sender thread at a time, saw ${after.threads.peak}`);
      figures['8.1 503 spool full'].threads = after.threads.started - before.threads.started;
      assert.ok(figures['8.1 503 spool full'].threads <= 25, `${figures['8.1 503 spool full'].threads} threads for 2500 changes through an outage`);
    });

    it('after a 413 sends batches below the limit the node names, and keeps that size', async () => {
      const stats = await bigValuesCase('8.1 413', () => save('/small', null), (c) => gateway.command('changes81', c));
      assert.equal(logs(stats, 'Gateway.ZerobusForwarder', 'WARN').filter((m) => m.includes('HTTP 413')).length, 1);
    });

    it('sends what is still buffered when the gateway shuts down', async () => {
      await save('/gw', KEY);
      await gateway.command('changes81', { case: 'S81Stop', count: 450, base });
      const { buffered } = await gateway.command<{ buffered: number }>('shutdown81');
      assert.equal(buffered, 450, 'every event still buffered when the gateway stops');
      await storedOnce('8.1 shutdown with events buffered', 'S81Stop', 450);
    });
  });

  describe('8.3 Event Streams script handler', () => {
    const save = (receiver: string, key: string | null) => gateway.command('save83', { file: SCRIPT_83, settings: { URL: `${url(receiver)}/ingest/batch`, API_KEY: key }, retryMs: 500, maxQueue: 500 });

    it('delivers every data type and quality once, logging each request', async () => {
      await save('/gw', KEY);
      await gateway.command('events83', { stream: 'script', case: 'S83Normal', count: 1100, base });
      const rows = await storedOnce('8.3 normal', 'S83Normal', 1100);
      const stats = await gateway.stats();
      assert.deepEqual(kinds(stats), ['HTTP_1_1 application/json 200']);
      const sent = logs([stats], 'EventStreams.Zerobus', 'INFO').map((m) => Number(/^Sent (\d+) events to Zerobus$/.exec(m)?.[1]));
      assert.equal(sent.reduce((a, b) => a + b, 0), 1100);
      assertFidelity(rows);
    });

    it('raises on 401 so the stream retries, and delivers once the script is saved with the right key', async () => {
      await save('/gw', 'wrong-key');
      await gateway.command('events83', { stream: 'script', case: 'S83Key', count: 300, base });
      await until('a retried 401', (s) => s.retries > 0);
      await save('/gw', KEY);
      await storedOnce('8.3 401 then key fixed', 'S83Key', 300);
    });

    it('raises on 503 while the spool is full and delivers everything on the retries', async () => {
      await spoolFullCase('8.3 503 spool full', () => save('/full', null), (c) => gateway.command('events83', { stream: 'script', ...c }), async () => {
        await until('a 503', () => gateway.gatewayLogs.some((l) => l.includes('HTTP 503')));
      });
    });

    it('splits the events after a 413 and keeps the size it learned', async () => {
      await bigValuesCase('8.3 413', () => save('/small', null), (c) => gateway.command('events83', { stream: 'script', ...c }));
    });
  });

  it('8.3 HTTP-handler recipe: its transform and the HTTP handler with Java defaults (HTTP/2 offered) deliver once', async () => {
    await gateway.command('recipe', {
      file: RECIPE_83,
      settings: { URL: `${url('/gw')}/ingest/batch`, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` } },
      retryMs: 500,
    });
    await gateway.command('events83', { stream: 'recipe', case: 'S83Recipe', count: 550, base });
    const rows = await storedOnce('8.3 HTTP-handler recipe', 'S83Recipe', 550);
    const stats = await gateway.stats();
    assert.equal(stats.retries, 0, gateway.gatewayLogs.slice(-5).join('\n'));
    // Java offered h2c on every request and the node answered in HTTP/1.1
    assert.deepEqual(kinds(stats), ['HTTP_1_1 application/json 200']);
    assertFidelity(rows);
  });

  /** Types, qualities and the gateway's name arrive as the tag had them. */
  function assertFidelity(rows: Row[]): void {
    const byType = new Map<string, Row>();
    for (const r of rows) byType.set(String(r.tag_path).split('/')[1].split('_')[0], r);
    assert.deepEqual([...byType.keys()].sort(), ['Boolean', 'DateTime', 'Float4', 'Float8', 'Int1', 'Int2', 'Int4', 'Int4Array', 'Int8', 'Null', 'String']);
    assert.ok(rows.every((r) => r.source_system === GATEWAY_NAME), 'sourceSystem is the gateway name');
    const qualities = new Set(rows.map((r) => `${r.quality} ${r.quality_code}`));
    assert.deepEqual([...qualities].sort(), ['Bad_Disabled -2147483133', 'Bad_Stale -2147483132', 'Error_Configuration -1073741055', 'Good 192', 'Uncertain_LastKnownValue 1073742081']);
    assert.equal(typeof byType.get('Int8')!.numeric_value, 'number');
    assert.equal(typeof byType.get('Boolean')!.boolean_value, 'boolean');
    assert.match(String(byType.get('String')!.string_value), /^v\d+ é $/);
    assert.match(String(byType.get('Int4Array')!.string_value), /^\[\d+,\d+\]$/);
  }
});
