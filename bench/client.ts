/**
 * Our pure-JS Zerobus client vs the official Databricks Node SDK (native, Rust core), same run,
 * same emulator (in a child process so the server never shares our event loop), same OT event
 * rows, batches of 500, JSON and PROTO, the same in-flight allowance (100 requests), throughput
 * from the first row handed over to the last acknowledgement.
 *
 * Two measurements per record type:
 * - "throughput": each client takes the row objects and does its own encoding, the way its API
 *   is meant to be used. The official SDK takes encoded payloads (or objects, which it turns
 *   into the same: JSON.stringify / the protobufjs type's encode) — so it gets JSON.stringify
 *   strings and protobufjs Buffers, encoded in the timed loop. Ours gets the objects through
 *   `ingestRows`, which encodes them itself (PROTO: compiled from the descriptor).
 * - "transport only": both get the same payloads encoded before the clock starts (what the
 *   clients and the emulator do with bytes, no row encoding at all).
 *
 *   npx tsx bench/client.ts [--quick] [--rows N] [--only ours|official] [--kind json|proto]
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as protobuf from 'protobufjs';
import { PACKAGE_ROOT, PROTO_DIR } from '../lib/paths';
import { cpuSeconds } from './process-stats';
import { descriptorProtoFromType, ZerobusClient } from '../lib/zerobus';

import type { BenchResult } from './result';

const TABLE = 'main.ot.tag_events';
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';
const BATCH = 500;
/** Same in-flight allowance for both: 100 requests of 500 = 50,000 records. */
const MAX_INFLIGHT_REQUESTS = Number(process.env.BENCH_MAX_INFLIGHT_REQUESTS ?? 100);

const OtEvent = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'ot_event.proto'), { keepCase: true }).lookupType('ot_lakehouse.OtEvent');

interface Row {
  event_id: string; event_time: number; tag_path: string; tag_provider: string; numeric_value?: number; string_value?: string;
  boolean_value?: boolean; quality: string; quality_code: number; source_system: string; ingestion_timestamp: number; data_type: string;
}

function makeRows(n: number): Row[] {
  const t0 = 1_750_000_000_000_000;
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    const row: Row = {
      event_id: `0b7c${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}-5e1d-5a2b-9c3d-${i.toString(16).padStart(12, '0')}`,
      event_time: t0 + i * 1000,
      tag_path: `[default]Plant1/Line${i % 12}/Machine${i % 40}/Tag${i % 250}`,
      tag_provider: 'default',
      quality: 'Good',
      quality_code: 192,
      source_system: 'ignition-gw-01',
      ingestion_timestamp: t0 + i * 1000 + 1500,
      data_type: kind < 7 ? 'Float8' : kind < 9 ? 'Boolean' : 'String',
    };
    if (kind < 7) row.numeric_value = Math.round(Math.sin(i) * 100_000) / 100;
    else if (kind < 9) row.boolean_value = (i & 1) === 0;
    else row.string_value = `state-${i % 17}`;
    rows[i] = row;
  }
  return rows;
}

const encodeJson = (rows: Row[], from: number, to: number): string[] => {
  const out = new Array<string>(to - from);
  for (let i = from; i < to; i++) out[i - from] = JSON.stringify(rows[i]);
  return out;
};
const encodeProto = (rows: Row[], from: number, to: number): Buffer[] => {
  const out = new Array<Buffer>(to - from);
  for (let i = from; i < to; i++) {
    const u8 = OtEvent.encode(rows[i]).finish();
    out[i - from] = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  }
  return out;
};

function preEncode(rows: Row[], kind: 'json' | 'proto'): (string[] | Buffer[])[] {
  const out: (string[] | Buffer[])[] = [];
  for (let from = 0; from < rows.length; from += BATCH) {
    const to = Math.min(rows.length, from + BATCH);
    out.push(kind === 'json' ? encodeJson(rows, from, to) : encodeProto(rows, from, to));
  }
  return out;
}

// ------------------------------------------------------------------ emulator child process

interface EmulatorHandle { endpoint: string; workspaceUrl: string; child: ChildProcess; stop(): Promise<void> }

