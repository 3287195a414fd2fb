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

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(args.concurrency, 64) });
  const gen = new TagGenerator(args.tags);
  const target = new URL(args.url);
  let cursor = 0;
  let t0 = Date.now();
  // every body is unique (timestamps move on), so the receiver's duplicate window never hides work
  const nextBody = (): string => {
    const body = JSON.stringify(gen.batch(args.batch, t0 + Math.floor(cursor / args.tags), cursor));
    cursor += args.batch;
    return body;
  };

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let okEvents = 0;
  /** events answered 200 from the first request on, warm-up included: what a CPU figure divides by */
  let allOkEvents = 0;
  /** accepted since the start (warm-up included) plus those in flight: what --events bounds */
  let claimed = 0;
  let measuring = false;

  const post = (body: string): Promise<void> =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
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
  setTimeout(() => {
    measuring = true;
    measureStart = Date.now();
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
    JSON.stringify({ eventsPerSec: okEvents / seconds, okEvents, allOkEvents, seconds, p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1] ?? NaN, statuses }) + '\n',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
