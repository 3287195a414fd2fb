/**
 * End-to-end benchmark (docs/DESIGN.md §10): a load generator in its own process POSTs batches of 500
 * tag events over keep-alive HTTP to zerobus-ignition-in → zerobus-batch → zerobus-out in one
 * Node-RED process; the emulator runs in a third process and validates every record.
 * Baseline measured in the same run: the same load against a bare `http in → http response`
 * flow in the same Node-RED — the ceiling of Node-RED's HTTP path on this machine.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, NodeRedProcess } from '../demo/node-red-process';
import { EmulatorProcess } from '../demo/emulator-process';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';
import { cpuSeconds, memoryMb, sampleRss } from './process-stats';

interface LoadResult {
  eventsPerSec: number;
  okEvents: number;
  /** warm-up included */
  allOkEvents: number;
  /** CPU of the generator itself after its warm-up */
  cpuSeconds: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

const CONFIG_ID = 'bench0000000cfg1';

function pipeline(name: string, y: number, opts: { ack: string; recordType: string; spool: string; spoolDir: string }): object[] {
  const id = (suffix: string) => `bench-${name}-${suffix}`;
  return [
    { id: id('in'), type: 'zerobus-ignition-in', z: 'benchtab', name, path: `/bench/${name}`, ack: opts.ack, maxBodyBytes: 10485760, maxEvents: 10000, x: 150, y, wires: [[id('batch')]] },
    { id: id('batch'), type: 'zerobus-batch', z: 'benchtab', name: '', size: 500, interval: 100, maxBytes: 4194304, debounce: 0, deadband: 0, deadbandPercent: 0, dropRepeats: false, swingingDoor: false, x: 350, y, wires: [[id('out')], []] },
    { id: id('out'), type: 'zerobus-out', z: 'benchtab', name, connection: CONFIG_ID, table: 'main.ot.tag_events', format: 'ot-event', recordType: opts.recordType, sourceSystem: 'bench', spool: opts.spool, spoolDir: opts.spoolDir, statsInterval: 0, x: 550, y, wires: [[]] },
  ];
}

function benchFlows(ports: { grpc: number; http: number }, spoolRoot: string): object[] {
  return [
    { id: 'benchtab', type: 'tab', label: 'bench' },
    { id: CONFIG_ID, type: 'zerobus-config', name: 'emulator', endpoint: `http://127.0.0.1:${ports.grpc}`, workspaceUrl: `http://127.0.0.1:${ports.http}`, authType: 'oauth' },
    { id: 'bench-base-in', type: 'http in', z: 'benchtab', name: '', url: '/bench/baseline', method: 'post', upload: false, swaggerDoc: '', x: 150, y: 40, wires: [['bench-base-out']] },
    { id: 'bench-base-out', type: 'http response', z: 'benchtab', name: '', statusCode: '200', headers: {}, x: 350, y: 40, wires: [] },
    ...pipeline('durable', 100, { ack: 'durable', recordType: 'proto', spool: 'disk', spoolDir: path.join(spoolRoot, 'durable') }),
    ...pipeline('received', 160, { ack: 'received', recordType: 'proto', spool: 'disk', spoolDir: path.join(spoolRoot, 'received') }),
    ...pipeline('json', 220, { ack: 'durable', recordType: 'json', spool: 'disk', spoolDir: path.join(spoolRoot, 'json') }),
    ...pipeline('memory', 280, { ack: 'durable', recordType: 'proto', spool: 'memory', spoolDir: '' }),
  ];
}

