/**
 * The Ignition receiver: the four routes under one base path, independent of Express and
 * Node-RED. It takes a Node request/response pair (Express's are both), checks key, content
 * type, readiness, size and shape, normalises each event, drops exact resends, hands the rest
 * on through `emit`, and answers: at once (`ack: received`) or once a zerobus-out node made the
 * events durable (`ack: durable`, through a delivery ticket). No response is ever left hanging:
 * every wait is bounded by `durableTimeoutMs`, and `close()` answers everything pending with 503.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { TagEvent } from '../tags/event';
// from its module, not the lib/tags index, whose CommonJS re-exports are getters (read per event)
import { normaliseOrReason } from '../tags/normalise';
import { dedupKey } from './dedup-key';
import { deliveryTracker, type DeliveryTracker, type TicketOutcome } from '../delivery/tickets';
import { checkContentType } from './content-type';
import { BodyConsumedError, BodyTimeoutError, BodyTooLargeError, getRequestBody, wasPreParsed, type BodyRequest } from './body';
import { JsonBodyError, parseJsonBody } from './tolerant-json';
import { checkBodyShape, checkItem, type BodyRoute } from './shape';
import { DedupWindow, type PendingDelivery } from './dedup';
import { DedupStore, PersistedDedupWindow } from './dedup-store';
import { createApiKeyCheck, type ApiKeyCheck } from './api-key';
import { AcknowledgedTally, ReceiverCounters } from './diagnostics';
import { diagnosticsBody } from './diagnostics-body';
import { CONFIG_READ_ONLY_MESSAGE, effectiveConfig, MIGRATION_GUIDE } from './config-route';
import { requestSourceSystem } from './request-source';
import type { Readiness } from './readiness';
import { CLOSING_BODY, PendingReply, type Json } from './reply';
import { ROUTES } from './receiver-routes';
import type { IngestResult, ReceiverOptions } from './receiver-options';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_DEDUP_CAPACITY,
  DEFAULT_MAX_CONCURRENT_BODIES,
  DEFAULT_RETRY_AFTER_S,
  MAX_LISTED_ERRORS,
} from './limits';

export type { IngestBatch, IngestResult, ItemError, ReceiverOptions } from './receiver-options';
export { ROUTES, isReceiverRoute, vacantRouteHandler, type ReceiverRoute } from './receiver-routes';

interface DeliveryWait {
  ok: boolean;
  outcome?: TicketOutcome;
  reason?: string;
}

export class IgnitionReceiver {
  readonly counters = new ReceiverCounters();
  /** records Zerobus acknowledged through the sinks this receiver feeds */
  readonly acknowledged: AcknowledgedTally;
  readonly dedup: DedupWindow;
  private readonly persistedDedup: PersistedDedupWindow | undefined;
  private readonly keyCheck: ApiKeyCheck | undefined;
  private readonly tracker: DeliveryTracker;
  private readonly now: () => number;
  private readonly retryAfter: string;
  private readonly pending = new Set<PendingReply>();
  private readonly bodyTimeoutMs: number;
  private readonly maxConcurrentBodies: number;
  /** request bodies being read from their sockets now */
  private readingBodies = 0;
  private closed = false;
  private signalClosed!: () => void;
  private readonly closing = new Promise<'closed'>((resolve) => {
    this.signalClosed = () => resolve('closed');
  });
  private readonly startedAt: number;

  constructor(private readonly opts: ReceiverOptions) {
    this.dedup = new DedupWindow(opts.dedupCapacity ?? DEFAULT_DEDUP_CAPACITY);
    if (opts.dedupFile && this.dedup.capacity > 0) {
      this.persistedDedup = new PersistedDedupWindow(this.dedup, new DedupStore(opts.dedupFile), opts.onDedupSaveError);
    }
    this.keyCheck = createApiKeyCheck(opts.apiKey);
    this.tracker = opts.tracker ?? deliveryTracker;
    this.now = opts.now ?? Date.now;
    this.retryAfter = String(opts.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_S);
    this.bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
    this.maxConcurrentBodies = opts.maxConcurrentBodies ?? DEFAULT_MAX_CONCURRENT_BODIES;
    this.startedAt = this.now();
    this.acknowledged = new AcknowledgedTally(opts.sinksAtStart);
  }

  /** Requests waiting for their answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Serves `subPath` (relative to the base path). Returns false when it is not one of ours, so
   * that the caller can pass the request on (404).
   */
  handle(req: IncomingMessage, res: ServerResponse, subPath: string): boolean {
    const route = ROUTES.find((r) => r === subPath);
    if (!route) return false;
    const reply = new PendingReply(res, (r, status) => this.answered(r, status, req));
    this.pending.add(reply);
    res.on('close', () => this.pending.delete(reply));
    if (this.closed) {
      reply.send(503, CLOSING_BODY, { 'Retry-After': this.retryAfter });
      return true;
    }
    if (this.opts.configError !== undefined) {
      this.unavailable(reply, 'misconfigured', this.opts.configError, {}, true);
      return true;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const isPost = route === '/ingest/batch' || route === '/ingest';
    const allowed = isPost ? ['POST'] : ['GET', 'HEAD'];
    if (!allowed.includes(method)) {
      // configuration is read-only here: say where it lives instead of only which method to use
      const body = route === '/config'
        ? { error: 'method_not_allowed', message: CONFIG_READ_ONLY_MESSAGE, migrationGuide: MIGRATION_GUIDE }
        : { error: 'method_not_allowed', message: `use ${allowed[0]} for ${this.opts.path}${route}` };
      reply.send(405, body, { Allow: allowed.join(', ') });
      return true;
    }
    const work =
      route === '/health'
        ? this.health(reply)
        : route === '/diagnostics'
          ? this.diagnostics(req, reply)
          : route === '/config'
            ? this.config(req, reply)
            : this.ingest(req, reply, route === '/ingest/batch' ? 'batch' : 'single');
    work.catch((err: unknown) => {
      // a bug or an unexpected failure: answer rather than leave the client hanging
      reply.send(500, { error: 'internal', message: (err as Error)?.message ?? String(err) });
    });
    return true;
  }

  /** Stops taking requests and answers every pending one with 503 at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signalClosed();
    this.persistedDedup?.close();
    for (const reply of [...this.pending]) {
      reply.send(503, { error: 'closing', message: 'the receiver was redeployed or stopped before the events were made durable; send them again' }, { 'Retry-After': this.retryAfter });
    }
    this.pending.clear();
  }

  /**
   * The body of `GET {path}/diagnostics`: first the Ignition Zerobus module's fields with their
   * names, types and meanings, then the package's own.
   */
  diagnosticsSnapshot(): Json {
    const readiness = this.safeReadiness(); // first: it counts the sinks' new acknowledgements
    return diagnosticsBody({
      opts: this.opts,
      counters: this.counters,
      acknowledged: this.acknowledged.total,
      readiness,
      enabled: !this.closed,
      startedAt: this.startedAt,
      pendingRequests: this.pending.size,
      dedup: this.dedup,
      bodyTimeoutMs: this.bodyTimeoutMs,
      maxConcurrentBodies: this.maxConcurrentBodies,
      apiKeyRequired: this.keyCheck !== undefined,
    });
  }

  private answered(reply: PendingReply, status: number, req: IncomingMessage): void {
    this.pending.delete(reply);
    this.counters.countResponse(status);
    this.opts.onResponse?.(status, { preParsed: wasPreParsed(req as BodyRequest) });
  }

  private refuse(reply: PendingReply, status: number, error: string, message: string, headers?: Record<string, string>, extra: Json = {}): void {
    this.counters.lastRefusal = { status, message, at: this.now() };
    reply.send(status, { error, message, ...extra }, headers);
  }

  /** 503 + Retry-After; `close` when the request body was not read (the connection cannot be reused) */
  private unavailable(reply: PendingReply, error: string, message: string, extra: Json = {}, close = false): void {
    this.refuse(reply, 503, error, message, { 'Retry-After': this.retryAfter, ...(close ? { Connection: 'close' } : {}) }, extra);
  }

  private authorised(req: IncomingMessage): boolean {
    return !this.keyCheck || this.keyCheck(req.headers.authorization);
  }

  /** Readiness now; every look also counts the sinks' new acknowledgements. */
  private safeReadiness(): Readiness {
    try {
      const r = this.opts.readiness();
      this.acknowledged.observe(r.sinks);
      return r;
    } catch (err) {
      return { ready: false, scope: 'none', sinks: [], reason: `readiness check failed: ${(err as Error).message}` };
    }
  }

  private async health(reply: PendingReply): Promise<void> {
    const r = this.safeReadiness();
    const body = {
      status: r.ready ? 'ok' : 'unavailable',
      moduleLoaded: true,
      live: true,
      ready: r.ready,
      reason: r.reason ?? null,
      version: this.opts.version,
      ack: this.opts.ack,
      sinks: r.sinks.map((s) => ({ id: s.id, name: s.name, table: s.table, state: s.state, accepting: s.accepting, connected: s.connected, backlog: s.backlog })),
    };
    reply.send(r.ready ? 200 : 503, body, r.ready ? {} : { 'Retry-After': this.retryAfter });
  }

  private async diagnostics(req: IncomingMessage, reply: PendingReply): Promise<void> {
    if (!this.authorised(req)) return this.unauthorised(reply);
    reply.send(200, this.diagnosticsSnapshot());
  }

  private async config(req: IncomingMessage, reply: PendingReply): Promise<void> {
    if (!this.authorised(req)) return this.unauthorised(reply);
    const o = this.opts;
    const receiver = {
      path: o.path,
      ack: o.ack,
      maxBodyBytes: o.maxBodyBytes,
      maxEvents: o.maxEvents,
      durableTimeoutMs: o.durableTimeoutMs,
      apiKeyRequired: this.keyCheck !== undefined,
    };
    reply.send(200, effectiveConfig(receiver, o.downstream?.() ?? { sinks: [], batches: [] }));
  }

  private unauthorised(reply: PendingReply): void {
    this.refuse(reply, 401, 'unauthorized', 'missing or wrong API key: send "Authorization: Bearer <key>"', { 'WWW-Authenticate': 'Bearer realm="zerobus-ignition-in"' });
  }

  private async ingest(req: IncomingMessage, reply: PendingReply, route: BodyRoute): Promise<void> {
    if (!this.authorised(req)) return this.unauthorised(reply);
    const ct = checkContentType(req.headers['content-type'], req.headers['content-encoding'] as string | undefined);
    if (!ct.ok) return this.refuse(reply, 415, 'unsupported_media_type', ct.message);
    const source = requestSourceSystem(req);
    if (!source.ok) return this.refuse(reply, 400, 'bad_source_system', source.message);
    const readiness = this.safeReadiness();
    if (!readiness.ready) return this.unavailable(reply, 'not_ready', readiness.reason ?? 'the pipeline cannot accept data now');
    if (this.persistedDedup && !this.persistedDedup.loaded) await this.persistedDedup.ready.catch(() => undefined);
    const fromSocket = !wasPreParsed(req as BodyRequest);
    if (fromSocket && this.readingBodies >= this.maxConcurrentBodies) {
      return this.unavailable(reply, 'busy', `${this.maxConcurrentBodies} request bodies are being read already; send again`, {}, true);
    }

    let data: unknown;
    if (fromSocket) this.readingBodies++;
    try {
      const body = await getRequestBody(req as BodyRequest, this.opts.maxBodyBytes, this.bodyTimeoutMs).finally(() => {
        if (fromSocket) this.readingBodies--;
      });
      if (body.kind !== 'raw') {
        this.counters.bodyPreParsed++;
        this.counters.lastBodyPreParsedAt = this.now();
      }
      data = body.kind === 'preParsed' ? body.data : parseJsonBody(body.kind === 'raw' ? decode(body.bytes, ct.encoding) : body.text);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        return this.refuse(reply, 413, 'payload_too_large', `${err.message}; send smaller batches or raise maxBodyBytes`, { Connection: 'close' }, { limit: err.limit });
      }
      if (err instanceof BodyTimeoutError) {
        return this.refuse(reply, 408, 'body_timeout', `${err.message}; send the body at once, or raise bodyTimeout`, { Connection: 'close' });
      }
      if (err instanceof JsonBodyError) return this.refuse(reply, 400, 'bad_json', err.message);
      if (err instanceof BodyConsumedError) return this.refuse(reply, 500, 'body_consumed', err.message);
      return this.refuse(reply, 400, 'bad_request', (err as Error).message);
    }
    if (reply.answered) return; // closed while the body was arriving

    const shapeError = checkBodyShape(route, data);
    if (shapeError) return this.refuse(reply, 400, 'bad_shape', shapeError.replace('{path}', this.opts.path));
    const items = route === 'batch' ? (data as unknown[]) : [data];
    if (items.length > this.opts.maxEvents) {
      return this.refuse(reply, 413, 'too_many_events', `${items.length} events exceed the limit of ${this.opts.maxEvents} per request; send smaller batches`, {}, { limit: this.opts.maxEvents });
    }
    await this.accept(reply, route, items, source.sourceSystem, req.socket?.remoteAddress);
  }

  /** `sourceSystem`: the request's own (header or query), for the events that name none */
  private async accept(reply: PendingReply, route: BodyRoute, items: unknown[], sourceSystem: string | undefined, remoteAddress?: string): Promise<void> {
    const c = this.counters;
    const now = this.now();
    const result: IngestResult = { received: items.length, accepted: 0, rejected: 0, duplicates: 0, errors: [] };
    const events: TagEvent[] = [];
    /** ids of the accepted events, four words each (see DedupWindow) */
    const keys = new Int32Array(4 * items.length);
    const waits = new Set<PendingDelivery>();
    // Accepted ids are remembered at once, so a repeat within this request is a duplicate too;
    // with ack: durable they are pending until this request's own delivery settles.
    let settleDelivery: (ok: boolean) => void = () => undefined;
    const delivery: PendingDelivery | undefined = this.opts.ack === 'durable' ? new Promise<boolean>((resolve) => (settleDelivery = resolve)) : undefined;
    const reject = (index: number | null, message: string): void => {
      result.rejected++;
      if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push({ index, message });
    };
    for (let i = 0; i < items.length; i++) {
      const limitError = checkItem(items[i]);
      if (limitError) {
        reject(i, limitError);
        continue;
      }
      const event = normaliseOrReason(items[i], now);
      if (typeof event === 'string') {
        reject(i, event);
        continue;
      }
      if (sourceSystem !== undefined && event.sourceSystem === undefined) event.sourceSystem = sourceSystem;
      const k = events.length;
      dedupKey(event, keys, 4 * k);
      const seen = this.dedup.lookup(keys, k);
      if (seen.state !== 'new') {
        result.duplicates++;
        if (seen.state === 'pending' && seen.delivery !== delivery) waits.add(seen.delivery);
        continue;
      }
      this.dedup.remember(keys, k, delivery);
      events.push(event);
    }
    result.accepted = events.length;
    c.totalEventsReceived += result.received;
    c.rejected += result.rejected;
    c.duplicatesDropped += result.duplicates;
    if (result.received > 0) c.lastEventTime = now;

    if (!delivery) {
      if (events.length) {
        try {
          this.opts.emit({ route, events, result, remoteAddress });
        } catch (err) {
          this.dedup.drop(keys, events.length);
          return this.unavailable(reply, 'emit_failed', `could not pass the events on: ${(err as Error).message}`);
        }
        c.totalEventsEmitted += events.length;
        c.totalEventsSpooled += events.length;
      }
      return reply.send(200, { ...result });
    }
    await this.acceptDurably(reply, route, events, keys, delivery, settleDelivery, waits, result, remoteAddress);
  }

  private async acceptDurably(
    reply: PendingReply,
    route: BodyRoute,
    events: TagEvent[],
    keys: Int32Array,
    delivery: PendingDelivery,
    settleDelivery: (ok: boolean) => void,
    waits: Set<PendingDelivery>,
    result: IngestResult,
    remoteAddress?: string,
  ): Promise<void> {
    const c = this.counters;
    const count = events.length;
    let own: Promise<DeliveryWait> = Promise.resolve({ ok: true });
    if (count) {
      const ticket = this.tracker.openTicket(count, this.opts.durableTimeoutMs);
      own = ticket.settled.then(
        (outcome) => ({ ok: true, outcome }),
        (err: Error) => ({ ok: false, reason: err.message }),
      );
      void own.then((w) => settleDelivery(w.ok));
      try {
        this.opts.emit({ route, events, tickets: { [ticket.id]: count }, result, remoteAddress });
      } catch (err) {
        this.tracker.settle(ticket.id, count, 'emit failed');
        this.dedup.forget(keys, count, delivery);
        return this.unavailable(reply, 'emit_failed', `could not pass the events on: ${(err as Error).message}`);
      }
      c.totalEventsEmitted += count;
      c.eventsAwaitingSpool += count;
    }
    const others = [...waits].map((w) => w.then((ok): DeliveryWait => (ok ? { ok } : { ok, reason: 'an earlier copy of some of these events was not made durable' })));
    const outcome = await Promise.race([Promise.all([own, ...others]), this.closing]);
    if (count) c.eventsAwaitingSpool -= count;

    const [mine, ...earlier] = outcome === 'closed' ? [{ ok: false, reason: 'closed' } as DeliveryWait] : outcome;
    if (count) {
      if (mine.ok) {
        this.dedup.confirm(delivery);
        const failed = mine.outcome?.failed ?? 0;
        c.totalEventsSpooled += count - failed;
        c.totalEventsFailed += failed;
        if (failed) {
          result.accepted -= failed;
          result.rejected += failed;
          for (const message of mine.outcome?.errors ?? []) if (result.errors.length < MAX_LISTED_ERRORS) result.errors.push({ index: null, message });
        }
      } else {
        this.dedup.forget(keys, count, delivery);
        c.totalEventsFailed += count;
      }
    }
    if (outcome === 'closed') return; // close() answered already
    const failedWait = [mine, ...earlier].find((w) => !w.ok);
    if (failedWait) {
      const message =
        failedWait === mine
          ? `the events were not confirmed durable within ${this.opts.durableTimeoutMs} ms (${mine.reason}); send them again`
          : `${failedWait.reason}; send them again`;
      return this.unavailable(reply, 'not_durable', message, { received: result.received });
    }
    reply.send(200, { ...result });
  }
}

function decode(bytes: Buffer, encoding: BufferEncoding): string {
  // a UTF-8 byte order mark is not JSON whitespace
  if (encoding === 'utf8' && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return bytes.toString('utf8', 3);
  }
  return bytes.toString(encoding);
}
