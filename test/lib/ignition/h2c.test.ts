import assert from 'node:assert/strict';
import { EventEmitter, once } from 'events';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Duplex } from 'stream';
import { offersH2c, serveH2cAsHttp1 } from '../../../lib/ignition';
import { h2cExchange } from '../../support/h2c-request';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

/**
 * An http server set up as Node-RED's runtime sets up its own: an 'upgrade' listener that
 * destroys a socket nothing wrote to once its watchdog fires (there `inboundWebSocketTimeout`,
 * 5 s; here the test fires it). Answers are held until the test releases them.
 */
async function nodeRedLikeServer() {
  const seen: Seen[] = [];
  const watchdog = new EventEmitter();
  const held: (() => void)[] = [];
  let holdAnswers = false;
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, bodyBytes });
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bodyBytes }));
      if (holdAnswers) held.push(answer);
      else answer();
    });
  });
  const destroyed: Duplex[] = [];
  server.on('upgrade', (_req: http.IncomingMessage, socket: Duplex & { bytesWritten: number }) => {
    socket.on('error', () => undefined);
    watchdog.once('fire', () => {
      if (socket.bytesWritten === 0) {
        destroyed.push(socket);
        socket.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen,
    held,
    destroyed,
    hold: (on: boolean) => (holdAnswers = on),
    fireWatchdog: () => watchdog.emit('fire'),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('h2c upgrade offers served as HTTP/1.1 (lib/ignition/h2c)', function () {
  this.timeout(10_000);
  let s: Awaited<ReturnType<typeof nodeRedLikeServer>>;
  beforeEach(async () => (s = await nodeRedLikeServer()));
  afterEach(() => s.close());

  it('serves a POST offering h2c as plain HTTP/1.1: full body, offer removed, connection kept for the next request', async () => {
    serveH2cAsHttp1(s.server, (req) => req.url!.startsWith('/ingest'));
    const big = 'x'.repeat(3 * 1024 * 1024);
    const answers = await h2cExchange(s.port, [
      { path: '/ingest/batch', body: big, headers: { 'Content-Type': 'application/json' } },
      { path: '/ingest/batch?x=1', body: '[1]', headers: { 'Content-Type': 'application/json' } },
    ]);
    assert.deepEqual(answers.map((a) => a.statuses), [[100, 200], [100, 200]]);
    assert.deepEqual(answers.map((a) => JSON.parse(a.body).bodyBytes), [big.length, 3]);
    assert.deepEqual(s.seen.map((r) => r.path), ['/ingest/batch', '/ingest/batch?x=1']);
    for (const r of s.seen) {
      assert.equal(r.headers.upgrade, undefined);
      assert.equal(r.headers['http2-settings'], undefined);
      assert.equal(r.headers.connection, undefined);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['user-agent'], 'Java-http-client/17.0.15');
    }
  });

  it('survives a watchdog that destroys silent upgrade sockets while the answer waits', async () => {
    serveH2cAsHttp1(s.server, () => true);
    s.hold(true);
    const exchange = h2cExchange(s.port, [{ path: '/ingest/batch', body: '[]' }]);
    while (s.held.length === 0) await once(s.server, 'request').then(() => new Promise((r) => setImmediate(r)));
    s.fireWatchdog();
    assert.equal(s.destroyed.length, 0);
    s.held.shift()!();
    const [answer] = await exchange;
    assert.deepEqual(answer.statuses, [100, 200]);
  });

  it('leaves alone what it does not want, WebSocket upgrades and requests without an offer', async () => {
    serveH2cAsHttp1(s.server, (req) => req.url!.startsWith('/ingest'));
    const elsewhere = h2cExchange(s.port, [{ path: '/other', body: '[]' }]);
    await once(s.server, 'upgrade');
    s.fireWatchdog();
    await assert.rejects(elsewhere, /closed after 0 of 1/);
    assert.equal(s.seen.length, 0);
    assert.equal(s.destroyed.length, 1);

    const req = (upgrade: string | undefined) => ({ headers: upgrade === undefined ? {} : { upgrade } }) as http.IncomingMessage;
    assert.equal(offersH2c(req('h2c')), true);
    assert.equal(offersH2c(req('H2C, foo/1')), true);
    assert.equal(offersH2c(req('websocket')), false);
    assert.equal(offersH2c(req('websocket, h2c')), false);
    assert.equal(offersH2c(req(undefined)), false);
  });

  it('stops when told to: the offer then goes to the upgrade listeners only', async () => {
    const stop = serveH2cAsHttp1(s.server, () => true);
    stop();
    const exchange = h2cExchange(s.port, [{ path: '/ingest/batch', body: '[]' }]);
    await once(s.server, 'upgrade');
    s.fireWatchdog();
    await assert.rejects(exchange, /closed after 0 of 1/);
    assert.equal(s.seen.length, 0);
  });
});
