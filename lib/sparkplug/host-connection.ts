/**
 * The MQTT side of a Sparkplug 3.0 host application (chapter 5.4 / docs/DESIGN.md §12 A3): one
 * connection per broker config, with the host's STATE birth and Will, clean sessions, the
 * subscriptions its users ask for, reconnection with backoff, and a bounded clean close.
 *
 * Each connection attempt uses a fresh mqtt.js client (auto-reconnect off), so that every
 * CONNECT carries a Will with that attempt's own timestamp T, reused by the birth that follows.
 */
import { EventEmitter } from 'events';
import * as mqtt from 'mqtt';
import { Backoff, type BackoffOptions } from '../backoff';
import { coveringFilters, parseStatePayload, stateTopic, statePayload } from './topic';

export interface HostConnectionOptions {
  /** mqtt://, mqtts://, ws://, wss:// */
  url: string;
  clientId: string;
  /** Sparkplug host application id (the last level of its STATE topic) */
  hostId: string;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5 */
  protocolVersion?: 4 | 5;
  username?: string;
  password?: string;
  rejectUnauthorized?: boolean;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** seconds, default 30 */
  keepalive?: number;
  connectTimeoutMs?: number;
  /** reconnection delays: default 1 s doubling up to 30 s, without jitter (one connection per broker) */
  backoff?: Pick<BackoffOptions, 'initialMs' | 'maxMs' | 'multiplier'>;
  /** budget of close(): offline STATE + DISCONNECT, then the socket is destroyed (default 2000 ms) */
  closeTimeoutMs?: number;
  now?: () => number;
}

export type HostConnectionState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'closed';

export interface HostConnectionStatus {
  state: HostConnectionState;
  /** last failure, words only (no secrets) */
  error?: string;
  retryInMs?: number;
}

export interface HostConnectionEvents {
  status: [HostConnectionStatus];
  message: [topic: string, payload: Buffer, receivedAt: number];
  /** an established session ended: everything learnt through it is stale */
  lost: [at: number];
}

export class SparkplugHostConnection extends EventEmitter<HostConnectionEvents> {
  private client: mqtt.MqttClient | undefined;
  private status: HostConnectionStatus = { state: 'idle' };
  private filters = new Set<string>();
  private subscribed = new Set<string>();
  private sessionTimestamp = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** a connection was lost (or never made) and attempts have not succeeded since */
  private retrying = false;
  private readonly backoff: Backoff;
  private sessionUp = false;
  private closing = false;
  private readonly now: () => number;
  private readonly topic: string;

  constructor(private readonly opts: HostConnectionOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.topic = stateTopic(opts.hostId);
    const { initialMs = 1000, maxMs = 30_000, multiplier = 2 } = opts.backoff ?? {};
    this.backoff = new Backoff({ initialMs: Math.min(initialMs, maxMs), maxMs, multiplier, jitter: 0 });
  }

  get state(): HostConnectionState {
    return this.status.state;
  }

  currentStatus(): HostConnectionStatus {
    return { ...this.status };
  }

  /** Opens the connection (no-op when already started). */
  start(): void {
    if (this.closing || this.client || this.retryTimer) return;
    this.connect();
  }

  /** The set of topic filters to subscribe to (in addition to the host's own STATE topic). */
  setFilters(filters: Iterable<string>): void {
    this.filters = new Set(coveringFilters(filters));
    if (this.sessionUp) void this.syncSubscriptions().catch((err: Error) => this.fail(err));
  }

