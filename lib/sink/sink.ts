import { EventEmitter } from 'events';
import { createSpool, SPOOL_DEFAULTS, SpoolDiskFullError, SpoolFullError, type Spool } from '../spool';
import type { StreamState, ZerobusClient, ZerobusStream } from '../zerobus';
import { isAuthFailure } from '../zerobus/auth';
import { authRetryBackoff, type Backoff } from '../zerobus/backoff';
import { BackpressureError, SinkConfigError } from './errors';
import { LatencyWindow, RateMeter } from './meters';
import { MAX_REQUEST_BYTES, SINK_DEFAULTS, type SinkFormat, type SinkRecordType, type ZerobusSinkOptions } from './options';
import { createRecordEncoder, type RecordEncoder } from './record-encoder';
import { prepareSpoolFormat, type RecordConverter } from './spool-format';
import type { AcceptResult, RejectedRecord, SinkFailure, SinkReceipt, SinkStats, SinkStatus } from './types';

/** Records handed to the stream in one ingest request, in spool order. */
interface InflightBatch {
  lastSeq: number;
  count: number;
  sentAt: number;
  acked: boolean;
  /** the record itself, kept only while isolating (one record per request) */
  data?: Buffer;
}

/**
 * Without a schema the sink cannot check rows before sending, and Zerobus ends the whole stream
 * when one record does not fit (INVALID_ARGUMENT). The records of the failed range are then
 * sent one per request: a record refused alone is a suspect, confirmed as "never fits" (and
 * released from the spool) only once a later record was accepted — so a table that refuses
 * everything (a schema mismatch) never loses data: after a few suspects in a row it is a final
 * error like any other.
 */
interface Isolation {
  untilSeq: number;
  suspects: { seq: number; reason: string; data: Buffer }[];
}
const MAX_SUSPECTS_IN_A_ROW = 5;

