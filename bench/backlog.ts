/**
 * Memory with a large backlog (docs/DESIGN.md §10: ≤ 250 MB RSS with 1,000,000 events spooled): the
 * emulator is down while a load generator pushes 1M events through zerobus-ignition-in (durable)
 * into a zerobus-out disk spool; then the emulator comes back and the spool drains.
 * Baseline in the same run: Node-RED's RSS with the same flow deployed and idle.
 *
 * Run twice: with Node's default heap sizing, and with `--max-old-space-size=128` (how Node-RED
 * is told to stay within a memory budget). The spool keeps nothing in memory but a 4-byte offset
 * per record; what RSS adds on top of the live heap (≈ 50 MB here) is garbage V8 lets pile up
 * before a full collection while request bodies stream through at high rate — the heap cap
 * bounds exactly that.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort, NodeRedProcess } from '../demo/node-red-process';
import { EmulatorProcess } from '../demo/emulator-process';
import { memoryMb, sampleRss } from './process-stats';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';
import { execFile } from 'child_process';

function push(url: string, events: number): Promise<{ okEvents: number; seconds: number }> {
  // closed loop until `events` were accepted (--events); seconds only bounds a stalled run
  const argv = [require.resolve('tsx/cli'), path.join(__dirname, 'load-generator.ts'), '--url', url, '--concurrency', '4', '--warmup', '0', '--events', String(events), '--seconds', String(Math.ceil(events / 10_000) + 10)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!))));
  });
}

/** Heap settings of the Node-RED process measured: label, node arguments. */
const CONFIGS: [string, string[]][] = [
  ['default heap', []],
  ['--max-old-space-size=128', ['--max-old-space-size=128']],
];

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // BENCH_BACKLOG_HEAP=default measures the default heap only; BENCH_NODE_RED_ARGS (e.g.
  // "--heap-prof" or "--require ./probe.js") is added to both for profiling
  const only = process.env.BENCH_BACKLOG_HEAP === 'default' ? CONFIGS.slice(0, 1) : CONFIGS;
  const extra = (process.env.BENCH_NODE_RED_ARGS ?? '').split(' ').filter(Boolean);
  for (const [label, nodeArgs] of only) results.push(...(await runOnce(opts, label, [...nodeArgs, ...extra])));
  return results;
}

