/**
 * zerobus-out throughput: tag events/s from accept() to Zerobus acknowledgement, through
 * - the ZerobusSink alone (disk spool with fsync, PROTO; and JSON; and the memory spool),
 * - a zerobus-out node in a Node-RED runtime (node-red-node-test-helper), messages of 500 events.
 * The emulator runs in its own process (as Zerobus is remote). Baseline measured in the same
 * run: the lib client alone (same events mapped and encoded, stream.ingest without any spool),
 * so the ratio is what store-and-forward costs.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '../demo/node-red-process';
import { PACKAGE_ROOT } from '../lib/paths';
import { ZerobusSink, type SinkRecordType } from '../lib/sink';
import { encodeOtEventProto, toOtEventRow } from '../lib/tags';
import { OT_EVENT_DESCRIPTOR } from '../lib/tags';
import { ZerobusClient } from '../lib/zerobus';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';

const TABLE = 'main.ot.tag_events';
const BATCH = 500;
/** accept() calls (or node messages) outstanding at once, as several upstream requests would be */
const CONCURRENCY = 8;

interface EmulatorChild {
  endpoint: string;
  workspaceUrl: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`emulator did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The emulator CLI from the TypeScript sources, in its own process (no build needed). */
async function startEmulatorProcess(dataDir: string): Promise<EmulatorChild> {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(PACKAGE_ROOT, 'lib', 'emulator', 'cli.ts'), '--grpc-port', String(grpcPort), '--http-port', String(httpPort),
      '--data-dir', dataDir, '--schema', path.join(PACKAGE_ROOT, 'examples', 'tables', 'ot_events.sql'), '--no-quota'],
    { stdio: ['ignore', 'ignore', 'inherit'], cwd: PACKAGE_ROOT },
  );
  await Promise.all([waitForPort(grpcPort, 20_000), waitForPort(httpPort, 20_000)]);
  return {
    endpoint: `http://127.0.0.1:${grpcPort}`,
    workspaceUrl: `http://127.0.0.1:${httpPort}`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

function events(n: number, from: number): Record<string, unknown>[] {
  const base = 1765456245000;
  return Array.from({ length: n }, (_, i) => ({
    tagPath: `[default]Line${(from + i) % 20}/Sensor${(from + i) % 500}`,
    tagProvider: 'default',
    value: Math.sin(from + i),
    quality: 'Good',
    qualityCode: 192,
    timestamp: base + from + i,
    dataType: 'Float8',
  }));
}

/** Runs `send(batchIndex)` for every batch with CONCURRENCY outstanding, then waits for `done()`. */
async function drive(total: number, send: (i: number) => Promise<unknown>, done: () => boolean): Promise<number> {
  const batches = Math.ceil(total / BATCH);
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches) await send(next++);
    }),
  );
  while (!done()) await new Promise((r) => setTimeout(r, 2));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const clientOf = (emu: EmulatorChild) => new ZerobusClient({ endpoint: emu.endpoint, auth: { type: 'token', token: 'bench' } });

async function clientOnly(emu: EmulatorChild, total: number): Promise<number> {
  const client = clientOf(emu);
  const stream = client.createStream({ table: TABLE, recordType: 'proto', descriptorProto: OT_EVENT_DESCRIPTOR });
  let acked = 0;
  const seconds = await drive(
    total,
    async (i) => {
      const micros = Date.now() * 1000;
      const records = events(BATCH, i * BATCH).map((e) => encodeOtEventProto(toOtEventRow(e, { sourceSystem: 'bench', ingestionMicros: micros })));
      await stream.ingest(records);
      acked += records.length;
    },
    () => acked >= total,
  );
  await stream.close(5000);
  await client.close();
  return total / seconds;
}

