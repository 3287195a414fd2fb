import * as path from 'path';
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { sinkRegistry, type SinkSettingsView } from '../../lib/delivery/sinks';
import { TICKETS_PROPERTY } from '../../lib/delivery/tickets';
import {
  assessReadiness,
  deployHandover,
  IgnitionReceiver,
  type BatchSettingsView,
  type IngestBatch,
  type MiddlewareApp,
  type ReceiverPath,
} from '../../lib/ignition';
import { PACKAGE_VERSION } from '../../lib/paths';
import { formatRate } from '../common/status';
import { NodeUpkeep } from '../common/upkeep';
import { reachableWithoutAuth, unresolvedReference } from './exposure';
import { translator } from '../common/i18n';
import { ReachableSinks } from '../common/flow-sinks';
import { routeMiddleware, serveH2cOnReceiverRoutes } from './http-setup';
import { safeFileName, spoolRootFor, type ZerobusOutRuntimeSettings } from '../zerobus-out/settings';
import { resolveSettings, type IgnitionInDef, type IgnitionInRuntimeSettings, type IgnitionInSettings } from './settings';

const TYPE = 'zerobus-ignition-in';
/** Status refresh while idle (rate decays to 0, readiness changes show). */
const STATUS_REFRESH_MS = 2000;

interface IgnitionInNode extends Node {
  receiver?: IgnitionReceiver;
}

