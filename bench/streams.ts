/**
 * Several streams per table: what a disk-spooled ZerobusSink with `streams` 1, 2 and 4 (and
 * 'auto', up to 4) delivers when the emulator enforces 20,000 records/s per stream — a quota low
 * enough to bind on a small machine (the service's is 100,000). The producer keeps the spool a
 * few seconds ahead of the quota; the rate is the acknowledged records over a measuring window
 * after a warm-up. Afterwards the backlog is drained and the table's rows (the emulator's JSONL
 * file, in arrival order) are checked: every event exactly once by event_id and each tag's
 * values in the order they were accepted. The baseline is `streams: 1` in the same run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EmulatorProcess } from '../demo/emulator-process';
import { freePort } from '../demo/node-red-process';
import { ZerobusSink } from '../lib/sink';
import { ZerobusClient } from '../lib/zerobus';
import { QUOTA_RECORDS_PER_SECOND as QUOTA } from './quota';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';

const TABLE = 'main.ot.tag_events';
const TAGS = 200;
const CALL = 500;
const WARM_UP_MS = 2000;

interface Measured {
  recordsPerSecond: number;
  accepted: number;
  unique: number;
  duplicates: number;
  outOfOrder: number;
  streamsAtEnd: number;
  secondsToMax?: number;
}

function events(from: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { tagPath: `[default]Line${n % 10}/Sensor${n % TAGS}`, value: n, quality: 'Good', timestamp: 1765456245000 + n, dataType: 'Float8' };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(streams: number | 'auto', measureMs: number): Promise<Measured> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-streams-'));
  const emulator = new EmulatorProcess({ grpcPort: await freePort(), httpPort: await freePort(), dataDir: path.join(dir, 'emulator'), extraArgs: ['--quiet', '--quota-records', String(QUOTA)] });
  await emulator.start();
  const client = new ZerobusClient({ endpoint: emulator.endpoint, auth: { type: 'token', token: 'bench' } });
  const sink = new ZerobusSink({ client, table: TABLE, sourceSystem: 'bench', spool: { dir: path.join(dir, 'spool') }, streams, maxStreams: 4 });
  let accepted = 0;
  let secondsToMax: number | undefined;
  try {
    await sink.start();
    const started = Date.now();
    let producing = true;
    // keep about two seconds of four streams' quota waiting in the spool
    const producer = (async () => {
      while (producing) {
        if (sink.stats().backlog > 2 * 4 * QUOTA) await sleep(5);
        else {
          await sink.accept(events(accepted, CALL));
          accepted += CALL;
        }
      }
    })();
    const waitForMax = async () => {
      while (producing && sink.stats().streams.length < 4) await sleep(100);
      if (producing) secondsToMax = (Date.now() - started) / 1000;
    };
    const maxWatch = streams === 'auto' ? waitForMax() : Promise.resolve();
    await sleep(WARM_UP_MS);
    // 'auto' is measured once it has reached its maximum and the new streams have warmed up
    if (streams === 'auto') await Promise.race([maxWatch.then(() => sleep(WARM_UP_MS)), sleep(60_000)]);
    const from = { records: sink.stats().recordsOut, at: process.hrtime.bigint() };
    await sleep(measureMs);
    const seconds = Number(process.hrtime.bigint() - from.at) / 1e9;
    const recordsPerSecond = (sink.stats().recordsOut - from.records) / seconds;
    const streamsAtEnd = sink.stats().streams.length;
    producing = false;
    await producer;
    await maxWatch;
    while (sink.stats().backlog > 0) await sleep(50);
    await sink.close(5000);
    await client.close();
    await emulator.stop();
    return { recordsPerSecond, accepted, streamsAtEnd, secondsToMax, ...checkRows(path.join(dir, 'emulator', 'tables', `${TABLE}.jsonl`)) };
  } finally {
    await sink.close(1000).catch(() => undefined);
    await client.close().catch(() => undefined);
    await emulator.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows of the table file in arrival order: distinct event ids, repeats, and tags whose values went backwards. */
function checkRows(file: string): { unique: number; duplicates: number; outOfOrder: number } {
  const seen = new Set<string>();
  const lastByTag = new Map<string, number>();
  let duplicates = 0;
  let outOfOrder = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as { event_id: string; tag_path: string; numeric_value: number };
    if (seen.has(row.event_id)) {
      duplicates++;
      continue;
    }
    seen.add(row.event_id);
    if ((lastByTag.get(row.tag_path) ?? -1) > row.numeric_value) outOfOrder++;
    lastByTag.set(row.tag_path, row.numeric_value);
  }
  return { unique: seen.size, duplicates, outOfOrder };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const measureMs = opts.quick ? 3000 : 8000;
  const only = process.env.BENCH_STREAMS_ONLY; // e.g. "4" or "auto", for a profile of one count
  const counts: (number | 'auto')[] = only ? [only === 'auto' ? 'auto' : Number(only)] : opts.quick ? [1, 4] : [1, 2, 4, 'auto'];
  const measured: [number | 'auto', Measured][] = [];
  for (const streams of counts) measured.push([streams, await measure(streams, measureMs)]);
  const one = measured[0][1].recordsPerSecond;
  return measured.map(([streams, m]) => {
    const lost = m.accepted - m.unique;
    if (lost !== 0 || m.outOfOrder !== 0) throw new Error(`streams ${streams}: ${lost} events lost, ${m.outOfOrder} out of order`);
    const auto = streams === 'auto' ? `; reached 4 streams after ${m.secondsToMax?.toFixed(1) ?? '—'} s` : '';
    return withRatio({
      scenario: `streams: ${streams}${streams === 'auto' ? ' (max 4)' : ''}, quota ${QUOTA.toLocaleString('en-US')} rec/s per stream`,
      metric: 'acknowledged records/s',
      value: m.recordsPerSecond,
      unit: 'rec/s',
      baseline: { name: 'streams: 1', value: one },
      notes: `${m.accepted.toLocaleString('en-US')} events, 0 lost, ${m.duplicates} repeated, 0 out of order per tag; ${m.streamsAtEnd} stream${m.streamsAtEnd === 1 ? '' : 's'} at the end${auto}`,
    });
  });
}

if (require.main === module) runDirectly('several streams per table (disk-spooled sink → emulator at 20,000 rec/s per stream)', run);
