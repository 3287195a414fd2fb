import { EventEmitter } from 'events';
import { createSpool, SPOOL_DEFAULTS, SpoolDiskFullError, SpoolFullError, type Spool } from '../spool';
import type { FinalErrorPolicy, StreamState, ZerobusClient, ZerobusError } from '../zerobus';
import { isAuthFailure } from '../zerobus/auth';
import { authRetryBackoff, type Backoff } from '../zerobus/backoff';
import { maxRecordBytes } from '../zerobus/wire';
import { AckWaiters } from './ack-waiters';
import { BackpressureError, SinkConfigError } from './errors';
import { bounded, diskFull, spoolFull } from './failure';
import { LatencyWindow, RateMeter } from './meters';
import { MAX_REQUEST_BYTES, SINK_DEFAULTS, streamCount, type SinkFormat, type SinkRecordType, type ZerobusSinkOptions } from './options';
import { createRecordEncoder, type RecordEncoder } from './record-encoder';
import type { PartitionKeyReader } from './partition-key';
import { SpoolAcker } from './spool-acker';
import { StreamAutoscaler } from './stream-autoscaler';
import { StreamLanes, type SharedSenderHost, type StreamLane } from './stream-lanes';
import { StatusBoard } from './status-board';
import { prepareSpoolFormat, type RecordConverter } from './spool-format';
import type { AcceptResult, RejectedRecord, SinkFailure, SinkReceipt, SinkStats, SinkStatus } from './types';

export { toFailure } from './failure';

export interface ZerobusSinkEvents {
  state: [SinkStatus];
  receipt: [SinkReceipt];
  /** a final error: emitted once when the sink enters 'failed', not again while it stays failed */
  failure: [SinkFailure];
  /** the spool discarded old records (overflow 'drop-oldest') */
  drop: [{ records: number; bytes: number }];
  /** a spooled record the table refused on its own; it was released from the spool */
  rejected: [{ seq: number; reason: string; record: Buffer }];
  /** something worth a log line that does not change the state (e.g. a spool ack write failed) */
  warning: [string];
}

/**
 * The store-and-forward pipeline behind zerobus-out, free of Node-RED.
 *
 * accept() encodes items and appends them to the spool; each of the sink's streams
 * (stream-lanes.ts: one by default, several or 'auto' for tables beyond one stream's quota)
 * has a sender (sender.ts) that reads the spool in order and keeps several ingest requests in
 * flight; spool space is released only when Zerobus acknowledged the records on every stream.
 * Each stream's supervisor (lib/zerobus/supervisor.ts) runs every attempt and, after a final
 * error, asks this sink's policy (`afterFinalError`) what follows: a slow retry, or resending
 * a refused range record by record. The spool is the single source of truth for what still
 * has to be sent: after a final error, a restart or a crash the senders start again from the
 * oldest unacknowledged record, so nothing is skipped and duplicates carry the same event_id.
 *
 * Durability of accept(): with a disk spool it resolves once the records are fsync'd; with a
 * memory spool (nothing survives a restart) it resolves only when Zerobus acknowledged them.
 */
export class ZerobusSink extends EventEmitter<ZerobusSinkEvents> {
  readonly table: string;
  readonly format: SinkFormat;
  readonly recordType: SinkRecordType;
  private readonly encoder: RecordEncoder;
  private readonly spool: Spool;
  private readonly memory: boolean;
  private readonly spoolMaxBytes: number;
  private readonly client: ZerobusClient;
  private readonly ownsClient: boolean;
  private readonly maxInflight: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  /** a record larger than this can never be sent (request framing takes the rest) */
  private readonly maxRecordBytes: number;
  private readonly failedRetryMs: number;
  private readonly now: () => number;
  private readonly streamOptions: Parameters<ZerobusClient['createStream']>[0];
  /** how many streams, how a record picks its stream, how 'auto' decides */
  private readonly streams: { mode: number | 'auto'; max: number; key: PartitionKeyReader | undefined; autoscale: ZerobusSinkOptions['autoscale'] };

  private readonly board: StatusBoard;
  private startPromise: Promise<void> | undefined;
  private startError: Error | undefined;
  private closePromise: Promise<void> | undefined;
  private closing = false;
  private spoolOpen = false;
  /** bytes of the latest accept() call: 'accepting' answers whether one more like it would fit */
  private lastAcceptBytes = 0;

