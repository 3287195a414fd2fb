/**
 * zerobus-ignition-in against what a plant network can send it: requests without Content-Type
 * (what a browser sends cross-site), bodies that stall or pile up, chunked bodies a parser read
 * before us, an API key left as an unset `${VAR}`, and a receiver open to the network.
 */
import assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import type { AddressInfo } from 'net';
import express from 'express';
import supertest from 'supertest';
import type { NodeAPI } from 'node-red';
import { ev, flowOf, helper, loadFlow, sinkControl, useNodeRedServer } from '../lib/ignition/node-harness';

const BATCH = '/system/zerobus/ingest/batch';

function app(RED: NodeAPI): http.RequestListener {
  return RED.httpNode as unknown as http.RequestListener;
}

/** The flow with the receiver's properties changed. */
function flowWith(props: Record<string, unknown>): Record<string, unknown>[] {
  const flow = flowOf();
  Object.assign(flow.find((n) => n.id === 'in')!, props);
  return flow;
}

async function serve(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Sends the head of a request and `partial` bytes of a body announced as `length`, then stalls. */
function stalledPost(port: number, length: number, partial: number): { status: Promise<number>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  const status = new Promise<number>((resolve) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) resolve(Number(m[1]));
    });
    socket.on('error', () => resolve(-1));
    socket.on('close', () => resolve(-1));
  });
  socket.write(`POST ${BATCH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write('['.padEnd(partial, ' '));
  return { status, socket };
}

describe('zerobus-ignition-in: hostile input', function () {
  this.timeout(20_000);
  useNodeRedServer();

  it('answers 415 to a POST without Content-Type, also one a browser sends cross-site', async () => {
    const RED = await loadFlow(flowOf({ ack: 'received' }));
    const { port, close } = await serve(app(RED));
    try {
      for (const headers of [{}, { Origin: 'http://evil.example' }]) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, path: BATCH, method: 'POST', headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(JSON.stringify([ev(1)]));
        });
        assert.equal(status, 415, JSON.stringify(headers));
      }
    } finally {
      await close();
    }
    assert.equal(sinkControl.received.length, 0);
  });

  it('answers 408 to a body that stalls past bodyTimeout and frees its socket', async () => {
    const RED = await loadFlow(flowWith({ bodyTimeout: 300 }));
    const { port, close } = await serve(app(RED));
    try {
      const started = Date.now();
      const stalled = stalledPost(port, 100_000, 50_000);
      const closed = new Promise<void>((r) => stalled.socket.on('close', () => r()));
      assert.equal(await stalled.status, 408);
      assert.ok(Date.now() - started < 10_000);
      await closed; // Connection: close, the server lets go of it
    } finally {
      await close();
    }
  });

  it('reads at most maxConcurrentBodies bodies at once: beyond, 503 + Retry-After; then it takes requests again', async () => {
    const RED = await loadFlow(flowWith({ maxConcurrentBodies: 2, bodyTimeout: 60_000 }));
    const { port, close } = await serve(app(RED));
    const stalled = [stalledPost(port, 10_000, 100), stalledPost(port, 10_000, 100)];
    try {
      const agent = supertest(`http://127.0.0.1:${port}`);
      // both stalled bodies are being read once a third request is refused
      let res = await agent.post(BATCH).send([ev(1)]);
      for (let i = 0; i < 100 && res.status === 200; i++) res = await agent.post(BATCH).send([ev(100 + i)]);
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'busy');
      assert.ok(Number(res.headers['retry-after']) > 0);
      for (const s of stalled) s.socket.destroy();
      await Promise.all(stalled.map((s) => s.status));
      // the aborted reads no longer count
      let again = await agent.post(BATCH).send([ev(2)]);
      for (let i = 0; i < 100 && again.status === 503; i++) again = await agent.post(BATCH).send([ev(2)]);
      assert.equal(again.status, 200);
    } finally {
      for (const s of stalled) s.socket.destroy();
      await close();
    }
  });

  it('holds a chunked body that a parser before it read to maxBodyBytes', async () => {
    const RED = await loadFlow(flowOf({ maxBodyBytes: 2000 }));
    const outer = express();
    outer.use(express.json({ limit: '5mb' }));
    outer.use(RED.httpNode as unknown as express.Express);
    const { port, close } = await serve(outer);
    try {
      const big = JSON.stringify(Array.from({ length: 30 }, (_, i) => ev(i)));
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: BATCH, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < big.length; i += 500) req.write(big.slice(i, i + 500));
        req.end();
      });
      assert.equal(status, 413);
      assert.equal(sinkControl.received.length, 0);
    } finally {
      await close();
    }
  });

  it('takes an API key left as an unset ${VAR} for a configuration error: red, and 503 on every route', async () => {
    delete process.env.ZB_UNSET_VAR;
    const RED = await loadFlow(flowOf(), { in: { apiKey: '${ZB_UNSET_VAR}' } });
    const agent = supertest(app(RED));
    const res = await agent.post(BATCH).set('Authorization', 'Bearer ${ZB_UNSET_VAR}').send([ev(1)]);
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'misconfigured');
    await agent.get('/system/zerobus/diagnostics').set('Authorization', 'Bearer ${ZB_UNSET_VAR}').expect(503);
    const node = helper.getNode('in');
    assert.ok(node.error.args.some((a: unknown[]) => /ZB_UNSET_VAR/.test(String(a[0]))));
    assert.ok(node.status.args.some((a: { fill?: string }[]) => a[0].fill === 'red'));
    assert.equal(sinkControl.received.length, 0);
  });

  it('warns once when it has no API key and Node-RED listens beyond loopback; not on loopback or with a key', async () => {
    const warned = () => helper.getNode('in').warn.args.filter((a: unknown[]) => /no API key/.test(String(a[0]))).length;
    await loadFlow(flowOf());
    assert.equal(warned(), 1);
    await helper.unload();
    await loadFlow(flowOf(), { in: { apiKey: 'a-key' } });
    assert.equal(warned(), 0);
    await helper.unload();
    await helper.stopServer();
    helper.settings({ uiHost: '127.0.0.1' });
    await helper.startServer();
    await loadFlow(flowOf());
    assert.equal(warned(), 0);
  });
});
