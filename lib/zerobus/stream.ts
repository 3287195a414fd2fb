/**
 * ZerobusStream: the supervisor of one logical stream to one table. It owns the lifecycle
 * (create, recover forever on retryable failures, fail on final ones, close) of a series of
 * gRPC EphemeralStream calls; the sender (`pump`) and the ack receiver (`onAck`) share the
 * landing zone, which alone decides what is resent after a recovery.
 */
import { EventEmitter } from 'events';
import { performance } from 'perf_hooks';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Backoff, waitForRetry } from './backoff';
import type { ResponseCall, ZerobusChannel } from './channel';
import { closedError, configError, fromGrpcStatus, ZerobusError, type ErrorContext } from './errors';
import { parseTableName } from './endpoint';
import type { TokenProvider } from './auth';
import { LandingZone, type IngestTicket, type PendingRequest } from './landing-zone';
import { LatencyWindow } from './metrics';
import { encodeRequest as encodeProtoRequest, toNumber, WIRE_RECORD_TYPE, MAX_MESSAGE_BYTES, type StreamResponseMsg } from './protocol';
import { STREAM_DEFAULTS, type StreamMetrics, type StreamOptions, type StreamState } from './types';
import { batchItemSize, checkRecordTypes, encodeRequest, frameRequest, HEADER_ROOM, maxRecordBytes, recordLengths, type EncodedRequest, type WireRecord } from './wire';
import { encodeRows, jsonRowWriter, protoRowWriter, writeRecordAsIs, type RowWriter } from './row-encoding';

export interface StreamContext {
  channel: ZerobusChannel;
  tokens: TokenProvider;
  userAgent: string;
  errorContext: ErrorContext;
}

interface Admission {
  records: number;
  bytes: number;
  ticket: IngestTicket;
  /** ingest(): the records, encoded into requests once admitted. */
  raw?: { records: readonly WireRecord[]; lens: Int32Array };
  /** ingestRows(): the requests, encoded at the call. */
  encoded?: EncodedRequest[];
}

interface FlushWaiter { seq: number; resolve(): void; reject(err: Error): void; timer?: NodeJS.Timeout }

type Phase = 'none' | 'token' | 'creating' | 'open' | 'paused';

export class ZerobusStream extends EventEmitter {
  private _state: StreamState = 'idle';
  private readonly table: string;
  private readonly json: boolean;
  private readonly createRequest: Buffer;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxBodyBytes: number;
  private readonly ackTimeoutMs: number;
  private readonly createTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly ctx: ErrorContext;

  private readonly lz = new LandingZone();
  private readonly waiting: Admission[] = [];
  private waitingHead = 0;
  private readonly flushWaiters: FlushWaiter[] = [];
  private capacityWaiters: (() => void)[] = [];
  private nextSeq = 1;
  /** Every ticket with seq <= this is acknowledged (tickets complete in order). */
  private ackedSeq = 0;

  private generation = 0;
  private phase: Phase = 'none';
  private call?: ResponseCall;
  private streamId?: string;
  private freshTokenNext = false;
  private usedFreshToken = false;
  private lastResponseAt = 0;
  private writeBlocked = false;
  private createTimer?: NodeJS.Timeout;
  private ackTimer?: NodeJS.Timeout;
  private pauseTimer?: NodeJS.Timeout;
  private cancelRetry?: () => void;
  /** Half-closed calls waiting for the server's status before they are cancelled. */
  private readonly graceCalls = new Map<NodeJS.Timeout, ResponseCall>();
  private finalError?: ZerobusError;
  private closing?: Promise<void>;

  private recordsSent = 0;
  private recordsAcked = 0;
  private requestsSent = 0;
  private reconnects = 0;
  private lastError?: { code: string; message: string; at: number };
  private readonly latency = new LatencyWindow();
  private rowWriter?: RowWriter;
  /** Bytes per encoded row so far: sizes ingestRows' buffers. */
  private rowBytesHint = 256;

