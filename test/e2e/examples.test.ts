/**
 * Every bundled example flow, loaded by a real Node-RED process (the package installed into its
 * user dir), pointed at the emulator, with the demo's simulated sources: each delivers rows. The
 * flows of examples/ignition/ and examples/tables/ are loaded too, and their inject nodes pressed.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import Aedes from 'aedes';
import { startEmulator, Emulator } from '../../lib/emulator';
import { PACKAGE_ROOT } from '../../lib/paths';
import { allExampleFlows, exampleFiles } from '../../demo/example-flows';
import { IgnitionGatewaySimulator } from '../../demo/ignition-simulator';
import { EnergyMeterSimulator } from '../../demo/mqtt-json-simulator';
import { freePort, NodeRedProcess } from '../../demo/node-red-process';
import { SparkplugEdgeSimulator } from '../../demo/sparkplug-simulator';
import { eventually, requireBuiltPackage } from '../support/dist';

describe('example flows in a real Node-RED', function () {
  this.timeout(120_000);
  let dir: string;
  let emulator: Emulator;
  let aedes: Aedes;
  let broker: net.Server;
  let nodeRed: NodeRedProcess;
  const stops: (() => void)[] = [];

  before(async () => {
    requireBuiltPackage();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-examples-'));
    emulator = await startEmulator({
      grpcPort: 0,
      httpPort: 0,
      schemaFiles: [path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'), path.join(PACKAGE_ROOT, 'examples/tables/energy_readings.sql')],
    });
    aedes = new Aedes();
    broker = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    const mqttPort = (broker.address() as net.AddressInfo).port;
    const port = await freePort();
    // the simulated gateway of examples/ignition/ posts to Node-RED's default port: this one's instead
    const flows = allExampleFlows({ grpcPort: emulator.grpcPort, httpPort: emulator.httpPort, mqttPort }, exampleFiles(true))
      .map((n) => (typeof n.url === 'string' ? { ...n, url: n.url.replace('127.0.0.1:1880/', `127.0.0.1:${port}/`) } : n));
    nodeRed = new NodeRedProcess({ userDir: path.join(dir, 'node-red'), port, flows, settings: { apiMaxLength: '11mb' } });
    nodeRed.prepare();
    await nodeRed.start();
    const gateway = new IgnitionGatewaySimulator({ url: `${nodeRed.url}/system/zerobus/ingest/batch`, eventsPerSecond: 400, intervalMs: 250 });
    const edge = new SparkplugEdgeSimulator({ brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, intervalMs: 250 });
    const meters = new EnergyMeterSimulator({ brokerUrl: `mqtt://127.0.0.1:${mqttPort}`, intervalMs: 250 });
    for (const s of [gateway, edge, meters]) {
      s.start();
      stops.push(() => s.stop());
    }
  });

  after(async () => {
    stops.forEach((stop) => stop());
    await nodeRed?.stop();
    await new Promise<void>((resolve) => (aedes ? aedes.close(() => broker.close(() => resolve())) : resolve()));
    await emulator?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ships the four examples of docs/DESIGN.md §8, each a JSON array starting with a comment', () => {
    const files = exampleFiles();
    assert.equal(files.length >= 4, true);
    for (const file of files) {
      const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as { type: string }[];
      assert.ok(Array.isArray(flow), file);
      assert.ok(flow.some((n) => n.type === 'comment'), `${file} explains itself in a comment node`);
    }
  });

  it('loads every example without errors or missing types', () => {
    const problems = nodeRed.log.filter((l) => /\[error\]|Waiting for missing types|missing node type|Unknown type/.test(l));
    assert.deepEqual(problems, []);
  });

  it('lands Ignition rows (example 01)', async () => {
    await eventually('Ignition rows', () => emulator.allRows('main.ot.tag_events').some((r) => String(r.tag_path).startsWith('[Sample_Tags]')));
  });

  it('lands Sparkplug rows with MQTT Engine tag paths (example 02)', async () => {
    const row = await eventually('Sparkplug rows', () =>
      emulator.allRows('main.ot.tag_events').find((r) => String(r.tag_path).startsWith('[MQTT Engine]Edge Nodes/Plant 1/Line 1/')),
    );
    assert.equal(row.tag_provider, 'MQTT Engine');
  });

  it('lands reshaped MQTT JSON in the custom table (example 03)', async () => {
    const row = await eventually('energy rows', () => emulator.allRows('main.ot.energy_readings')[0]);
    assert.match(String(row.meter_id), /^EM-\d\d$/);
    assert.equal(typeof row.reading_time, 'number');
  });

  it('lands the tags thinned by per-tag compression rules (example 05)', async () => {
    const paths = ['[default]Compression/Boiler/Temperature', '[default]Compression/Boiler/Pressure', '[default]Compression/Line1/State'];
    await eventually('compressed rows', () => paths.every((p) => emulator.allRows('main.ot.tag_events').some((r) => r.tag_path === p)), 20_000);
  });

  /** Presses an inject node's button, as the editor does. */
  async function inject(id: string): Promise<void> {
    const res = await fetch(`${nodeRed.url}/inject/${id}`, { method: 'POST' });
    assert.equal(res.status, 200, `inject ${id}`);
  }

  it('posts what the gateway scripts send and lands it (examples/ignition/)', async () => {
    await inject('f6f0c0de00000003');
    const row = await eventually('the simulated gateway\'s rows', () => emulator.allRows('main.ot.tag_events').find((r) => r.tag_path === '[default]Line1/Batch'));
    assert.equal(row.tag_provider, 'default');
    assert.match(String(row.string_value), /^B-\d+$/);
  });

  it('writes a test reading into energy_readings (examples/tables/)', async () => {
    await inject('f7f0c0de00000008');
    await eventually('the test reading', () => emulator.allRows('main.ot.energy_readings').find((r) => r.meter_id === 'EM-TEST'));
  });

  it('lands the monitoring heartbeat (example 04)', async () => {
    await eventually('heartbeat rows', () => emulator.allRows('main.ot.tag_events').some((r) => r.tag_path === '[default]Monitoring/Heartbeat'), 20_000);
  });
});
