/**
 * The per-stream quota: what one Zerobus stream delivers when the emulator enforces a quota of
 * 20,000 records/s per stream (low enough to bind on a small machine; the service's default is
 * 100,000), against the same run with the quota off. The emulator runs in its own process; the
 * lib client streams PROTO batches of 500 with several ingests outstanding, and the rate is the
 * acknowledged records over a measuring window that starts after a warm-up, which also absorbs
 * the one second of burst the quota allows.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EmulatorProcess, httpJson } from '../demo/emulator-process';
import { freePort } from '../demo/node-red-process';
import { encodeOtEventProto, OT_EVENT_DESCRIPTOR, toOtEventRow } from '../lib/tags';
import { ZerobusClient } from '../lib/zerobus';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';

const TABLE = 'main.ot.tag_events';
/** per stream: low enough to bind on a small machine (the service's is 100,000); also bench/streams.ts */
export const QUOTA_RECORDS_PER_SECOND = 20_000;
const BATCH = 500;
/** ingest() calls outstanding per stream */
const CONCURRENCY = 8;
const WARM_UP_MS = 1500;

interface Measured {
  recordsPerSecond: number;
  throttled: { count: number; ms: number };
}

/** Batches encoded once and sent again and again: the emulator validates them, ids need not be unique here. */
function encodedBatches(count: number): Buffer[][] {
  const micros = Date.now() * 1000;
  return Array.from({ length: count }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      const event = { tagPath: `[default]Line${n % 20}/Sensor${n % 500}`, tagProvider: 'default', value: Math.sin(n), quality: 'Good', qualityCode: 192, timestamp: 1765456245000 + n, dataType: 'Float8' };
      return encodeOtEventProto(toOtEventRow(event, { sourceSystem: 'bench', ingestionMicros: micros }));
    }),
  );
}

/** `streams` streams to one table, each kept busy for warm-up + `measureMs`; acknowledged records/s over the measuring window. */
async function measure(quotaArgs: string[], streams: number, measureMs: number, batches: Buffer[][]): Promise<Measured> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-quota-'));
  const emulator = new EmulatorProcess({ grpcPort: await freePort(), httpPort: await freePort(), dataDir: dir, extraArgs: ['--quiet', ...quotaArgs] });
  await emulator.start();
  const client = new ZerobusClient({ endpoint: emulator.endpoint, auth: { type: 'token', token: 'bench' } });
  try {
    const open = Array.from({ length: streams }, () => client.createStream({ table: TABLE, recordType: 'proto', descriptorProto: OT_EVENT_DESCRIPTOR }));
    let running = true;
    const acked = () => open.reduce((sum, s) => sum + s.metrics().recordsAcked, 0);
    const drivers = open.flatMap((stream) =>
      Array.from({ length: CONCURRENCY }, async (_, lane) => {
        for (let i = lane; running; i += CONCURRENCY) await stream.ingest(batches[i % batches.length]);
      }),
    );
    await new Promise((r) => setTimeout(r, WARM_UP_MS));
    const from = { records: acked(), at: process.hrtime.bigint() };
    await new Promise((r) => setTimeout(r, measureMs));
    const seconds = Number(process.hrtime.bigint() - from.at) / 1e9;
    const recordsPerSecond = (acked() - from.records) / seconds;
    running = false;
    await Promise.all(drivers);
    await Promise.all(open.map((s) => s.close(5000)));
    const stats = (await httpJson(`${emulator.url}/api/stats`)).json as { throttled: { count: number; ms: number } };
    return { recordsPerSecond, throttled: stats.throttled };
  } finally {
    await client.close();
    await emulator.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const measureMs = opts.quick ? 3000 : 8000;
  const batches = encodedBatches(40);
  const results: BenchResult[] = [];
  for (const streams of [1]) {
    const baseline = await measure(['--no-quota'], streams, measureMs, batches);
    const capped = await measure(['--quota-records', String(QUOTA_RECORDS_PER_SECOND)], streams, measureMs, batches);
    const quota = streams * QUOTA_RECORDS_PER_SECOND;
    results.push(
      withRatio({
        scenario: `${streams} stream${streams > 1 ? 's' : ''}, quota ${QUOTA_RECORDS_PER_SECOND.toLocaleString('en-US')} records/s per stream`,
        metric: 'acknowledged records/s',
        value: capped.recordsPerSecond,
        unit: 'rec/s',
        baseline: { name: 'same streams, no quota', value: baseline.recordsPerSecond },
        notes: `${(capped.recordsPerSecond / quota).toFixed(2)}× the quota; throttled ${capped.throttled.count} requests, acks held ${(capped.throttled.ms / 1000).toFixed(1)} s; over ${measureMs / 1000} s after ${WARM_UP_MS / 1000} s warm-up`,
      }),
    );
  }
  return results;
}

if (require.main === module) runDirectly('per-stream quota (1 stream, lib client → emulator)', run);
