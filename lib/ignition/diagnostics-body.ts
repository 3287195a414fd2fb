/**
 * The body of `GET {path}/diagnostics`: first the Ignition Zerobus module's fields with their
 * names, types and meanings (docs/MIGRATING.md lists each), then the package's own. Never holds
 * secrets: only whether an API key is required.
 */
import type { Json } from './reply';
import type { Readiness } from './readiness';
import type { ReceiverOptions } from './receiver-options';
import { PRE_PARSED_EXPLANATION, type ReceiverCounters } from './diagnostics';

/** One receiver's state at the moment of the request. */
export interface DiagnosticsSource {
  opts: Pick<ReceiverOptions, 'version' | 'path' | 'ack' | 'maxBodyBytes' | 'maxEvents' | 'durableTimeoutMs'>;
  counters: ReceiverCounters;
  /** records Zerobus acknowledged through the receiver's sinks, read after `readiness` */
  acknowledged: number;
  readiness: Readiness;
  enabled: boolean;
  startedAt: number;
  pendingRequests: number;
  dedup: { size: number; capacity: number };
  bodyTimeoutMs: number;
  maxConcurrentBodies: number;
  apiKeyRequired: boolean;
}

export function diagnosticsBody(s: DiagnosticsSource): Json {
  const { opts, readiness } = s;
  const c = s.counters;
  const sinkBacklog = readiness.sinks.reduce((sum, k) => sum + k.backlog, 0);
  return {
    moduleVersion: opts.version,
    enabled: s.enabled,
    zerobusConnected: readiness.sinks.length > 0 && readiness.sinks.every((k) => k.connected),
    totalEventsReceived: c.totalEventsReceived,
    totalEventsSent: s.acknowledged,
    totalEventsFailed: c.totalEventsFailed,
    queueSize: c.eventsAwaitingSpool + sinkBacklog,
    lastEventTime: c.lastEventTime === null ? null : new Date(c.lastEventTime).toISOString(),
    path: opts.path,
    version: opts.version,
    ack: opts.ack,
    startedAt: new Date(s.startedAt).toISOString(),
    totalEventsEmitted: c.totalEventsEmitted,
    totalEventsSpooled: c.totalEventsSpooled,
    eventsAwaitingSpool: c.eventsAwaitingSpool,
    sinkBacklog,
    lastEventTimeMs: c.lastEventTime,
    ready: readiness.ready,
    notReadyReason: readiness.reason ?? null,
    duplicatesDropped: c.duplicatesDropped,
    rejected: c.rejected,
    pendingRequests: s.pendingRequests,
    requestsByStatus: { ...c.requestsByStatus },
    lastRefusal: c.lastRefusal,
    bodyPreParsed: c.bodyPreParsed > 0,
    bodyPreParsedCount: c.bodyPreParsed,
    bodyPreParsedExplanation: c.bodyPreParsed > 0 ? PRE_PARSED_EXPLANATION : null,
    dedupWindow: { size: s.dedup.size, capacity: s.dedup.capacity },
    limits: {
      maxBodyBytes: opts.maxBodyBytes,
      maxEvents: opts.maxEvents,
      durableTimeoutMs: opts.durableTimeoutMs,
      bodyTimeoutMs: s.bodyTimeoutMs,
      maxConcurrentBodies: s.maxConcurrentBodies,
    },
    apiKeyRequired: s.apiKeyRequired,
    sinks: readiness.sinks.map((k) => ({ ...k })),
    sinkScope: readiness.scope,
  };
}
