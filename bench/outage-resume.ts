/**
 * `npx tsx bench/outage-resume.ts [runs] [outageSeconds]`: how long after Zerobus comes back
 * from an outage the sink delivers again, with the default retry settings (backoff cap 30 s).
 * A sink streams a trickle of events to an in-process emulator; the emulator stops for the
 * outage and starts again on the same ports; the time from its start to the next
 * acknowledgement is one sample. The same-run baseline turns the connection probe off (the
 * retry waits its full backoff), which is how the package behaved before.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { freePort } from '../demo/node-red-process';
import { startEmulator, type Emulator } from '../lib/emulator';
import { ZerobusSink } from '../lib/sink';
import { ZerobusClient } from '../lib/zerobus';
import { ZerobusChannel } from '../lib/zerobus/channel';

const TABLE = 'main.ot.tag_events';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sample(probe: boolean, outageMs: number): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-outage-'));
  const ports = { grpcPort: await freePort(), httpPort: await freePort() };
  const start = () => startEmulator({ ...ports, dataDir, schemaFiles: [path.join(__dirname, '..', 'examples', 'tables', 'ot_events.sql')] });
  let emu: Emulator = await start();
  const isReady = ZerobusChannel.prototype.isReady;
  if (!probe) (ZerobusChannel.prototype as { isReady?: unknown }).isReady = undefined;
  const client = new ZerobusClient({ endpoint: emu.endpoint, auth: { type: 'token', token: 'bench' } });
  const sink = new ZerobusSink({ client, table: TABLE, sourceSystem: 'bench' });
  let lastAck = 0;
  sink.on('receipt', () => (lastAck = Date.now()));
  let n = 0;
  const feeder = setInterval(() => {
    n++;
    sink.accept([{ tagPath: `[bench]T${n % 10}`, value: n, quality: 192, timestamp: Date.now() }]).catch(() => undefined);
  }, 50);
  try {
    await sink.start();
    while (lastAck === 0) await sleep(20);
    await emu.stop();
    await sleep(outageMs);
    emu = await start();
    const back = Date.now();
    while (lastAck < back) await sleep(10);
    return lastAck - back;
  } finally {
    clearInterval(feeder);
    await sink.close(1000);
    await client.close();
    await emu.stop();
    ZerobusChannel.prototype.isReady = isReady;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const outageMs = 1000 * Number(process.argv[3] ?? 10);
  for (const probe of [true, false]) {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await sample(probe, outageMs));
    const label = probe ? 'with the connection probe' : 'baseline: backoff only';
    console.log(`${label}: resume after a ${outageMs / 1000} s outage, ms: p50 ${percentile(samples, 50)} p95 ${percentile(samples, 95)} max ${Math.max(...samples)} (${samples.join(', ')})`);
  }
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
