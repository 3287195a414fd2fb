/**
 * What a user of the Ignition Zerobus module reads from the receiver, on the real pipeline
 * (zerobus-ignition-in → zerobus-batch → zerobus-out → emulator): the guide's own /health and
 * /diagnostics examples compared field by field (names and types, with the module's meanings:
 * totalEventsSent = acknowledged by Zerobus, queueSize = accepted and not yet acknowledged),
 * GET/POST {path}/config with and without an API key (never a secret), and the source_system
 * of rows from the event itself, the X-Source-System header, the ?sourceSystem= query
 * parameter and zerobus-out's default. Before any event, `lastEventTime` is null (the guide
 * shows no such answer); from the first event on it is ISO 8601 text.
 */
import assert from 'node:assert/strict';
import supertest from 'supertest';
import type { Emulator } from '../../lib/emulator';
import { PACKAGE_VERSION } from '../../lib/paths';
import configNode from '../../nodes/zerobus-config/zerobus-config';
import outNode from '../../nodes/zerobus-out/zerobus-out';
import batchNode from '../../nodes/zerobus-batch/zerobus-batch';
import { eventually } from '../support/dist';
import { CLIENT_ID, CLIENT_SECRET, OT_TABLE, startTestEmulator, tempDir } from '../lib/sink/helpers';
import { captured, ev, helper, ignitionInCapturing } from '../lib/ignition/node-harness';

const API_KEY = 'migration-test-key-5e1b9c';
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The guide's "Verify Module Loaded" answer, as printed there. */
const GUIDE_HEALTH = { status: 'ok', moduleLoaded: true, version: '1.0.0' };
/** The guide's "Check Module Status" answer, as printed there. */
const GUIDE_DIAGNOSTICS = {
  moduleVersion: '1.0.0',
  enabled: true,
  zerobusConnected: true,
  totalEventsReceived: 1250,
  totalEventsSent: 1250,
  totalEventsFailed: 0,
  queueSize: 0,
  lastEventTime: '2025-12-11T12:30:45.123Z',
};
/** The guide's configuration body (POST /system/zerobus/config), secret left out. */
const GUIDE_CONFIG = {
  enabled: true,
  workspaceUrl: 'https://your-workspace.cloud.databricks.com',
  zerobusEndpoint: 'WORKSPACE_ID.zerobus.REGION.cloud.databricks.com',
  oauthClientId: 'YOUR_CLIENT_ID',
  catalogName: 'your_catalog',
  schemaName: 'your_schema',
  tableName: 'your_table',
  targetTable: 'catalog.schema.table',
  sourceSystemId: 'ignition-gateway-001',
  batchSize: 50,
  batchFlushIntervalMs: 500,
  maxQueueSize: 10000,
};

function sameShape(actual: Record<string, unknown>, guide: Record<string, unknown>, what: string): void {
  for (const [k, v] of Object.entries(guide)) {
    assert.ok(k in actual, `${what}.${k} is missing`);
    assert.equal(typeof actual[k], typeof v, `${what}.${k} is ${typeof actual[k]}, the guide shows ${typeof v}`);
  }
}

