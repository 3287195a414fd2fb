/**
 * ZerobusStream: the public face of one logical stream to one table. Admission (ingest calls
 * into requests, in-flight limits), the landing zone of unacknowledged requests, the sender
 * (`pump`) and the ack receiver (`onAck`) live here; the attempts themselves (session.ts) and
 * what happens after each one (retry, backoff, rollover, final error) belong to the
 * supervisor (supervisor.ts). The landing zone alone decides what is resent after a recovery.
 */
import { EventEmitter } from 'events';
import { performance } from 'perf_hooks';
import { AdmissionQueue, measureRecords, type Admission, type AdmissionLimits } from './admission';
import { closedError, configError, ZerobusError } from './errors';
import { parseTableName } from './endpoint';
import { LandingZone, type IngestTicket, type PendingRequest } from './landing-zone';
import { LatencyWindow } from './metrics';
import { encodeRequest as encodeProtoRequest, WIRE_RECORD_TYPE, MAX_MESSAGE_BYTES } from './protocol';
import { StreamSession, type Session, type SessionFactory, type StreamContext } from './session';
import { StreamSupervisor, type StateDetail, type SupervisedStream } from './supervisor';
import { STREAM_DEFAULTS, type StreamMetrics, type StreamOptions, type StreamState } from './types';
import { checkRecordTypes, frameRequest, HEADER_ROOM, type EncodedRequest } from './wire';
import { encodeRows, jsonRowWriter, protoRowWriter, writeRecordAsIs, type RowWriter } from './row-encoding';

export type { StreamContext } from './session';

interface FlushWaiter { seq: number; resolve(): void; reject(err: Error): void; timer?: NodeJS.Timeout }

export class ZerobusStream extends EventEmitter {
  private _state: StreamState = 'idle';
  private readonly table: string;
  private readonly json: boolean;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxBodyBytes: number;
  private readonly limits: AdmissionLimits;

  private readonly lz = new LandingZone();
  private readonly admission: AdmissionQueue;
  private readonly flushWaiters: FlushWaiter[] = [];
  private capacityWaiters: (() => void)[] = [];
  private nextSeq = 1;
  /** Every ticket with seq <= this is acknowledged (tickets complete in order). */
  private ackedSeq = 0;

  private readonly supervisor: StreamSupervisor;
  /** the open attempt's session, while requests may be written on it */
  private session?: Session;
  private writeBlocked = false;
  private finalError?: ZerobusError;
  private closing?: Promise<void>;

  private recordsSent = 0;
  private recordsAcked = 0;
  private requestsSent = 0;
  private readonly latency = new LatencyWindow();
  private rowWriter?: RowWriter;
  /** Bytes per encoded row so far: sizes ingestRows' buffers. */
  private rowBytesHint = 256;

  /** `openSession`: how an attempt is made (tests pass fake sessions; default: gRPC). */
  constructor(private readonly context: StreamContext, private readonly opts: StreamOptions, openSession?: SessionFactory) {
    super();
    this.table = parseTableName(opts.table).full;
    if (opts.recordType !== 'proto' && opts.recordType !== 'json') throw configError(`recordType must be 'proto' or 'json', got ${String(opts.recordType)}`);
    this.json = opts.recordType === 'json';
    if (!this.json && (!opts.descriptorProto || opts.descriptorProto.length === 0)) {
      throw configError('a PROTO stream needs descriptorProto', 'Pass the DescriptorProto of the record message (descriptorProtoFromType).');
    }
    this.maxRecords = Math.max(1, opts.maxInflightRecords ?? STREAM_DEFAULTS.maxInflightRecords);
    this.maxBytes = Math.max(1, opts.maxInflightBytes ?? STREAM_DEFAULTS.maxInflightBytes);
    const maxRequest = Math.min(MAX_MESSAGE_BYTES, Math.max(1024, opts.maxRequestBytes ?? STREAM_DEFAULTS.maxRequestBytes));
    this.maxBodyBytes = maxRequest - HEADER_ROOM;
    this.limits = { maxRecords: this.maxRecords, maxBytes: this.maxBytes, maxBodyBytes: this.maxBodyBytes, json: this.json };
    this.admission = new AdmissionQueue(this.lz, this.limits, () => this.pump());
    const createRequest = encodeProtoRequest({
      create_stream: {
        table_name: this.table,
        record_type: this.json ? WIRE_RECORD_TYPE.JSON : WIRE_RECORD_TYPE.PROTO,
        ...(this.json ? {} : { descriptor_proto: opts.descriptorProto }),
      },
    });
    const params = {
      table: this.table,
      createRequest,
      createTimeoutMs: opts.createTimeoutMs ?? STREAM_DEFAULTS.createTimeoutMs,
      ackTimeoutMs: opts.ackTimeoutMs ?? STREAM_DEFAULTS.ackTimeoutMs,
      closeGraceMs: opts.closeGraceMs ?? STREAM_DEFAULTS.closeGraceMs,
      closeSignalMaxWaitMs: opts.closeSignalMaxWaitMs,
      errorContext: { ...context.errorContext, table: this.table },
    };
    openSession ??= (freshToken, hooks, signal) => new StreamSession(context, { ...params, freshToken }, hooks, signal);
    this.supervisor = new StreamSupervisor(this.supervised(), openSession, opts.backoff);
    // Connect asynchronously so the caller can attach listeners first.
    setImmediate(() => {
      if (this._state !== 'idle') return;
      this.supervisor.run().catch((err: Error) => this.fail(new ZerobusError('INTERNAL', `the stream supervisor stopped: ${err.message}`, { retryable: false })));
    });
  }