async function sinkRun(emu: EmulatorChild, total: number, recordType: SinkRecordType, disk: boolean): Promise<{ rate: number; p50: number; p99: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-out-'));
  const client = clientOf(emu);
  const sink = new ZerobusSink({ client, table: TABLE, recordType, sourceSystem: 'bench', spool: disk ? { dir } : {} });
  try {
    await sink.start();
    let acked = 0;
    sink.on('receipt', (r) => (acked += r.acknowledged));
    const seconds = await drive(total, (i) => sink.accept(events(BATCH, i * BATCH)), () => acked >= total);
    const { latencyMs } = sink.stats();
    return { rate: total / seconds, p50: latencyMs.p50, p99: latencyMs.p99 };
  } finally {
    await sink.close(5000);
    await client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A zerobus-out node in a Node-RED runtime: messages of 500 events, measured until acknowledged. */
async function nodeRun(emu: EmulatorChild, total: number): Promise<number> {

  const helper = require('node-red-node-test-helper');
  helper.init(require.resolve('node-red'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-out-nr-'));

  const configNode = require('../nodes/zerobus-config/zerobus-config').default;

  const outNode = require('../nodes/zerobus-out/zerobus-out').default;
  helper.settings({ zerobusOutSpoolDir: dir });
  await helper.startServer();
  try {
    await helper.load(
      [configNode, outNode],
      [
        { id: 'tab', type: 'tab' },
        { id: 'cfg', type: 'zerobus-config', endpoint: emu.endpoint, authType: 'token' },
        { id: 'out', type: 'zerobus-out', z: 'tab', x: 10, y: 10, connection: 'cfg', table: TABLE, recordType: 'proto', spool: 'disk', statsInterval: 0, wires: [[]] },
        { id: 'complete', type: 'complete', z: 'tab', x: 10, y: 60, scope: ['out'], uncaught: false, wires: [['completed']] },
        { id: 'completed', type: 'helper', z: 'tab', x: 10, y: 110 },
      ],
      { cfg: { token: 'bench' } },
    );
    const node = helper.getNode('out');
    let acked = 0;
    node.sink.on('receipt', (r: { acknowledged: number }) => (acked += r.acknowledged));
    const completed = helper.getNode('completed');
    const waiting = new Map<string, () => void>();
    completed.on('input', (msg: { _msgid: string }) => waiting.get(msg._msgid)?.());
    const seconds = await drive(
      total,
      (i) =>
        new Promise<void>((resolve) => {
          const id = `bench-${i}`;
          waiting.set(id, () => {
            waiting.delete(id);
            resolve();
          });
          node.receive({ _msgid: id, payload: events(BATCH, i * BATCH) });
        }),
      () => acked >= total,
    );
    return total / seconds;
  } finally {
    await helper.unload();
    await helper.stopServer();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const total = opts.quick ? 20_000 : 300_000;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-out-emu-'));
  const emu = await startEmulatorProcess(dataDir);
  try {
    await clientOnly(emu, 2_000); // warm-up: token, channel, JIT
    const baseline = { name: 'lib client alone, no spool', value: await clientOnly(emu, total) };
    const results: BenchResult[] = [];
    const diskProto = await sinkRun(emu, total, 'proto', true);
    results.push(withRatio({ scenario: 'ZerobusSink disk spool PROTO', metric: 'throughput', value: diskProto.rate, unit: 'events/s', baseline, notes: `${total} events, batches of ${BATCH}, ${CONCURRENCY} accepts outstanding, fsync on` }));
    results.push({ scenario: 'ZerobusSink disk spool PROTO', metric: 'send→ack latency p50', value: diskProto.p50, unit: 'ms' });
    results.push({ scenario: 'ZerobusSink disk spool PROTO', metric: 'send→ack latency p99', value: diskProto.p99, unit: 'ms' });
    const diskJson = await sinkRun(emu, total, 'json', true);
    results.push(withRatio({ scenario: 'ZerobusSink disk spool JSON', metric: 'throughput', value: diskJson.rate, unit: 'events/s', baseline }));
    const memory = await sinkRun(emu, total, 'proto', false);
    results.push(withRatio({ scenario: 'ZerobusSink memory spool PROTO', metric: 'throughput', value: memory.rate, unit: 'events/s', baseline, notes: 'accept() resolves on ack' }));
    const node = await nodeRun(emu, total);
    results.push(withRatio({ scenario: 'zerobus-out node (Node-RED runtime), disk PROTO', metric: 'throughput', value: node, unit: 'events/s', baseline, notes: `messages of ${BATCH} events, Complete node per message` }));
    return results;
  } finally {
    await emu.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) runDirectly('zerobus-out sink', run);
