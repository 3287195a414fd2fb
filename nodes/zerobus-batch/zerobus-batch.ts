/**
 * zerobus-batch ("tag batch"): Node-RED glue around lib/batching's TagBatcher.
 *
 * A buffering node: each input message's `done` is called when all of its events have left the
 * node (emitted in a batch or dropped on purpose by a filter), on `msg.reset`, and on close.
 * Batches are sent with node.send because one batch mixes events of many input messages and is
 * often sent from a timer, outside any input handler.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import { TagBatcher, type Batch, type BatcherStats } from '../../lib/batching';
import type { BatchSettingsView } from '../../lib/ignition/config-route';
import { deliveryTracker, TICKETS_PROPERTY, ticketsOf } from '../../lib/delivery/tickets';
import { handoverBoard, type HandoverTarget } from '../../lib/delivery/handover';
import { directHandoverTargets, handOverBatches } from '../common/handover';
import { pluralKey } from '../common/status';
import { NodeUpkeep } from '../common/upkeep';
import { NextInstanceHandover } from '../common/next-instance';
import { translator, type Translate } from '../common/i18n';
import { ReachableSinks } from '../common/flow-sinks';
import { settingsFromConfig, type BatchNodeConfig } from './config';

const TYPE = 'zerobus-batch';
/** status refresh when nothing else happens (timers emit, windows end) */
const STATUS_REFRESH_MS = 1000;

/** Batches held at a deploy or flows restart, for the node's next instance (not wired straight to a sink). */
const nextInstance = new NextInstanceHandover<Batch<Origin>>();

interface Origin {
  topic: unknown;
}

type BatchNodeDef = NodeDef & BatchNodeConfig;

