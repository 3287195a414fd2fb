/**
 * Hostile and broken bodies against a running receiver, mixed with good requests: every request
 * gets an answer (never 5xx, never a hang), nothing crashes, good requests are unaffected.
 */
import assert from 'node:assert/strict';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { NodeAPI } from 'node-red';
import { ev, flowOf, helper, loadFlow, sinkControl } from '../lib/ignition/node-harness';

const BATCH = '/system/zerobus/ingest/batch';
const SINGLE = '/system/zerobus/ingest';

interface Case {
  name: string;
  route: string;
  body: string | Buffer;
  contentType?: string;
  /** statuses that are a correct answer for this input */
  expect: number[];
}

function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function garbage(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function nest(levels: number, open: string, close: string, inner: string): string {
  return open.repeat(levels) + inner + close.repeat(levels);
}

const MB = 1024 * 1024;
const j = (v: unknown) => JSON.stringify(v);

export const BAD_INPUTS: Case[] = [
  { name: 'empty body', route: BATCH, body: '', expect: [400] },
  { name: 'truncated array', route: BATCH, body: '[{"tagPath":"a","value":1', expect: [400] },
  { name: 'trailing comma', route: BATCH, body: '[{"tagPath":"a"},]', expect: [400] },
  { name: 'single quotes', route: BATCH, body: "[{'tagPath':'a'}]", expect: [400] },
  { name: 'NaN word glued', route: BATCH, body: '[{"tagPath":"a","value":NaNx}]', expect: [400] },
  { name: 'JSON null', route: BATCH, body: 'null', expect: [400] },
  { name: 'JSON number to /ingest', route: SINGLE, body: '12', expect: [400] },
  { name: 'binary garbage as JSON', route: BATCH, body: garbage(64 * 1024, 7), expect: [400] },
  { name: 'binary garbage starting like an array', route: BATCH, body: Buffer.concat([Buffer.from('[{"tagPath":"'), garbage(4096, 11)]), expect: [400] },
  { name: 'invalid UTF-8 inside a string', route: BATCH, body: Buffer.concat([Buffer.from('[{"tagPath":"a\u00e9'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","value":1,"timestamp":1765456245123}]')]), expect: [200] },
  { name: '10k levels of arrays as the body', route: BATCH, body: nest(10_000, '[', ']', ''), expect: [200] },
  { name: '10k levels of objects to /ingest', route: SINGLE, body: nest(10_000, '{"a":', '}', '1'), expect: [200] },
  { name: '10k levels in a value', route: BATCH, body: `[{"tagPath":"a","timestamp":1765456245123,"value":${nest(10_000, '[', ']', '1')}}]`, expect: [200] },
  { name: '10k levels with NaN', route: BATCH, body: `[{"tagPath":"a","value":${nest(10_000, '[', ']', 'NaN')}}]`, expect: [200] },
  { name: '1 MB tagPath', route: BATCH, body: j([{ tagPath: 'p'.repeat(MB), value: 1 }]), expect: [200] },
  { name: '1 MB + 1 string value', route: BATCH, body: j([{ tagPath: 'a', value: 'v'.repeat(MB + 1), timestamp: 1765456245123 }]), expect: [200] },
  { name: '1 MB quality', route: BATCH, body: j([{ tagPath: 'a', value: 1, quality: 'q'.repeat(MB) }]), expect: [200] },
  { name: '1 MB key', route: BATCH, body: j([{ tagPath: 'a', value: 1, ['k'.repeat(MB)]: 1 }]), expect: [200] },
  { name: 'wrong types everywhere', route: BATCH, body: j([
    { tagPath: 5 }, { tagPath: ['a'] }, { tagPath: null }, { tagPath: { x: 1 } }, { tagPath: '' },
    { tagPath: 'a', timestamp: { t: 1 } }, { tagPath: 'a', timestamp: [1] }, { tagPath: 'a', timestamp: true },
    { tagPath: 'a', qualityCode: 'abc' }, { tagPath: 'a', tagProvider: [] },
    { tagPath: 'a', alarmPriority: 'urgent!' }, 'string item', 7, true, null, [], [[]],
  ]), expect: [200] },
  { name: 'huge numbers', route: BATCH, body: '[{"tagPath":"a","value":1e400,"timestamp":1765456245123},' +
    '{"tagPath":"b","value":1,"timestamp":1e30},{"tagPath":"c","value":1,"timestamp":-1e30},' +
    '{"tagPath":"d","value":1,"qualityCode":1e20,"timestamp":1765456245123},' +
    '{"tagPath":"e","value":123456789012345678901234567890,"timestamp":1765456245123},' +
    '{"tagPath":"f","value":1,"alarmPriority":1e300,"timestamp":1765456245123},' +
    '{"tagPath":"g","value":-0,"timestamp":0.000001}]', expect: [200] },
  { name: '__proto__ keys', route: BATCH, body: '[{"__proto__":{"polluted":true},"tagPath":"a","value":{"__proto__":{"polluted":true}},"timestamp":1765456245123},' +
    '{"constructor":{"prototype":{"polluted":true}},"tagPath":"b","timestamp":1765456245123}]', expect: [200] },
  { name: 'lone surrogates and NUL', route: BATCH, body: '[{"tagPath":"a\\ud800\\u0000b","value":"\\udfff","timestamp":1765456245123}]', expect: [200] },
  { name: 'many keys in one event', route: SINGLE, body: j(Object.fromEntries([['tagPath', 'a'], ...Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])])), expect: [200] },
  { name: 'too many events', route: BATCH, body: j(Array.from({ length: 10_001 }, () => 0)), expect: [413] },
  { name: 'form-encoded', route: BATCH, body: 'tagPath=a&value=1', contentType: 'application/x-www-form-urlencoded', expect: [415] },
  { name: 'protobuf bytes', route: BATCH, body: garbage(512, 3), contentType: 'application/x-protobuf', expect: [415] },
  { name: 'utf-16 charset', route: BATCH, body: Buffer.from('[]', 'utf16le'), contentType: 'application/json; charset=utf-16', expect: [415] },
];

describe('zerobus-ignition-in with hostile bodies', function () {
  this.timeout(30_000);
  let RED: NodeAPI;
  let server: http.Server;
  let base: string;

  before(async () => {
    sinkControl.reset();
    await helper.startServer();
    RED = await loadFlow(flowOf());
    server = http.createServer(RED.httpNode as unknown as http.RequestListener);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await helper.unload();
    await helper.stopServer();
  });

  function send(route: string, body: string | Buffer, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${base}${route}`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('answers every bad input with the right status while good requests in between succeed', async () => {
    let goodIndex = 0;
    const good = () => send(BATCH, JSON.stringify(Array.from({ length: 20 }, () => ev(1000 + goodIndex++))));
    const all = await Promise.all(
      BAD_INPUTS.flatMap((c) => [
        send(c.route, c.body, c.contentType).then((r) => ({ c, r })),
        good().then((r) => ({ c: { name: `good request next to "${c.name}"`, expect: [200] } as Case, r })),
      ]),
    );
    for (const { c, r } of all) {
      assert.ok(c.expect.includes(r.status), `${c.name}: got ${r.status} ${r.body.slice(0, 200)}`);
      const parsed = JSON.parse(r.body);
      if (r.status === 200) assert.equal(parsed.received, parsed.accepted + parsed.rejected + parsed.duplicates, c.name);
      else assert.ok(typeof parsed.message === 'string' && parsed.message.length < 400, c.name);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'prototype pollution');
    const byName = new Map(all.map(({ c, r }) => [c.name, JSON.parse(r.body)]));
    assert.equal(byName.get('10k levels in a value').rejected, 1);
    assert.equal(byName.get('1 MB tagPath').rejected, 1);
    assert.equal(byName.get('1 MB + 1 string value').rejected, 1);
    assert.equal(byName.get('wrong types everywhere').accepted, 0);
    assert.equal(byName.get('10k levels of arrays as the body').rejected, 1);
    assert.equal(byName.get('huge numbers').received, 7);
  });

  it('still works normally afterwards, and the counters add up', async () => {
    const r = await send(BATCH, JSON.stringify([ev(5000), ev(5001)]));
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).accepted, 2);
    const diag = await new Promise<Record<string, unknown>>((resolve, reject) => {
      http.get(`${base}/system/zerobus/diagnostics`, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(JSON.parse(s)));
      }).on('error', reject);
    });
    assert.equal(diag.queueSize, 0);
    assert.equal(diag.pendingRequests, 1); // the diagnostics request itself
    assert.equal((diag.requestsByStatus as Record<string, number>)['500'], undefined);
  });
});