/** accept() in memory mode waits for the acknowledgement of its last record. */
interface AckWaiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

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
  /** bumped whenever a stream is abandoned: callbacks of older generations are ignored */
  private generation = 0;
  private cursor = 0;
  private ackedSeq = 0;
  private appendedSeq = 0;
  private inflight: InflightBatch[] = [];
  private inflightRecords = 0;
  private wakeSender: (() => void) | undefined;
  private waiters: AckWaiter[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  /** delays between attempts after an authentication failure: from a few seconds up to failedRetryMs */
  private readonly authBackoff: Backoff;
  private inFailureEpisode = false;
  /** set once the spool starts closing: hand-overs (acceptHeld) are refused from then on */
  private spoolClosing = false;
  private isolation: Isolation | undefined;
  /** state of the current generation's stream before its latest change */
  private streamState: StreamState | undefined;
  private lastFailure: SinkFailure | undefined;

  private spoolAckTarget = 0;
  private spoolAckDone = 0;
  private spoolAcking: Promise<void> | undefined;

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
    if (this.memory && result.lastSeq !== undefined) await this.waitForAck(result.lastSeq);
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
    if (!this.spool.canAppend(bytes)) throw this.spool.stats().diskFull ? diskFull(this.spool) : this.spoolFull();
    let seqs: { firstSeq: number; lastSeq: number };
    try {
      seqs = await this.spool.append(records);
    } catch (err) {
      if (err instanceof SpoolFullError) throw this.spoolFull();
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
      inFlight: this.inflightRecords,
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
      this.ackedSeq = this.spoolAckDone = this.spoolAckTarget = stats.ackedSeq;
      this.appendedSeq = stats.lastSeq;
    } catch (err) {
      this.startError = err as Error;
      this.fail(err);
      throw err;
    }
    if (!this.closing) this.startStream();
  }

  private startStream(): void {
    const gen = ++this.generation;
    this.cursor = this.ackedSeq;
    this.inflight = [];
    this.inflightRecords = 0;
    this.streamState = undefined;
    let stream: ZerobusStream;
    try {
      stream = this.client.createStream(this.streamOptions);
    } catch (err) {
      this.enterFailed(gen, err);
      return;
    }
    this.stream = stream;
    stream.on('state', (state: StreamState, detail?: { retryInMs?: number; error?: Error }) => this.onStreamState(gen, state, detail));
    stream.on('error', (err: Error) => this.enterFailed(gen, err));
    if (stream.state === 'open') this.setStatus({ state: 'streaming' });
    else if (!this.inFailureEpisode) this.setStatus({ state: 'connecting' });
    void this.sendLoop(gen);
  }

  private onStreamState(gen: number, state: StreamState, detail?: { retryInMs?: number; error?: Error }): void {
    if (gen !== this.generation || this.closing) return;
    const previous = this.streamState;
    this.streamState = state;
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
        break;
      case 'reconnecting':
        this.reconnects++;
        this.setStatus({ state: 'reconnecting', retryInMs: detail?.retryInMs, error: detail?.error ? toFailure(detail.error) : undefined });
        break;
      case 'failed':
        this.onStreamFailed(gen, detail?.error ?? new Error('the Zerobus stream failed'), previous === 'open' || previous === 'paused');
        break;
      default:
        break;
    }
  }

  /** A final error of the stream: records the table refuses are isolated, anything else fails the sink. */
  private onStreamFailed(gen: number, err: Error, wasOpen: boolean): void {
    const recordLevel = (err as { code?: unknown }).code === 'INVALID_ARGUMENT' && wasOpen && this.inflight.length > 0;
    if (!recordLevel) {
      this.isolation = undefined;
      this.enterFailed(gen, err);
      return;
    }
    if (!this.isolation) {
      this.isolation = { untilSeq: this.cursor, suspects: [] };
      this.emit('warning', `Zerobus refused a request for ${this.table} (${err.message}); resending its records one by one to find those the table refuses`);
    } else {
      const batch = this.inflight[0];
      this.isolation.suspects.push({ seq: batch.lastSeq, reason: err.message, data: batch.data ?? Buffer.alloc(0) });
      if (this.isolation.suspects.length >= MAX_SUSPECTS_IN_A_ROW) {
        // Everything is refused: the table does not match the records. Keep them all.
        this.isolation = undefined;
        this.enterFailed(gen, err);
        return;
      }
    }
    this.abandonStream();
    this.startStream();
  }

  /**
   * A final error: abandon the stream, keep everything spooled, and try a fresh stream (new
   * token, new channel state) every failedRetryMs in case an operator fixes the cause.
   */
  private enterFailed(gen: number, err: unknown): void {
    if (gen !== this.generation || this.closing) return;
    this.abandonStream();
    // A 401/403 right after a secret rotation or a grant change is often transient: retried
    // soon, then less and less often; any other final error waits the full interval.
    const delay = isAuthFailure((err as { code?: unknown })?.code) ? this.authBackoff.next() : this.failedRetryMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closing) this.startStream();
    }, delay);
    this.retryTimer.unref?.();
    this.fail(err, delay);
  }

  /** Drops the current stream; its late callbacks are ignored; sending restarts at the oldest unacked record. */
  private abandonStream(): void {
    this.generation++;
    const old = this.stream;
    this.stream = undefined;
    if (old) {
      old.removeAllListeners('state');
      old.removeAllListeners('error');
      old.on('error', () => undefined);
      old.close(1).catch(() => undefined); // close(0) would mean: flush without a time limit
    }
    this.inflight = [];
    this.inflightRecords = 0;
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

  private async sendLoop(gen: number): Promise<void> {
    try {
      while (gen === this.generation) {
        const stream = this.stream;
        const isolating = !!this.isolation;
        const room = (isolating ? 1 : this.maxInflight) - this.inflightRecords;
        if (!stream || room <= 0 || this.cursor >= this.appendedSeq) {
          await this.sleep();
          continue;
        }
        const records = await this.spool.readAfter(this.cursor, isolating ? 1 : Math.min(room, this.maxBatchRecords), this.maxBatchBytes);
        if (gen !== this.generation) return;
        if (records.length === 0) {
          // The spool has nothing past the cursor yet (an append still in progress): wait for it.
          await this.sleep(20);
          continue;
        }
        if (isolating && this.isolation!.suspects.some((x) => x.seq === records[0].seq)) {
          this.cursor = records[0].seq; // refused alone already: not sent again
          continue;
        }
        const batch: InflightBatch = { lastSeq: records[records.length - 1].seq, count: records.length, sentAt: this.now(), acked: false };
        if (isolating) batch.data = records[0].data;
        this.cursor = batch.lastSeq;
        const payload = this.payloadOf(records);
        this.inflight.push(batch);
        this.inflightRecords += batch.count;
        if (payload.length === 0) {
          this.onBatchAcked(gen, batch);
          continue;
        }
        stream.ingest(payload as Buffer[]).then(
          () => this.onBatchAcked(gen, batch),
          (err: unknown) => this.enterFailed(gen, err),
        );
      }
    } catch (err) {
      if (gen === this.generation && !this.closing) this.enterFailed(gen, new SpoolReadError(err as Error));
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

  /** Acknowledgements are cumulative and arrive in order; release everything acked in front. */
  private onBatchAcked(gen: number, batch: InflightBatch): void {
    if (gen !== this.generation) return;
    batch.acked = true;
    let upto = -1;
    let count = 0;
    let latencyMs = 0;
    const at = this.now();
    while (this.inflight.length > 0 && this.inflight[0].acked) {
      const done = this.inflight.shift()!;
      upto = done.lastSeq;
      count += done.count;
      latencyMs = at - done.sentAt;
      this.latencies.add(latencyMs);
    }
    if (upto < 0) return;
    this.inflightRecords -= count;
    if (this.isolation) this.confirmSuspects(upto);
    this.ackedSeq = upto;
    this.recordsOut += count;
    this.rateOut.add(count);
    this.resolveWaiters(upto);
    this.ackSpool(upto);
    this.inFailureEpisode = false;
    if (this.status.state !== 'streaming' && !this.closing) {
      this.setStatus({ state: 'streaming' });
    }
    this.emit('receipt', { acknowledged: count, offset: upto, latencyMs, backlog: Math.max(0, this.appendedSeq - upto) });
    this.wake();
  }

  /** A record after the suspects was accepted: the suspects never fit; the ack releases them. */
  private confirmSuspects(upto: number): void {
    const iso = this.isolation!;
    for (const suspect of iso.suspects.filter((x) => x.seq < upto)) {
      this.rejected++;
      this.emit('rejected', { seq: suspect.seq, reason: suspect.reason, record: suspect.data });
    }
    iso.suspects = iso.suspects.filter((x) => x.seq > upto);
    if (upto >= iso.untilSeq && iso.suspects.length === 0) {
      this.isolation = undefined;
      this.wake();
    }
  }

  /** One spool.ack at a time, always for the newest acknowledged sequence. */
  private ackSpool(upto: number): void {
    this.spoolAckTarget = Math.max(this.spoolAckTarget, upto);
    if (this.spoolAcking) return;
    this.spoolAcking = (async () => {
      while (this.spoolAckTarget > this.spoolAckDone) {
        const target = this.spoolAckTarget;
        await this.spool.ack(target);
        this.spoolAckDone = target;
      }
    })()
      .catch((err: Error) => {
        this.emit('warning', `could not release acknowledged records from the spool: ${err.message}`);
      })
      .finally(() => {
        this.spoolAcking = undefined;
      });
  }

  private sleep(fallbackMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        if (this.wakeSender === done) this.wakeSender = undefined;
        resolve();
      };
      if (fallbackMs) timer = setTimeout(done, fallbackMs);
      this.wakeSender = done;
    });
  }

  private wake(): void {
    this.wakeSender?.();
  }

  // ---- memory-mode acknowledgement waits ---------------------------------------------------

  private waitForAck(seq: number): Promise<void> {
    if (seq <= this.ackedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private resolveWaiters(upto: number): void {
    while (this.waiters.length > 0 && this.waiters[0].seq <= upto) this.waiters.shift()!.resolve();
  }

  private rejectWaiters(err: Error, below = Infinity): void {
    const keep: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.seq < below) w.reject(err);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private onSpoolDrop(info: { records: number; bytes: number }): void {
    this.dropped += info.records;
    this.emit('drop', info);
    if (this.waiters.length > 0) {
      const first = this.spool.stats().firstSeq;
      this.rejectWaiters(new Error('the records were dropped from the full memory spool (overflow: drop-oldest) before Zerobus acknowledged them'), first);
    }
  }

  // ---- closing -----------------------------------------------------------------------------

  private async doClose(timeoutMs: number, handovers?: Promise<void>): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    const left = () => Math.max(0, deadline - Date.now());
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setStatus({ state: 'closing' });
    await bounded(this.startPromise?.catch(() => undefined), left());
    // upstream nodes closing at the same moment hand their held events over first
    await bounded(handovers, Math.max(left(), 1000));

    if (this.stream && this.ackedSeq < this.appendedSeq) {
      await bounded(this.waitForAck(this.appendedSeq).catch(() => undefined), left());
    }
    this.generation++;
    this.wake();
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners('state');
      stream.removeAllListeners('error');
      stream.on('error', () => undefined);
      await bounded(stream.close(Math.max(1, Math.min(left(), 1000))).catch(() => undefined), Math.max(left(), 200));
    }
    this.rejectWaiters(new BackpressureError('closing', 'the sink closed before Zerobus acknowledged the records; resend them'));
    this.spoolClosing = true;
    const unsent = this.spoolOpen ? this.spool.stats().backlogRecords : 0;
    if (this.memory && unsent > 0) {
      this.emit('warning', `${unsent} records in the memory spool for ${this.table} were not acknowledged by Zerobus before the close and are lost (a disk spool keeps them for the next start)`);
    }
    // The spool must close on every path (file handles); give it a short grace past the deadline.
    await bounded(this.spoolAcking, Math.max(left(), 200));
    await bounded(this.spool.close().catch((err: Error) => this.emit('warning', `closing the spool failed: ${err.message}`)), Math.max(left(), 1000));
    this.spoolOpen = false;
    if (this.ownsClient) await bounded(this.client.close().catch(() => undefined), Math.max(left(), 200));
    this.setStatus({ state: 'closed' });
  }

  // ---- helpers -----------------------------------------------------------------------------

  private refuseIfClosing(): void {
    if (this.closing) throw new BackpressureError('closing', 'not accepting records: the node is closing');
  }

  private spoolFull(): BackpressureError {
    const s = this.spool.stats();
    const records = s.backlogRecords + (s.pendingRecords ?? 0);
    const mb = (this.spoolMaxBytes / (1024 * 1024)).toFixed(1);
    return new BackpressureError('spool-full', `spool full (${records} records waiting, limit ${mb} MB): records not accepted, resend later`);
  }

  private setStatus(status: SinkStatus): void {
    const prev = this.status;
    if (prev.state === status.state && prev.retryInMs === status.retryInMs && prev.retryAt === status.retryAt && prev.error?.message === status.error?.message) return;
    this.status = status;
    this.emit('state', status);
  }
}

