import assert from 'node:assert/strict';
import * as http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import supertest from 'supertest';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { TICKETS_PROPERTY, deliveryTracker, ticketsOf } from '../../lib/delivery/tickets';
import { useNodeRedServer } from '../lib/ignition/node-harness';
import { PACKAGE_VERSION } from '../../lib/paths';
import { parkedRequests, type IgnitionReceiver, type MiddlewareApp } from '../../lib/ignition';
import { ev, flowOf, helper, loadFlow, sinkControl } from '../lib/ignition/node-harness';
import { waitFor } from '../support/wait-for';

const BATCH = '/system/zerobus/ingest/batch';
const SINGLE = '/system/zerobus/ingest';

function app(RED: NodeAPI): http.RequestListener {
  return RED.httpNode as unknown as http.RequestListener;
}

function nextMessage(id = 'out'): Promise<NodeMessageInFlow> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

function receiverOf(id = 'in'): IgnitionReceiver {
  return (helper.getNode(id) as Node & { receiver: IgnitionReceiver }).receiver;
}

/** A server of our own for tests that need raw sockets or several requests in flight. */
async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('zerobus-ignition-in node', function () {
  this.timeout(20_000);
  useNodeRedServer();

  describe('ingest', () => {
    it('answers 200 once the events are durable, through function and change nodes, with normalised events and a ticket', async () => {
      const RED = await loadFlow(flowOf());
      const emitted = nextMessage();
      const res = await supertest(app(RED)).post(BATCH).send([ev(1), ev(2, { dataType: 'long', value: 7 }), ev(3, { dataType: 'unicode', value: 'RUN' })]).expect(200);
      assert.deepEqual(res.body, { received: 3, accepted: 3, rejected: 0, duplicates: 0, errors: [] });
      const msg = (await emitted) as NodeMessageInFlow & Record<string, unknown>;
      const payload = msg.payload as Record<string, unknown>[];
      assert.equal(payload.length, 3);
      assert.equal(payload[0].dataType, 'Float8');
      assert.equal(payload[1].dataType, 'Int8');
      assert.equal(payload[2].dataType, 'String');
      assert.equal(msg.topic, BATCH);
      const tickets = msg[TICKETS_PROPERTY] as Record<string, number>;
      assert.deepEqual(Object.values(tickets), [3]);
      // the sink saw the function node's change and still carried the ticket
      assert.equal(sinkControl.received.length, 1);
      assert.equal((sinkControl.received[0].payload as Record<string, unknown>[])[0].sourceSystem, 'plant-a');
      assert.deepEqual(ticketsOf(sinkControl.received[0]), tickets);
      const diag = (await supertest(app(RED)).get('/system/zerobus/diagnostics').expect(200)).body;
      assert.equal(diag.totalEventsReceived, 3);
      assert.equal(diag.totalEventsSent, 3);
      assert.equal(diag.queueSize, 0);
      assert.equal(diag.zerobusConnected, true);
      assert.match(diag.lastEventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('takes one event object on /ingest and emits a one-element array', async () => {
      const RED = await loadFlow(flowOf());
      const emitted = nextMessage();
      const res = await supertest(app(RED)).post(SINGLE).set('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(ev(1))).expect(200);
      assert.equal(res.body.accepted, 1);
      const msg = await emitted;
      assert.ok(Array.isArray(msg.payload));
      assert.equal((msg.payload as unknown[]).length, 1);
      assert.equal(msg.topic, SINGLE);
    });

    it('rejects invalid events one by one with their index and passes the rest on', async () => {
      const RED = await loadFlow(flowOf());
      const emitted = nextMessage();
      const body = [ev(1), { value: 1, timestamp: 1 }, ev(2, { timestamp: 'not a time' }), 42, null, ev(3, { tagPath: 'x'.repeat(5000) }), ev(4)];
      const res = await supertest(app(RED)).post(BATCH).send(body).expect(200);
      assert.equal(res.body.received, 7);
      assert.equal(res.body.accepted, 2);
      assert.equal(res.body.rejected, 5);
      assert.deepEqual(res.body.errors.map((e: { index: number }) => e.index), [1, 2, 3, 4, 5]);
      for (const e of res.body.errors) assert.ok(typeof e.message === 'string' && e.message.length > 3 && e.message.length < 300);
      assert.match(res.body.errors[0].message, /tagPath/);
      assert.equal(((await emitted).payload as unknown[]).length, 2);
    });

    it('accepts bare NaN / Infinity tokens', async () => {
      const RED = await loadFlow(flowOf());
      const text = '[{"tagPath":"[default]A","value":NaN,"quality":"Good","qualityCode":192,"timestamp":1765456245123,"dataType":"float"},' +
        '{"tagPath":"[default]B","value":-Infinity,"timestamp":1765456245124,"dataType":"float"}]';
      const emitted = nextMessage();
      const res = await supertest(app(RED)).post(BATCH).set('Content-Type', 'application/json').send(text).expect(200);
      assert.equal(res.body.accepted, 2);
      const payload = (await emitted).payload as { value: unknown }[];
      assert.ok(Number.isNaN(payload[0].value as number));
      assert.equal(payload[1].value, -Infinity);
    });

    it('answers 400 for malformed JSON and for the wrong shape, with a clear message', async () => {
      const RED = await loadFlow(flowOf());
      const agent = supertest(app(RED));
      for (const bad of ['{', '[1,', 'hello', '', '[{"a":1}]]']) {
        const res = await agent.post(BATCH).set('Content-Type', 'application/json').send(bad).expect(400);
        assert.equal(res.body.error, 'bad_json');
      }
      const obj = await agent.post(BATCH).send(ev(1)).expect(400);
      assert.match(obj.body.message, /array.*\/system\/zerobus\/ingest/);
      const arr = await agent.post(SINGLE).send([ev(1)]).expect(400);
      assert.match(arr.body.message, /object.*\/system\/zerobus\/ingest\/batch/);
      const str = await agent.post(BATCH).set('Content-Type', 'application/json').send('"text"').expect(400);
      assert.match(str.body.message, /got a string/);
      assert.equal(sinkControl.received.length, 0);
    });

    it('answers 415 for other content types', async () => {
      const RED = await loadFlow(flowOf());
      const res = await supertest(app(RED)).post(BATCH).set('Content-Type', 'application/x-www-form-urlencoded').send('a=1').expect(415);
      assert.match(res.body.message, /application\/json/);
      await supertest(app(RED)).post(BATCH).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('[]').expect(415);
    });

    it('answers 413 over the body limit (declared or streamed) and over the event count', async () => {
      const RED = await loadFlow(flowOf({ maxBodyBytes: 2000, maxEvents: 5 }));
      const big = JSON.stringify(Array.from({ length: 30 }, (_, i) => ev(i)));
      const declared = await supertest(app(RED)).post(BATCH).set('Content-Type', 'application/json').send(big).expect(413);
      assert.equal(declared.body.limit, 2000);
      // chunked, no Content-Length: the limit applies while reading
      const server = await listen(app(RED));
      try {
        const streamed = await new Promise<number>((resolve, reject) => {
          const req = http.request(`${server.url}${BATCH}`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', () => resolve(-1)); // the server may close once it answered
          for (let i = 0; i < 10; i++) req.write(big.slice(0, 500));
          req.end();
          setTimeout(() => reject(new Error('no answer')), 5000).unref();
        });
        assert.ok(streamed === 413 || streamed === -1, `got ${streamed}`);
      } finally {
        await server.close();
      }
      const many = await supertest(app(RED)).post(BATCH).send(Array.from({ length: 6 }, (_, i) => ({ tagPath: `a${i}` }))).expect(413);
      assert.match(many.body.message, /6 events exceed the limit of 5/);
      assert.equal(sinkControl.received.length, 0);
      const diag = receiverOf().diagnosticsSnapshot() as { requestsByStatus: Record<string, number> };
      assert.ok(diag.requestsByStatus['413'] >= 2);
    });
  });

  describe('API key', () => {
    const KEY = 'k3y-that-must-never-leak-0123456789';

    it('needs Authorization: Bearer <key> for ingest and diagnostics, never shows the key', async () => {
      const RED = await loadFlow(flowOf(), { in: { apiKey: KEY } });
      const agent = supertest(app(RED));
      const missing = await agent.post(BATCH).send([ev(1)]).expect(401);
      assert.match(String(missing.headers['www-authenticate']), /Bearer/);
      await agent.post(BATCH).set('Authorization', `Bearer ${KEY}x`).send([ev(1)]).expect(401);
      await agent.post(BATCH).set('Authorization', KEY).send([ev(1)]).expect(401);
      await agent.get('/system/zerobus/diagnostics').expect(401);
      await agent.post(BATCH).set('Authorization', `Bearer ${KEY}`).send([ev(1)]).expect(200);
      const diag = await agent.get('/system/zerobus/diagnostics').set('Authorization', `Bearer ${KEY}`).expect(200);
      assert.equal(diag.body.apiKeyRequired, true);
      assert.equal(diag.body.requestsByStatus['401'], 4);
      const health = await agent.get('/system/zerobus/health').expect(200);
      const node = helper.getNode('in');
      const seen = [
        diag.text,
        health.text,
        missing.text,
        JSON.stringify(node.status.args),
        JSON.stringify(node.warn.args),
        JSON.stringify(node.error.args),
        JSON.stringify(node.log.args),
        JSON.stringify(sinkControl.received.map((m) => ({ ...m }))),
      ].join('\n');
      assert.ok(!seen.includes(KEY), 'the key leaked');
    });
  });

  describe('durable acknowledgement', () => {
    it('answers 503 with Retry-After when the sink never settles within durableTimeout, and lets the resend through', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'never', durableTimeout: 150 }));
      const res = await supertest(app(RED)).post(BATCH).send([ev(1), ev(2)]).expect(503);
      assert.ok(Number(res.headers['retry-after']) > 0);
      assert.match(res.body.message, /not confirmed durable within 150 ms/);
      // the events were forgotten by the dedup window: the resend is passed on again
      await supertest(app(RED)).post(BATCH).send([ev(1), ev(2)]).expect(503);
      assert.equal(sinkControl.received.length, 2);
      const diag = receiverOf().diagnosticsSnapshot() as Record<string, number>;
      assert.equal(diag.totalEventsFailed, 4);
      assert.equal(diag.duplicatesDropped, 0);
      assert.equal(diag.queueSize, 0);
    });

    it('reports events a sink refused for good as rejected with index null', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'fail' }));
      const res = await supertest(app(RED)).post(BATCH).send([ev(1), ev(2)]).expect(200);
      assert.equal(res.body.accepted, 0);
      assert.equal(res.body.rejected, 2);
      assert.deepEqual(res.body.errors, [{ index: null, message: 'value does not fit the table' }]);
    });

    it('answers 503 at once when a reachable sink cannot accept, and /health tells why', async () => {
      const RED = await loadFlow(flowOf());
      sinkControl.accepting = false;
      const res = await supertest(app(RED)).post(BATCH).send([ev(1)]).expect(503);
      assert.ok(res.headers['retry-after']);
      assert.match(res.body.message, /cannot accept data now \(spool full\)/);
      assert.equal(sinkControl.received.length, 0);
      const health = await supertest(app(RED)).get('/system/zerobus/health').expect(503);
      assert.equal(health.body.ready, false);
      assert.equal(health.body.version, PACKAGE_VERSION);
      sinkControl.accepting = true;
      const ok = await supertest(app(RED)).get('/system/zerobus/health').expect(200);
      assert.equal(ok.body.ready, true);
      assert.equal(ok.body.sinks[0].id, 'sink');
      await supertest(app(RED)).post(BATCH).send([ev(1)]).expect(200);
    });

    it('warns at start when its wires lead to no zerobus-out in durable mode; not when they do, nor in received mode', async () => {
      // the helper spies on Node.prototype.warn: the calls of every node, told apart by the path
      const deadEnds = () => ((helper.getNode('dead') as any).warn.args as unknown[][]).map((a) => String(a[0])).filter((w) => /lead to no zerobus-out/.test(w));
      const flow = [
        { id: 'tab', type: 'tab' },
        { id: 'sink', z: 'tab', type: 'test-durable-sink', wires: [] },
        { id: 'dead', z: 'tab', type: 'zerobus-ignition-in', path: '/dead', ack: 'durable', wires: [['chg']] },
        { id: 'chg', z: 'tab', type: 'change', rules: [], wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'wired', z: 'tab', type: 'zerobus-ignition-in', path: '/wired', ack: 'durable', wires: [['chg2']] },
        { id: 'chg2', z: 'tab', type: 'change', rules: [], wires: [['sink']] },
        { id: 'quick', z: 'tab', type: 'zerobus-ignition-in', path: '/quick', ack: 'received', wires: [['out']] },
      ];
      const RED = await loadFlow(flow);
      await waitFor('a dead-end warning', () => deadEnds().length > 0);
      await supertest(app(RED)).post('/wired/ingest/batch').send([ev(1)]).expect(200);
      assert.equal(deadEnds().length, 1, deadEnds().join('\n'));
      assert.match(deadEnds()[0], /receiver on \/dead .*set ack to "received"/);
    });

    it('answers 503 in durable mode when no zerobus-out is deployed; ack received answers 200 at once without tickets', async () => {
      const lone = [{ id: 'tab', type: 'tab' }, { id: 'in', z: 'tab', type: 'zerobus-ignition-in', path: '/a', ack: 'durable', wires: [['out']] }, { id: 'out', z: 'tab', type: 'helper' },
        { id: 'in2', z: 'tab', type: 'zerobus-ignition-in', path: '/b', ack: 'received', wires: [['out2']] }, { id: 'out2', z: 'tab', type: 'helper' }];
      const RED = await loadFlow(lone);
      const res = await supertest(app(RED)).post('/a/ingest/batch').send([ev(1)]).expect(503);
      assert.match(res.body.message, /no zerobus-out node is deployed/);
      await supertest(app(RED)).get('/a/health').expect(503);
      const emitted = nextMessage('out2');
      await supertest(app(RED)).post('/b/ingest/batch').send([ev(1)]).expect(200);
      const msg = (await emitted) as NodeMessageInFlow & Record<string, unknown>;
      assert.equal(msg[TICKETS_PROPERTY], undefined);
      await supertest(app(RED)).get('/b/health').expect(200);
    });
  });

  describe('duplicates', () => {
    it('drops exact resends and counts them; only new events go on', async () => {
      const RED = await loadFlow(flowOf());
      const batch = [ev(1), ev(2), ev(3)];
      await supertest(app(RED)).post(BATCH).send(batch).expect(200);
      const again = await supertest(app(RED)).post(BATCH).send([...batch, ev(4), ev(4)]).expect(200);
      assert.deepEqual(again.body, { received: 5, accepted: 1, rejected: 0, duplicates: 4, errors: [] });
      // the same event written differently (numeric-string timestamp, Jython type name) is the same event
      const respelled = await supertest(app(RED)).post(BATCH).send([ev(1, { timestamp: String(1765456245124) })]).expect(200);
      assert.equal(respelled.body.duplicates, 1);
      assert.equal(sinkControl.received.length, 2);
      const diag = (await supertest(app(RED)).get('/system/zerobus/diagnostics').expect(200)).body;
      assert.equal(diag.duplicatesDropped, 5);
      assert.equal(diag.dedupWindow.size, 4);
    });

    it('makes a resend of events still in flight wait for their outcome (200 when they become durable)', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'manual' }));
      const server = await listen(app(RED));
      try {
        const body = JSON.stringify([ev(1), ev(2)]);
        const first = post(`${server.url}${BATCH}`, body);
        await waitFor('the sink to hold the message', () => sinkControl.held.length === 1);
        const second = post(`${server.url}${BATCH}`, body);
        await waitFor('two pending requests', () => receiverOf().pendingCount === 2);
        deliveryTracker.settleAll(ticketsOf(sinkControl.held[0]));
        const [a, b] = await Promise.all([first, second]);
        assert.equal(a.status, 200);
        assert.equal(b.status, 200);
        assert.deepEqual(JSON.parse(b.body), { received: 2, accepted: 0, rejected: 0, duplicates: 2, errors: [] });
        assert.equal(sinkControl.received.length, 1);
      } finally {
        await server.close();
      }
    });

    it('answers 503 to a resend whose first copy was not made durable', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'never', durableTimeout: 300 }));
      const server = await listen(app(RED));
      try {
        const body = JSON.stringify([ev(1)]);
        const first = post(`${server.url}${BATCH}`, body);
        await waitFor('the sink to receive the message', () => sinkControl.received.length === 1);
        const second = post(`${server.url}${BATCH}`, body);
        const [a, b] = await Promise.all([first, second]);
        assert.equal(a.status, 503);
        assert.equal(b.status, 503);
        assert.match(JSON.parse(b.body).message, /earlier copy/);
        assert.equal(sinkControl.received.length, 1);
      } finally {
        await server.close();
      }
    });
  });

  describe('concurrency, redeploy and close', () => {
    it('serves many concurrent requests', async () => {
      const RED = await loadFlow(flowOf());
      const server = await listen(app(RED));
      try {
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, r) => post(`${server.url}${BATCH}`, JSON.stringify(Array.from({ length: 40 }, (_, i) => ev(r * 100 + i))))),
        );
        for (const res of results) assert.equal(res.status, 200, res.body);
        const total = sinkControl.received.reduce((n, m) => n + (m.payload as unknown[]).length, 0);
        assert.equal(total, 1000);
      } finally {
        await server.close();
      }
    });

    it('answers pending requests 503 at once on redeploy; the old route is gone, the new one answers, no second dispatcher', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'manual', durableTimeout: 15_000 }));
      const stack = (RED.httpNode as unknown as { _router: { stack: unknown[] } })._router.stack;
      const layers = stack.length;
      const server = await listen(app(RED));
      try {
        const pending = post(`${server.url}${BATCH}`, JSON.stringify([ev(1)]));
        await waitFor('the sink to hold the message', () => sinkControl.held.length === 1);
        const started = Date.now();
        await helper.setFlows(flowOf({ path: '/other', sinkMode: 'settle' }), 'full');
        const res = await pending;
        assert.equal(res.status, 503);
        assert.ok(res.headers['retry-after']);
        assert.ok(Date.now() - started < 5000);
        assert.equal((await post(`${server.url}${BATCH}`, JSON.stringify([ev(2)]))).status, 404);
        assert.equal((await post(`${server.url}/other/ingest/batch`, JSON.stringify([ev(2)]))).status, 200);
        assert.equal(stack.length, layers, 'a redeploy must not add middleware');
        // and back to the original path on the same app
        await helper.setFlows(flowOf({ sinkMode: 'settle' }), 'full');
        assert.equal((await post(`${server.url}${BATCH}`, JSON.stringify([ev(3)]))).status, 200);
        assert.equal(stack.length, layers);
      } finally {
        await server.close();
      }
    });

    it('holds requests that arrive between the old receiver\'s close and its successor\'s start, and the successor answers them', async () => {
      const RED = await loadFlow(flowOf());
      const server = await listen(app(RED));
      try {
        sinkControl.holdClose = true;
        const deploying = helper.setFlows(flowOf({ maxEvents: 9000 }), 'full');
        // the receiver has closed; the sink's slow close keeps the new flow from starting
        await waitFor('the sink to close', () => sinkControl.closing.length === 1);
        const answered: string[] = [];
        const gap = [BATCH, SINGLE].map((path) => post(`${server.url}${path}`, JSON.stringify(path === BATCH ? [ev(1)] : ev(1))).then((r) => (answered.push(path), r)));
        assert.equal((await supertest(app(RED)).get('/system/zerobus/nope')).status, 404, 'only the receiver routes wait');
        await waitFor('both requests to wait for the successor', () => parkedRequests(RED.httpNode as unknown as MiddlewareApp, '/system/zerobus') === 2);
        assert.deepEqual(answered, [], 'nothing answered while no receiver is there');
        sinkControl.holdClose = false;
        sinkControl.closing.splice(0).forEach((done) => done());
        await deploying;
        for (const res of await Promise.all(gap)) assert.equal(res.status, 200, res.body);
        assert.equal((receiverOf().diagnosticsSnapshot().limits as { maxEvents: number }).maxEvents, 9000, 'the successor served them');
        assert.equal((await post(`${server.url}${BATCH}`, JSON.stringify([ev(2)]))).status, 200);
      } finally {
        sinkControl.holdClose = false;
        sinkControl.closing.splice(0).forEach((done) => done());
        await server.close();
      }
    });

    it('holds a path a deploy is about to create: a request sent before its node exists gets that node\'s answer', async () => {
      const RED = await loadFlow(flowOf());
      const server = await listen(app(RED));
      try {
        const next = flowOf({ path: '/fresh', sinkMode: 'settle' });
        // what Node-RED emits once the old flows have stopped, before it answers the deploy request
        RED.events.emit('flows:stopped', { config: { flows: next }, type: 'full' });
        const early = post(`${server.url}/fresh/ingest/batch`, JSON.stringify([ev(1)]));
        await helper.setFlows(next, 'full');
        const res = await early;
        assert.equal(res.status, 200, res.body);
        // a path held for a node that never comes falls through once the flows have started
        RED.events.emit('flows:stopped', { config: { flows: [{ id: 'ghost', type: 'zerobus-ignition-in', path: '/ghost' }] } });
        const ghost = supertest(app(RED)).get('/ghost/health').then((r) => r);
        await waitFor('the request to wait on the reserved path', () => parkedRequests(RED.httpNode as unknown as MiddlewareApp, '/ghost') === 1);
        RED.events.emit('flows:started', {});
        assert.equal((await ghost).status, 404);
      } finally {
        await server.close();
      }
    });

    it('never answers 404 and leaves no request hanging while requests keep coming across redeploys', async () => {
      const RED = await loadFlow(flowOf());
      const server = await listen(app(RED));
      const statuses = new Map<number, number>();
      let running = true;
      let sent = 0;
      // each client sends one batch after another, like a gateway; a hanging request fails the test
      const client = async (c: number) => {
        while (running) {
          const res = await withTimeout(post(`${server.url}${BATCH}`, JSON.stringify([ev(c * 100_000 + sent++)])), 10_000);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 503) assert.equal(res.headers['retry-after'], '5', res.body);
        }
      };
      try {
        const clients = [1, 2, 3].map(client);
        for (let i = 1; i <= 4; i++) {
          sinkControl.holdClose = true;
          // receiver and sink both change, so that a 'nodes' deploy restarts them too
          const flow = flowOf({ maxEvents: 9000 + i }).map((n) => (n.id === 'sink' ? { ...n, name: `v${i}` } : n));
          const deploying = helper.setFlows(flow, i % 2 ? 'full' : 'nodes');
          // a close that takes a while somewhere in the flow widens the gap: requests wait in it
          await waitFor('the sink to close', () => sinkControl.closing.length > 0);
          await waitFor('a request caught in the gap', () => parkedRequests(RED.httpNode as unknown as MiddlewareApp, '/system/zerobus') > 0);
          sinkControl.holdClose = false;
          sinkControl.closing.splice(0).forEach((done) => done());
          await deploying;
          const served = statuses.get(200) ?? 0;
          await waitFor('a request served after the deploy', () => (statuses.get(200) ?? 0) > served);
        }
        running = false;
        await Promise.all(clients);
        // 503 only for requests caught inside a closing receiver (timing decides whether any are)
        assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 503), [], `statuses seen: ${JSON.stringify([...statuses])}`);
        assert.ok((statuses.get(200) ?? 0) > 0, 'requests got through');
      } finally {
        running = false;
        sinkControl.holdClose = false;
        sinkControl.closing.splice(0).forEach((done) => done());
        await server.close();
      }
    });

    it('frees the path once the deploy has started without a receiver on it (removed or moved)', async () => {
      const RED = await loadFlow(flowOf());
      const agent = supertest(app(RED));
      await helper.setFlows(flowOf({ path: '/moved' }), 'full');
      assert.equal((await agent.post(BATCH).send([ev(1)])).status, 404);
      assert.equal((await agent.post('/moved/ingest/batch').send([ev(1)])).status, 200);
      await helper.setFlows(flowOf().filter((n) => n.type !== 'zerobus-ignition-in'), 'nodes');
      assert.equal((await agent.post('/moved/ingest/batch').send([ev(1)])).status, 404);
      // and a new receiver (another id) can take a freed path
      await helper.setFlows([...flowOf({ path: '/moved' }).map((n) => (n.id === 'in' ? { ...n, id: 'in-new' } : n))], 'full');
      assert.equal((await agent.post('/moved/ingest/batch').send([ev(1)])).status, 200);
    });

    it('answers every pending request 503 when the flow stops', async () => {
      const RED = await loadFlow(flowOf({ sinkMode: 'manual', durableTimeout: 15_000 }));
      const server = await listen(app(RED));
      try {
        const pending = [1, 2, 3].map((i) => post(`${server.url}${BATCH}`, JSON.stringify([ev(i)])));
        await waitFor('the sink to hold three messages', () => sinkControl.held.length === 3);
        await helper.unload();
        const results = await Promise.all(pending);
        for (const r of results) assert.equal(r.status, 503);
      } finally {
        await server.close();
      }
    });

    it('refuses a second receiver on a taken path with a red status; the first keeps working', async () => {
      const flow = flowOf({ extra: [{ id: 'in2', z: 'tab', type: 'zerobus-ignition-in', path: '/system/zerobus/', wires: [['sink']] }] });
      const RED = await loadFlow(flow);
      const second = helper.getNode('in2');
      const status = second.status.args.map((a: unknown[]) => a[0]).find((s: { fill?: string }) => s.fill === 'red');
      assert.ok(status, 'red status expected');
      assert.match(status.text, /already in use/);
      assert.ok(second.error.called);
      await supertest(app(RED)).post(BATCH).send([ev(1)]).expect(200);
    });
  });

  describe('routes and Node-RED HTTP settings', () => {
    it('serves health with the version, 405 for wrong methods, 404 for unknown sub-paths', async () => {
      const RED = await loadFlow(flowOf());
      const agent = supertest(app(RED));
      const health = await agent.get('/system/zerobus/health').expect(200);
      assert.equal(health.body.version, PACKAGE_VERSION);
      assert.equal(health.body.live, true);
      const wrong = await agent.get(BATCH).expect(405);
      assert.equal(wrong.headers.allow, 'POST');
      await agent.post('/system/zerobus/health').expect(405);
      await agent.get('/system/zerobus/nope').expect(404);
      await agent.get('/system/zerobusx/health').expect(404);
    });

    it('applies httpNodeMiddleware and httpNodeCors like core http in', async () => {
      helper.settings({
        httpNodeMiddleware: (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => {
          if (req.headers['x-block']) {
            res.statusCode = 418;
            res.end();
            return;
          }
          res.setHeader('X-Seen', 'yes');
          next();
        },
        httpNodeCors: { origin: '*', methods: 'GET,POST' },
      });
      const RED = await loadFlow(flowOf());
      const agent = supertest(app(RED));
      const ok = await agent.post(BATCH).send([ev(1)]).expect(200);
      assert.equal(ok.headers['x-seen'], 'yes');
      assert.equal(ok.headers['access-control-allow-origin'], '*');
      await agent.post(BATCH).set('X-Block', '1').send([ev(2)]).expect(418);
      const pre = await agent.options(BATCH).set('Origin', 'http://x').set('Access-Control-Request-Method', 'POST').expect(204);
      assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
    });

    it('says so when httpNodeRoot is false', async () => {
      helper.settings({ httpNodeRoot: false });
      await loadFlow(flowOf());
      const node = helper.getNode('in');
      const status = node.status.args.map((a: unknown[]) => a[0]).find((s: { fill?: string }) => s.fill === 'red');
      assert.match(status.text, /httpNodeRoot/);
      assert.match(String(node.error.args[0][0]), /httpNodeRoot is false/);
    });
  });

  describe('bodies already parsed by the editor JSON parser (default Node-RED layout)', () => {
    it('uses the parsed body, applies its own limits, and says so in status, log and diagnostics', async () => {
      const RED = await loadFlow(flowOf({ maxEvents: 5, maxBodyBytes: 3000 }));
      // what Node-RED does with admin and node routes at the same root: the admin app's parser runs first
      const outer = express();
      outer.use(express.json({ limit: '5mb' }));
      outer.use(RED.httpNode as unknown as express.Express);
      const agent = supertest(outer);
      const emitted = nextMessage();
      const ok = await agent.post(BATCH).send([ev(1), ev(2)]).expect(200);
      assert.equal(ok.body.accepted, 2);
      assert.equal(((await emitted).payload as unknown[]).length, 2);
      await agent.post(BATCH).send(Array.from({ length: 6 }, (_, i) => ev(i + 10))).expect(413);
      const big = await agent.post(BATCH).send([ev(20, { value: 'v'.repeat(4000) })]).expect(413);
      assert.equal(big.body.error, 'payload_too_large');
      const perItem = await agent.post(BATCH).send([ev(30, { tagPath: 'p'.repeat(2000) })]);
      assert.equal(perItem.status, 200);
      assert.equal(perItem.body.rejected, 1);
      await agent.post(SINGLE).send([ev(40)]).expect(400);
      const diag = (await agent.get('/system/zerobus/diagnostics').expect(200)).body;
      assert.equal(diag.bodyPreParsed, true);
      assert.ok(diag.bodyPreParsedCount >= 3);
      assert.match(diag.bodyPreParsedExplanation, /httpAdminRoot/);
      assert.match(diag.bodyPreParsedExplanation, /apiMaxLength/);
      const node = helper.getNode('in');
      assert.equal(node.warn.args.filter((a: unknown[]) => /already parsed/.test(String(a[0]))).length, 1);
      await waitFor('the pre-parsed status', () => node.status.args.some((a: { text?: string }[]) => /pre-parsed/.test(a[0].text ?? '')));
    });
  });
});

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
