/**
 * HTTP load generator for the end-to-end benchmark, run in its own process so that it does not
 * share a core's event loop with Node-RED. POSTs batches of tag events over keep-alive
 * connections, either as fast as the server answers (closed loop, `--concurrency`) or at a fixed
 * rate (open loop, `--rate` events/s), and prints one JSON line with the results.
 *
 *   tsx bench/load-generator.ts --url http://127.0.0.1:1880/system/zerobus/ingest/batch \
 *       --seconds 10 [--concurrency 8 | --rate 30000] [--batch 500] [--warmup 2] [--events N]
 *
 * `--events N` (closed loop): stop once N events were accepted (200), or when the time is up.
 */
import * as http from 'http';
import { TagGenerator } from '../demo/ignition-simulator';

interface Args {
  url: string;
  seconds: number;
  warmup: number;
  concurrency: number;
  rate: number;
  batch: number;
  tags: number;
  events: number;
}

function parse(argv: string[]): Args {
  const a: Args = { url: '', seconds: 10, warmup: 2, concurrency: 8, rate: 0, batch: 500, tags: 5000, events: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '') as keyof Args;
    (a as unknown as Record<string, string | number>)[k] = k === 'url' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!a.url) throw new Error('--url is required');
  return a;
}

/** Tag cycles rendered ahead: values change from one cycle to the next as the simulator's do. */
const CYCLES = 16;
const TIMESTAMP_KEY = Buffer.from('"timestamp":');

/**
 * Request bodies without serialising events on the generator's thread: it shares the two cores
 * with Node-RED and the emulator, so what it spends is taken from the pipeline it measures
 * (JSON.stringify of fresh events cost it ≈ 3–4 µs per event). The JSON of each event of
 * CYCLES tag cycles is rendered once; a body is those bytes with the integer milliseconds of
 * each timestamp written in place. Event c (counting from 0) is tag c % tags at
 * t0 + floor(c / tags) ms plus a fraction (as TagGenerator.batch): every body is unique, so the
 * receiver's duplicate window never hides work.
 */
class BodyMaker {
  private readonly frags: Buffer[] = [];
  /** where the 13 integer digits of the timestamp start in each fragment */
  private readonly digitsAt: Int32Array;
  private cursor = 0;
  private digitsOf = -1;
  private readonly digits = Buffer.alloc(13);

  constructor(
    private readonly tags: number,
    private readonly batch: number,
    private readonly t0: () => number,
  ) {
    const gen = new TagGenerator(tags);
    const base = t0();
    const n = tags * CYCLES;
    this.digitsAt = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      const json = Buffer.from(JSON.stringify(gen.event(c, base + Math.floor(c / tags) + (c % 1000) / 1000)));
      const at = json.indexOf(TIMESTAMP_KEY) + TIMESTAMP_KEY.length;
      if (at < TIMESTAMP_KEY.length || !/^\d{13}[.,}]/.test(json.toString('latin1', at, at + 14))) throw new Error(`unexpected event JSON: ${json.toString()}`);
      this.frags.push(json);
      this.digitsAt[c] = at;
    }
  }

  next(): Buffer {
    const n = this.frags.length;
    let size = 1 + this.batch;
    for (let j = 0; j < this.batch; j++) size += this.frags[(this.cursor + j) % n].length;
    const body = Buffer.allocUnsafe(size);
    let p = 0;
    body[p++] = 0x5b; // [
    for (let j = 0; j < this.batch; j++, this.cursor++) {
      const k = this.cursor % n;
      const frag = this.frags[k];
      if (j > 0) body[p++] = 0x2c; // ,
      frag.copy(body, p);
      this.writeDigits(this.t0() + Math.floor(this.cursor / this.tags));
      this.digits.copy(body, p + this.digitsAt[k]);
      p += frag.length;
    }
    body[p++] = 0x5d; // ]
    return body.subarray(0, p);
  }

  private writeDigits(ms: number): void {
    if (ms === this.digitsOf) return;
    const text = String(ms);
    if (text.length !== 13) throw new Error(`timestamp ${ms} is not 13 digits`);
    this.digits.write(text, 0, 'latin1');
    this.digitsOf = ms;
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(args.concurrency, 64) });
  const target = new URL(args.url);
  let t0 = Date.now();
  const bodies = new BodyMaker(args.tags, args.batch, () => t0);
  const nextBody = (): Buffer => bodies.next();

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let okEvents = 0;
  /** events answered 200 from the first request on, warm-up included: what a CPU figure divides by */
  let allOkEvents = 0;
  /** accepted since the start (warm-up included) plus those in flight: what --events bounds */
  let claimed = 0;
  let measuring = false;

  const post = (body: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            if (measuring) {
              statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
              if (res.statusCode === 200) {
                okEvents += args.batch;
                latencies.push(ms);
              }
            }
            if (res.statusCode === 200) allOkEvents += args.batch;
            else claimed -= args.batch;
            resolve();
          });
        },
      );
      req.on('error', () => {
        claimed -= args.batch;
        if (measuring) statuses.error = (statuses.error ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });

  const warmupEnd = Date.now() + args.warmup * 1000;
  const end = warmupEnd + args.seconds * 1000;
  let measureStart = warmupEnd;
  let cpuAtStart = cpuSecondsNow();
  setTimeout(() => {
    measuring = true;
    measureStart = Date.now();
    cpuAtStart = cpuSecondsNow();
  }, args.warmup * 1000);

  if (args.rate > 0) {
    // open loop: requests leave on schedule whether or not earlier ones were answered
    const perSecond = args.rate / args.batch;
    const inflight = new Set<Promise<void>>();
    t0 = Date.now();
    let sent = 0;
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - t0) / 1000) * perSecond);
      while (sent < due) {
        const p = post(nextBody());
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        sent++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(inflight);
  } else {
    const worker = async () => {
      while (Date.now() < end && (args.events <= 0 || claimed < args.events)) {
        claimed += args.batch;
        await post(nextBody());
      }
    };
    await Promise.all(Array.from({ length: args.concurrency }, worker));
  }
  const seconds = (Date.now() - measureStart) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : NaN);
  agent.destroy();
  process.stdout.write(
    JSON.stringify({ eventsPerSec: okEvents / seconds, okEvents, allOkEvents, cpuSeconds: cpuSecondsNow() - cpuAtStart, seconds, p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1] ?? NaN, statuses }) + '\n',
  );
}

/** CPU the generator itself used (user + system): its share of a machine it shares with what it measures. */
function cpuSecondsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