  private convert: RecordConverter = (_seq, data) => data;
  private lanes: StreamLanes | undefined;
  private ackedSeq = 0;
  private appendedSeq = 0;
  private readonly waiters = new AckWaiters();
  /** delays between attempts after an authentication failure: from a few seconds up to failedRetryMs */
  private readonly authBackoff: Backoff;
  /** set once the spool starts closing: hand-overs (acceptHeld) are refused from then on */
  private spoolClosing = false;
  private readonly spoolAcker: SpoolAcker;
  private closeBegins!: () => void; // ends a wait after a spool read error
  private readonly closeBegun = new Promise<void>((resolve) => (this.closeBegins = resolve));

  private recordsIn = 0;
  private recordsOut = 0;
  private dropped = 0;
  private rejected = 0;
  private readonly rateIn: RateMeter;
  private readonly rateOut: RateMeter;
  private readonly latencies = new LatencyWindow();

  constructor(opts: ZerobusSinkOptions) {
    super();
    if (!opts.client && !opts.clientFactory) throw new SinkConfigError('a Zerobus client (or client factory) is required');
    this.table = opts.table;
    this.format = opts.format ?? SINK_DEFAULTS.format;
    this.recordType = opts.recordType ?? SINK_DEFAULTS.recordType;
    this.now = opts.now ?? Date.now;
    this.board = new StatusBoard({ state: (status) => this.emit('state', status), failure: (failure) => this.emit('failure', failure) }, this.now);
    this.maxInflight = Math.max(1, opts.maxInflightRecords ?? SINK_DEFAULTS.maxInflightRecords);
    this.maxBatchRecords = Math.max(1, opts.maxBatchRecords ?? SINK_DEFAULTS.maxBatchRecords);
    this.maxBatchBytes = Math.min(MAX_REQUEST_BYTES, Math.max(1024, opts.maxBatchBytes ?? SINK_DEFAULTS.maxBatchBytes));
    this.maxRecordBytes = maxRecordBytes(this.maxBatchBytes);
    this.failedRetryMs = Math.max(10, opts.failedRetryMs ?? SINK_DEFAULTS.failedRetryMs);
    this.authBackoff = authRetryBackoff(this.failedRetryMs);
    this.rateIn = new RateMeter(5, this.now);
    this.rateOut = new RateMeter(5, this.now);
    this.encoder = createRecordEncoder({
      format: this.format,
      recordType: this.recordType,
      table: this.table,
      sourceSystem: opts.sourceSystem ?? '',
      schemaSql: opts.schemaSql,
      onWarning: (text) => this.emit('warning', text),
    });
    const mode = opts.streams === 'auto' ? 'auto' : streamCount(opts.streams ?? SINK_DEFAULTS.streams);
    const max = mode === 'auto' ? streamCount(opts.maxStreams ?? SINK_DEFAULTS.maxStreams) : mode;
    this.streams = { mode, max, key: this.encoder.partitionKey(opts.partitionColumn?.trim() || undefined), autoscale: opts.autoscale };
    this.spool = createSpool(opts.spool ?? {});
    this.spoolMaxBytes = opts.spool?.maxBytes ?? (opts.spool?.dir ? SPOOL_DEFAULTS.diskMaxBytes : SPOOL_DEFAULTS.memoryMaxBytes);
    this.memory = !opts.spool?.dir;
    this.spool.on('drop', (info: { records: number; bytes: number }) => this.onSpoolDrop(info));
    this.spoolAcker = new SpoolAcker(this.spool, (text) => this.emit('warning', text));
    this.client = opts.client ?? opts.clientFactory!();
    this.ownsClient = !opts.client;
    this.streamOptions = {
      table: this.table,
      recordType: this.recordType,
      descriptorProto: this.encoder.descriptorProto,
      maxInflightRecords: this.maxInflight,
      maxRequestBytes: this.maxBatchBytes,
      backoff: opts.backoff,
      ackTimeoutMs: opts.ackTimeoutMs,
      createTimeoutMs: opts.createTimeoutMs,
    };
  }

  /** Opens the spool (recovering what a previous run left), then starts streaming it. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  get state(): SinkStatus {
    return this.board.status;
  }

  /** false when new data (a call like the latest one) would be refused now: spool full under 'block', closing, failed to start. */
  get accepting(): boolean {
    if (this.closing || this.startError) return false;
    // accept() waits for the spool to open: a sink still starting takes data (a POST right after deploy)
    if (!this.spoolOpen) return true;
    if (this.memory && this.board.failed) return false;
    return this.spool.canAppend(Math.max(1, this.lastAcceptBytes));
  }