function load(url: string, args: Record<string, number>): Promise<LoadResult> {
  const argv = [require.resolve('tsx/cli'), path.join(__dirname, 'load-generator.ts'), '--url', url];
  for (const [k, v] of Object.entries(args)) argv.push(`--${k}`, String(v));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load generator failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-bench-e2e-'));
  const ports = { grpc: await freePort(), http: await freePort() };
  const emulator = new EmulatorProcess({ grpcPort: ports.grpc, httpPort: ports.http, dataDir: path.join(dir, 'emulator'), extraArgs: ['--no-quota'] });
  await emulator.start();
  const nodeRed = new NodeRedProcess({
    userDir: path.join(dir, 'node-red'),
    flows: benchFlows(ports, path.join(dir, 'spool')),
    settings: { apiMaxLength: '11mb', logging: { console: { level: 'info' } } },
    // BENCH_NODE_RED_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the Node-RED process
    nodeArgs: (process.env.BENCH_NODE_RED_ARGS ?? '').split(' ').filter(Boolean),
  });
  const results: BenchResult[] = [];
  const seconds = opts.quick ? 4 : 12;
  const warmup = opts.quick ? 1 : 3;
  try {
    nodeRed.prepare();
    await nodeRed.start();
    const pid = nodeRed.pid!;
    const url = (p: string) => `${nodeRed.url}/bench/${p}${p === 'baseline' ? '' : '/ingest/batch'}`;

    const measure = async (target: string, args: Record<string, number>) => {
      const cpu0 = cpuSeconds(pid);
      const main0 = cpuSeconds(pid, pid);
      const rss = sampleRss(pid);
      const r = await load(url(target), { seconds, warmup, ...args });
      const peak = rss.stop();
      const cpuS = cpuSeconds(pid) - cpu0;
      const mainS = cpuSeconds(pid, pid) - main0;
      const cpu = (cpuS / (seconds + warmup)) * 100;
      // CPU per event over the generator's whole run (warm-up included on both sides): the
      // figure least disturbed by other load on the machine
      const perEvent = (s: number) => (r.allOkEvents > 0 ? (s * 1e6) / r.allOkEvents : NaN);
      return { ...r, peakRssMb: peak, cpuPercent: cpu, usPerEvent: perEvent(cpuS), mainUsPerEvent: perEvent(mainS) };
    };

    const baseline = await measure('baseline', { concurrency: 8 });
    const scenarios: [string, string][] = [
      ['durable', 'e2e ack=durable proto disk'],
      ['received', 'e2e ack=received proto disk'],
      ['json', 'e2e ack=durable json disk'],
      ['memory', 'e2e ack=durable proto memory'],
    ];
    for (const [target, label] of scenarios) {
      if (opts.quick && target !== 'durable') continue;
      const r = await measure(target, { concurrency: 8 });
      const notes = `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, peak RSS ${Math.round(r.peakRssMb)} MB, CPU ${Math.round(r.cpuPercent)}%, Node-RED ${r.usPerEvent.toFixed(1)} µs/event (main thread ${r.mainUsPerEvent.toFixed(1)}), load generator ${((r.cpuSeconds * 1e6) / r.okEvents).toFixed(1)} µs/event, statuses ${JSON.stringify(r.statuses)}`;
      results.push(withRatio({ scenario: label, metric: 'throughput', value: r.eventsPerSec, unit: 'events/s', baseline: { name: 'http in→response', value: baseline.eventsPerSec }, notes }));
      // the figure least moved by other load on the machine: what one event costs the flow's thread
      results.push({ scenario: label, metric: 'main thread CPU', value: r.mainUsPerEvent, unit: 'µs/event', notes: `Node-RED process ${r.usPerEvent.toFixed(1)} µs/event` });
    }
    // latency at the original module's claimed rate
    const fixed = await measure('durable', { rate: 30_000 });
    results.push({ scenario: 'e2e durable @30k events/s', metric: 'p99 receive→durable ack', value: fixed.p99, unit: 'ms', notes: `p50 ${fixed.p50.toFixed(1)} ms, max ${fixed.max.toFixed(1)} ms, achieved ${Math.round(fixed.eventsPerSec)} events/s, peak RSS ${Math.round(fixed.peakRssMb)} MB, CPU ${Math.round(fixed.cpuPercent)}%, Node-RED ${fixed.usPerEvent.toFixed(1)} µs/event (main thread ${fixed.mainUsPerEvent.toFixed(1)})` });

    // wait until the emulator has every row the pipelines acknowledged, then report rows landed
    const rows = await emulator.rowCount();
    results.push({ scenario: 'emulator', metric: 'rows stored', value: rows, unit: 'rows' });
    results.push({ scenario: 'node-red', metric: 'peak RSS', value: memoryMb(pid).peak, unit: 'MB' });
  } finally {
    await nodeRed.stop();
    await emulator.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (require.main === module) runDirectly('end to end', run);