export default function (RED: NodeAPI): void {
  const t = translator(RED, TYPE);
  const runtimeSettings = RED.settings as unknown as IgnitionInRuntimeSettings;
  const routeOf = (settings: IgnitionInSettings): ReceiverPath => ({
    path: settings.path,
    retryAfterSeconds: settings.retryAfterSeconds,
    middleware: routeMiddleware(runtimeSettings),
  });
  // paths change hands across deploys without a 404 (docs/DESIGN.md §4.3)
  const handover = deployHandover(RED.events, {
    app: runtimeSettings.httpNodeRoot === false ? undefined : (RED.httpNode as unknown as MiddlewareApp | undefined),
    type: TYPE,
    resolve: (def) => {
      const settings = resolveSettings(def as unknown as IgnitionInDef, runtimeSettings);
      return settings.pathError === undefined ? routeOf(settings) : undefined;
    },
  });
  serveH2cOnReceiverRoutes(RED, t);

  function ZerobusIgnitionIn(this: IgnitionInNode, def: IgnitionInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = RED.settings as unknown as IgnitionInRuntimeSettings;
    const settings = resolveSettings(def, runtime);
    const credentials = (node.credentials ?? {}) as { apiKey?: string };
    const upkeep = new NodeUpkeep(RED, node);
    const { status } = upkeep;
    const shownPath = settings.path || '/';

    if (runtime.httpNodeRoot === false) {
      status.now({ fill: 'red', shape: 'ring', text: t('status.noHttp') });
      node.error(t('errors.noHttp'));
      node.on('close', (_removed: boolean, done: () => void) => {
        upkeep.end();
        done();
      });
      return;
    }
    if (settings.pathError !== undefined) {
      status.now({ fill: 'red', shape: 'ring', text: t('status.badPath') });
      node.error(t('errors.badPath', { path: settings.pathError }));
      node.on('close', (_removed: boolean, done: () => void) => {
        upkeep.end();
        done();
      });
      return;
    }

    const sinks = new ReachableSinks(RED, node);
    const readinessNow = () => assessReadiness(settings.ack, sinks.states(), sinkRegistry.all());
    let preParsedNoticed = false;
    const apiKey = credentials.apiKey || undefined;
    const keyReference = unresolvedReference(apiKey);
    const configError = keyReference === undefined ? undefined : t('errors.unresolvedApiKey', { ref: keyReference });
    if (configError !== undefined) node.error(configError);
    else if (!apiKey && reachableWithoutAuth(runtime)) node.warn(t('errors.openToNetwork', { path: shownPath }));
    const receiver = new IgnitionReceiver({
      path: settings.path,
      ack: settings.ack,
      maxBodyBytes: settings.maxBodyBytes,
      maxEvents: settings.maxEvents,
      durableTimeoutMs: settings.durableTimeoutMs,
      bodyTimeoutMs: settings.bodyTimeoutMs,
      maxConcurrentBodies: settings.maxConcurrentBodies,
      apiKey,
      configError,
      dedupCapacity: settings.dedupCapacity,
      dedupFile: dedupFileFor(RED.settings as unknown as ZerobusOutRuntimeSettings, node.id),
      onDedupSaveError: (err) => node.warn(t('errors.dedupSave', { reason: err.message })),
      retryAfterSeconds: settings.retryAfterSeconds,
      version: PACKAGE_VERSION,
      readiness: readinessNow,
      sinksAtStart: sinkRegistry.all(),
      downstream: () => ({
        sinks: readinessNow().sinks.map((st) => sinkRegistry.settingsOf(st.id)).filter((v): v is SinkSettingsView => v !== undefined),
        batches: sinks
          .nodesOfType('zerobus-batch')
          .map((n) => (n as Node & { batchSettings?: BatchSettingsView }).batchSettings)
          .filter((v): v is BatchSettingsView => v !== undefined),
      }),
      emit: (batch) => node.send(toMessage(batch, shownPath)),
      onResponse: (_status, info) => {
        if (info.preParsed && !preParsedNoticed) {
          preParsedNoticed = true;
          node.warn(t('errors.preParsed', { path: shownPath }));
        }
        refreshStatus();
      },
    });
    node.receiver = receiver;

    const route = handover.claim(RED.httpNode as unknown as MiddlewareApp, {
      ...routeOf(settings),
      owner: node.id,
      handler: (req, res, next, subPath) => {
        if (!receiver.handle(req, res, subPath)) next();
      },
      onOpen: () => {
        // every request would wait durableTimeout and get 503, and the gateway resend for ever
        if (settings.ack === 'durable' && sinks.leadsNowhere()) node.warn(t('errors.leadsNowhere', { path: shownPath }));
      },
    });
    const { claim } = route;
    if (!claim.ok) {
      const holder = RED.nodes.getNode(claim.owner);
      status.now({ fill: 'red', shape: 'ring', text: t('status.pathTaken', { path: shownPath }) });
      node.error(t('errors.pathTaken', { path: shownPath, owner: holder?.name || claim.owner }));
    }

    // rate shown in the status: events per second over the last refresh period
    let lastCount = 0;
    let lastAt = Date.now();
    let rate = 0;
    function refreshStatus(): void {
      if (!claim.ok) return;
      const c = receiver.counters;
      const now = Date.now();
      if (now - lastAt >= 1000) {
        rate = ((c.totalEventsReceived - lastCount) * 1000) / (now - lastAt);
        lastCount = c.totalEventsReceived;
        lastAt = now;
      }
      // built only when shown (≤ 2/s): this runs after every answered request
      status.set(() => statusView(rate));
      upkeep.live.publish(() => {
        const readiness = readinessNow();
        return {
          id: node.id,
          type: TYPE,
          name: node.name || shownPath,
          state: readiness.ready ? 'listening' : 'not ready',
          eventsPerSec: rate,
          totalIn: c.totalEventsReceived,
          inFlight: c.eventsAwaitingSpool,
          lastError: c.lastRefusal ? `${c.lastRefusal.status}: ${c.lastRefusal.message}` : undefined,
          extra: { received: c.totalEventsReceived, sent: receiver.acknowledged.total, spooled: c.totalEventsSpooled, rejected: c.rejected, duplicates: c.duplicatesDropped },
        };
      });
    }
    function statusView(perSecond: number): NodeStatus {
      const c = receiver.counters;
      const readiness = readinessNow();
      if (configError !== undefined) return { fill: 'red', shape: 'ring', text: t('status.misconfigured') };
      const suffix = c.bodyPreParsed > 0 ? t('status.preParsedSuffix') : '';
      if (!readiness.ready) return { fill: 'yellow', shape: 'ring', text: t('status.notReady', { path: shownPath }) + suffix };
      if (c.totalEventsReceived === 0) return { fill: 'green', shape: 'dot', text: t('status.listening', { path: shownPath }) + suffix };
      const waiting = c.eventsAwaitingSpool > 0 ? t('status.waiting', { count: c.eventsAwaitingSpool }) : '';
      return { fill: 'green', shape: 'dot', text: t('status.receiving', { rate: formatRate(perSecond), path: shownPath }) + waiting + suffix };
    }
    refreshStatus();
    upkeep.every(STATUS_REFRESH_MS, () => {
      // requests count acknowledgements as they come; this also does while none come, so
      // that a sink redeployed meanwhile loses few of its acknowledgements from the count
      receiver.acknowledged.observe(readinessNow().sinks);
      refreshStatus();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      upkeep.quiet();
      // first, so that a redeployed node can claim the path; then answer what waits
      route.close();
      receiver.close();
      upkeep.end({});
      done();
    });
  }

  /**
   * Beside the spool folders, so that resends across a restart or a full deploy stay duplicates.
   * Only with a user dir (or a spool root) of this Node-RED: a shared temp folder would let
   * another instance with the same node ids drop events as duplicates.
   */
  function dedupFileFor(runtime: ZerobusOutRuntimeSettings, id: string): string | undefined {
    if (!runtime.userDir && !runtime.zerobusOutSpoolDir) return undefined;
    return path.join(spoolRootFor(runtime), 'ignition-dedup', `${safeFileName(id)}.window`);
  }

  RED.nodes.registerType(TYPE, ZerobusIgnitionIn as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: { apiKey: { type: 'password' } },
  });
}

function toMessage(batch: IngestBatch, path: string): NodeMessage {
  const msg: NodeMessage & Record<string, unknown> = {
    payload: batch.events,
    topic: `${path === '/' ? '' : path}${batch.route === 'batch' ? '/ingest/batch' : '/ingest'}`,
    ignition: {
      route: batch.route,
      received: batch.result.received,
      accepted: batch.result.accepted,
      rejected: batch.result.rejected,
      duplicates: batch.result.duplicates,
      remoteAddress: batch.remoteAddress,
    },
  };
  if (batch.tickets) msg[TICKETS_PROPERTY] = batch.tickets;
  return msg;
}
