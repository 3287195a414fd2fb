import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ZerobusClient } from '../../../lib/zerobus';
import { startFakeServer, type FakeServer } from './fake-server';

/** A minimal HTTP CONNECT proxy on loopback that records the tunnels it opened. */
async function connectProxy() {
  const tunnels: string[] = [];
  const auth: (string | undefined)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('data', (head) => {
      const text = head.toString('latin1');
      const target = /^CONNECT (\S+) /.exec(text)?.[1] ?? '';
      tunnels.push(target);
      auth.push(/proxy-authorization: (.*)\r\n/i.exec(text)?.[1]);
      const [host, port] = target.split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    auth,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('zerobus channel proxy support', () => {
  let server: FakeServer | undefined;
  let proxy: Awaited<ReturnType<typeof connectProxy>> | undefined;
  const clients: ZerobusClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.stop();
    await proxy?.close();
    server = proxy = undefined;
  });

  async function roundTrip(env: Record<string, string>) {
    const client = new ZerobusClient({ endpoint: server!.endpoint, auth: { type: 'token', token: 'tok' }, env });
    clients.push(client);
    const stream = client.createStream({ table: 'main.ot.t', recordType: 'json', backoff: { initialMs: 10 } });
    await stream.ingest(['{"id":1}', '{"id":2}']);
    await stream.close();
  }

  it('tunnels the gRPC stream through GRPC_PROXY/HTTPS_PROXY with HTTP CONNECT and proxy credentials', async () => {
    server = await startFakeServer();
    proxy = await connectProxy();
    const withCreds = proxy.url.replace('http://', 'http://user:p%40ss@');
    await roundTrip({ HTTPS_PROXY: withCreds });
    assert.deepEqual(proxy.tunnels, [new URL(server.endpoint).host]);
    assert.equal(proxy.auth[0], `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    assert.deepEqual(server.received.flatMap((r) => r.records), ['{"id":1}', '{"id":2}']);
  });

  it('connects directly when NO_PROXY matches the endpoint host', async () => {
    server = await startFakeServer();
    proxy = await connectProxy();
    await roundTrip({ grpc_proxy: proxy.url, NO_PROXY: 'example.com, 127.0.0.1' });
    assert.deepEqual(proxy.tunnels, []);
    assert.equal(server.received.length, 1);
  });
});

describe('zerobus channel TLS', () => {
  it('TLS is the default: a plaintext server behind a host:port endpoint fails as TLS with a hint', async () => {
    const server = await startFakeServer();
    const client = new ZerobusClient({ endpoint: new URL(server.endpoint).host, auth: { type: 'token', token: 'tok' } });
    try {
      await assert.rejects(client.testConnection('main.ot.t', { timeoutMs: 3000 }), (e: import('../../../lib/zerobus').ZerobusError) => {
        assert.equal(e.code, 'TLS', e.message);
        assert.match(e.hint, /http:\/\/ endpoint only for a local emulator/);
        return true;
      });
      assert.equal(server.received.length, 0);
    } finally {
      await client.close();
      await server.stop();
    }
  });
});

// the module object itself (an import namespace is read-only), to watch every TLS handshake
const tlsModule = require('node:tls') as typeof tls;

describe('zerobus channel TLS to an IP address', () => {
  const fixture = (name: string) => path.join(__dirname, '../../fixtures/tls', name);
  const tlsOf = (name: string) => ({ cert: fs.readFileSync(fixture(`${name}.crt`)), key: fs.readFileSync(fixture(`${name}.key`)) });
  let server: FakeServer | undefined;
  let client: ZerobusClient | undefined;
  afterEach(async () => {
    await client?.close();
    await server?.stop();
    server = client = undefined;
  });

  it('sends no IP as TLS ServerName (no DEP0123 warning), checks the certificate against the address, and streams', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    const servernames: unknown[] = [];
    const connect = tlsModule.connect;
    // every TLS handshake of this process goes through tls.connect: record the SNI it asks for
    (tlsModule as { connect: unknown }).connect = (...args: Parameters<typeof tls.connect>) => {
      if (typeof args[0] === 'object') servernames.push((args[0] as tls.ConnectionOptions).servername);
      return connect(...args);
    };
    process.on('warning', onWarning);
    try {
      server = await startFakeServer({}, { tls: tlsOf('ip-127.0.0.1') });
      assert.match(server.endpoint, /^https:\/\/127\.0\.0\.1:/);
      client = new ZerobusClient({ endpoint: server.endpoint, auth: { type: 'token', token: 'tok' }, env: { GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: fixture('ip-127.0.0.1.crt') } });
      const stream = client.createStream({ table: 'main.ot.t', recordType: 'json', backoff: { initialMs: 10 } });
      await stream.ingest(['{"id":1}']);
      await stream.close();
      assert.deepEqual(server.received.flatMap((r) => r.records), ['{"id":1}']);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
      (tlsModule as { connect: unknown }).connect = connect;
    }
    assert.ok(servernames.length > 0, 'the client made no TLS connection');
    assert.deepEqual(servernames.filter((s) => typeof s === 'string' && net.isIP(s) !== 0), [], 'an IP address was sent as SNI');
    assert.deepEqual(warnings.filter((w) => (w as { code?: string }).code === 'DEP0123').map(String), []);
  });

  it('refuses a certificate that does not name the address, or that nothing trusts', async () => {
    server = await startFakeServer({}, { tls: tlsOf('name-only') });
    for (const env of [{ GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: fixture('name-only.crt') }, {}]) {
      client = new ZerobusClient({ endpoint: server.endpoint, auth: { type: 'token', token: 'tok' }, env });
      await assert.rejects(client.testConnection('main.ot.t', { timeoutMs: 3000 }), (e: import('../../../lib/zerobus').ZerobusError) => {
        assert.equal(e.code, 'TLS', e.message);
        return true;
      });
      await client.close();
      client = undefined;
    }
    assert.equal(server.received.length, 0);
  });
});