function diskFull(spool: Spool): BackpressureError {
  return new BackpressureError('disk-full', `the disk of the spool is full (${spool.stats().backlogRecords} records waiting to be sent free space once acknowledged): records not accepted, resend later`);
}

/** Request envelope around one record (header room, batch and item tags, lengths), with margin. */
const RECORD_FRAMING_BYTES = 64;

/** The spool could not be read: reported like a final error, retried like one. */
class SpoolReadError extends Error {
  readonly code = 'SPOOL';
  readonly retryable = false;
  readonly hint = 'Check the spool folder (disk full, permissions, removed folder).';
  constructor(cause: Error) {
    super(`reading the spool failed: ${cause.message}`);
    this.name = 'SpoolReadError';
  }
}

/** Failure in words for the node; ZerobusError carries code, hint and retryability. */
export function toFailure(err: unknown): SinkFailure {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; hint?: unknown; retryable?: unknown };
  return {
    code: typeof e.code === 'string' ? e.code : 'ERROR',
    message: typeof e.message === 'string' && e.message ? e.message : String(err),
    hint: typeof e.hint === 'string' && e.hint ? e.hint : undefined,
    retryable: e.retryable === true,
  };
}

/** Waits for `promise` at most `ms`; never rejects, never leaves a timer behind. */
async function bounded(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer) clearTimeout(timer);
}