export default function (RED: NodeAPI): void {
  const t: Translate = translator(RED, TYPE);

  function ZerobusBatchNode(this: Node, config: BatchNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const upkeep = new NodeUpkeep(RED, node);
    const { status } = upkeep;

    let batcher: TagBatcher<Origin> | undefined;
    let configError: Error | undefined;
    let statsIntervalMs = 0;
    const sinks = new ReachableSinks(RED, node);
    // blocked = every zerobus-out our wires reach refuses data (none reached: never blocked)
    const isBlocked = () => {
      const states = sinks.states();
      return states.length > 0 && states.every((s) => !s.accepting);
    };

    try {
      const settings = settingsFromConfig(config);
      statsIntervalMs = settings.statsIntervalMs;
      batcher = new TagBatcher<Origin>(
        { ...settings.options, isBlocked, tracker: deliveryTracker },
        { onBatch: (batch) => emit(batch), onError: (err) => node.error(err) },
      );
      // read by an upstream receiver's GET {path}/config
      (node as Node & { batchSettings?: BatchSettingsView }).batchSettings = batcher.settingsView();
    } catch (err) {
      configError = new Error(t('errors.config', { message: (err as Error).message }));
      node.error(configError.message);
      status.now({ fill: 'red', shape: 'ring', text: t('status.config') });
    }

    /** set while closing for a redeploy: batches go to the next instance instead of the wires */
    let stash: Batch<Origin>[] | undefined;
    // batches an earlier instance of this node left: sent once every node of the new flows exists
    const inherited = nextInstance.take(node.id);
    let inheritedSent = false;
    const sendInherited = () => {
      inheritedSent = true;
      if (inherited) for (const batch of inherited) emit(batch);
    };
    if (inherited) RED.events.once('flows:started', sendInherited);

    function emit(batch: Batch<Origin>): void {
      if (stash) {
        stash.push(batch);
        return;
      }
      const msg: NodeMessage & Record<string, unknown> = { payload: batch.events };
      if (batch.origin?.topic !== undefined) msg.topic = batch.origin.topic as string;
      msg.batch = { reason: batch.reason, count: batch.events.length };
      if (batch.tickets) msg[TICKETS_PROPERTY] = batch.tickets;
      node.send([msg, null]);
      showStatus();
    }

    /** Runs per message: the status is built only when the throttle shows it (≤ 2/s). */
    function showStatus(): void {
      if (batcher) status.set(statusView);
    }

    function statusView(): NodeStatus {
      const s = batcher!.stats();
      const count = s.buffered + s.held;
      if (s.blocked && s.buffered > 0) return { fill: 'yellow', shape: 'ring', text: t(pluralKey('status.blocked', count), { count }) };
      const held = count === 0 ? t('status.empty') : t(pluralKey('status.buffered', count), { count });
      // the share of events thinned out by debounce, deadband, repeats or compression
      const pct = s.filtered > 0 ? Math.round((100 * s.filtered) / Math.max(1, s.in)) : 0;
      const text = s.filtered > 0 ? t('status.withFiltered', { held, pct }) : held;
      return { fill: 'blue', shape: count === 0 ? 'ring' : 'dot', text };
    }

    let lastStats: { at: number; in: number; out: number } = { at: Date.now(), in: 0, out: 0 };
    function sendStats(): void {
      if (!batcher) return;
      const s: BatcherStats = batcher.stats();
      const now = Date.now();
      const seconds = Math.max(0.001, (now - lastStats.at) / 1000);
      const payload = {
        ...s,
        reductionPercent: s.filtered + s.out > 0 ? Math.round((10000 * s.filtered) / (s.filtered + s.out)) / 100 : 0,
        inPerSecond: Math.round(((s.in - lastStats.in) / seconds) * 10) / 10,
        outPerSecond: Math.round(((s.out - lastStats.out) / seconds) * 10) / 10,
      };
      lastStats = { at: now, in: s.in, out: s.out };
      node.send([null, { topic: 'stats', payload }]);
    }

    if (batcher && statsIntervalMs > 0) upkeep.every(statsIntervalMs, sendStats);
    if (batcher) upkeep.every(STATUS_REFRESH_MS, showStatus);
    showStatus();

    node.on('input', (msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
      if (!batcher) {
        done(configError);
        return;
      }
      const m = msg as NodeMessageInFlow & { reset?: unknown; flush?: unknown };
      if (m.reset === true) {
        // like core batch: the reset message itself is not batched; dropping was asked for,
        // so the tickets of everything dropped (its own included) are settled
        batcher.reset();
        deliveryTracker.settleAll(ticketsOf(msg));
        showStatus();
        done();
        return;
      }
      const payload = m.payload;
      const carriesEvents = payload !== null && typeof payload === 'object';
      // a flush trigger (e.g. an inject node's timestamp) needs no events
      if (!carriesEvents && m.flush !== true) {
        done(new Error(t('errors.payload')));
        return;
      }
      if (carriesEvents && closed) {
        // sent before the stop, delivered after this node closed (Node-RED delivers messages a
        // tick later): it goes where the held events went
        handOverLate(payload, ticketsOf(msg), done);
        return;
      }
      if (carriesEvents) {
        const result = batcher.push(payload, { tickets: ticketsOf(msg), onLeft: () => done(), origin: { topic: m.topic } });
        if (!result.accepted) {
          const text = result.reason === 'full' ? t('errors.full', { buffered: result.buffered, max: result.maxBuffered }) : t('errors.closed');
          done(new Error(text));
        }
      }
      if (m.flush === true) batcher.flush();
      if (!carriesEvents) done();
      showStatus();
    });

    let closed = false;
    const lateHandovers = new Set<Promise<void>>();
    function handOverLate(payload: object, tickets: ReturnType<typeof ticketsOf>, done: (err?: Error) => void): void {
      const targets = directHandoverTargets(node);
      if (targets.length === 0) {
        done(new Error(t('errors.closed')));
        return;
      }
      const events = Array.isArray(payload) ? payload : [payload];
      const work = handOverBatches([{ events, tickets }], targets).then((failed) => {
        if (failed.count > 0) done(new Error(t('warn.handoverFailed', { count: failed.count, reason: failed.reason })));
        else done();
      });
      lateHandovers.add(work);
      handoverBoard.track(work);
    }

    node.on('close', (removed: boolean, done: () => void) => {
      closed = true;
      upkeep.quiet();
      if (inherited) RED.events.removeListener('flows:started', sendInherited);
      const finish = () => {
        upkeep.end({});
        done();
      };
      const targets = batcher ? directHandoverTargets(node) : [];
      if (batcher && targets.length > 0) {
        // wired straight to zerobus-out: what is held goes into its spool now, whatever kind of
        // stop this is (a restart, a full deploy, this node removed): see lib/delivery/handover.ts
        stash = inherited && !inheritedSent ? [...inherited] : [];
        batcher.close(true);
        const work = handOverAtStop(stash, targets);
        handoverBoard.track(work);
        void work.finally(finish);
        return;
      }
      try {
        if (batcher && !removed) {
          // redeploy or restart: the next instance of this node sends what is held (nextInstance)
          // inherited batches not sent yet (closed again before the flows started) go on too
          stash = inherited && !inheritedSent ? [...inherited] : [];
          batcher.close(true);
          if (stash.length > 0) {
            const count = stash.reduce((n, b) => n + b.events.length, 0);
            nextInstance.leave(node.id, stash, RED.events, {
              lost: () => node.warn(t('warn.lostAtStop', { count })),
              // no instance came back: their tickets stay open, so durable senders resend
              abandoned: () => node.warn(t('warn.abandoned', { count })),
            });
          }
        } else if (batcher) {
          let canEmit = true;
          try {
            canEmit = !isBlocked();
          } catch {
            canEmit = true;
          }
          const { abandoned } = batcher.close(canEmit);
          if (abandoned > 0) node.warn(t('warn.abandoned', { count: abandoned }));
        }
      } finally {
        finish();
      }
    });

    /**
     * Hands the held batches over, then stays open for one more tick: Node-RED delivers a message
     * a tick after it was sent, so messages sent to this node before the stop arrive now (and are
     * handed over by the input handler). Node-RED removes the input handler once close is done.
     */
    async function handOverAtStop(held: Batch<Origin>[], targets: HandoverTarget[]): Promise<void> {
      if (held.length > 0) {
        const failed = await handOverBatches(held, targets);
        if (failed.count > 0) node.warn(t('warn.handoverFailed', { count: failed.count, reason: failed.reason }));
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.allSettled([...lateHandovers]);
    }
  }

  RED.nodes.registerType(TYPE, ZerobusBatchNode);
}
