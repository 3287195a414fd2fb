import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { OAuthTokenProvider, FixedTokenProvider } from '../../../lib/zerobus/auth';
import { ZerobusError } from '../../../lib/zerobus/errors';
import { bypassesProxy, grpcProxyFor, httpProxyFor } from '../../../lib/zerobus/proxy';

const SECRET = 's3cr3t-value-never-shown';

interface Seen { method?: string; url?: string; headers: http.IncomingHttpHeaders; form: URLSearchParams }

/** A token endpoint on loopback whose answer each test scripts. */
async function tokenServer(answer: (n: number) => { status: number; body: string; delayMs?: number }) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, form: new URLSearchParams(body) });
      const a = answer(seen.length);
      const send = () => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body);
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const ok = (token: string, expiresIn = 3600) => ({ status: 200, body: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn }) });

function provider(url: string, extra: Partial<ConstructorParameters<typeof OAuthTokenProvider>[0]> = {}) {
  return new OAuthTokenProvider({ workspaceUrl: url, clientId: 'my-client', clientSecret: SECRET, workspaceId: '1234', env: {}, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<ZerobusError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ZerobusError);
    assert.ok(!err.message.includes(SECRET) && !err.hint.includes(SECRET), 'secret leaked into the error');
    return err;
  }
  assert.fail('expected a rejection');
}