async function runOnce(opts: BenchOptions, label: string, nodeArgs: string[]): Promise<BenchResult[]> {
  const target = opts.quick ? 100_000 : 1_000_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-bench-backlog-'));
  const ports = { grpc: await freePort(), http: await freePort() };
  const emulator = new EmulatorProcess({ grpcPort: ports.grpc, httpPort: ports.http, dataDir: path.join(dir, 'emulator'), extraArgs: ['--no-quota'] });
  const flows = [
    { id: 'bl-tab', type: 'tab', label: 'backlog' },
    { id: 'bl-cfg', type: 'zerobus-config', name: 'emulator', endpoint: `http://127.0.0.1:${ports.grpc}`, workspaceUrl: `http://127.0.0.1:${ports.http}`, authType: 'oauth' },
    { id: 'bl-in', type: 'zerobus-ignition-in', z: 'bl-tab', path: '/bench/backlog', ack: 'durable', maxBodyBytes: 10485760, maxEvents: 10000, wires: [['bl-out']] },
    { id: 'bl-out', type: 'zerobus-out', z: 'bl-tab', connection: 'bl-cfg', table: 'main.ot.tag_events', format: 'ot-event', recordType: 'proto', sourceSystem: 'bench', spool: 'disk', spoolDir: path.join(dir, 'spool'), spoolMaxMB: 2048, statsInterval: 0, wires: [[]] },
  ];
  // the split of the peak: JavaScript heap vs Buffers outside it (bench/memory-probe.js)
  const probeFile = path.join(dir, 'memory-at-peak.json');
  const probeArgs = ['--require', path.join(__dirname, 'memory-probe.js')];
  const nodeRed = new NodeRedProcess({ userDir: path.join(dir, 'node-red'), flows, nodeArgs: [...nodeArgs, ...probeArgs], env: { MEMORY_PROBE_FILE: probeFile }, settings: { apiMaxLength: '11mb', logging: { console: { level: 'info' } } } });
  const results: BenchResult[] = [];
  try {
    nodeRed.prepare();
    await nodeRed.start();
    const pid = nodeRed.pid!;
    await new Promise((r) => setTimeout(r, 2000));
    const idle = memoryMb(pid).rss;
    const fill = sampleRss(pid);
    // push in rounds until the target is spooled (the generator runs by time)
    let spooled = 0;
    const t0 = Date.now();
    while (spooled < target) spooled += (await push(`${nodeRed.url}/bench/backlog/ingest/batch`, target - spooled)).okEvents;
    const fillSeconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const peakFill = fill.stop();
    const spooledRss = memoryMb(pid).rss;
    const split = heapSplit(probeFile);
    saveLog(nodeRed, 'fill');
    results.push(withRatio({ scenario: `backlog ${target.toLocaleString('en-US')} events, emulator down (${label})`, metric: 'peak RSS while filling', value: peakFill, unit: 'MB', baseline: { name: 'idle Node-RED', value: idle }, notes: `spooled ${spooled} events in ${fillSeconds.toFixed(1)} s (${Math.round(spooled / fillSeconds)} events/s); RSS at rest ${Math.round(spooledRss)} MB${split}` }));

    const drain = sampleRss(pid);
    const d0 = Date.now();
    await emulator.start();
    let rows = 0;
    // the rate counts from the last poll that saw no rows: before that the sink waits out its
    // reconnect backoff (a small backlog may land between two polls)
    let emptyAt = d0;
    const deadline = Date.now() + (opts.quick ? 120_000 : 600_000);
    while (rows < spooled && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      rows = await emulator.rowCount();
      if (rows === 0) emptyAt = Date.now();
    }
    const totalSeconds = (Date.now() - d0) / 1000;
    const drainSeconds = Math.max(0.2, (Date.now() - emptyAt) / 1000);
    const peakDrain = drain.stop();
    results.push(withRatio({ scenario: `backlog drain after the emulator returns (${label})`, metric: 'drain rate', value: rows / drainSeconds, unit: 'events/s', notes: `${rows} of ${spooled} rows ${totalSeconds.toFixed(1)} s after the emulator started (first rows after ${(totalSeconds - drainSeconds).toFixed(1)} s: reconnect backoff); peak RSS while draining ${Math.round(peakDrain)} MB` }));
    // the probe keeps the highest RSS of the whole run: the drain's when it rose above the fill's
    const drainSplit = peakDrain > peakFill ? heapSplit(probeFile) : '';
    results.push(withRatio({ scenario: `backlog drain after the emulator returns (${label})`, metric: 'peak RSS while draining', value: peakDrain, unit: 'MB', baseline: { name: 'idle Node-RED', value: idle }, notes: drainSplit.replace(/^; /, '') }));
  } finally {
    saveLog(nodeRed, 'run');
    await nodeRed.stop();
    await emulator.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/**
 * BENCH_NODE_RED_LOG=FILE writes Node-RED's output (with BENCH_NODE_RED_ARGS=--trace-gc-nvp:
 * what each collection promoted) to FILE.fill after the fill and FILE.run at the end.
 */
function saveLog(nodeRed: NodeRedProcess, phase: 'fill' | 'run'): void {
  const file = process.env.BENCH_NODE_RED_LOG;
  if (file) fs.writeFileSync(`${file}.${phase}`, nodeRed.log.join('\n'));
}

/** process.memoryUsage() at the peak RSS the probe saw, as a note ('' when it wrote none). */
function heapSplit(file: string): string {
  if (!fs.existsSync(file)) return '';
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
  const mb = (n: number) => Math.round(n / (1024 * 1024));
  return `; at peak: heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB (array buffers ${mb(m.arrayBuffers)} MB)`;
}

if (require.main === module) runDirectly('spool backlog memory', run);