  /**
   * Maps and spools items. Items that can never be accepted are listed in `rejected` and never
   * reach the stream; the rest resolve once durable (see the class comment). Throws a
   * BackpressureError, keeping none of the call's records, when the spool is full ('block'),
   * the sink is closing or could not start: the caller should resend later.
   */
  async accept(items: unknown[]): Promise<AcceptResult> {
    this.refuseIfClosing();
    await this.start().catch(() => undefined);
    this.refuseIfClosing();
    if (this.startError) throw new BackpressureError('failed', `not accepting records: ${this.startError.message}`);
    if (this.memory && this.board.failed) {
      throw new BackpressureError('failed', `not accepting records: the memory spool cannot keep them while Zerobus refuses the stream (${this.board.lastFailure?.message ?? 'failed'})`);
    }
    const result = await this.store(items);
    if (this.memory && result.lastSeq !== undefined) await this.waiters.waitFor(result.lastSeq, this.ackedSeq);
    return result;
  }

  /**
   * Events a node of this package held in memory when it closed (see lib/delivery/handover.ts):
   * spooled like accept(), also while this sink is closing, until its spool closes. Never waits
   * for an acknowledgement: a memory spool's close sends what it can and counts the rest.
   */
  async acceptHeld(items: unknown[]): Promise<AcceptResult> {
    if (this.spoolClosing) throw new BackpressureError('closing', 'not accepting records: the spool is closed');
    await this.start().catch(() => undefined);
    if (this.startError) throw new BackpressureError('failed', `not accepting records: ${this.startError.message}`);
    if (this.spoolClosing) throw new BackpressureError('closing', 'not accepting records: the spool is closed');
    return this.store(items);
  }

  /** Encodes items and appends them to the spool (durable on disk). */
  private async store(items: unknown[]): Promise<AcceptResult> {
    const ingestionMicros = Math.round(this.now() * 1000);
    const records: Buffer[] = [];
    const rejected: RejectedRecord[] = [];
    let bytes = 0;
    for (let index = 0; index < items.length; index++) {
      const outcome = this.encoder.encode(items[index], ingestionMicros);
      if (!outcome.ok) rejected.push({ index, reason: outcome.reason });
      else if (outcome.data.length > this.maxRecordBytes) {
        rejected.push({ index, reason: `the encoded record has ${outcome.data.length} bytes, more than the ${this.maxRecordBytes} bytes one request may carry` });
      } else {
        records.push(outcome.data);
        bytes += outcome.data.length;
      }
    }
    this.rejected += rejected.length;
    if (records.length === 0) return { accepted: 0, rejected };

    this.lastAcceptBytes = bytes;
    if (!this.spool.canAppend(bytes)) throw this.spool.stats().diskFull ? diskFull(this.spool) : spoolFull(this.spool, this.spoolMaxBytes);
    let seqs: { firstSeq: number; lastSeq: number };
    try {
      seqs = await this.spool.append(records);
    } catch (err) {
      if (err instanceof SpoolFullError) throw spoolFull(this.spool, this.spoolMaxBytes);
      if (err instanceof SpoolDiskFullError) throw diskFull(this.spool);
      throw err;
    }
    this.recordsIn += records.length;
    this.rateIn.add(records.length);
    if (seqs.lastSeq > this.appendedSeq) this.appendedSeq = seqs.lastSeq;
    this.wake();
    return { accepted: records.length, rejected, firstSeq: seqs.firstSeq, lastSeq: seqs.lastSeq };
  }

  /** What a readiness check needs, per request: stats() without its latency percentiles. */
  brief(): Pick<SinkStats, 'state' | 'backlog' | 'lastError' | 'recordsOut'> {
    return { state: this.board.status.state, backlog: this.spoolOpen ? this.spool.stats().backlogRecords : 0, lastError: this.board.lastFailure, recordsOut: this.recordsOut };
  }

  stats(): SinkStats {
    const spool = this.spoolOpen ? this.spool.stats() : undefined;
    return {
      state: this.board.status.state,
      table: this.table,
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      rateIn: this.rateIn.perSecond(),
      rateOut: this.rateOut.perSecond(),
      backlog: spool?.backlogRecords ?? 0,
      backlogBytes: spool?.backlogBytes ?? 0,
      inFlight: this.lanes?.inFlightRecords ?? 0,
      latencyMs: this.latencies.percentiles(),
      reconnects: this.board.reconnects,
      dropped: this.dropped,
      rejected: this.rejected,
      spoolMode: this.memory ? 'memory' : 'disk',
      lastError: this.board.lastFailure,
      streams: this.lanes?.all.map((lane) => lane.stats()) ?? [],
      streamsMode: this.streams.mode,
      maxStreams: this.streams.max,
    };
  }

