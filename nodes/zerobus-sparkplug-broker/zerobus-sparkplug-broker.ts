import type { NodeAPI, NodeDef } from 'node-red';
import {
  SparkplugHostConnection, topicMatches, type HostConnectionStatus,
} from '../../lib/sparkplug';
import { translator } from '../common/i18n';
import { numberProperty } from '../common/number-property';
import type { SparkplugBrokerNode, SparkplugBrokerUser } from './broker-api';
import { hostConnectionOptions, hostIdOf, type BrokerCredentials, type BrokerSettings } from './connection-options';

interface BrokerDef extends NodeDef, BrokerSettings {}

/** Optional settings.js entries (tests use short ones). */
interface BrokerRuntimeSettings {
  /** reconnect backoff, default 1 s doubling up to 30 s */
  zerobusSparkplugBrokerBackoff?: { initialMs?: number; maxMs?: number; multiplier?: number };
  /** budget for the offline STATE + DISCONNECT on close, default 2000 ms */
  zerobusSparkplugBrokerCloseTimeoutMs?: number;
}

/** Budget for the offline STATE + DISCONNECT at close when settings.js sets none. */
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

export default function (RED: NodeAPI): void {
  const t = translator(RED, 'zerobus-sparkplug-broker');

  function SparkplugBroker(this: SparkplugBrokerNode, def: BrokerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.hostId = hostIdOf(def);
    node.url = (def.url ?? '').trim();
    const users = new Map<string, SparkplugBrokerUser>();
    let connection: SparkplugHostConnection | undefined;
    let closing: Promise<void> | undefined;
    let status: HostConnectionStatus = { state: 'idle' };

    const fanStatus = (s: HostConnectionStatus) => {
      status = s;
      for (const u of users.values()) u.onStatus(s);
    };

    const filters = () => new Set([...users.values()].flatMap((u) => u.filters));

    function open(): void {
      const built = hostConnectionOptions(def, (node.credentials ?? {}) as BrokerCredentials);
      if (!built.ok) {
        fanStatus({ state: 'closed', error: t(`errors.${built.problem}`, { detail: built.detail ?? '' }) });
        return;
      }
      const settings = RED.settings as unknown as BrokerRuntimeSettings;
      const backoff = settings.zerobusSparkplugBrokerBackoff;
      const closeTimeoutMs = numberProperty(settings.zerobusSparkplugBrokerCloseTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, { above: 0 });
      connection = new SparkplugHostConnection({ ...built.options, backoff, closeTimeoutMs });
      connection.on('status', fanStatus);
      connection.on('message', (topic, payload, receivedAt) => {
        for (const u of users.values()) {
          if (u.filters.some((f) => topicMatches(f, topic))) {
            try {
              u.onMessage(topic, payload, receivedAt);
            } catch (err) {
              node.error(err);
            }
          }
        }
      });
      connection.on('lost', (at) => {
        for (const u of users.values()) u.onLost(at);
      });
      connection.setFilters(filters());
      connection.start();
    }

    async function shut(): Promise<void> {
      const c = connection;
      connection = undefined;
      if (!c) return;
      closing = c.close();
      await closing;
      closing = undefined;
    }

    node.register = (user) => {
      users.set(user.id, user);
      user.onStatus(status);
      if (!connection) {
        // a previous close may still be finishing its offline STATE: open after it
        if (closing) void closing.then(() => users.size > 0 && !connection && open());
        else open();
      } else {
        connection.setFilters(filters());
      }
    };

    node.deregister = async (user) => {
      users.delete(user.id);
      if (users.size === 0) await shut();
      else connection?.setFilters(filters());
    };

    node.publish = async (topic, payload, opts) => {
      if (!connection) throw new Error(t('errors.notConnected'));
      await connection.publish(topic, payload, opts);
    };

    node.connectionStatus = () => ({ ...status });

    node.on('close', (_removed: boolean, done: () => void) => {
      users.clear();
      shut().then(done, done);
    });
  }

  RED.nodes.registerType<SparkplugBrokerNode, BrokerDef, unknown, BrokerCredentials>('zerobus-sparkplug-broker', SparkplugBroker, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      ca: { type: 'password' },
      cert: { type: 'password' },
      key: { type: 'password' },
    },
  });
}