describe('zerobus OAuth token provider', () => {
  let srv: Awaited<ReturnType<typeof tokenServer>> | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('posts the M2M form with Basic auth and table-scoped authorization details', async () => {
    srv = await tokenServer(() => ok('tok-1'));
    const token = await provider(srv.url).getToken('main.ot.tag_events');
    assert.equal(token, 'tok-1');
    const s = srv.seen[0];
    assert.equal(s.method, 'POST');
    assert.equal(s.url, '/oidc/v1/token');
    assert.equal(s.headers.authorization, `Basic ${Buffer.from(`my-client:${SECRET}`).toString('base64')}`);
    assert.equal(s.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(s.form.get('grant_type'), 'client_credentials');
    assert.equal(s.form.get('scope'), 'all-apis');
    assert.equal(s.form.get('resource'), 'api://databricks/workspaces/1234/zerobusDirectWriteApi');
    const details = JSON.parse(s.form.get('authorization_details')!);
    assert.deepEqual(details, [
      { type: 'unity_catalog_privileges', privileges: ['USE CATALOG'], object_type: 'CATALOG', object_full_path: 'main' },
      { type: 'unity_catalog_privileges', privileges: ['USE SCHEMA'], object_type: 'SCHEMA', object_full_path: 'main.ot' },
      { type: 'unity_catalog_privileges', privileges: ['SELECT', 'MODIFY'], object_type: 'TABLE', object_full_path: 'main.ot.tag_events', operations: ['zerobuswrite'] },
    ]);
  });

  it('caches one token per table, refreshes at 80% of its life, and fetches fresh on demand', async () => {
    let n = 0;
    srv = await tokenServer(() => ok(`tok-${++n}`, 100));
    let now = 1_000_000;
    const p = provider(srv.url, { now: () => now });
    const [a, b] = await Promise.all([p.getToken('c.s.t1'), p.getToken('c.s.t1')]);
    assert.equal(a, 'tok-1');
    assert.equal(b, 'tok-1', 'concurrent callers share one request');
    assert.equal(await p.getToken('c.s.t2'), 'tok-2', 'another table gets its own token');
    now += 79_000;
    assert.equal(await p.getToken('c.s.t1'), 'tok-1');
    now += 2_000;
    assert.equal(await p.getToken('c.s.t1'), 'tok-3', 'refreshed after 80% of expires_in');
    assert.equal(await p.getToken('c.s.t1', { fresh: true }), 'tok-4');
    p.invalidate('c.s.t1');
    assert.equal(await p.getToken('c.s.t1'), 'tok-5');
    assert.equal(srv.seen.length, 5);
  });

  it('401 is a final TOKEN_REJECTED about the client id/secret, without the secret', async () => {
    srv = await tokenServer(() => ({ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: `bad ${SECRET}` }) }));
    const err = await rejection(provider(srv.url).getToken('main.ot.t'));
    assert.equal(err.code, 'TOKEN_REJECTED');
    assert.equal(err.retryable, false);
    assert.match(err.message, /401/);
    assert.match(err.message, /invalid_client/);
    assert.match(err.hint, /client id or secret/);
  });

  it('403/400 are final and point at grants or the table name; 404 at the workspace URL', async () => {
    let status = 403;
    srv = await tokenServer(() => ({ status, body: '{}' }));
    const e403 = await rejection(provider(srv.url).getToken('main.ot.t'));
    assert.equal(e403.code, 'TOKEN_REJECTED');
    assert.match(e403.hint, /MODIFY/);
    status = 400;
    assert.match((await rejection(provider(srv.url).getToken('main.ot.t'))).hint, /grant/);
    status = 404;
    assert.match((await rejection(provider(srv.url).getToken('main.ot.t'))).hint, /workspace URL/);
  });

  it('5xx, 429, timeouts and refused connections are retryable TOKEN_UNAVAILABLE', async () => {
    let status = 503;
    srv = await tokenServer(() => ({ status, body: 'busy' }));
    for (const s of [500, 503, 429]) {
      status = s;
      const err = await rejection(provider(srv.url).getToken('main.ot.t'));
      assert.equal(err.code, 'TOKEN_UNAVAILABLE', `status ${s}`);
      assert.equal(err.retryable, true);
    }
    await srv.close();
    srv = await tokenServer(() => ({ ...ok('late'), delayMs: 500 }));
    const slow = await rejection(provider(srv.url, { timeoutMs: 50 }).getToken('main.ot.t'));
    assert.equal(slow.code, 'TOKEN_UNAVAILABLE');
    assert.match(slow.message, /did not answer/);
    const down = await rejection(provider('http://127.0.0.1:1').getToken('main.ot.t'));
    assert.equal(down.code, 'TOKEN_UNAVAILABLE');
    assert.equal(down.retryable, true);
  });

  it('a 200 without access_token is final', async () => {
    srv = await tokenServer(() => ({ status: 200, body: '<html>login</html>' }));
    assert.equal((await rejection(provider(srv.url).getToken('main.ot.t'))).code, 'TOKEN_REJECTED');
  });

  it('rejects bad configuration before any request', () => {
    assert.throws(() => provider('http://x', { clientSecret: '' }), /secret is empty/);
    assert.throws(() => provider('', {}), /workspace URL is required/);
    assert.throws(() => new FixedTokenProvider(' '), /token is empty/);
  });

  it('goes through an HTTP CONNECT proxy from HTTP_PROXY unless NO_PROXY matches', async () => {
    srv = await tokenServer(() => ok('via-proxy'));
    const connects: string[] = [];
    const proxy = net.createServer();
    const sockets = new Set<net.Socket>();
    proxy.on('connection', (client) => {
      sockets.add(client);
      client.once('data', (head) => {
        const target = /^CONNECT (\S+) /.exec(head.toString())?.[1] ?? '';
        connects.push(target);
        const [host, port] = target.split(':');
        const upstream = net.connect(Number(port), host, () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          client.pipe(upstream).pipe(client);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const via = provider(srv.url, { env: { HTTP_PROXY: proxyUrl } });
      assert.equal(await via.getToken('main.ot.t'), 'via-proxy');
      assert.deepEqual(connects, [new URL(srv.url).host]);
      const bypass = provider(srv.url, { env: { HTTP_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1' } });
      await bypass.getToken('main.ot.t');
      assert.equal(connects.length, 1, 'NO_PROXY host went direct');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('zerobus proxy selection', () => {
  it('matches NO_PROXY like the official SDK', () => {
    assert.equal(bypassesProxy('a.example.com', 'example.com'), true);
    assert.equal(bypassesProxy('example.com', '.example.com'), true);
    assert.equal(bypassesProxy('notexample.com', 'example.com'), false);
    assert.equal(bypassesProxy('anything', ' * '), true);
    assert.equal(bypassesProxy('x.y', ' foo , x.y '), true);
    assert.equal(bypassesProxy('x.y', ''), false);
  });

  it('uses the first non-empty variable in the official order for gRPC', () => {
    assert.equal(grpcProxyFor('h', { grpc_proxy: '', GRPC_PROXY: 'http://g:1', https_proxy: 'http://s:2' })?.url.host, 'g:1');
    assert.equal(grpcProxyFor('h', { HTTPS_PROXY: 'http://s:2', http_proxy: 'http://p:3' })?.url.host, 's:2');
    assert.equal(grpcProxyFor('h', { HTTP_PROXY: 'p:3' })?.url.host, 'p:3');
    assert.equal(grpcProxyFor('h.corp', { HTTP_PROXY: 'p:3', no_proxy: '', NO_PROXY: 'corp' }), undefined);
    assert.equal(grpcProxyFor('h.corp', { HTTP_PROXY: 'p:3', no_grpc_proxy: 'other', NO_PROXY: 'corp' })?.url.host, 'p:3');
    assert.equal(grpcProxyFor('h', {}), undefined);
    assert.deepEqual(grpcProxyFor('h', { HTTPS_PROXY: 'http://u%40x:p%3Aw@s:2' })?.credentials, 'u@x:p:w');
  });

  it('picks the scheme-specific variable for the token request', () => {
    assert.equal(httpProxyFor(new URL('https://ws'), { HTTPS_PROXY: 'http://s:1', HTTP_PROXY: 'http://p:2' })?.url.host, 's:1');
    assert.equal(httpProxyFor(new URL('http://ws'), { HTTPS_PROXY: 'http://s:1', HTTP_PROXY: 'http://p:2' })?.url.host, 'p:2');
    assert.equal(httpProxyFor(new URL('https://ws.example.com'), { HTTPS_PROXY: 'http://s:1', NO_PROXY: 'example.com' }), undefined);
  });
});
