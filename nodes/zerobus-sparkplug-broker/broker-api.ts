import type { Node } from 'node-red';
import type { HostConnectionStatus } from '../../lib/sparkplug';

/** A flow node that receives Sparkplug traffic through a zerobus-sparkplug-broker. */
export interface SparkplugBrokerUser {
  id: string;
  /** MQTT topic filters this user needs, e.g. `spBv1.0/+/#` */
  filters: string[];
  onMessage(topic: string, payload: Buffer, receivedAt: number): void;
  onStatus(status: HostConnectionStatus): void;
  /** the broker session ended (connection lost or closed): whatever it taught is stale */
  onLost(at: number): void;
}

/** What zerobus-sparkplug-in uses of its broker config node. */
export interface SparkplugBrokerNode extends Node {
  hostId: string;
  url: string;
  /** connects when the first user registers */
  register(user: SparkplugBrokerUser): void;
  /** disconnects (offline STATE first) when the last user leaves; resolves within the close budget */
  deregister(user: SparkplugBrokerUser): Promise<void>;
  publish(topic: string, payload: Buffer, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  connectionStatus(): HostConnectionStatus;
}
