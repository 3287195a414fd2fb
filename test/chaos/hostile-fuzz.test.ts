/**
 * A bounded, in-process fuzz of the two entry points an OT network reaches (fixed seed, a few
 * thousand cases, well under a minute): the Sparkplug host with structured mutations (declared
 * sizes, nesting, aliases, seq, prototype member names, wildcard ids, a zip bomb), and the
 * Ignition receiver on a loopback server with hostile headers, content types and bodies (stalled,
 * chunked, oversize). Meanwhile a well-formed edge node and a well-formed gateway go on, and must
 * be unaffected. Memory growth and the longest event-loop stall are bounded and reported.
 */
import assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import type { AddressInfo } from 'net';
import { monitorEventLoopDelay } from 'perf_hooks';
import { IgnitionReceiver, type IngestBatch } from '../../lib/ignition';
import { DataType, SparkplugHost } from '../../lib/sparkplug';
import { PayloadType } from '../../lib/sparkplug/proto';
import { Prng } from '../support/prng';
import { receiverCase, sparkplugCase, type ReceiverCase } from './hostile-cases';
import { report } from './rig';

const SEED = 0x15_0f_5eed;
const SPARKPLUG_CASES = 3000;
const RECEIVER_CASES = 1500;
const PARALLEL = 8;
/** RSS growth allowed over the run */
const RSS_GROWTH_LIMIT_MB = 300;
/** the findings stalled the loop for 2.9 s (API key regex) and 29 s (DataSet columns) */
const STALL_LIMIT_MS = 1500;
const MB = 1024 * 1024;

const encode = (msg: object): Buffer => Buffer.from(PayloadType.encode(msg).finish());

function rssMB(): number {
  return process.memoryUsage.rss() / MB;
}

