import { EventEmitter } from 'events';
import { createSpool, SPOOL_DEFAULTS, SpoolDiskFullError, SpoolFullError, type Spool } from '../spool';
import type { FinalErrorPolicy, StreamState, ZerobusClient, ZerobusError, ZerobusStream } from '../zerobus';
import { isAuthFailure } from '../zerobus/auth';
import { authRetryBackoff, type Backoff } from '../zerobus/backoff';
import { AckWaiters } from './ack-waiters';
import { BackpressureError, SinkConfigError } from './errors';
import { bounded, diskFull, spoolFull, SpoolReadError, toFailure } from './failure';
import { InflightWindow, type InflightBatch } from './inflight';
import { RecordIsolation } from './isolation';
import { LatencyWindow, RateMeter } from './meters';
import { MAX_REQUEST_BYTES, SINK_DEFAULTS, type SinkFormat, type SinkRecordType, type ZerobusSinkOptions } from './options';
import { createRecordEncoder, type RecordEncoder } from './record-encoder';
import { SpoolAcker } from './spool-acker';
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
 * accept() encodes items and appends them to the spool; a sender loop reads the spool in
 * order, keeps several ingest requests in flight on ONE stream, and releases spool space only
 * when Zerobus acknowledged the records. The spool is the single source of truth for what
 * still has to be sent: whenever a stream is replaced (final error, restart, crash) the
 * sender starts again from the oldest unacknowledged record, so nothing is skipped and
 * duplicates (at-least-once) carry the same event_id.
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

  private status: SinkStatus = { state: 'starting' };
  private startPromise: Promise<void> | undefined;
  private startError: Error | undefined;
  private closePromise: Promise<void> | undefined;
  private closing = false;
  private spoolOpen = false;
  /** bytes of the latest accept() call: 'accepting' answers whether one more like it would fit */
  private lastAcceptBytes = 0;

  private convert: RecordConverter = (_seq, data) => data;
  private stream: ZerobusStream | undefined;
  /** what is in flight belongs to this sending epoch: a rewind aborts it, its late callbacks are ignored */
  private epoch = new AbortController();
  private cursor = 0;
  private ackedSeq = 0;
  private appendedSeq = 0;
  private readonly inflight = new InflightWindow();
  private wakeSender: (() => void) | undefined;
  private readonly waiters = new AckWaiters();
  /** delays between attempts after an authentication failure: from a few seconds up to failedRetryMs */
  private readonly authBackoff: Backoff;
  private inFailureEpisode = false;
  /** set once the spool starts closing: hand-overs (acceptHeld) are refused from then on */
  private spoolClosing = false;
  private isolation: RecordIsolation | undefined;
  private lastFailure: SinkFailure | undefined;
  private readonly spoolAcker: SpoolAcker;
  /** set when close() gave up waiting for acknowledgements */
  private sendingStopped = false;
  /** resolves when close() begins: ends a wait after a spool read error */
  private closeBegins!: () => void;
  private readonly closeBegun = new Promise<void>((resolve) => (this.closeBegins = resolve));

  private recordsIn = 0;
  private recordsOut = 0;
  private reconnects = 0;
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
    this.maxInflight = Math.max(1, opts.maxInflightRecords ?? SINK_DEFAULTS.maxInflightRecords);
    this.maxBatchRecords = Math.max(1, opts.maxBatchRecords ?? SINK_DEFAULTS.maxBatchRecords);
    this.maxBatchBytes = Math.min(MAX_REQUEST_BYTES, Math.max(1024, opts.maxBatchBytes ?? SINK_DEFAULTS.maxBatchBytes));
    this.maxRecordBytes = this.maxBatchBytes - RECORD_FRAMING_BYTES;
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
      finalErrors: (err, attempt) => this.afterFinalError(err, attempt.wasOpen),
    };
  }

  /** Opens the spool (recovering what a previous run left), then starts streaming it. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  get state(): SinkStatus {
    return this.status;
  }

  /** false when new data (a call like the latest one) would be refused now: spool full under 'block', closing, failed to start. */
  get accepting(): boolean {
    if (this.closing || this.startError) return false;
    // accept() waits for the spool to open: a sink still starting takes data (a POST right after deploy)
    if (!this.spoolOpen) return true;
    if (this.memory && this.status.state === 'failed') return false;
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
    if (this.memory && this.status.state === 'failed') {
      throw new BackpressureError('failed', `not accepting records: the memory spool cannot keep them while Zerobus refuses the stream (${this.lastFailure?.message ?? 'failed'})`);
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
    return { state: this.status.state, backlog: this.spoolOpen ? this.spool.stats().backlogRecords : 0, lastError: this.lastFailure, recordsOut: this.recordsOut };
  }

  stats(): SinkStats {
    const spool = this.spoolOpen ? this.spool.stats() : undefined;
    return {
      state: this.status.state,
      table: this.table,
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      rateIn: this.rateIn.perSecond(),
      rateOut: this.rateOut.perSecond(),
      backlog: spool?.backlogRecords ?? 0,
      backlogBytes: spool?.backlogBytes ?? 0,
      inFlight: this.inflight.records,
      latencyMs: this.latencies.percentiles(),
      reconnects: this.reconnects,
      dropped: this.dropped,
      rejected: this.rejected,
      spoolMode: this.memory ? 'memory' : 'disk',
      lastError: this.lastFailure,
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
      this.convert = await prepareSpoolFormat(this.spool, {
        format: this.format,
        recordType: this.recordType,
        table: this.table,
        where: this.memory ? 'the spool' : 'the spool folder',
      });
      const stats = this.spool.stats();
      this.ackedSeq = stats.ackedSeq;
      this.spoolAcker.startAt(stats.ackedSeq);
      this.appendedSeq = stats.lastSeq;
    } catch (err) {
      this.startError = err as Error;
      this.fail(err);
      throw err;
    }
    if (!this.closing) this.openStream();
  }

  /** The sink's one stream: its supervisor retries everything, asking afterFinalError after a final error. */
  private openStream(): void {
    let stream: ZerobusStream;
    try {
      stream = this.client.createStream(this.streamOptions);
    } catch (err) {
      this.fail(err); // a closed client or options it refuses: no later attempt can differ
      return;
    }
    this.stream = stream;
    stream.on('state', (state: StreamState, detail?: { retryInMs?: number; error?: Error }) => this.onStreamState(state, detail));
    stream.on('error', () => undefined); // the stream fails only while the sink closes
    if (!this.inFailureEpisode) this.setStatus({ state: 'connecting' });
    void this.sendLoop();
  }

  private onStreamState(state: StreamState, detail?: { retryInMs?: number; error?: Error }): void {
    if (this.closing) return;
    switch (state) {
      case 'idle':
      case 'connecting':
        // A retry after a final error keeps showing the error until it proves fixed.
        if (this.status.state !== 'reconnecting' && !this.inFailureEpisode) this.setStatus({ state: 'connecting' });
        break;
      case 'open':
      case 'paused':
        // An open stream proves credentials, grants and table fixed; refused records need an ack.
        if (this.lastFailure?.code !== 'INVALID_ARGUMENT') this.inFailureEpisode = false;
        this.authBackoff.reset();
        this.setStatus({ state: 'streaming' });
        this.wake();
        break;
      case 'reconnecting':
        this.reconnects++;
        this.setStatus({ state: 'reconnecting', retryInMs: detail?.retryInMs, error: detail?.error ? toFailure(detail.error) : undefined });
        break;
      default:
        break;
    }
  }

  /**
   * The stream's final-error policy. Records the table refuses are isolated: everything in
   * flight is dropped and resent from the spool one record per request, at once. Any other
   * final error keeps everything spooled and tries a new stream (new token) every
   * failedRetryMs in case an operator fixes the cause.
   */
  private afterFinalError(err: ZerobusError, wasOpen: boolean): ReturnType<FinalErrorPolicy> {
    if (this.closing) return undefined;
    if (err.code === 'INVALID_ARGUMENT' && wasOpen && this.inflight.length > 0 && this.isolate(err)) {
      this.rewind();
      return { retryInMs: 0, discard: true };
    }
    this.isolation = undefined;
    this.rewind();
    // A 401/403 right after a secret rotation or a grant change is often transient: retried
    // soon, then less and less often; any other final error waits the full interval.
    const delay = isAuthFailure(err.code) ? this.authBackoff.next() : this.failedRetryMs;
    this.fail(err, delay);
    return { retryInMs: delay, discard: true };
  }

  /** false when isolation gives up: everything is refused, the table does not match the records. */
  private isolate(err: ZerobusError): boolean {
    if (!this.isolation) {
      this.isolation = new RecordIsolation(this.cursor);
      this.emit('warning', `Zerobus refused a request for ${this.table} (${err.message}); resending its records one by one to find those the table refuses`);
      return true;
    }
    const batch = this.inflight.first!;
    return this.isolation.addSuspect({ seq: batch.lastSeq, reason: err.message, data: batch.data ?? Buffer.alloc(0) });
  }

  /** Sending starts again at the oldest unacked record; callbacks of what was in flight are ignored. */
  private rewind(): void {
    this.epoch.abort();
    this.epoch = new AbortController();
    this.inflight.clear();
    this.cursor = this.ackedSeq;
    this.wake();
  }

  /** `retryInMs`: when a new stream is tried (none: not retried). */
  private fail(err: unknown, retryInMs?: number): void {
    const failure = toFailure(err);
    this.lastFailure = failure;
    this.setStatus({ state: 'failed', error: failure, retryInMs, retryAt: retryInMs === undefined ? undefined : this.now() + retryInMs });
    if (!this.inFailureEpisode) {
      this.inFailureEpisode = true;
      this.emit('failure', failure);
    }
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Streams spooled records in order, while the stream is not waiting out a final error. */
  private async sendLoop(): Promise<void> {
    while (!this.sendingStopped) {
      const { signal } = this.epoch;
      const stream = this.stream!;
      const isolating = !!this.isolation;
      const room = (isolating ? 1 : this.maxInflight) - this.inflight.records;
      if (room <= 0 || this.cursor >= this.appendedSeq || this.status.state === 'failed') {
        await this.sleep();
        continue;
      }
      let records: { seq: number; data: Buffer }[];
      try {
        records = await this.spool.readAfter(this.cursor, isolating ? 1 : Math.min(room, this.maxBatchRecords), this.maxBatchBytes);
      } catch (err) {
        if (!this.closing) await this.spoolReadFailed(err as Error);
        continue;
      }
      if (signal.aborted) continue;
      if (records.length === 0) {
        await this.sleep(); // the records past the cursor were dropped: wait for the next append
        continue;
      }
      if (this.isolation?.isSuspect(records[0].seq)) {
        this.cursor = records[0].seq; // refused alone already: not sent again
        continue;
      }
      const batch: InflightBatch = { lastSeq: records[records.length - 1].seq, count: records.length, sentAt: this.now(), acked: false };
      if (isolating) batch.data = records[0].data;
      this.cursor = batch.lastSeq;
      const payload = this.payloadOf(records);
      this.inflight.push(batch);
      if (payload.length === 0) {
        this.onBatchAcked(signal, batch);
        continue;
      }
      stream.ingest(payload as Buffer[]).then(
        () => this.onBatchAcked(signal, batch),
        () => undefined, // rejected only when dropped by a rewind (signal aborted) or at the close
      );
    }
  }

  /** The spool could not be read: shown like a final error, read again after failedRetryMs. */
  private async spoolReadFailed(err: Error): Promise<void> {
    this.rewind();
    this.fail(new SpoolReadError(err), this.failedRetryMs);
    await bounded(this.closeBegun, this.failedRetryMs);
    if (!this.closing && this.status.state === 'failed' && this.lastFailure?.code === 'SPOOL') {
      this.setStatus({ state: this.stream?.state === 'open' ? 'streaming' : 'connecting' });
    }
  }

  /** Records in the stream's type; a record the converter cannot read is skipped (and counted). */
  private payloadOf(records: { seq: number; data: Buffer }[]): Buffer[] | string[] {
    const json = this.recordType === 'json';
    const out: (Buffer | string)[] = [];
    for (const record of records) {
      try {
        const data = this.convert(record.seq, record.data);
        out.push(json ? data.toString('utf8') : data);
      } catch (err) {
        this.rejected++;
        this.emit('warning', `skipped spooled record ${record.seq}: it cannot be converted to ${this.recordType.toUpperCase()} (${(err as Error).message})`);
      }
    }
    return out as Buffer[] | string[];
  }

  private onBatchAcked(signal: AbortSignal, batch: InflightBatch): void {
    if (signal.aborted) return;
    const acked = this.inflight.ack(batch, this.now(), (ms) => this.latencies.add(ms));
    if (!acked) return;
    const { upto, count, latencyMs } = acked;
    if (this.isolation) this.confirmSuspects(upto);
    this.ackedSeq = upto;
    this.recordsOut += count;
    this.rateOut.add(count);
    this.waiters.resolveUpTo(upto);
    this.spoolAcker.ack(upto);
    this.inFailureEpisode = false;
    if (this.status.state !== 'streaming' && !this.closing) {
      this.setStatus({ state: 'streaming' });
    }
    this.emit('receipt', { acknowledged: count, offset: upto, latencyMs, backlog: Math.max(0, this.appendedSeq - upto) });
    this.wake();
  }

  /** A record after the suspects was accepted: the suspects never fit; the ack releases them. */
  private confirmSuspects(upto: number): void {
    const { refused, done } = this.isolation!.confirm(upto);
    for (const suspect of refused) {
      this.rejected++;
      this.emit('rejected', { seq: suspect.seq, reason: suspect.reason, record: suspect.data });
    }
    if (done) this.isolation = undefined;
  }

  /** Waits for wake() (an append, an ack, a state change, the close) or `timeoutMs`. */
  private sleep(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        if (this.wakeSender === done) this.wakeSender = undefined;
        resolve();
      };
      if (timeoutMs) timer = setTimeout(done, timeoutMs);
      this.wakeSender = done;
    });
  }

  private wake(): void {
    this.wakeSender?.();
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
    const waitingOutFailure = this.status.state === 'failed';
    this.setStatus({ state: 'closing' });
    await bounded(this.startPromise?.catch(() => undefined), left());
    // upstream nodes closing at the same moment hand their held events over first
    await bounded(handovers, Math.max(left(), 1000));

    if (this.stream && this.ackedSeq < this.appendedSeq && !waitingOutFailure) {
      await bounded(this.waiters.waitFor(this.appendedSeq, this.ackedSeq).catch(() => undefined), left());
    }
    this.sendingStopped = true;
    this.epoch.abort();
    this.wake();
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners('state');
      stream.removeAllListeners('error');
      stream.on('error', () => undefined);
      await bounded(stream.close(Math.max(1, Math.min(left(), 1000))).catch(() => undefined), Math.max(left(), 200));
    }
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
    this.setStatus({ state: 'closed' });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private refuseIfClosing(): void {
    if (this.closing) throw new BackpressureError('closing', 'not accepting records: the node is closing');
  }

  private setStatus(status: SinkStatus): void {
    const prev = this.status;
    if (prev.state === status.state && prev.retryInMs === status.retryInMs && prev.retryAt === status.retryAt && prev.error?.message === status.error?.message) return;
    this.status = status;
    this.emit('state', status);
  }
}

/** Request envelope around one record (header room, batch and item tags, lengths), with margin. */
const RECORD_FRAMING_BYTES = 64;
