/**
 * `npm start`: the whole product on one machine, without a Databricks workspace.
 * Starts the Zerobus emulator, an MQTT broker, a Node-RED with this package and the example
 * flows, a simulated Ignition gateway, a Sparkplug edge node and MQTT energy meters.
 * One Ctrl-C stops everything cleanly.
 *
 *   npm start -- --rate 2000        events/s from the Ignition simulator (default 300)
 *   npm start -- --port 1881        Node-RED port (default 1880, or a free one when taken)
 *   npm start -- --duration 60      stop by itself after 60 s (used by tests)
 *   npm start -- --stream-life 600  recycle Zerobus streams every 600 s (default 180; 0 = never)
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import Aedes from 'aedes';
import { PACKAGE_ROOT } from '../lib/paths';
import { EmulatorProcess, httpJson } from './emulator-process';
import { allExampleFlows } from './example-flows';
import { IgnitionGatewaySimulator } from './ignition-simulator';
import { EnergyMeterSimulator } from './mqtt-json-simulator';
import { freePort, NodeRedProcess } from './node-red-process';
import { SparkplugEdgeSimulator } from './sparkplug-simulator';

interface DemoArgs {
  port: number;
  rate: number;
  duration: number;
  dir: string;
  /** Seconds a Zerobus stream lives in the emulator before its close signal. */
  streamLife: number;
}

/**
 * The service recycles each stream about every 15 minutes; the demo does it every 3, so that a
 * visitor sees the close signal and the client's rollover (emulator log, page) within minutes.
 */
const DEMO_STREAM_LIFE_S = 180;

function parseArgs(argv: string[]): DemoArgs {
  const args: DemoArgs = { port: 1880, rate: 300, duration: 0, dir: path.join(PACKAGE_ROOT, '.demo'), streamLife: DEMO_STREAM_LIFE_S };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i];
    switch (argv[i]) {
      case '--port': args.port = Number(next()); break;
      case '--rate': args.rate = Number(next()); break;
      case '--duration': args.duration = Number(next()); break;
      case '--dir': args.dir = path.resolve(next()); break;
      case '--stream-life': args.streamLife = Number(next()); break;
      case '--help':
        console.log('usage: npm start -- [--port 1880] [--rate 300] [--duration seconds] [--dir .demo] [--stream-life seconds]');
        process.exit(0);
    }
  }
  if (!Number.isInteger(args.streamLife) || args.streamLife < 0) {
    console.error(`--stream-life needs a whole number of seconds >= 0, got ${String(args.streamLife)}`);
    process.exit(2);
  }
  return args;
}

async function portOrFree(preferred: number): Promise<number> {
  if (!preferred) return freePort();
  const free = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

const say = (who: string, line: string) => console.log(`[${who}] ${line}`);

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  fs.mkdirSync(args.dir, { recursive: true });
  const ports = {
    grpcPort: await portOrFree(50051),
    httpPort: await portOrFree(50052),
    mqttPort: await portOrFree(1883),
    nodeRed: await portOrFree(args.port),
  };
  const stops: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const stopAll = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    say('demo', 'stopping…');
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        say('demo', `while stopping: ${(err as Error).message}`);
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());

  try {
    // 1. The Zerobus emulator, in its own process like the real service
    const emulator = new EmulatorProcess({
      grpcPort: ports.grpcPort,
      httpPort: ports.httpPort,
      dataDir: path.join(args.dir, 'emulator'),
      schemaFiles: [path.join(PACKAGE_ROOT, 'examples', 'tables', 'ot_events.sql'), path.join(PACKAGE_ROOT, 'examples', 'tables', 'energy_readings.sql')],
      extraArgs: ['--stream-max-age-ms', String(args.streamLife * 1000)],
      onLine: (line) => say('emulator', line),
    });
    stops.push(() => emulator.stop());
    await emulator.start();
    const emulatorUrl = emulator.url;

    // 2. An MQTT broker for the Sparkplug edge node and the energy meters
    const aedes = new Aedes();
    const broker = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => broker.listen(ports.mqttPort, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => {
      aedes.close(() => broker.close(() => resolve()));
    }));
    say('broker', `MQTT broker on mqtt://127.0.0.1:${ports.mqttPort}`);

    // 3. Node-RED with this package and the example flows
    const nodeRed = new NodeRedProcess({
      userDir: path.join(args.dir, 'node-red'),
      port: ports.nodeRed,
      flows: allExampleFlows(ports),
      // the editor under /admin and node routes alone at /: the Ignition receiver, not the
      // editor's JSON body parser, reads and judges every ingest body (see README)
      settings: { httpAdminRoot: '/admin', apiMaxLength: '11mb' },
      onLine: (line) => {
        if (/\[(warn|error)\]|Server now running|Started flows/.test(line)) say('node-red', line.replace(/^\d+ \w+ \d+:\d+:\d+ - /, ''));
      },
    });
    nodeRed.prepare();
    await nodeRed.start();
    stops.push(async () => {
      await nodeRed.stop();
    });

    // 4. The sources
    const gateway = new IgnitionGatewaySimulator({
      url: `${nodeRed.url}/system/zerobus/ingest/batch`,
      eventsPerSecond: args.rate,
      log: (l) => say('ignition', l),
    });
    gateway.start();
    stops.push(() => gateway.stop());
    const edge = new SparkplugEdgeSimulator({ brokerUrl: `mqtt://127.0.0.1:${ports.mqttPort}`, deviceCycleMs: 60_000, log: (l) => say('sparkplug', l) });
    edge.start();
    stops.push(() => edge.stop());
    const meters = new EnergyMeterSimulator({ brokerUrl: `mqtt://127.0.0.1:${ports.mqttPort}` });
    meters.start();
    stops.push(() => meters.stop());

    console.log('');
    console.log('  The demo is running.');
    console.log(`  Node-RED editor:       ${nodeRed.url}/admin/`);
    console.log(`  Zerobus emulator page: ${emulatorUrl}/`);
    console.log(`  Ignition receiver:     ${nodeRed.url}/system/zerobus/ingest/batch  (health: /system/zerobus/health)`);
    console.log(`  MQTT broker:           mqtt://127.0.0.1:${ports.mqttPort}`);
    console.log(
      args.streamLife > 0
        ? `  Zerobus streams are recycled every ${args.streamLife} s (the service: about 15 min); --stream-life changes it.`
        : '  Zerobus streams are never recycled (--stream-life 0).',
    );
    console.log('  The flows are the bundled examples, written afresh at every start: edits made in this');
    console.log('  editor are lost at the next start (Menu → Export keeps them). The demo already runs');
    console.log('  every example: importing one again makes a second receiver for the same path.');
    console.log('  Press Ctrl-C to stop everything.');
    console.log('');

    const report = setInterval(() => {
      httpJson(`${emulatorUrl}/api/tables`)
        .then(({ json: tables }) => {
          const counts = (tables as { name: string; rowCount: number }[]).map((t) => `${t.name}=${t.rowCount}`).join(' ');
          say('demo', `rows: ${counts} · gateway posted ${gateway.stats.eventsDelivered} events · sparkplug ${edge.stats.metrics} metrics`);
        })
        .catch(() => undefined);
    }, 10_000);
    stops.push(() => clearInterval(report));
    if (args.duration > 0) setTimeout(() => void stopAll(), args.duration * 1000);
  } catch (err) {
    say('demo', `failed to start: ${(err as Error).message}`);
    await stopAll(1);
  }
}

if (require.main === module) void main();