  constructor(private readonly context: StreamContext, private readonly opts: StreamOptions) {
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
    this.ackTimeoutMs = opts.ackTimeoutMs ?? STREAM_DEFAULTS.ackTimeoutMs;
    this.createTimeoutMs = opts.createTimeoutMs ?? STREAM_DEFAULTS.createTimeoutMs;
    this.backoff = new Backoff(opts.backoff);
    this.ctx = { ...context.errorContext, table: this.table };
    this.createRequest = encodeProtoRequest({
      create_stream: {
        table_name: this.table,
        record_type: this.json ? WIRE_RECORD_TYPE.JSON : WIRE_RECORD_TYPE.PROTO,
        ...(this.json ? {} : { descriptor_proto: opts.descriptorProto }),
      },
    });
    // Connect asynchronously so the caller can attach listeners first.
    setImmediate(() => {
      if (this._state === 'idle') this.connect();
    });
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
    let lens: Int32Array;
    try {
      lens = recordLengths(records, this.json);
    } catch (err) {
      return Promise.reject(err);
    }
    const limit = maxRecordBytes(this.maxBodyBytes + HEADER_ROOM);
    let bytes = 0;
    for (let i = 0; i < lens.length; i++) {
      if (lens[i] > limit) {
        return Promise.reject(
          new ZerobusError('INVALID_ARGUMENT', `record ${i} is ${lens[i]} bytes, more than one request may carry (${limit})`, {
            retryable: false,
            hint: 'Zerobus accepts at most 10 MB per request; split or shrink the record.',
          }),
        );
      }
      bytes += batchItemSize(lens[i]);
    }
    return new Promise<void>((resolve, reject) => {
      const ticket: IngestTicket = { seq: this.nextSeq++, remaining: 0, resolve, reject };
      this.offer({ records: records.length, bytes, ticket, raw: { records, lens } });
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
      this.offer({ records, bytes, ticket, encoded });
    });
  }

  private offer(admission: Admission): void {
    if (this.waitingHead === this.waiting.length && this.hasRoom(admission.records, admission.bytes)) this.admit(admission);
    else this.waiting.push(admission);
  }

  hasCapacity(): boolean {
    return (
      !this.closing && !this.finalError && this._state !== 'closed' && this.waitingHead === this.waiting.length &&
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
      recordsInFlight: this.lz.records + this.waitingRecords(),
      bytesInFlight: this.lz.bytes,
      requestsSent: this.requestsSent,
      reconnects: this.reconnects,
      ackLatencyMs: this.latency.summary(),
      state: this._state,
    };
    if (this.lastError) m.lastError = { ...this.lastError };
    if (this.streamId) m.streamId = this.streamId;
    return m;
  }

  // ---------------------------------------------------------------- admission

  private waitingRecords(): number {
    let n = 0;
    for (let i = this.waitingHead; i < this.waiting.length; i++) n += this.waiting[i].records;
    return n;
  }

  private hasRoom(records: number, bytes: number): boolean {
    if (this.lz.length === 0) return true; // an oversize call still goes alone
    return this.lz.records + records <= this.maxRecords && this.lz.bytes + bytes <= this.maxBytes;
  }

  /** Encode an ingest call into requests of at most maxRequestBytes each. */
  private admit(a: Admission): void {
    const { ticket } = a;
    if (a.encoded) {
      for (const req of a.encoded) this.enqueue(req, ticket);
      if (this.phase === 'open') this.pump();
      return;
    }
    const { records, lens } = a.raw!;
    const budget = this.maxBodyBytes - 6; // batch wrapper tag + length
    let from = 0;
    let size = 0;
    for (let i = 0; i < records.length; i++) {
      const item = batchItemSize(lens[i]);
      if (i > from && size + item > budget) {
        this.enqueue(encodeRequest(records, lens, from, i, this.json), ticket);
        from = i;
        size = 0;
      }
      size += item;
    }
    this.enqueue(encodeRequest(records, lens, from, records.length, this.json), ticket);
    if (this.phase === 'open') this.pump();
  }

  private enqueue(req: ReturnType<typeof encodeRequest>, ticket: IngestTicket): void {
    ticket.remaining++;
    const pending = req as PendingRequest;
    pending.ticket = ticket;
    pending.sentAt = 0;
    this.lz.push(pending);
  }

