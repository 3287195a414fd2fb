/**
 * Sparkplug B decode rate: metrics per second through our codec alone and through the full
 * host (codec + birth table + alias resolution + seq tracking + tag events), each compared
 * with Eclipse Tahu's `sparkplug-payload` decodePayload on the same bytes in the same run.
 * Payloads: DDATA of 100 metrics carried by alias (mixed Double/Float/Int32/Int64/Boolean/String
 * with timestamps), as a Sparkplug 3.0 edge node sends them after its DBIRTH.
 */
import { decodePayload, encodePayload, SparkplugHost, type MetricInput } from '../lib/sparkplug';
import { BenchOptions, BenchResult, runDirectly, withRatio } from './result';

const tahu: { decodePayload(b: Uint8Array): unknown } = require('sparkplug-payload').get('spBv1.0');

const METRICS = 100;
const TYPES = ['Double', 'Float', 'Int32', 'Int64', 'Boolean', 'String'] as const;

function value(type: string, i: number, k: number): unknown {
  switch (type) {
    case 'Double': return Math.sin(i + k) * 1000;
    case 'Float': return (i * 0.5 + k) % 100;
    case 'Int32': return (i * 7919 + k) % 100000 - 50000;
    case 'Int64': return (i * 104729 + k) * 1000;
    case 'Boolean': return (i + k) % 2 === 0;
    default: return `state-${(i + k) % 17}`;
  }
}

function metrics(k: number, birth: boolean): MetricInput[] {
  const out: MetricInput[] = [];
  for (let i = 0; i < METRICS; i++) {
    const type = TYPES[i % TYPES.length];
    out.push(birth
      ? { name: `Area ${i % 5}/Tag ${i}`, alias: i + 1, datatype: type, value: value(type, i, k), timestamp: 1_700_000_000_000 + k }
      : { alias: i + 1, value: value(type, i, k), datatype: type, timestamp: 1_700_000_000_000 + k });
  }
  return out;
}

/** Runs fn over the payloads for about `ms`, returns metrics per second. */
function measure(payloads: Buffer[], ms: number, fn: (b: Buffer, i: number) => void): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  for (;;) {
    for (let j = 0; j < 64; j++, n++) fn(payloads[n % payloads.length], n);
    if (process.hrtime.bigint() - start >= limit) break;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (n * METRICS) / seconds;
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const ms = opts.quick ? 300 : 1000;
  // 256 DDATA payloads with seq 0..255: replayed in order after a DBIRTH with seq 255, gap-free
  const data: Buffer[] = [];
  for (let k = 0; k < 256; k++) data.push(encodePayload({ timestamp: 1_700_000_000_000 + k, seq: k, metrics: metrics(k, false) }));

  let sink = 0;
  const newHost = () => {
    const host = new SparkplugHost();
    host.handleMessage('spBv1.0/Bench/NBIRTH/Edge', encodePayload({ timestamp: 1, seq: 254, metrics: [{ name: 'bdSeq', datatype: 'Int64', value: 0 }] }), 1);
    host.handleMessage('spBv1.0/Bench/DBIRTH/Edge/Dev', encodePayload({ timestamp: 1, seq: 255, metrics: metrics(0, true) }), 1);
    return host;
  };
  const runHost = () => {
    const h = newHost();
    let issues = 0;
    const rate = measure(data, ms, (b) => {
      const r = h.handleMessage('spBv1.0/Bench/DDATA/Edge/Dev', b, 2);
      if (r.events.length !== METRICS) issues++;
      sink += r.events.length;
      issues += r.issues.length;
    });
    h.close();
    if (issues) throw new Error(`the host reported ${issues} issues during the bench`);
    return rate;
  };
  const runCodec = () => measure(data, ms, (b) => { sink += decodePayload(b).metrics.length; });
  const runTahu = () => measure(data, ms, (b) => { sink += (tahu.decodePayload(b) as { metrics: unknown[] }).metrics.length; });

  // warm up, then interleave short rounds and keep medians: a shared machine's load shifts
  // over seconds, and each round sees the three under the same conditions
  runCodec(); runTahu(); runHost();
  const rounds = opts.quick ? 3 : 7;
  const samples = { tahu: [] as number[], codec: [] as number[], host: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    samples.tahu.push(runTahu());
    samples.codec.push(runCodec());
    samples.host.push(runHost());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const baseline = median(samples.tahu);
  const codec = median(samples.codec);
  const hostRate = median(samples.host);
  if (sink === 0) throw new Error('nothing decoded');

  const note = `DDATA, ${METRICS} metrics by alias (${TYPES.join('/')}), ${data[0].length} bytes per payload`;
  return [
    withRatio({ scenario: 'codec decode (plain JS values)', metric: 'metrics/s', value: codec, unit: 'metrics/s', baseline: { name: 'Tahu sparkplug-payload decodePayload', value: baseline }, notes: note }),
    withRatio({ scenario: 'host: decode + aliases + seq + tag events', metric: 'metrics/s', value: hostRate, unit: 'metrics/s', baseline: { name: 'Tahu sparkplug-payload decodePayload', value: baseline }, notes: 'events carry tag path, Ignition type, quality, timestamp' }),
  ];
}

if (require.main === module) runDirectly('Sparkplug decode', run);