  /** Publishes (commands such as rebirth requests); rejects when not connected. */
  async publish(topic: string, payload: Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client || !this.sessionUp) throw new Error('not connected to the MQTT broker');
    await client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  /** Publishes the offline STATE, disconnects, and gives up on the socket after the budget. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    const budget = this.opts.closeTimeoutMs ?? 2000;
    if (client) {
      const wasUp = this.sessionUp;
      this.sessionUp = false;
      const graceful = (async () => {
        // a DISCONNECT suppresses the Will: say offline ourselves first (Sparkplug 3.0 §5.4)
        if (wasUp) await client.publishAsync(this.topic, statePayload(false, this.now()), { qos: 1, retain: true });
        await client.endAsync(false);
      })();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, budget);
      });
      await Promise.race([graceful.catch(() => undefined), timeout]);
      clearTimeout(timer);
      // (never removeAllListeners: mqtt.js cleans its own timers up in listeners of its own)
      client.end(true);
      this.client = undefined;
      if (wasUp) this.emit('lost', this.now());
    }
    this.setStatus({ state: 'closed' });
  }

  // ------------------------------------------------------------------------------------------

  private connect(): void {
    const o = this.opts;
    this.sessionTimestamp = this.now();
    this.setStatus({ state: this.retrying ? 'reconnecting' : 'connecting', error: this.status.error });
    const options: mqtt.IClientOptions = {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion ?? 4,
      clean: true, // Sparkplug 3.0: clean session / clean start with session expiry 0
      reconnectPeriod: 0,
      keepalive: o.keepalive ?? 30,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      will: {
        topic: this.topic,
        payload: statePayload(false, this.sessionTimestamp),
        qos: 1,
        retain: true,
      },
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    };
    if (o.protocolVersion === 5) options.properties = { sessionExpiryInterval: 0 };
    if (o.username) options.username = o.username;
    if (o.password) options.password = o.password;
    if (o.ca) options.ca = o.ca;
    if (o.cert) options.cert = o.cert;
    if (o.key) options.key = o.key;

    let client: mqtt.MqttClient;
    try {
      client = mqtt.connect(o.url, options);
    } catch (err) {
      this.fail(err as Error);
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    this.subscribed = new Set();
    client.on('connect', () => void this.online(client).catch((err: Error) => {
      this.fail(err);
      client.end(true);
    }));
    client.on('message', (topic, payload) => {
      if (client === this.client) this.onMessage(client, topic, payload);
    });
    client.on('error', (err) => {
      if (client === this.client) this.fail(err);
    });
    client.on('close', () => this.onClose(client));
  }

  private async online(client: mqtt.MqttClient): Promise<void> {
    this.retrying = false;
    this.backoff.reset();
    await client.subscribeAsync(this.topic, { qos: 1 });
    await this.syncSubscriptions();
    this.sessionUp = true;
    await this.publishBirth(client);
    this.setStatus({ state: 'online' });
  }

  private publishBirth(client: mqtt.MqttClient): Promise<unknown> {
    return client.publishAsync(this.topic, statePayload(true, this.sessionTimestamp), { qos: 1, retain: true });
  }

  private async syncSubscriptions(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const add = [...this.filters].filter((f) => !this.subscribed.has(f));
    const remove = [...this.subscribed].filter((f) => !this.filters.has(f));
    for (const f of add) this.subscribed.add(f);
    for (const f of remove) this.subscribed.delete(f);
    if (add.length) await client.subscribeAsync(add, { qos: 1 });
    if (remove.length) await client.unsubscribeAsync(remove);
  }

  private onMessage(client: mqtt.MqttClient, topic: string, payload: Buffer): void {
    const receivedAt = this.now();
    if (topic === this.topic) {
      // a stale Will (or an old session's retained death) says we are offline while we are not
      const state = parseStatePayload(payload);
      if (state && !state.online && this.sessionUp && client === this.client) {
        void this.publishBirth(client).catch((err: Error) => this.fail(err));
      }
    }
    this.emit('message', topic, payload, receivedAt);
  }

  private onClose(client: mqtt.MqttClient): void {
    if (client !== this.client) return;
    client.end(true);
    this.client = undefined;
    if (this.sessionUp) {
      this.sessionUp = false;
      this.emit('lost', this.now());
    }
    if (!this.closing) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff.next();
    this.retrying = true;
    this.setStatus({ state: 'reconnecting', error: this.status.error, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closing) this.connect();
    }, delay);
    this.retryTimer.unref?.();
  }

  private fail(err: Error): void {
    // mqtt.js errors carry no credentials; keep only the message
    this.status = { ...this.status, error: err.message };
  }

  private setStatus(s: HostConnectionStatus): void {
    this.status = s;
    this.emit('status', { ...s });
  }
}
