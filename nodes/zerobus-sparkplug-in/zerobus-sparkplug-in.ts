import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { TagEvent } from '../../lib/tags/event';
import {
  DEFAULT_MAX_STATE_BYTES, DEFAULT_TAG_PATH_TEMPLATE, SparkplugHost, groupFilter, isValidId,
  type HostConnectionStatus, type HostIssue, type HostResult, type RebirthAction,
} from '../../lib/sparkplug';
import { formatRate, pluralKey } from '../common/status';
import { NodeUpkeep } from '../common/upkeep';
import { translator } from '../common/i18n';
import { flag } from '../common/flag';
import { numberProperty, type NumberRule } from '../common/number-property';
import type { SparkplugBrokerNode, SparkplugBrokerUser } from '../zerobus-sparkplug-broker/broker-api';

interface SparkplugInDef extends NodeDef {
  broker?: string;
  group?: string;
  tagPathTemplate?: string;
  rebirth?: boolean | string;
  rebirthInterval?: string | number;
  reorderTimeout?: string | number;
  outputMode?: 'message' | 'event';
  includeTransient?: boolean | string;
  templateParameters?: boolean | string;
  maxEdgeNodes?: string | number;
  maxMetrics?: string | number;
  maxStateMB?: string | number;
}

/** Issues worth a log line at warn level; the others (gaps, late births) are routine for a host. */
const WARN_ISSUES = new Set(['LIMIT', 'NOT_SPARKPLUG']);

const MB = 1024 * 1024;
const NON_NEGATIVE: NumberRule = { min: 0 };
const POSITIVE: NumberRule = { above: 0 };

