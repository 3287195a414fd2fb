import assert from 'node:assert/strict';
import * as net from 'net';
import type { MqttClient } from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { SparkplugHostConnection, type HostConnectionOptions } from '../../../lib/sparkplug';
import { nextMessage, plainClient, startBroker, waitFor, type TestBroker } from '../../fixtures/sparkplug/broker';

const STATE = 'spBv1.0/STATE/host-a';

/** Accepts one TCP connection, parses its CONNECT packet, then drops it. */
async function captureConnect(start: (url: string) => SparkplugHostConnection): Promise<mqttPacket.IConnectPacket> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const c = start(`mqtt://127.0.0.1:${port}`);
    const packet = await new Promise<mqttPacket.IConnectPacket>((resolve, reject) => {
      server.once('connection', (s) => {
        const parser = mqttPacket.parser({ protocolVersion: 5 });
        parser.on('packet', (p) => resolve(p as mqttPacket.IConnectPacket));
        parser.on('error', reject);
        s.on('data', (d) => parser.parse(d));
      });
      c.start();
    });
    await c.close();
    return packet;
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as { online: boolean; timestamp: number };

describe('SparkplugHostConnection (aedes + plain MQTT observer)', () => {
  let broker: TestBroker;
  let observer: MqttClient | undefined;
  const connections: SparkplugHostConnection[] = [];

  function host(extra: Partial<HostConnectionOptions> = {}): SparkplugHostConnection {
    const c = new SparkplugHostConnection({
      url: broker.url, clientId: `host-a-${connections.length}`, hostId: 'host-a', keepalive: 1,
      backoff: { initialMs: 50, maxMs: 200 }, closeTimeoutMs: 1000, ...extra,
    });
    connections.push(c);
    return c;
  }

  beforeEach(async () => {
    broker = await startBroker();
  });

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
    observer?.end(true);
    observer = undefined;
    await broker.close();
  });

  {
    it('publishes a retained QoS 1 online STATE with the session timestamp and subscribes', async () => {
      observer = await plainClient(broker.url);
      await observer.subscribeAsync('spBv1.0/STATE/#', { qos: 1 });
      const c = host();
      c.setFilters(['spBv1.0/G1/#']);
      const births = nextMessage(observer, (t, p) => t === STATE && json(p).online);
      const t0 = Date.now();
      c.start();
      const birth = await births;
      assert.equal(birth.packet.qos, 1);
      assert.ok(json(birth.payload).timestamp >= t0 - 5);
      await waitFor(() => c.state === 'online', 2000, 'online');
      // a late subscriber gets the retained birth
      const late = await plainClient(broker.url);
      const retained = nextMessage(late, (t) => t === STATE);
      await late.subscribeAsync(STATE, { qos: 1 });
      const r = await retained;
      assert.equal(r.packet.retain, true);
      assert.equal(json(r.payload).online, true);
      late.end(true);
      // and the subscription works
      const got = new Promise<string>((resolve) => c.once('message', (t) => resolve(t)));
      await observer.publishAsync('spBv1.0/G1/NDATA/e1', Buffer.from([1]));
      assert.equal(await got, 'spBv1.0/G1/NDATA/e1');
    });
  }

  it('CONNECT: clean session and the Will (MQTT 3.1.1), clean start + session expiry 0 (MQTT 5)', async () => {
    // aedes speaks MQTT 3.1.1 only: read the CONNECT packets ourselves
    for (const protocolVersion of [4, 5] as const) {
      const packet = await captureConnect((url) => host({ url, protocolVersion }));
      assert.equal(packet.protocolVersion, protocolVersion);
      assert.equal(packet.clean, true);
      assert.equal(packet.will?.topic, STATE);
      assert.equal(packet.will?.qos, 1);
      assert.equal(packet.will?.retain, true);
      assert.equal(json(packet.will?.payload as Buffer).online, false);
      if (protocolVersion === 5) assert.equal(packet.properties?.sessionExpiryInterval ?? 0, 0);
    }
  });

  it('the Will is the offline STATE with the same timestamp as the birth, retained', async () => {
    observer = await plainClient(broker.url);
    await observer.subscribeAsync(STATE, { qos: 1 });
    const c = host();
    const birthP = nextMessage(observer, (t, p) => t === STATE && json(p).online);
    c.start();
    const birth = json((await birthP).payload);
    await waitFor(() => c.state === 'online', 2000, 'online');
    // kill the host's socket abruptly: the broker delivers the Will
    const willP = nextMessage(observer, (t, p) => t === STATE && !json(p).online);
    const lost = new Promise<number>((resolve) => c.once('lost', resolve));
    (c as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    const will = await willP;
    assert.deepEqual(json(will.payload), { online: false, timestamp: birth.timestamp });
    assert.equal(will.packet.qos, 1);
    await lost;
    // it reconnects and is born again with a new timestamp
    const again = json((await nextMessage(observer, (t, p) => t === STATE && json(p).online)).payload);
    assert.ok(again.timestamp >= birth.timestamp);
  });

  it('republishes its birth when it sees its own STATE say offline while connected', async () => {
    observer = await plainClient(broker.url);
    await observer.subscribeAsync(STATE, { qos: 1 });
    const c = host();
    c.start();
    const first = json((await nextMessage(observer, (t, p) => t === STATE && json(p).online)).payload);
    await waitFor(() => c.state === 'online', 2000, 'online');
    const rebirth = nextMessage(observer, (t, p) => t === STATE && json(p).online);
    await observer.publishAsync(STATE, Buffer.from(JSON.stringify({ online: false, timestamp: first.timestamp - 10 })), { qos: 1, retain: true });
    assert.deepEqual(json((await rebirth).payload), first);
  });

  it('close publishes an offline STATE (retained) before disconnecting', async () => {
    observer = await plainClient(broker.url);
    await observer.subscribeAsync(STATE, { qos: 1 });
    const c = host();
    c.start();
    await waitFor(() => c.state === 'online', 2000, 'online');
    const offline = nextMessage(observer, (t, p) => t === STATE && !json(p).online);
    await c.close();
    assert.equal(json((await offline).payload).online, false);
    assert.equal(c.state, 'closed');
    const late = await plainClient(broker.url);
    const retained = nextMessage(late, (t) => t === STATE);
    await late.subscribeAsync(STATE, { qos: 1 });
    assert.equal(json((await retained).payload).online, false);
    late.end(true);
  });

  it('reconnects with backoff after a broker outage and is born again', async () => {
    const c = host();
    const states: string[] = [];
    c.on('status', (s) => states.push(s.state));
    let lost = 0;
    c.on('lost', () => lost++);
    c.start();
    await waitFor(() => c.state === 'online', 2000, 'online');
    const port = broker.port;
    await broker.close();
    await waitFor(() => lost === 1 && c.state === 'reconnecting', 3000, 'reconnecting');
    broker = await startBroker(port);
    observer = await plainClient(broker.url);
    await observer.subscribeAsync(STATE, { qos: 1 });
    await nextMessage(observer, (t, p) => t === STATE && json(p).online, 5000);
    await waitFor(() => c.state === 'online', 2000, 'online again');
    assert.ok(states.includes('reconnecting'));
  });

  it('waits twice as long after each failed attempt, up to the cap, without jitter', async () => {
    const port = broker.port;
    await broker.close();
    const c = host({ url: `mqtt://127.0.0.1:${port}`, backoff: { initialMs: 20, maxMs: 80 } });
    const delays: number[] = [];
    c.on('status', (s) => {
      if (s.retryInMs !== undefined) delays.push(s.retryInMs);
    });
    c.start();
    await waitFor(() => delays.length >= 5, 5000, 'five retries');
    assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 80, 80]);
    await c.close();
    broker = await startBroker();
  });

  it('close is bounded when the broker is unreachable and never throws', async () => {
    const port = broker.port;
    await broker.close();
    const c = host({ url: `mqtt://127.0.0.1:${port}` });
    c.start();
    await waitFor(() => c.state === 'reconnecting', 3000, 'reconnecting');
    assert.ok(c.currentStatus().error);
    await c.close();
    assert.equal(c.state, 'closed');
    broker = await startBroker();
    await assert.rejects(c.publish('x', Buffer.alloc(0)), /not connected/);
  });
});
