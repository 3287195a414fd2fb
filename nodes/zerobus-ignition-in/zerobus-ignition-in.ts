import * as path from 'path';
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { sinkRegistry } from '../../lib/delivery/sinks';
import { TICKETS_PROPERTY } from '../../lib/delivery/tickets';
import {
  assessReadiness,
  claimRoute,
  IgnitionReceiver,
  isReceiverRoute,
  REDEPLOY_HOLD_MS,
  reserveRoute,
  ROUTE_PARK_MS,
  vacantRouteHandler,
  type Claim,
  type IngestBatch,
  type MiddlewareApp,
  type VacancyHold,
} from '../../lib/ignition';
import { PACKAGE_VERSION } from '../../lib/paths';
import { LiveStats } from '../shared/live-stats';
import { formatRate, StatusThrottle } from '../shared/status';
import { translator } from '../shared/i18n';
import { ReachableSinks } from '../shared/flow-sinks';
import { routeMiddleware } from './http-setup';
import { safeFileName, spoolRootFor, type ZerobusOutRuntimeSettings } from '../zerobus-out/settings';
import { resolveSettings, type IgnitionInDef, type IgnitionInRuntimeSettings } from './settings';

const TYPE = 'zerobus-ignition-in';
/** Status refresh while idle (rate decays to 0, readiness changes show). */
const STATUS_REFRESH_MS = 2000;

interface IgnitionInNode extends Node {
  receiver?: IgnitionReceiver;
}

/** Requests wait for their receiver at most ROUTE_PARK_MS while it is (re)deployed. */
const PARKING = { parks: isReceiverRoute, maxMs: ROUTE_PARK_MS };

/** The latest RED of this module per runtime (its events emitter), for the deploy listener. */
const runtimes = new WeakMap<object, NodeAPI>();