  /**
   * Stops accepting, gives the stream up to `timeoutMs` to get the backlog acknowledged, then
   * closes the stream and the spool (what is left stays on disk for the next start).
   */
  close(timeoutMs = 5000, handovers?: Promise<void>): Promise<void> {
    this.closePromise ??= this.doClose(timeoutMs, handovers);
    return this.closePromise;
  }

  // ---- start and streams -------------------------------------------------------------------

  private async doStart(): Promise<void> {
    try {
      await this.spool.open();
      this.spoolOpen = true;
      const where = this.memory ? 'the spool' : 'the spool folder';
      this.convert = await prepareSpoolFormat(this.spool, { format: this.format, recordType: this.recordType, table: this.table, where });
      const stats = this.spool.stats();
      this.ackedSeq = stats.ackedSeq;
      this.spoolAcker.startAt(stats.ackedSeq);
      this.appendedSeq = stats.lastSeq;
    } catch (err) {
      this.startError = err as Error;
      this.board.fail(err);
      throw err;
    }
    if (!this.closing) this.openStream();
  }

  /** The sink's streams: each one's supervisor retries everything, asking afterFinalError after a final error. */
  private openStream(): void {
    const limits = { recordType: this.recordType, maxInflight: this.maxInflight, maxBatchRecords: this.maxBatchRecords, maxBatchBytes: this.maxBatchBytes };
    const lanes = new StreamLanes({
      spool: this.spool,
      createStream: (options) => this.client.createStream(options),
      streamOptions: this.streamOptions,
      sender: this.senderHost(),
      limits,
      acked: (count, frontier, latencyMs) => this.onAcked(count, frontier, latencyMs),
      state: (_lane, state, detail) => this.onStreamState(state, detail),
      finalError: (lane, err, wasOpen) => this.afterFinalError(lane, err, wasOpen),
      now: this.now,
    }, this.streams.key);
    this.board.connecting();
    try {
      lanes.start(this.streams.mode === 'auto' ? 1 : this.streams.mode, this.ackedSeq);
    } catch (err) {
      this.lanes = lanes;
      this.board.fail(err); // a closed client or options it refuses: no later attempt can differ
      return;
    }
    this.lanes = lanes;
    if (this.streams.mode === 'auto') {
      const { autoscale, max } = this.streams;
      const scaler = new StreamAutoscaler({ ...autoscale, maxStreams: max, smallBacklog: this.maxBatchRecords });
      lanes.autoscale(scaler, autoscale?.intervalMs ?? 1000, () => (this.closing || this.board.failed ? undefined : { backlog: this.appendedSeq - this.ackedSeq, rateOut: this.rateOut.perSecond() }));
    }
  }

  /** The sink shows its streams as one: a stream connecting beside an open one changes nothing shown. */
  private onStreamState(state: StreamState, detail?: { retryInMs?: number; error?: Error }): void {
    if (this.closing) return;
    if ((state === 'idle' || state === 'connecting') && this.lanes?.anyOpen) return;
    if (!this.board.streamState(state, detail)) return;
    this.authBackoff.reset();
    this.wake();
  }

  /**
   * The stream's final-error policy. Records the table refuses are isolated: everything in
   * flight is dropped and resent from the spool one record per request, at once. Any other
   * final error keeps everything spooled and tries a new stream (new token) every
   * failedRetryMs in case an operator fixes the cause.
   */
  private afterFinalError(lane: StreamLane, err: ZerobusError, wasOpen: boolean): ReturnType<FinalErrorPolicy> {
    const sender = lane.sender;
    if (this.closing) return undefined;
    if (err.code === 'INVALID_ARGUMENT' && wasOpen && sender.isolate(err, this.table)) {
      sender.rewind();
      return { retryInMs: 0, discard: true };
    }
    sender.endIsolation();
    sender.rewind();
    // A 401/403 right after a secret rotation or a grant change is often transient: retried
    // soon, then less and less often; any other final error waits the full interval.
    const delay = isAuthFailure(err.code) ? this.authBackoff.next() : this.failedRetryMs;
    this.board.fail(err, delay);
    return { retryInMs: delay, discard: true };
  }

  // ---- sending -----------------------------------------------------------------------------