async function startEmulatorProcess(): Promise<EmulatorHandle> {
  const script = `
    const { startEmulator } = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'lib/emulator'))});
    startEmulator({ grpcPort: 0, httpPort: 0, schemaFiles: [${JSON.stringify(path.join(PACKAGE_ROOT, 'examples/tables/ot_events.sql'))}],
      clientId: ${JSON.stringify(CLIENT_ID)}, clientSecret: ${JSON.stringify(CLIENT_SECRET)}, maxRowsInMemory: 10000, quota: false })
      .then((emu) => {
        process.stdout.write(JSON.stringify({ endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl }) + '\\n');
        process.stdin.on('end', () => emu.stop().then(() => process.exit(0)));
        process.stdin.resume();
      }, (err) => { console.error(err); process.exit(1); });`;
  // BENCH_EMULATOR_NODE_ARGS (e.g. "--cpu-prof") profiles the server side.
  const nodeArgs = (process.env.BENCH_EMULATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '-r', require.resolve('tsx/cjs'), '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise<{ endpoint: string; workspaceUrl: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return {
    ...info,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.stdin!.end();
      }),
  };
}

// ------------------------------------------------------------------ runners

/** CPU per row (µs) of the bench process (the client: JS thread and, for the official SDK, its native threads) and of the emulator. */
interface RunResult { rowsPerSec: number; p50: number; p99: number; seconds: number; clientUs: number; emulatorUs: number }

/** CPU counters at the start of a timed run. */
function cpuStart(emu: EmulatorHandle): { client: number; emulator: number } {
  const u = process.cpuUsage();
  return { client: (u.user + u.system) / 1e6, emulator: cpuSeconds(emu.child.pid!) };
}
function cpuPerRow(emu: EmulatorHandle, at: { client: number; emulator: number }, rows: number): { clientUs: number; emulatorUs: number } {
  const now = cpuStart(emu);
  return { clientUs: ((now.client - at.client) * 1e6) / rows, emulatorUs: ((now.emulator - at.emulator) * 1e6) / rows };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summarise(rowsCount: number, seconds: number, latencies: number[], cpu: { clientUs: number; emulatorUs: number }): RunResult {
  latencies.sort((a, b) => a - b);
  return { rowsPerSec: rowsCount / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), seconds, ...cpu };
}

/** Ack latency for both clients = from the ingest call to the moment the caller learns the batch is durable.
 * With `rate` > 0 the batches are offered at that many rows/s (latency at a fixed load). */