describe('zerobus-ignition-in for users of the Ignition Zerobus module', function () {
  this.timeout(30_000);
  let emu: Emulator;
  let spool: { dir: string; remove: () => void };
  const agent = () => supertest(captured.RED!.httpNode as unknown as Parameters<typeof supertest>[0]);

  before(async () => {
    emu = await startTestEmulator();
    spool = tempDir('zb-migr');
    helper.settings({ zerobusOutCloseTimeout: 1000 });
    await helper.startServer();
    const flow = [
      { id: 'tab', type: 'tab', label: 'migration' },
      { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, authType: 'oauth' },
      { id: 'in', z: 'tab', type: 'zerobus-ignition-in', path: '/system/zerobus', ack: 'durable', durableTimeout: 8000, wires: [['batch']] },
      { id: 'keyed', z: 'tab', type: 'zerobus-ignition-in', path: '/keyed', ack: 'durable', durableTimeout: 8000, wires: [['batch']] },
      { id: 'batch', z: 'tab', type: 'zerobus-batch', size: 50, interval: 50, maxBuffered: 10000, wires: [['out'], []] },
      {
        id: 'out', z: 'tab', type: 'zerobus-out', connection: 'cfg', table: OT_TABLE, format: 'ot-event', recordType: 'proto', sourceSystem: 'gateway-1',
        spool: 'disk', spoolDir: spool.dir, statsInterval: 0, retryBackoffMax: 0.2, wires: [[]],
      },
    ];
    await helper.load([configNode, outNode, batchNode, ignitionInCapturing], flow, {
      cfg: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      keyed: { apiKey: API_KEY },
    });
    await eventually('the receiver to be ready', async () => (await agent().get('/system/zerobus/health')).status === 200, 10_000, 20);
  });

  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await emu.stop();
    spool.remove();
    helper.settings({});
  });

  it('/health carries the guide\'s fields with their types', async () => {
    const health = (await agent().get('/system/zerobus/health').expect(200)).body;
    sameShape(health, GUIDE_HEALTH, 'health');
    assert.equal(health.status, 'ok');
    assert.equal(health.moduleLoaded, true);
    assert.equal(health.version, PACKAGE_VERSION);
  });

  it('/diagnostics carries the guide\'s fields with their types and meanings', async () => {
    const before = (await agent().get('/system/zerobus/diagnostics').expect(200)).body;
    const events = Array.from({ length: 30 }, (_, i) => ev(5000 + i));
    await agent().post('/system/zerobus/ingest/batch').send(events).expect(200);
    // acknowledged by Zerobus, and nothing accepted still waiting for an acknowledgement
    const diag = await eventually('every event acknowledged', async () => {
      const d = (await agent().get('/system/zerobus/diagnostics')).body;
      return d.totalEventsSent - before.totalEventsSent === 30 && d.queueSize === 0 ? d : undefined;
    }, 15_000, 50);
    sameShape(diag, GUIDE_DIAGNOSTICS, 'diagnostics');
    assert.equal(diag.moduleVersion, PACKAGE_VERSION);
    assert.equal(diag.enabled, true);
    assert.equal(diag.zerobusConnected, true);
    assert.equal(diag.totalEventsReceived - before.totalEventsReceived, 30);
    assert.equal(diag.totalEventsFailed, 0);
    assert.match(diag.lastEventTime, ISO_MS);
    assert.equal(Date.parse(diag.lastEventTime), diag.lastEventTimeMs);
    // the package's own counters, under their own names
    assert.equal(diag.totalEventsSpooled - before.totalEventsSpooled, 30);
    assert.equal(diag.eventsAwaitingSpool, 0);
    assert.equal(diag.sinkBacklog, 0);
  });

  it('GET /config answers the effective configuration in the guide\'s field names, never the secret', async () => {
    const res = await agent().get('/system/zerobus/config').expect(200);
    const config = res.body;
    sameShape(config, GUIDE_CONFIG, 'config');
    assert.equal(config.workspaceUrl, emu.workspaceUrl);
    assert.equal(config.zerobusEndpoint, emu.endpoint);
    assert.equal(config.oauthClientId, CLIENT_ID);
    assert.equal(config.targetTable, OT_TABLE);
    assert.deepEqual([config.catalogName, config.schemaName, config.tableName], OT_TABLE.split('.'));
    assert.equal(config.sourceSystemId, 'gateway-1');
    assert.equal(config.batchSize, 50);
    assert.equal(config.batchFlushIntervalMs, 50);
    assert.equal(config.maxQueueSize, 10000);
    assert.equal(config.receiver.apiKeyRequired, false);
    assert.ok(!res.text.includes(CLIENT_SECRET), 'the client secret must never be answered');
    assert.ok(!('oauthClientSecret' in config));
  });

  it('POST /config answers 405 with where configuration lives and the migration guide', async () => {
    const res = await agent().post('/system/zerobus/config').send({ enabled: true, oauthClientSecret: 'x' }).expect(405);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.equal(res.headers.allow, 'GET, HEAD');
    assert.match(res.body.message, /flow/);
    assert.match(res.body.message, /docs\/MIGRATING\.md/);
    assert.equal(res.body.migrationGuide, 'docs/MIGRATING.md');
  });

  it('with an API key, /config needs it and never shows it', async () => {
    await agent().get('/keyed/config').expect(401);
    await agent().get('/keyed/config').set('Authorization', 'Bearer wrong').expect(401);
    const res = await agent().get('/keyed/config').set('Authorization', `Bearer ${API_KEY}`).expect(200);
    assert.equal(res.body.receiver.apiKeyRequired, true);
    assert.equal(res.body.targetTable, OT_TABLE);
    for (const secret of [API_KEY, CLIENT_SECRET]) assert.ok(!res.text.includes(secret));
  });

  it('source_system comes from the event, else X-Source-System, else ?sourceSystem=, else zerobus-out\'s default', async () => {
    const tag = (name: string, extra: Record<string, unknown> = {}) => ({ ...ev(1), tagPath: `[default]Source/${name}`, ...extra });
    const post = (url: string, body: unknown) => agent().post(url).send(body as object);
    await post('/system/zerobus/ingest/batch', [tag('Script', { sourceSystem: 'script-gw' })]).set('X-Source-System', 'header-gw').expect(200);
    await post('/system/zerobus/ingest/batch', [tag('Header')]).set('X-Source-System', 'header-gw').expect(200);
    await post('/system/zerobus/ingest/batch?sourceSystem=query-gw', [tag('Query')]).expect(200);
    await post('/system/zerobus/ingest?sourceSystem=query-gw', tag('Single')).expect(200);
    await post('/system/zerobus/ingest/batch', [tag('Default')]).expect(200);
    // the same event from two gateways is two rows, not a duplicate
    await post('/system/zerobus/ingest/batch?sourceSystem=plant-b', [tag('Default')]).expect(200);
    const rows = await eventually('six rows', () => {
      const r = emu.allRows(OT_TABLE).filter((row) => String(row.tag_path).startsWith('[default]Source/'));
      return r.length >= 6 ? r : undefined;
    }, 15_000, 20);
    const sources = rows.map((r) => `${String(r.tag_path).slice('[default]Source/'.length)}=${String(r.source_system)}`).sort();
    assert.deepEqual(sources, ['Default=gateway-1', 'Default=plant-b', 'Header=header-gw', 'Query=query-gw', 'Script=script-gw', 'Single=query-gw']);
  });

  it('refuses an empty or repeated per-request source with 400, before reading the events', async () => {
    const empty = await agent().post('/system/zerobus/ingest/batch').set('X-Source-System', '  ').send([ev(1)]).expect(400);
    assert.equal(empty.body.error, 'bad_source_system');
    const twice = await agent().post('/system/zerobus/ingest/batch?sourceSystem=a&sourceSystem=b').send([ev(1)]).expect(400);
    assert.match(twice.body.message, /once/);
  });
});