  private senderHost(): SharedSenderHost {
    return {
      appendedSeq: () => this.appendedSeq,
      // nothing is sent while a final error is waited out
      paused: () => this.board.failed,
      convert: (seq, data) => this.convert(seq, data),
      latency: (ms) => this.latencies.add(ms),
      refused: (suspect) => {
        this.rejected++;
        this.emit('rejected', { seq: suspect.seq, reason: suspect.reason, record: suspect.data });
      },
      skipped: (seq, err) => {
        this.rejected++;
        this.emit('warning', `skipped spooled record ${seq}: it cannot be converted to ${this.recordType.toUpperCase()} (${err.message})`);
      },
      warning: (text) => this.emit('warning', text),
      sendFailed: (err) => this.pauseSending(err),
      now: this.now,
    };
  }

  /** The spool could not be read (or a batch was refused outright): shown like a final error, tried again after failedRetryMs. */
  private async pauseSending(err: Error): Promise<void> {
    // while closing, the failed lane sends nothing more: the close stops it within its bound
    if (this.closing) return bounded(this.closePromise ?? new Promise(() => undefined), this.failedRetryMs);
    const failure = this.board.fail(err, this.failedRetryMs);
    await bounded(this.closeBegun, this.failedRetryMs);
    if (!this.closing && this.board.status.error === failure) this.board.set({ state: this.lanes?.allOpen ? 'streaming' : 'connecting' });
  }

  /** `count` records were acknowledged on one stream; every record up to `upto` is, on all. */
  private onAcked(count: number, upto: number, latencyMs: number): void {
    this.ackedSeq = upto;
    this.recordsOut += count;
    this.rateOut.add(count);
    this.waiters.resolveUpTo(upto);
    this.spoolAcker.ack(upto);
    if (!this.closing) this.board.acknowledged();
    this.emit('receipt', { acknowledged: count, offset: upto, latencyMs, backlog: Math.max(0, this.appendedSeq - upto) });
  }

  private wake(): void {
    this.lanes?.wake();
  }

  private onSpoolDrop(info: { records: number; bytes: number }): void {
    this.dropped += info.records;
    this.emit('drop', info);
    if (this.waiters.length > 0) {
      const first = this.spool.stats().firstSeq;
      this.waiters.rejectBelow(new Error('the records were dropped from the full memory spool (overflow: drop-oldest) before Zerobus acknowledged them'), first);
    }
  }

  // ---- closing -----------------------------------------------------------------------------

  private async doClose(timeoutMs: number, handovers?: Promise<void>): Promise<void> {
    this.closing = true;
    this.closeBegins();
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const left = () => Math.max(0, deadline - Date.now());
    // a stream waiting out a final error will not deliver within the bound
    const waitingOutFailure = this.board.failed;
    this.board.set({ state: 'closing' });
    await bounded(this.startPromise?.catch(() => undefined), left());
    // upstream nodes closing at the same moment hand their held events over first
    await bounded(handovers, Math.max(left(), 1000));

    if (this.lanes && this.ackedSeq < this.appendedSeq && !waitingOutFailure) {
      await bounded(this.waiters.waitFor(this.appendedSeq, this.ackedSeq).catch(() => undefined), left());
    }
    const lanes = this.lanes;
    this.lanes = undefined;
    if (lanes) await bounded(lanes.close(Math.max(1, Math.min(left(), 1000))), Math.max(left(), 200));
    this.waiters.rejectBelow(new BackpressureError('closing', 'the sink closed before Zerobus acknowledged the records; resend them'));
    this.spoolClosing = true;
    const unsent = this.spoolOpen ? this.spool.stats().backlogRecords : 0;
    if (this.memory && unsent > 0) {
      this.emit('warning', `${unsent} records in the memory spool for ${this.table} were not acknowledged by Zerobus before the close and are lost (a disk spool keeps them for the next start)`);
    }
    // The spool must close on every path (file handles); give it a short grace past the deadline.
    await bounded(this.spoolAcker.running, Math.max(left(), 200));
    await bounded(this.spool.close().catch((err: Error) => this.emit('warning', `closing the spool failed: ${err.message}`)), Math.max(left(), 1000));
    this.spoolOpen = false;
    if (this.ownsClient) await bounded(this.client.close().catch(() => undefined), Math.max(left(), 200));
    this.board.set({ state: 'closed' });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private refuseIfClosing(): void {
    if (this.closing) throw new BackpressureError('closing', 'not accepting records: the node is closing');
  }
}