  private admitWaiting(): void {
    while (this.waitingHead < this.waiting.length) {
      const a = this.waiting[this.waitingHead];
      if (!this.hasRoom(a.records, a.bytes)) break;
      this.waiting[this.waitingHead++] = undefined as unknown as Admission;
      this.admit(a);
    }
    if (this.waitingHead === this.waiting.length && this.waitingHead > 0) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
  }

  // ---------------------------------------------------------------- connection

  private setState(state: StreamState, detail: { retryInMs?: number; error?: ZerobusError } = {}): void {
    if (this._state === state && detail.retryInMs === undefined) return;
    this._state = state;
    this.emit('state', state, detail);
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    this.phase = 'token';
    this.setState(this.reconnects > 0 || this.streamId ? 'reconnecting' : 'connecting');
    const fresh = this.freshTokenNext;
    this.freshTokenNext = false;
    let token: string;
    try {
      token = await this.context.tokens.getToken(this.table, { fresh });
    } catch (err) {
      if (gen !== this.generation || this.isStopped()) return;
      this.onFailure(err instanceof ZerobusError ? err : new ZerobusError('TOKEN_UNAVAILABLE', String((err as Error)?.message ?? err)));
      return;
    }
    if (gen !== this.generation || this.isStopped()) return;
    this.usedFreshToken = fresh || !this.context.tokens.refreshable;
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    md.set('x-databricks-zerobus-table-name', this.table);
    md.set('x-zerobus-sdk', this.context.userAgent);
    let call: ResponseCall;
    try {
      call = this.context.channel.openStream(md);
    } catch (err) {
      this.onFailure(new ZerobusError('UNAVAILABLE', `cannot open a stream: ${(err as Error).message}`, { grpcCode: GrpcStatus.UNAVAILABLE }));
      return;
    }
    this.call = call;
    this.phase = 'creating';
    this.writeBlocked = false;
    call.on('data', (msg: StreamResponseMsg) => {
      if (this.call === call) this.onResponse(msg);
    });
    call.on('error', (err: ServiceError) => {
      if (this.call === call) this.onCallError(err);
    });
    call.on('status', (s: { code: number; details: string }) => {
      if (this.call === call && s.code === GrpcStatus.OK) this.onServerEnd();
    });
    call.on('drain', () => {
      if (this.call === call) {
        this.writeBlocked = false;
        this.pump();
      }
    });
    this.createTimer = setTimeout(() => {
      if (this.call === call && this.phase === 'creating') {
        this.onFailure(new ZerobusError('DEADLINE_EXCEEDED', `stream creation timed out after ${this.createTimeoutMs} ms`, { grpcCode: GrpcStatus.DEADLINE_EXCEEDED }));
      }
    }, this.createTimeoutMs);
    call.write(this.createRequest);
  }

  private isStopped(): boolean {
    return this._state === 'closed' || this._state === 'failed';
  }

  private onResponse(msg: StreamResponseMsg): void {
    this.lastResponseAt = performance.now();
    if (msg.create_stream_response != null) {
      if (this.phase !== 'creating') return this.protocolError('a second create_stream_response');
      const id = msg.create_stream_response.stream_id;
      if (!id) return this.protocolError('create_stream_response without stream_id');
      this.onCreated(id);
      return;
    }
    if (this.phase === 'creating') return this.protocolError('the first response was not create_stream_response');
    if (msg.ingest_record_response != null) {
      const ack = toNumber(msg.ingest_record_response.durability_ack_up_to_offset);
      if (ack === undefined) return this.protocolError('ack without durability_ack_up_to_offset');
      this.onAck(ack);
      return;
    }
    if (msg.close_stream_signal != null) {
      const d = msg.close_stream_signal.duration;
      const ms = d ? (toNumber(d.seconds) ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6) : 0;
      this.onCloseSignal(ms);
    }
  }

  private onCreated(streamId: string): void {
    clearTimeout(this.createTimer);
    this.createTimer = undefined;
    this.streamId = streamId;
    this.phase = 'open';
    this.backoff.reset();
    this.lz.rewind();
    this.setState('open');
    this.pump();
  }

