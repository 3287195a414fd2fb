/**
 * An in-process aedes broker with a client that records every message on the given topics
 * (JSON parsed when it is JSON): acceptance flows report what their nodes emit through core
 * `mqtt out` nodes, and the tests read it here.
 */
import * as net from 'net';
import Aedes from 'aedes';
import * as mqtt from 'mqtt';

export interface WatchedBroker {
  url: string;
  /** topic → messages in arrival order */
  seen: Map<string, any[]>;
  stop(): Promise<void>;
}

export async function startWatchedBroker(clientId: string, topics: string[], qos: 0 | 1 = 0): Promise<WatchedBroker> {
  const aedes = new Aedes();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const seen = new Map<string, any[]>();
  const watcher = mqtt.connect(url, { clientId });
  watcher.on('message', (topic, payload) => {
    let v: unknown = payload.toString('utf8');
    try {
      v = JSON.parse(v as string);
    } catch {
      // not JSON: keep the text
    }
    if (!seen.has(topic)) seen.set(topic, []);
    seen.get(topic)!.push(v);
  });
  await new Promise<void>((resolve) => watcher.on('connect', () => resolve()));
  await watcher.subscribeAsync(topics, { qos });
  return {
    url,
    seen,
    stop: async () => {
      watcher.end(true);
      await new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve())));
    },
  };
}