export default function (RED: NodeAPI): void {
  const t = translator(RED, 'zerobus-sparkplug-in');

  function SparkplugIn(this: Node, def: SparkplugInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const group = (def.group ?? '').trim() || '+';
    const outputMode = def.outputMode === 'event' ? 'event' : 'message';
    const upkeep = new NodeUpkeep(RED, node);
    const { status } = upkeep;
    const broker = def.broker ? (RED.nodes.getNode(def.broker) as SparkplugBrokerNode | null) : null;
    let connection: HostConnectionStatus | undefined;
    let messagesThisSecond = 0;
    let messagesTotal = 0;
    let rate = 0;
    let closed = false;

    let host: SparkplugHost;
    try {
      if (group !== '+' && !isValidId(group)) throw new Error(t('errors.group', { group }));
      host = new SparkplugHost({
        tagPathTemplate: (def.tagPathTemplate ?? '').trim() || DEFAULT_TAG_PATH_TEMPLATE,
        rebirthEnabled: flag(def.rebirth, true),
        rebirthMinIntervalMs: numberProperty(def.rebirthInterval, 5, NON_NEGATIVE) * 1000,
        reorderTimeoutMs: numberProperty(def.reorderTimeout, 0, NON_NEGATIVE),
        includeTransient: flag(def.includeTransient, false),
        templateParameters: flag(def.templateParameters, true),
        maxEdgeNodes: numberProperty(def.maxEdgeNodes, 10_000, POSITIVE),
        maxMetrics: numberProperty(def.maxMetrics, 1_000_000, POSITIVE),
        maxStateBytes: numberProperty(def.maxStateMB, DEFAULT_MAX_STATE_BYTES / MB, POSITIVE) * MB,
        onDeferredAction: (action, issue) => {
          logIssue(issue);
          dispatch([action]);
        },
      });
    } catch (err) {
      node.error((err as Error).message);
      status.now({ fill: 'red', shape: 'ring', text: t('status.invalid') });
      return;
    }

    function logIssue(issue: HostIssue): void {
      if (WARN_ISSUES.has(issue.code)) node.warn(issue.message);
      else node.debug(issue.message);
    }

    /** Rebirth requests: through the broker when there is one, else on the "commands" output. */
    function dispatch(actions: RebirthAction[]): void {
      for (const a of actions) {
        node.debug(t('log.rebirth', { node: `${a.group}/${a.edge}`, reason: a.reason }));
        if (broker) {
          broker.publish(a.topic, a.payload, { qos: 0, retain: false })
            .catch((err: Error) => node.warn(t('errors.publish', { topic: a.topic, reason: err.message })));
        } else {
          node.send([null, { topic: a.topic, payload: a.payload, qos: 0, retain: false, sparkplug: { command: 'rebirth', reason: a.reason } } as NodeMessage]);
        }
      }
    }

    function outputs(result: HostResult, topic: string, base: NodeMessage): NodeMessage[] {
      if (result.events.length === 0 || result.topic?.kind !== 'edge') return [];
      const sp = result.topic;
      const sparkplug: Record<string, unknown> = { group: sp.group, edge: sp.edge, messageType: sp.type };
      if (sp.device !== undefined) sparkplug.device = sp.device;
      if (result.issues.length) sparkplug.issues = result.issues;
      if (outputMode === 'message') return [Object.assign(base, { topic, payload: result.events, sparkplug })];
      return result.events.map((e: TagEvent, i: number) =>
        (i === 0 ? Object.assign(base, { topic, payload: e, sparkplug }) : { topic, payload: e, sparkplug: { ...sparkplug } }));
    }

    function emit(msgs: NodeMessage[], send: (m: (NodeMessage | NodeMessage[] | null)[]) => void): void {
      if (msgs.length === 1) send([msgs[0], null]);
      else if (msgs.length > 1) send([msgs, null]);
    }

    /** Runs one MQTT message through the host; returns the decode error, if any. */
    function process(topic: string, payload: Buffer, receivedAt: number, base: NodeMessage,
      send: (m: (NodeMessage | NodeMessage[] | null)[]) => void): Error | undefined {
      messagesThisSecond++;
      messagesTotal++;
      const result = host.handleMessage(topic, payload, receivedAt);
      for (const issue of result.issues) if (issue.code !== 'MALFORMED') logIssue(issue);
      emit(outputs(result, topic, base), send);
      dispatch(result.actions);
      showStatus();
      return result.error;
    }

    function showStatus(now = false): void {
      const s = host.stats();
      const counts = t('status.counts', {
        nodes: t(pluralKey('status.edgeNodes', s.edgeNodesOnline), { count: s.edgeNodesOnline }),
        devices: t(pluralKey('status.devices', s.devicesOnline), { count: s.devicesOnline }),
        rate: formatRate(rate),
      });
      let st: { fill: 'green' | 'yellow' | 'red' | 'grey' | 'blue'; shape: 'dot' | 'ring'; text: string };
      // first, so that a status cut to its length still shows it
      const limited = s.evicted + s.refused > 0 ? t('status.limited', { evicted: s.evicted, refused: s.refused }) : '';
      if (!broker) {
        st = { fill: 'blue', shape: 'dot', text: limited + t('status.noBroker', { counts }) };
      } else if (!connection || connection.state === 'idle' || connection.state === 'connecting') {
        st = { fill: 'yellow', shape: 'ring', text: t('status.connecting') };
      } else if (connection.state === 'online') {
        st = { fill: 'green', shape: 'dot', text: limited + counts };
      } else if (connection.state === 'reconnecting') {
        const secs = Math.ceil((connection.retryInMs ?? 0) / 1000);
        st = { fill: 'yellow', shape: 'ring', text: t('status.reconnecting', { secs, error: connection.error ?? '' }) };
      } else {
        st = { fill: 'red', shape: 'ring', text: connection.error ? t('status.failed', { error: connection.error }) : t('status.closed') };
      }
      if (now) status.now(st);
      else status.set(st);
      upkeep.live.publish({
        id: node.id, type: 'zerobus-sparkplug-in', name: node.name || 'sparkplug in',
        state: broker ? (connection?.state ?? 'idle') : 'decoding', eventsPerSec: rate, totalIn: messagesTotal,
        ...(connection?.error ? { lastError: connection.error } : {}),
        extra: { 'edge nodes online': s.edgeNodesOnline, 'devices online': s.devicesOnline, metrics: s.metrics },
      });
    }

    upkeep.every(1000, () => {
      rate = messagesThisSecond;
      messagesThisSecond = 0;
      showStatus();
    });

    const user: SparkplugBrokerUser = {
      id: node.id,
      filters: [groupFilter(group)],
      onMessage: (topic, payload, receivedAt) => {
        if (closed) return;
        const base: NodeMessage = {};
        const err = process(topic, payload, receivedAt, base, (m) => node.send(m));
        // no incoming msg to complete: report like a core node does, with the offending message
        if (err) node.error(err, { topic, payload } as NodeMessage);
      },
      onStatus: (s) => {
        connection = s;
        showStatus(true);
      },
      onLost: (at) => {
        if (closed) return;
        for (const { group: g, edge, events } of host.connectionLost(at)) {
          if (events.length === 0) continue;
          const topic = `spBv1.0/${g}/NDEATH/${edge}`;
          const sparkplug = { group: g, edge, messageType: 'NDEATH', reason: 'connection lost' };
          if (outputMode === 'message') node.send([{ topic, payload: events, sparkplug } as NodeMessage, null]);
          else node.send([events.map((e) => ({ topic, payload: e, sparkplug }) as NodeMessage), null]);
        }
        showStatus(true);
      },
    };

    if (def.broker && !broker) {
      status.now({ fill: 'red', shape: 'ring', text: t('status.missingBroker') });
    } else if (broker) {
      broker.register(user);
    } else {
      showStatus(true);
    }

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      const payload = msg.payload;
      if (!Buffer.isBuffer(payload) && !(payload instanceof Uint8Array)) {
        // core mqtt in parses STATE JSON into an object/string: that is not tag data
        if (topic.includes('/STATE/')) return done();
        return done(new Error(t('errors.payload', { topic })));
      }
      const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload as Uint8Array);
      const err = process(topic, bytes, Date.now(), msg, send);
      done(err);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      upkeep.quiet();
      host.close();
      upkeep.end();
      if (broker) broker.deregister(user).then(done, done);
      else done();
    });
  }

  RED.nodes.registerType('zerobus-sparkplug-in', SparkplugIn);
}
