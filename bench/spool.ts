/**
 * Disk spool: append throughput with group commit against the same spool doing one write+fsync
 * per append (the baseline, same run) and against no fsync at all; recovery and replay of a
 * large backlog; memory held while that backlog sits on disk (docs/DESIGN.md §10: ≤ 250 MB RSS with
 * 1,000,000 events spooled).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createSpool, type Spool, type SpoolOptions } from '../lib/spool';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';

const RECORD_BYTES = 150;
const BATCH = 500;
/** appends in flight at once, like a zerobus-out node fed by several HTTP requests */
const CONCURRENCY = 8;
const SMALL_BATCH = 10;
const SMALL_CONCURRENCY = 64;
const MB = 1024 * 1024;

function makeBatch(seed: number, size = BATCH): Buffer[] {
  return Array.from({ length: size }, (_, i) => {
    const b = Buffer.alloc(RECORD_BYTES, (seed + i) & 0xff);
    b.writeUInt32BE(seed + i, 0);
    return b;
  });
}

/** Appends `records` in batches of `batch` with `concurrency` appends in flight; records/s. */
async function appendRate(spool: Spool, records: number, batch = BATCH, concurrency = CONCURRENCY): Promise<number> {
  const batches = Math.ceil(records / batch);
  const payload = Array.from({ length: 16 }, (_, i) => makeBatch(i * batch, batch));
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches) await spool.append(payload[next++ % payload.length]);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (batches * batch) / seconds;
}

async function withSpool<T>(opts: Omit<SpoolOptions, 'dir'>, fn: (spool: Spool, dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-bench-spool-'));
  const spool = createSpool({ ...opts, dir, maxBytes: 4096 * MB });
  await spool.open();
  try {
    return await fn(spool, dir);
  } finally {
    await spool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rssMb = (): number => process.memoryUsage().rss / MB;

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const appendRecords = opts.quick ? 100_000 : 1_000_000;
  const baselineRecords = opts.quick ? 20_000 : 200_000;
  const backlogRecords = opts.quick ? 200_000 : 1_000_000;
  const results: BenchResult[] = [];
  const appendNote = `${RECORD_BYTES}-byte records, batches of ${BATCH}, ${CONCURRENCY} appends in flight`;

  // warm the JIT so that the scenario measured first is not penalised
  await withSpool({ fsync: false }, (spool) => appendRate(spool, 50_000));

  // a backlog as zerobus-out builds it while Zerobus is unreachable, then a restart and a replay
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-bench-backlog-'));
  try {
    const rssBefore = rssMb();
    let spool = createSpool({ dir, maxBytes: 4096 * MB });
    await spool.open();
    const fillRate = await appendRate(spool, backlogRecords);
    const filled = spool.stats();
    const rssFilled = rssMb();
    await spool.close();

    const openStarted = process.hrtime.bigint();
    spool = createSpool({ dir, maxBytes: 4096 * MB });
    const recovered = await spool.open();
    const openSeconds = Number(process.hrtime.bigint() - openStarted) / 1e9;
    const rssReopened = rssMb();

    const replayStarted = process.hrtime.bigint();
    let after = 0;
    let replayed = 0;
    for (;;) {
      const page = await spool.readAfter(after, 5000, 4 * MB);
      if (page.length === 0) break;
      replayed += page.length;
      after = page[page.length - 1].seq;
    }
    const replaySeconds = Number(process.hrtime.bigint() - replayStarted) / 1e9;
    const rssReplayed = rssMb();
    const ackStarted = process.hrtime.bigint();
    await spool.ack(after);
    const ackSeconds = Number(process.hrtime.bigint() - ackStarted) / 1e9;
    const afterAck = spool.stats();
    await spool.close();
    if (recovered.records !== backlogRecords || replayed !== backlogRecords) {
      throw new Error(`backlog of ${backlogRecords}: recovered ${recovered.records}, replayed ${replayed}`);
    }

    const n = backlogRecords.toLocaleString('en-US');
    results.push(
      {
        scenario: `backlog of ${n} records`,
        metric: 'RSS while it sits in the spool',
        value: rssFilled,
        unit: 'MB',
        notes: `process RSS ${rssBefore.toFixed(0)} MB before filling (+${(rssFilled - rssBefore).toFixed(0)} MB); index ${(filled.indexBytes / MB).toFixed(1)} MB; ${(filled.diskBytes / MB).toFixed(0)} MB on disk in ${filled.segments} segments; filled at ${Math.round(fillRate)} rec/s with fsync`,
      },
      {
        scenario: `backlog of ${n} records`,
        metric: 'recovery (open) rate',
        value: backlogRecords / openSeconds,
        unit: 'rec/s',
        notes: `open() scanned and CRC-checked every frame in ${openSeconds.toFixed(2)} s; RSS after ${rssReopened.toFixed(0)} MB`,
      },
      {
        scenario: `backlog of ${n} records`,
        metric: 'replay rate (readAfter)',
        value: backlogRecords / replaySeconds,
        unit: 'rec/s',
        notes: `pages of 5000 records / 4 MB, CRC-checked; RSS after ${rssReplayed.toFixed(0)} MB; ack of all + segment deletion ${(ackSeconds * 1000).toFixed(0)} ms, ${afterAck.segments} segment left`,
      },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const perAppend = await withSpool({ groupCommit: false }, async (spool) => {
    const rate = await appendRate(spool, baselineRecords);
    return { rate, fsyncs: spool.stats().fsyncs };
  });
  const group = await withSpool({}, async (spool) => {
    const rate = await appendRate(spool, appendRecords);
    return { rate, fsyncs: spool.stats().fsyncs };
  });
  const noSync = await withSpool({ fsync: false }, (spool) => appendRate(spool, appendRecords));
  // many small concurrent appends (e.g. gateways posting a few tag changes each): where group commit matters most
  const smallRecords = opts.quick ? 20_000 : 100_000;
  const smallBaselineRecords = opts.quick ? 2_000 : 10_000;
  const smallGroup = await withSpool({}, (spool) => appendRate(spool, smallRecords, SMALL_BATCH, SMALL_CONCURRENCY));
  const smallPerAppend = await withSpool({ groupCommit: false }, (spool) => appendRate(spool, smallBaselineRecords, SMALL_BATCH, SMALL_CONCURRENCY));

  results.push(
    withRatio({
      scenario: 'append, group commit (fsync)',
      metric: 'records/s',
      value: group.rate,
      unit: 'rec/s',
      baseline: { name: 'fsync per append', value: perAppend.rate },
      notes: `${appendNote}; ${group.fsyncs} fsyncs for ${appendRecords / BATCH} appends (baseline: ${perAppend.fsyncs} for ${baselineRecords / BATCH})`,
    }),
    withRatio({
      scenario: `append of ${SMALL_BATCH} records, group commit (fsync)`,
      metric: 'records/s',
      value: smallGroup,
      unit: 'rec/s',
      baseline: { name: 'fsync per append', value: smallPerAppend },
      notes: `${RECORD_BYTES}-byte records, ${SMALL_CONCURRENCY} appends in flight`,
    }),
    withRatio({
      scenario: 'append, no fsync',
      metric: 'records/s',
      value: noSync,
      unit: 'rec/s',
      baseline: { name: 'group commit (fsync)', value: group.rate },
      notes: `${appendNote}; durable only against process crashes, not power loss`,
    }),
  );

  return results;
}

if (require.main === module) runDirectly('disk spool', run);