export default function (RED: NodeAPI): void {
  const t = translator(RED, TYPE);
  const events = RED.events as unknown as object;
  if (!runtimes.has(events)) {
    // 'flows:stopped' carries the new config of a deploy and comes before Node-RED answers it;
    // 'flows:starting' covers the first start, which no stop precedes
    const reserve = (e: { config?: { flows?: unknown[] } }) => reserveStartingPaths(runtimes.get(events)!, e);
    RED.events.on('flows:stopped', reserve);
    RED.events.on('flows:starting', reserve);
  }
  runtimes.set(events, RED);

  function ZerobusIgnitionIn(this: IgnitionInNode, def: IgnitionInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = RED.settings as unknown as IgnitionInRuntimeSettings;
    const settings = resolveSettings(def, runtime);
    const credentials = (node.credentials ?? {}) as { apiKey?: string };
    const status = new StatusThrottle(node);
    const live = new LiveStats(RED, node);
    const shownPath = settings.path || '/';

    if (runtime.httpNodeRoot === false) {
      status.now({ fill: 'red', shape: 'ring', text: t('status.noHttp') });
      node.error(t('errors.noHttp'));
      node.on('close', (_removed: boolean, done: () => void) => {
        status.close();
        done();
      });
      return;
    }
    if (settings.pathError !== undefined) {
      status.now({ fill: 'red', shape: 'ring', text: t('status.badPath') });
      node.error(t('errors.badPath', { path: settings.pathError }));
      node.on('close', (_removed: boolean, done: () => void) => {
        status.close();
        done();
      });
      return;
    }

    const sinks = new ReachableSinks(RED, node);
    const readinessNow = () => assessReadiness(settings.ack, sinks.states(), sinkRegistry.all());
    let preParsedNoticed = false;
    const receiver = new IgnitionReceiver({
      path: settings.path,
      ack: settings.ack,
      maxBodyBytes: settings.maxBodyBytes,
      maxEvents: settings.maxEvents,
      durableTimeoutMs: settings.durableTimeoutMs,
      apiKey: credentials.apiKey || undefined,
      dedupCapacity: settings.dedupCapacity,
      dedupFile: dedupFileFor(RED.settings as unknown as ZerobusOutRuntimeSettings, node.id),
      onDedupSaveError: (err) => node.warn(t('errors.dedupSave', { reason: err.message })),
      retryAfterSeconds: settings.retryAfterSeconds,
      version: PACKAGE_VERSION,
      readiness: readinessNow,
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

    const app = RED.httpNode as unknown as MiddlewareApp;
    // Requests wait (briefly) until every node of the deploy exists, so the zerobus-out behind
    // this receiver is there to make them durable: open once the flows have started.
    const claim: Claim = claimRoute(app, settings.path, node.id, (req, res, next, subPath) => {
      if (!receiver.handle(req, res, subPath)) next();
    }, routeMiddleware(runtime), { parking: PARKING });
    const open = () => {
      clearTimeout(openTimer);
      RED.events.removeListener('flows:started', open);
      if (claim.ok) claim.open();
      // every request would wait durableTimeout and get 503, and the gateway resend for ever
      if (settings.ack === 'durable' && sinks.leadsNowhere()) node.warn(t('errors.leadsNowhere', { path: shownPath }));
    };
    RED.events.once('flows:started', open);
    // should no start event come (a runtime that does not send it), requests wait no longer than this
    const openTimer = setTimeout(open, ROUTE_PARK_MS);
    openTimer.unref?.();
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
      live.publish(() => {
        const readiness = readinessNow();
        return {
          id: node.id,
          type: TYPE,
          name: node.name || shownPath,
          state: readiness.ready ? 'listening' : 'not ready',
          eventsPerSec: rate,
          inFlight: c.queueSize,
          lastError: c.lastRefusal ? `${c.lastRefusal.status}: ${c.lastRefusal.message}` : undefined,
          extra: { received: c.totalEventsReceived, sent: c.totalEventsSent, rejected: c.rejected, duplicates: c.duplicatesDropped },
        };
      });
    }
    function statusView(perSecond: number): NodeStatus {
      const c = receiver.counters;
      const readiness = readinessNow();
      const suffix = c.bodyPreParsed > 0 ? t('status.preParsedSuffix') : '';
      if (!readiness.ready) return { fill: 'yellow', shape: 'ring', text: t('status.notReady', { path: shownPath }) + suffix };
      if (c.totalEventsReceived === 0) return { fill: 'green', shape: 'dot', text: t('status.listening', { path: shownPath }) + suffix };
      const waiting = c.queueSize > 0 ? t('status.waiting', { count: c.queueSize }) : '';
      return { fill: 'green', shape: 'dot', text: t('status.receiving', { rate: formatRate(perSecond), path: shownPath }) + waiting + suffix };
    }
    refreshStatus();
    const timer = setInterval(refreshStatus, STATUS_REFRESH_MS);
    timer.unref?.();

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      clearTimeout(openTimer);
      RED.events.removeListener('flows:started', open);
      // Release the route first so that a redeployed node can claim it, then answer what waits.
      // Until the deploy has started its flows, requests wait for the successor (at most
      // ROUTE_PARK_MS, then 503 + Retry-After, never a 404: the gateway keeps and resends its
      // batch); a path nobody claims (node removed or moved) is free once the flows have started.
      if (claim.ok) holdUntilStarted(RED, settings.retryAfterSeconds, (hold) => claim.release(hold));
      receiver.close();
      live.close();
      status.close({});
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

/**
 * Node-RED answers a deploy request before it starts the new flows, so a client that posts to a
 * newly deployed path right away would get a 404 from a path nobody holds yet. Once the old flows
 * have stopped (or before the first start), the paths of the receivers about to be created are
 * held (requests wait, as during a redeploy) until their node claims them; what no node claimed
 * is freed once the flows have started. A `${VAR}` path is held when the variable is readable here.
 */
function reserveStartingPaths(RED: NodeAPI, event: { config?: { flows?: unknown[] } }): void {
  const runtime = RED.settings as unknown as IgnitionInRuntimeSettings;
  const app = RED.httpNode as unknown as MiddlewareApp | undefined;
  if (!app || runtime.httpNodeRoot === false) return;
  for (const item of event?.config?.flows ?? []) {
    const def = item as IgnitionInDef & { d?: boolean };
    if (!def || def.type !== TYPE || def.d === true) continue;
    const path = pathFromEnv(def.path);
    if (path === null) continue;
    const settings = resolveSettings({ ...def, path }, runtime);
    if (settings.pathError !== undefined) continue;
    holdUntilStarted(RED, settings.retryAfterSeconds, (hold) => reserveRoute(app, settings.path, hold, routeMiddleware(runtime)));
  }
}

/**
 * Holds a path vacant — requests wait for its next receiver, 503 + Retry-After past
 * ROUTE_PARK_MS — until the flows have started (at most REDEPLOY_HOLD_MS). `hold` returns the
 * function that frees the path, or undefined when it did not take it.
 */
function holdUntilStarted(RED: NodeAPI, retryAfterSeconds: number, hold: (h: VacancyHold) => (() => void) | undefined): void {
  const freeOnStart = () => free?.();
  const free = hold({
    handler: vacantRouteHandler(retryAfterSeconds),
    ms: REDEPLOY_HOLD_MS,
    parking: PARKING,
    onEnd: () => RED.events.removeListener('flows:started', freeOnStart),
  });
  if (free) RED.events.once('flows:started', freeOnStart);
}

/** A path as the node will see it: `${VAR}` read from the environment; null when that cannot be known here. */
function pathFromEnv(path: unknown): string | undefined | null {
  if (typeof path !== 'string') return undefined;
  if (!path.includes('$')) return path;
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(path.trim());
  return m && process.env[m[1]] !== undefined ? process.env[m[1]]! : null;
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