describe('chaos: bounded in-process fuzz of hostile input (sparkplug host, ignition receiver)', function () {
  this.timeout(120_000);

  it('the Sparkplug host survives structured mutations; a well-formed edge node is unaffected', () => {
    const r = new Prng(SEED);
    // small bounds, so that the fuzz drives eviction and refusal too (40 hostile edge nodes)
    const host = new SparkplugHost({ maxStateBytes: MB, maxEdgeNodes: 24 });
    const baseline = rssMB();
    let maxRss = baseline;
    let maxStallMs = 0;
    const kinds: Record<string, number> = {};
    const issues: Record<string, number> = {};
    const goodTopic = (verb: string) => `spBv1.0/Good/${verb}/GoodEdge`;
    const birth = host.handleMessage(goodTopic('NBIRTH'), encode({
      timestamp: 1000, seq: 0,
      metrics: [{ name: 'bdSeq', datatype: DataType.Int64, long_value: 0 }, { name: 'Temp', alias: 1, datatype: DataType.Double, double_value: 0 }],
    }), 1000);
    assert.equal(birth.events.length, 1);
    let goodSeq = 0;
    let goodSent = 0;
    const goodMissing: number[] = [];
    for (let i = 0; i < SPARKPLUG_CASES; i++) {
      const c = sparkplugCase(r);
      kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
      const started = performance.now();
      const result = host.handleMessage(c.topic, c.payload, 2000 + i);
      maxStallMs = Math.max(maxStallMs, performance.now() - started);
      for (const issue of result.issues) issues[issue.code] = (issues[issue.code] ?? 0) + 1;
      for (const a of result.actions) assert.ok(!/[+#]/.test(a.topic), `a command for ${a.topic}`);
      if (i % 10 === 0) {
        goodSeq = (goodSeq + 1) & 255;
        const value = i + 0.5;
        const data = host.handleMessage(goodTopic('NDATA'), encode({ timestamp: 5000 + i, seq: goodSeq, metrics: [{ alias: 1, double_value: value }] }), 5000 + i);
        goodSent++;
        if (!(data.events.length === 1 && data.events[0].value === value && data.issues.length === 0)) goodMissing.push(i);
      }
      if (i % 50 === 0) maxRss = Math.max(maxRss, rssMB());
    }
    maxRss = Math.max(maxRss, rssMB());
    host.close();
    const stats = host.stats();
    report('hostile-fuzz-sparkplug', {
      seed: SEED, cases: SPARKPLUG_CASES, kinds, issues, goodSent, goodMissing: goodMissing.length,
      rssBaselineMB: Math.round(baseline), worstRssMB: Math.round(maxRss), worstStallMs: Math.round(maxStallMs), stateBytes: stats.stateBytes, refused: stats.refused, evicted: stats.evicted,
    });
    assert.deepEqual(goodMissing, [], 'well-formed data lost or flagged');
    assert.ok((issues.MALFORMED ?? 0) > 100, `only ${issues.MALFORMED} malformed: did the fuzz reach the decoder?`);
    assert.ok((issues.NOT_SPARKPLUG ?? 0) > 10, 'the wildcard topics were not refused');
    assert.ok(stats.stateBytes <= MB, `${stats.stateBytes} bytes of state`);
    assert.ok(stats.refused > 0 && stats.evicted > 0, `the bounds were not reached: ${JSON.stringify(stats)}`);
    assert.ok(maxRss - baseline < RSS_GROWTH_LIMIT_MB, `RSS grew ${Math.round(maxRss - baseline)} MB`);
    assert.ok(maxStallMs < STALL_LIMIT_MS, `one message took ${Math.round(maxStallMs)} ms`);
  });

  it('the Ignition receiver answers every hostile request with a client error; a well-formed gateway is unaffected', async () => {
    const KEY = 'fuzz-key-0123456789';
    const emitted = { good: 0, other: 0 };
    const receiver = new IgnitionReceiver({
      path: '/fuzz', ack: 'received', maxBodyBytes: MB, maxEvents: 10_000, durableTimeoutMs: 5000, bodyTimeoutMs: 400,
      maxConcurrentBodies: 2 * PARALLEL + 4, apiKey: KEY, version: 'fuzz',
      readiness: () => ({ ready: true, scope: 'none', sinks: [] }),
      emit: (batch: IngestBatch) => {
        for (const e of batch.events) {
          if (e.tagPath.startsWith('[good]')) emitted.good++;
          else emitted.other++;
        }
      },
    });
    const server = http.createServer((req, res) => {
      const sub = (req.url ?? '').replace(/^\/fuzz/, '').replace(/\?.*$/, '');
      if (!receiver.handle(req, res, sub)) {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const baseline = rssMB();
    let maxRss = baseline;
    const rssTimer = setInterval(() => (maxRss = Math.max(maxRss, rssMB())), 50);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // the well-formed gateway: one batch of 10 at a time, for as long as the fuzz runs
      let fuzzing = true;
      const good = { sent: 0, answers: {} as Record<number, number> };
      const gateway = (async () => {
        for (let b = 0; fuzzing || b < 20; b++) {
          const body = JSON.stringify(Array.from({ length: 10 }, (_, k) => ({ tagPath: `[good]Line/T${k}`, value: b, quality: 'Good', timestamp: 1765456245123 + b, dataType: 'Float8' })));
          const status = await send(port, { kind: 'good', method: 'POST', path: '/ingest/batch', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: Buffer.from(body) }, agent);
          good.answers[status] = (good.answers[status] ?? 0) + 1;
          good.sent += 10;
          await new Promise((resolve) => setTimeout(resolve, 2)); // a gateway's pace, not a busy loop
        }
      })();

      // generated as the workers take them: the test's own buffers must not count as the receiver's memory
      const r = new Prng(SEED + 1);
      let remaining = RECEIVER_CASES;
      const nextCase = (): ReceiverCase | undefined => (remaining-- > 0 ? receiverCase(r, KEY) : undefined);
      const statuses: Record<string, Record<number, number>> = {};
      const unexpected: string[] = [];
      // 431: Node's own HTTP parser refuses headers over 16 kB before the receiver sees them
      const allowed = new Set([200, 400, 401, 405, 408, 413, 415, 431]);
      await Promise.all(Array.from({ length: PARALLEL }, async () => {
        for (let c = nextCase(); c; c = nextCase()) {
          const status = await send(port, c);
          (statuses[c.kind] ??= {})[status] = ((statuses[c.kind] ??= {})[status] ?? 0) + 1;
          // the server may answer 413/408 and close before the client wrote everything
          if (!allowed.has(status) && !(status === 0 && ['oversize', 'stalled body', 'chunked'].includes(c.kind))) unexpected.push(`${c.kind} → ${status}`);
        }
      }));
      fuzzing = false;
      await gateway;
      clearInterval(rssTimer);
      delay.disable();
      const worstStallMs = delay.max / 1e6;
      maxRss = Math.max(maxRss, rssMB());
      report('hostile-fuzz-receiver', {
        seed: SEED + 1, cases: RECEIVER_CASES, parallel: PARALLEL, statuses, goodSent: good.sent, goodEmitted: emitted.good, goodAnswers: good.answers,
        otherEmitted: emitted.other, rssBaselineMB: Math.round(baseline), worstRssMB: Math.round(maxRss), worstStallMs: Math.round(worstStallMs),
      });
      assert.deepEqual(unexpected, [], JSON.stringify(statuses));
      assert.deepEqual(Object.keys(good.answers), ['200'], `the well-formed gateway got ${JSON.stringify(good.answers)}`);
      assert.equal(emitted.good, good.sent);
      for (const kind of ['stalled body', 'content type', 'oversize']) assert.ok(Object.keys(statuses[kind] ?? {}).length > 0, `no ${kind} case ran`);
      assert.ok((statuses['stalled body']?.[408] ?? 0) > 0, 'no stalled body was answered 408');
      assert.equal(receiver.counters.requestsByStatus['500'] ?? 0, 0);
      assert.ok(maxRss - baseline < RSS_GROWTH_LIMIT_MB, `RSS grew ${Math.round(maxRss - baseline)} MB`);
      assert.ok(worstStallMs < STALL_LIMIT_MS, `the event loop stalled ${Math.round(worstStallMs)} ms`);
    } finally {
      clearInterval(rssTimer);
      agent.destroy();
      receiver.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** Sends one case; resolves with the status, 0 when the connection ended without one. */
function send(port: number, c: ReceiverCase, agent?: http.Agent): Promise<number> {
  if (c.stall) {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let head = '';
      socket.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (m) {
          resolve(Number(m[1]));
          socket.destroy();
        }
      });
      socket.on('error', () => resolve(0));
      socket.on('close', () => resolve(0));
      const headers = Object.entries(c.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`${c.method} /fuzz${c.path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${c.body.length}\r\n\r\n`);
      socket.write(c.body.subarray(0, c.body.length >> 1));
    });
  }
  return new Promise((resolve) => {
    const headers = { ...c.headers, ...(c.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(c.body.length) }) };
    const req = http.request({ host: '127.0.0.1', port, method: c.method, path: `/fuzz${c.path}`, headers, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    if (c.chunked) {
      for (let i = 0; i < c.body.length; i += 16 * 1024) req.write(c.body.subarray(i, i + 16 * 1024));
      req.end();
    } else {
      req.end(c.body);
    }
  });
}