  /** The sender: writes queued requests while the call accepts them. */
  private pump(): void {
    const call = this.call;
    if (!call || this.phase !== 'open' || this.writeBlocked) return;
    const wasIdle = this.lz.sentCount === 0;
    let req: PendingRequest | undefined;
    let now = 0;
    while ((req = this.lz.peekUnsent()) !== undefined) {
      const frame = frameRequest(req, this.lz.nextOffset());
      if (now === 0) now = performance.now();
      this.lz.markSent(now);
      this.requestsSent++;
      this.recordsSent += req.records;
      if (!call.write(frame)) {
        this.writeBlocked = true;
        break;
      }
    }
    if (now !== 0) {
      if (wasIdle) this.lastResponseAt = now; // the ack clock starts with the first unacked request
      this.armAckTimer();
    }
  }

  private onAck(ack: number): void {
    const last = this.lz.lastAckedOffset;
    if (ack < last) return this.protocolError(`ack went backwards (${ack} after ${last})`);
    if (ack > this.lz.highestSentOffset) return this.protocolError(`ack ${ack} beyond the highest offset sent (${this.lz.highestSentOffset})`);
    if (ack === last) return;
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
    if (this.waitingHead < this.waiting.length) this.admitWaiting();
    if (this.capacityWaiters.length > 0 && this.hasCapacity()) this.releaseCapacityWaiters();
    this.settleFlushWaiters();
    if (this.lz.sentCount === 0) this.disarmAckTimer();
    if (this.phase === 'paused' && this.lz.sentCount === 0) this.rollOver();
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

  private armAckTimer(): void {
    if (this.ackTimer || this.ackTimeoutMs <= 0) return;
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), this.ackTimeoutMs);
  }

  private disarmAckTimer(): void {
    if (this.ackTimer) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }

  /** One timer per stream, re-armed for the remainder instead of being reset on every ack. */
  private checkAckTimeout(): void {
    this.ackTimer = undefined;
    if (this.phase !== 'open' || this.lz.sentCount === 0) return;
    const idle = performance.now() - this.lastResponseAt;
    if (idle >= this.ackTimeoutMs) {
      this.onFailure(new ZerobusError('ACK_TIMEOUT', `no response from the server for ${Math.round(idle)} ms with ${this.lz.sentCount} requests unacknowledged`, { grpcCode: GrpcStatus.DEADLINE_EXCEEDED }));
      return;
    }
    this.ackTimer = setTimeout(() => this.checkAckTimeout(), Math.max(1, this.ackTimeoutMs - idle));
  }

  /** Graceful server close: stop sending, collect acks, then move to a new stream. */
  private onCloseSignal(durationMs: number): void {
    if (this.phase !== 'open') return;
    this.phase = 'paused';
    this.disarmAckTimer();
    this.setState('paused');
    const wait = Math.min(durationMs, this.opts.closeSignalMaxWaitMs ?? Infinity);
    if (this.lz.sentCount === 0 || wait <= 0) {
      this.rollOver();
      return;
    }
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      if (this.phase === 'paused') this.rollOver();
    }, wait);
  }

  private rollOver(): void {
    this.freshTokenNext = true; // the server rotates streams to make clients refresh tokens
    this.dropCall(true);
    this.lastError = { code: 'CLOSE_SIGNAL', message: 'server asked to move to a new stream', at: Date.now() };
    this.reconnects++;
    this.connect();
  }

  private onServerEnd(): void {
    if (this.phase === 'paused') {
      this.rollOver();
      return;
    }
    const what = this.phase === 'creating' ? 'the server ended the stream before answering create_stream' : 'the server ended the stream';
    this.onFailure(new ZerobusError('UNAVAILABLE', what, { grpcCode: GrpcStatus.OK, retryable: true }));
  }

  private onCallError(err: ServiceError): void {
    if (this.phase === 'paused' && (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.CANCELLED)) {
      this.rollOver(); // the server ended the stream it announced it would end
      return;
    }
    const zerr = fromGrpcStatus({ code: err.code, details: err.details }, this.ctx);
    if (err.code === GrpcStatus.UNAUTHENTICATED && this.context.tokens.refreshable && !this.usedFreshToken) {
      // A cached token may have been revoked or expired early: one more try with a new one.
      this.context.tokens.invalidate(this.table);
      this.freshTokenNext = true;
      this.onFailure(new ZerobusError(zerr.code, zerr.message, { grpcCode: zerr.grpcCode, retryable: true, hint: zerr.hint }), 0);
      return;
    }
    this.onFailure(zerr);
  }

  private protocolError(what: string): void {
    this.onFailure(new ZerobusError('PROTOCOL', `protocol violation: ${what}`, { grpcCode: GrpcStatus.INTERNAL }));
  }

  private onFailure(err: ZerobusError, delayMs?: number): void {
    if (this.isStopped()) return;
    this.lastError = { code: err.code, message: err.message, at: Date.now() };
    this.dropCall(false);
    if (!err.retryable) {
      this.fail(err);
      return;
    }
    if (this.closing && this.lz.length === 0) return;
    this.reconnects++;
    const wait = delayMs ?? this.backoff.next();
    this.setState('reconnecting', { retryInMs: wait, error: err });
    // the connection itself is down (not a refusal on a working one): probe it while waiting
    const channel = this.context.channel;
    const probe = wait > 0 && typeof channel.isReady === 'function' && !channel.isReady() ? () => channel.isReady() : undefined;
    this.cancelRetry = waitForRetry(wait, probe, () => {
      this.cancelRetry = undefined;
      if (!this.isStopped()) this.connect();
    });
  }

  /** Leave the current call: half-close when graceful, then cancel. */
  private dropCall(graceful: boolean): void {
    clearTimeout(this.createTimer);
    clearTimeout(this.pauseTimer);
    this.createTimer = this.pauseTimer = undefined;
    this.disarmAckTimer();
    this.generation++;
    this.phase = 'none';
    const call = this.call;
    this.call = undefined;
    if (!call) return;
    if (graceful) {
      try {
        call.end();
      } catch {
        // already ended
      }
      const t = setTimeout(() => {
        this.graceCalls.delete(t);
        call.cancel();
      }, this.opts.closeGraceMs ?? STREAM_DEFAULTS.closeGraceMs);
      this.graceCalls.set(t, call);
      call.on('status', () => {
        clearTimeout(t);
        this.graceCalls.delete(t);
      });
    } else {
      call.cancel();
    }
  }

  private fail(err: ZerobusError): void {
    this.finalError = err;
    this.cancelRetry?.();
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
    for (let i = this.waitingHead; i < this.waiting.length; i++) this.waiting[i].ticket.reject(err);
    this.waiting.length = 0;
    this.waitingHead = 0;
    for (const w of this.flushWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.releaseCapacityWaiters();
  }

  private async doClose(timeoutMs: number): Promise<void> {
    if (!this.isStopped() && (this.lz.length > 0 || this.waitingHead < this.waiting.length)) {
      await this.flush(timeoutMs).catch(() => undefined);
    }
    const wasFailed = this._state === 'failed';
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    const call = this.call;
    const grace = this.opts.closeGraceMs ?? STREAM_DEFAULTS.closeGraceMs;
    this.generation++;
    clearTimeout(this.createTimer);
    clearTimeout(this.pauseTimer);
    this.disarmAckTimer();
    this.call = undefined;
    this.phase = 'none';
    this.rejectEverything(closedError());
    this._state = 'closed';
    this.emit('state', 'closed', wasFailed && this.finalError ? { error: this.finalError } : {});
    if (call) {
      // Half-close so the server sees a clean end, wait briefly for its status, then cancel.
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          call.cancel();
          resolve();
        }, grace);
        call.on('status', () => {
          clearTimeout(t);
          resolve();
        });
        call.on('error', () => undefined);
        try {
          call.end();
        } catch {
          clearTimeout(t);
          call.cancel();
          resolve();
        }
      });
    }
    for (const [t, old] of this.graceCalls) {
      clearTimeout(t);
      old.cancel();
    }
    this.graceCalls.clear();
  }
}