  /** Attempts after the first (cheaper than metrics(), which sorts the latency window). */
  get reconnects(): number {
    return this.supervisor.reconnects;
  }

  get state(): StreamState {
    return this._state;
  }

  // ---------------------------------------------------------------- public API

  ingest(records: Buffer[] | string[]): Promise<void> {
    if (this.closing || this._state === 'closed') return Promise.reject(closedError('stream is closed'));
    if (this.finalError) return Promise.reject(this.finalError);
    if (!Array.isArray(records)) return Promise.reject(new ZerobusError('INVALID_ARGUMENT', 'ingest() takes an array of records', { retryable: false }));
    if (records.length === 0) return Promise.resolve();
    if (this.json && typeof records[0] === 'string') {
      // JSON text is written into its request in one pass (no separate pass for its UTF-8 length)
      let encoded: EncodedRequest[];
      try {
        checkRecordTypes(records, true);
        encoded = encodeRows(records, writeRecordAsIs, true, this.maxBodyBytes, this.rowBytesHint, 'record');
      } catch (err) {
        return Promise.reject(err);
      }
      return this.offerEncoded(records.length, encoded);
    }
    let measured: Pick<Admission, 'bytes' | 'raw'>;
    try {
      measured = measureRecords(records, this.limits);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      const ticket: IngestTicket = { seq: this.nextSeq++, remaining: 0, resolve, reject };
      this.admission.offer({ records: records.length, ticket, ...measured });
    });
  }

  /**
   * Like ingest(), for row objects the stream encodes itself: PROTO rows with an encoder
   * compiled from the stream's descriptorProto (the same bytes protobufjs writes), JSON rows as
   * their JSON.stringify text. Each row is written once, straight into its request.
   */
  ingestRows(rows: readonly object[]): Promise<void> {
    if (this.closing || this._state === 'closed') return Promise.reject(closedError('stream is closed'));
    if (this.finalError) return Promise.reject(this.finalError);
    if (!Array.isArray(rows)) return Promise.reject(new ZerobusError('INVALID_ARGUMENT', 'ingestRows() takes an array of rows', { retryable: false }));
    if (rows.length === 0) return Promise.resolve();
    let encoded: EncodedRequest[];
    try {
      this.rowWriter ??= this.json ? jsonRowWriter() : protoRowWriter(this.opts.descriptorProto!);
      encoded = encodeRows(rows, this.rowWriter, this.json, this.maxBodyBytes, this.rowBytesHint);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.offerEncoded(rows.length, encoded);
  }

  private offerEncoded(records: number, encoded: EncodedRequest[]): Promise<void> {
    let bytes = 0;
    for (const req of encoded) bytes += req.bytes;
    this.rowBytesHint = Math.ceil(bytes / records);
    return new Promise<void>((resolve, reject) => {
      const ticket: IngestTicket = { seq: this.nextSeq++, remaining: 0, resolve, reject };
      this.admission.offer({ records, bytes, ticket, encoded });
    });
  }

  hasCapacity(): boolean {
    return (
      !this.closing && !this.finalError && this._state !== 'closed' && this.admission.idle &&
      this.lz.records < this.maxRecords && this.lz.bytes < this.maxBytes
    );
  }

  /** Resolves once hasCapacity() is true (or the stream closed/failed: ingest() then says why). */
  whenCapacity(): Promise<void> {
    if (this.hasCapacity() || this.closing || this.isStopped()) return Promise.resolve();
    return new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
  }

  flush(timeoutMs: number = STREAM_DEFAULTS.flushTimeoutMs): Promise<void> {
    const target = this.nextSeq - 1;
    if (this.ackedSeq >= target) return Promise.resolve();
    if (this.finalError) return Promise.reject(this.finalError);
    return new Promise<void>((resolve, reject) => {
      const waiter: FlushWaiter = { seq: target, resolve, reject };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          const i = this.flushWaiters.indexOf(waiter);
          if (i >= 0) this.flushWaiters.splice(i, 1);
          reject(new ZerobusError('FLUSH_TIMEOUT', `flush timed out after ${timeoutMs} ms with ${this.lz.records} records unacknowledged`));
        }, timeoutMs);
      }
      this.flushWaiters.push(waiter);
    });
  }

  close(timeoutMs = 10_000): Promise<void> {
    if (!this.closing) this.closing = this.doClose(timeoutMs);
    return this.closing;
  }

  metrics(): StreamMetrics {
    const m: StreamMetrics = {
      recordsSent: this.recordsSent,
      recordsAcked: this.recordsAcked,
      recordsInFlight: this.lz.records + this.admission.waitingRecords(),
      bytesInFlight: this.lz.bytes,
      requestsSent: this.requestsSent,
      reconnects: this.reconnects,
      ackLatencyMs: this.latency.summary(),
      state: this._state,
    };
    const { lastError, streamId } = this.supervisor;
    if (lastError) m.lastError = { ...lastError };
    if (streamId) m.streamId = streamId;
    return m;
  }

  // ---------------------------------------------------------------- supervision

  private setState(state: StreamState, detail: StateDetail = {}): void {
    if (this._state === state && detail.retryInMs === undefined) return;
    this._state = state;
    this.emit('state', state, detail);
  }

  private isStopped(): boolean {
    return this._state === 'closed' || this._state === 'failed';
  }

  /** The landing zone side the supervisor drives: step 3 (replay) and the sender and receiver. */
  private supervised(): SupervisedStream {
    const channel = this.context.channel;
    return {
      opened: (session) => {
        this.session = session;
        this.writeBlocked = false;
        this.lz.rewind();
        this.setState('open');
        this.pump();
      },
      acked: (offset) => this.onAck(offset),
      unacked: () => this.lz.sentCount,
      paused: () => {
        this.session = undefined;
        this.setState('paused');
      },
      writable: () => {
        this.writeBlocked = false;
        this.pump();
      },
      state: (state, detail) => {
        if (state !== 'open') this.session = undefined;
        if (!this.isStopped()) this.setState(state, detail);
      },
      retryFinal: (err, wasOpen) => {
        const next = this.opts.finalErrors?.(err, { wasOpen });
        if (!next) return undefined;
        this.session = undefined;
        if (next.discard) this.rejectEverything(err);
        return next.retryInMs;
      },
      failed: (err) => this.fail(err),
      drained: () => !!this.closing && this.lz.length === 0,
      connectionDown: () => typeof channel.isReady === 'function' && !channel.isReady(),
      connectionReady: () => channel.isReady(),
    };
  }

  /** The sender: writes queued requests while the open session accepts them. */
  private pump(): void {
    const session = this.session;
    if (!session || this.writeBlocked) return;
    const wasIdle = this.lz.sentCount === 0;
    let req: PendingRequest | undefined;
    let now = 0;
    while ((req = this.lz.peekUnsent()) !== undefined) {
      const frame = frameRequest(req, this.lz.nextOffset());
      if (now === 0) now = performance.now();
      this.lz.markSent(now);
      this.requestsSent++;
      this.recordsSent += req.records;
      if (!session.write(frame)) {
        this.writeBlocked = true;
        break;
      }
    }
    if (now !== 0) session.startAckClock(wasIdle);
  }

  /** The receiver: a cumulative ack releases tickets in order; returns a protocol violation. */
  private onAck(ack: number): string | undefined {
    const last = this.lz.lastAckedOffset;
    if (ack < last) return `ack went backwards (${ack} after ${last})`;
    if (ack > this.lz.highestSentOffset) return `ack ${ack} beyond the highest offset sent (${this.lz.highestSentOffset})`;
    if (ack === last) return undefined;
    const now = performance.now();
    let records = 0;
    let latency = 0;
    this.lz.ack(ack, (req) => {
      records += req.records;
      latency = now - req.sentAt;
      this.latency.add(latency);
      const t = req.ticket;
      if (--t.remaining === 0) {
        this.ackedSeq = t.seq;
        t.resolve();
      }
    });
    this.recordsAcked += records;
    if (this.listenerCount('ack') > 0) this.emit('ack', { records, latencyMs: latency, offset: ack });
    if (!this.admission.idle) this.admission.admitWaiting();
    if (this.capacityWaiters.length > 0 && this.hasCapacity()) this.releaseCapacityWaiters();
    this.settleFlushWaiters();
    if (this.lz.sentCount === 0) this.session?.stopAckClock();
    return undefined;
  }

  private releaseCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of waiters) w();
  }

  private settleFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const w = this.flushWaiters[i];
      if (w.seq <= this.ackedSeq) {
        this.flushWaiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve();
      }
    }
  }

  private fail(err: ZerobusError): void {
    this.finalError = err;
    this.session = undefined;
    this.rejectEverything(err);
    this.setState('failed', { error: err });
    // An 'error' event without a listener would throw: the state and rejections carry it too.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private rejectEverything(err: Error): void {
    const rejected = new Set<IngestTicket>();
    for (const req of this.lz.drain()) {
      if (!rejected.has(req.ticket)) {
        rejected.add(req.ticket);
        req.ticket.reject(err);
      }
    }
    this.admission.rejectAll(err);
    for (const w of this.flushWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.releaseCapacityWaiters();
  }

  private async doClose(timeoutMs: number): Promise<void> {
    if (!this.isStopped() && (this.lz.length > 0 || !this.admission.idle)) {
      await this.flush(timeoutMs).catch(() => undefined);
    }
    const wasFailed = this._state === 'failed';
    this.session = undefined;
    const stopped = this.supervisor.stop();
    this.rejectEverything(closedError());
    this._state = 'closed';
    this.emit('state', 'closed', wasFailed && this.finalError ? { error: this.finalError } : {});
    await stopped;
  }
}