async function pace(start: number, sentRows: number, rate: number): Promise<void> {
  if (rate <= 0) return;
  const due = start + (sentRows / rate) * 1000;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `preEncoded`: payloads encoded before the clock starts (transport only); otherwise ingestRows with the row objects. */
async function runOurs(emu: EmulatorHandle, rows: Row[], kind: 'json' | 'proto', rate = 0, preEncoded = false): Promise<RunResult> {
  const client = new ZerobusClient({ endpoint: emu.endpoint, workspaceUrl: emu.workspaceUrl, auth: { type: 'oauth', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
  const stream = client.createStream({
    table: TABLE,
    recordType: kind,
    ...(kind === 'proto' ? { descriptorProto: descriptorProtoFromType(OtEvent) } : {}),
    maxInflightRecords: MAX_INFLIGHT_REQUESTS * BATCH,
  });
  await client.testConnection(TABLE); // token and channel warm, as the official createStream leaves them
  const latencies: number[] = [];
  const ready = preEncoded ? preEncode(rows, kind) : [];
  const cpu = cpuStart(emu);
  const start = performance.now();
  let last: Promise<void> = Promise.resolve();
  for (let from = 0; from < rows.length; from += BATCH) {
    await pace(start, from, rate);
    const to = Math.min(rows.length, from + BATCH);
    const t = performance.now();
    last = (preEncoded ? stream.ingest(ready[from / BATCH] as string[]) : stream.ingestRows(rows.slice(from, to))).then(() => {
      latencies.push(performance.now() - t);
    });
    // Like the official loop, which awaits each call (resolved from its native threads through
    // the event loop): yield once per batch so that I/O (writes out, acks in) runs meanwhile.
    if (!stream.hasCapacity()) await stream.whenCapacity();
    else await yieldToEventLoop();
  }
  await last;
  await stream.flush();
  const seconds = (performance.now() - start) / 1000;
  const used = cpuPerRow(emu, cpu, rows.length);
  await stream.close();
  await client.close();
  return summarise(rows.length, seconds, latencies, used);
}

interface OfficialStream {
  ingestRecordsOffset(payloads: (Buffer | string)[]): Promise<bigint | null>;
  waitForOffset(o: bigint): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
interface OfficialSdk {
  createStream(table: { tableName: string; descriptorProto?: string }, id: string, secret: string, opts: Record<string, number>): Promise<OfficialStream>;
}

function loadOfficial(): { ZerobusSdk: new (endpoint: string, workspaceUrl: string) => OfficialSdk } {

  return require('@databricks/zerobus-ingest-sdk-linux-x64-gnu/zerobus-ingest-sdk.linux-x64-gnu.node');
}

async function runOfficial(emu: EmulatorHandle, rows: Row[], kind: 'json' | 'proto', rate = 0, preEncoded = false): Promise<RunResult> {
  const { ZerobusSdk } = loadOfficial();
  const sdk = new ZerobusSdk(emu.endpoint, emu.workspaceUrl);
  const stream = await sdk.createStream(
    { tableName: TABLE, ...(kind === 'proto' ? { descriptorProto: descriptorProtoFromType(OtEvent).toString('base64') } : {}) },
    CLIENT_ID,
    CLIENT_SECRET,
    { recordType: kind === 'proto' ? 1 : 0, maxInflightRequests: MAX_INFLIGHT_REQUESTS },
  );
  const latencies: number[] = [];
  const waits: Promise<void>[] = [];
  const ready = preEncoded ? preEncode(rows, kind) : [];
  const cpu = cpuStart(emu);
  const start = performance.now();
  for (let from = 0; from < rows.length; from += BATCH) {
    await pace(start, from, rate);
    const to = Math.min(rows.length, from + BATCH);
    const batch = preEncoded ? ready[from / BATCH] : kind === 'json' ? encodeJson(rows, from, to) : encodeProto(rows, from, to);
    const t = performance.now();
    // resolves once queued (waits while maxInflightRequests are in flight)
    const offset = await stream.ingestRecordsOffset(batch);
    if (offset !== null) waits.push(stream.waitForOffset(offset).then(() => void latencies.push(performance.now() - t)));
  }
  await Promise.all(waits);
  await stream.flush();
  const seconds = (performance.now() - start) / 1000;
  const used = cpuPerRow(emu, cpu, rows.length);
  await stream.close();
  return summarise(rows.length, seconds, latencies, used);
}

// ------------------------------------------------------------------ bench

const PACED_ROWS_PER_SEC = 30_000;

function median(xs: RunResult[]): RunResult {
  return [...xs].sort((a, b) => a.rowsPerSec - b.rowsPerSec)[Math.floor(xs.length / 2)];
}

export async function run(opts: { quick: boolean; rows?: number; only?: 'ours' | 'official'; kind?: 'json' | 'proto' }): Promise<BenchResult[]> {
  const n = opts.rows ?? (opts.quick ? 50_000 : 300_000);
  const pacedRows = opts.quick ? 30_000 : 90_000;
  const REPEATS = opts.quick ? 3 : 5;
  const rows = makeRows(n);
  const emu = await startEmulatorProcess();
  const results: BenchResult[] = [];
  const none: RunResult = { rowsPerSec: NaN, p50: NaN, p99: NaN, seconds: NaN, clientUs: NaN, emulatorUs: NaN };
  const doOurs = opts.only !== 'official';
  const doOfficial = opts.only !== 'ours';
  const base = 'official SDK 1.3.0';
  try {
    const warm = rows.slice(0, Math.min(n, 10_000));
    for (const kind of opts.kind ? [opts.kind] : (['json', 'proto'] as const)) {
      if (doOfficial) await runOfficial(emu, warm, kind);
      if (doOurs) await runOurs(emu, warm, kind);
      // Alternate the two clients and keep the median run of each: the machine is shared.
      const oursRuns: RunResult[] = [];
      const officialRuns: RunResult[] = [];
      for (let r = 0; r < REPEATS; r++) {
        if (doOfficial) officialRuns.push(await runOfficial(emu, rows, kind));
        if (doOurs) oursRuns.push(await runOurs(emu, rows, kind));
      }
      const ours = doOurs ? median(oursRuns) : none;
      const official = doOfficial ? median(officialRuns) : none;
      const scenario = `${kind.toUpperCase()} ${n} rows, batches of ${BATCH}`;
      const runs = (xs: RunResult[]) => xs.map((x) => Math.round(x.rowsPerSec)).join('/');
      // CPU per row, medians over the runs: robust against other load on the machine
      const cpu = (xs: RunResult[]) => {
        const med = (k: 'clientUs' | 'emulatorUs') => xs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(2);
        return `client ${med('clientUs')} µs/row, emulator ${med('emulatorUs')} µs/row`;
      };
      results.push(
        {
          scenario, metric: 'throughput', value: Math.round(ours.rowsPerSec), unit: 'rows/s',
          baseline: { name: base, value: Math.round(official.rowsPerSec) }, ratio: round(ours.rowsPerSec / official.rowsPerSec),
          notes: `median of ${REPEATS}; runs ours ${runs(oursRuns)}, official ${runs(officialRuns)}; in flight ≤ ${MAX_INFLIGHT_REQUESTS} requests; CPU ours: ${cpu(oursRuns)}; official: ${cpu(officialRuns)}`,
        },
        { scenario, metric: 'ack latency p50 (saturated)', value: round(ours.p50), unit: 'ms', baseline: { name: base, value: round(official.p50) }, ratio: round(ours.p50 / official.p50) },
        { scenario, metric: 'ack latency p99 (saturated)', value: round(ours.p99), unit: 'ms', baseline: { name: base, value: round(official.p99) }, ratio: round(ours.p99 / official.p99) },
      );
      // Transport only: the same payloads, encoded before the clock starts, for both.
      const oursPre: RunResult[] = [];
      const officialPre: RunResult[] = [];
      for (let r = 0; r < REPEATS; r++) {
        if (doOfficial) officialPre.push(await runOfficial(emu, rows, kind, 0, true));
        if (doOurs) oursPre.push(await runOurs(emu, rows, kind, 0, true));
      }
      const op = doOurs ? median(oursPre) : none;
      const fp = doOfficial ? median(officialPre) : none;
      results.push({
        scenario, metric: 'transport only (payloads pre-encoded)', value: Math.round(op.rowsPerSec), unit: 'rows/s',
        baseline: { name: base, value: Math.round(fp.rowsPerSec) }, ratio: round(op.rowsPerSec / fp.rowsPerSec),
        notes: `median of ${REPEATS}; runs ours ${runs(oursPre)}, official ${runs(officialPre)}; no row encoding in the timed loop; CPU ours: ${cpu(oursPre)}; official: ${cpu(officialPre)}`,
      });
      // Latency at the same fixed offered load for both (docs/DESIGN.md §10 measures p99 at 30k events/s).
      const pacedSlice = rows.slice(0, Math.min(n, pacedRows));
      const pacedOfficial = doOfficial ? await runOfficial(emu, pacedSlice, kind, PACED_ROWS_PER_SEC) : none;
      const pacedOurs = doOurs ? await runOurs(emu, pacedSlice, kind, PACED_ROWS_PER_SEC) : none;
      const pacedScenario = `${kind.toUpperCase()} at ${PACED_ROWS_PER_SEC} rows/s, batches of ${BATCH}`;
      results.push(
        { scenario: pacedScenario, metric: 'ack latency p50', value: round(pacedOurs.p50), unit: 'ms', baseline: { name: base, value: round(pacedOfficial.p50) }, ratio: round(pacedOurs.p50 / pacedOfficial.p50) },
        { scenario: pacedScenario, metric: 'ack latency p99', value: round(pacedOurs.p99), unit: 'ms', baseline: { name: base, value: round(pacedOfficial.p99) }, ratio: round(pacedOurs.p99 / pacedOfficial.p99) },
      );
    }
  } finally {
    await emu.stop();
  }
  return results;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function printTable(results: BenchResult[]): void {
  const lines = results.map((r) => [r.scenario, r.metric, `${r.value} ${r.unit}`, r.baseline ? `${r.baseline.value} ${r.unit}` : '', r.ratio !== undefined ? `${r.ratio}x` : '']);
  const head = ['scenario', 'metric', 'ours', 'official', 'ours/official'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const rowsArg = args.indexOf('--rows');
  const onlyArg = args.indexOf('--only'); // profiling aid: --only ours | --only official
  const kindArg = args.indexOf('--kind'); // --kind json | --kind proto
  run({
    quick: args.includes('--quick'),
    ...(rowsArg >= 0 ? { rows: Number(args[rowsArg + 1]) } : {}),
    ...(onlyArg >= 0 ? { only: args[onlyArg + 1] as 'ours' | 'official' } : {}),
    ...(kindArg >= 0 ? { kind: args[kindArg + 1] as 'json' | 'proto' } : {}),
  })
    .then((results) => {
      printTable(results);
      console.log(JSON.stringify(results, null, 2));
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
