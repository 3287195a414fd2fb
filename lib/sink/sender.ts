/**
 * The sender of one of the sink's streams: reads the spool in order from its cursor and hands
 * batches of the records its stream owns (all of them with one stream) to the stream, keeping
 * at most maxInflight records unacknowledged, and only one batch while the stream is not open
 * (a backlog waits on disk, not in memory, during an outage). Everything it sends belongs to an epoch
 * (one AbortController); a rewind aborts the epoch, drops what was in flight (its late
 * callbacks are ignored) and starts again at the oldest unacknowledged record. While isolating
 * a refused request it sends one record per request (isolation.ts).
 */
import type { Spool } from '../spool';
import type { ZerobusError, ZerobusStream } from '../zerobus';
import { SpoolReadError } from './failure';
import { InflightWindow, type InflightBatch } from './inflight';
import { RecordIsolation, type Suspect } from './isolation';
import type { SinkRecordType } from './options';
import type { RecordConverter } from './spool-format';

/** One read of several streams' records stays this small (the spool reads it in one call). */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** What the sender needs from its sink. */
export interface SenderHost {
  /** every record up to this one that this sender owns is acknowledged */
  ackedSeq(): number;
  /** the last record this sender may read now (a change of the stream count waits at a boundary) */
  readableUpTo(): number;
  /** whether the record belongs to this sender's stream */
  owns(seq: number, data: Buffer): boolean;
  /** streams sharing the spool: a read covers this many batches' worth of records */
  span(): number;
  /** the last record appended to the spool */
  appendedSeq(): number;
  /** true while nothing should be sent (a final error is being waited out) */
  paused(): boolean;
  convert: RecordConverter;
  /** this sender's records up to `upto` are acknowledged (`count` of them; 0 when it owned none) */
  acked(ack: { upto: number; count: number; latencyMs: number }): void;
  latency(ms: number): void;
  /** a record the table refused on its own, now released */
  refused(suspect: Suspect): void;
  /** a spooled record that cannot be converted to the stream's type: skipped */
  skipped(seq: number, err: Error): void;
  warning(text: string): void;
  /** the spool could not be read, or the stream refused a batch outright: resolves when sending may go on */
  sendFailed(err: Error): Promise<void>;
  now(): number;
}

export interface SenderLimits {
  recordType: SinkRecordType;
  maxInflight: number;
  maxBatchRecords: number;
  maxBatchBytes: number;
}

export class SpoolSender {
  private epoch = new AbortController();
  private cursor = 0;
  private readonly inflight = new InflightWindow();
  private isolation: RecordIsolation | undefined;
  private wakeSender: (() => void) | undefined;
  private stopped = false;
  /**
   * Set after a failed read or send until the host says sending may go on. A failed stream
   * refuses at once: resending without this wait would be a loop of microtasks that starves
   * every timer (the close's bound included) and spins the process.
   */
  private held: Promise<void> | undefined;

  constructor(private readonly spool: Spool, private readonly stream: ZerobusStream, private readonly host: SenderHost, private readonly limits: SenderLimits) {}

  get inFlightRecords(): number {
    return this.inflight.records;
  }

  /** the last record read (sent, or owned by another stream) */
  get position(): number {
    return this.cursor;
  }

  /** Streams spooled records in order until stop(). */
  async run(): Promise<void> {
    this.cursor = this.host.ackedSeq();
    // each batch is read and handed over in sendNext(), whose frame ends there: a batch's
    // records are never held by this loop while it sleeps on a full window (a drain would
    // promote every record it sends into the old generation)
    while (!this.stopped) await this.sendNext();
  }

  /**
   * Reads and sends the next batch, or sleeps until wake() when there is nothing to do (the
   * sleep starts in the same turn as the check, so a wake() right after it is not lost).
   */
  private async sendNext(): Promise<void> {
    const { signal } = this.epoch;
    const isolating = !!this.isolation;
    const room = this.window(isolating) - this.inflight.records;
    const end = Math.min(this.host.appendedSeq(), this.host.readableUpTo());
    if (room <= 0 || this.cursor >= end || this.held || this.host.paused()) return this.sleep();
    const want = isolating ? 1 : Math.min(room, this.limits.maxBatchRecords);
    const span = this.host.span();
    let read: { seq: number; data: Buffer }[];
    try {
      read = await this.spool.readAfter(this.cursor, Math.min(end - this.cursor, want * span), Math.min(this.limits.maxBatchBytes * span, MAX_READ_BYTES));
    } catch (err) {
      if (!this.stopped) this.failed(new SpoolReadError(err as Error));
      return;
    }
    if (signal.aborted) return;
    // the records past the cursor were dropped: wait for the next append
    if (read.length === 0) return this.sleep();
    const { records, lastSeq } = span === 1 ? { records: read, lastSeq: read[read.length - 1].seq } : this.own(read, want);
    if (records.length > 0 && this.isolation?.isSuspect(records[0].seq)) {
      this.cursor = records[0].seq; // refused alone already: not sent again
      return;
    }
    const batch: InflightBatch = { lastSeq, count: records.length, sentAt: this.host.now(), acked: false };
    if (isolating && records.length > 0) batch.data = records[0].data;
    this.cursor = batch.lastSeq;
    const payload = this.payloadOf(records);
    this.inflight.push(batch);
    if (payload.length === 0) {
      this.onBatchAcked(signal, batch);
      return;
    }
    this.stream.ingest(payload as Buffer[]).then(
      () => this.onBatchAcked(signal, batch),
      (err: Error) => {
        // dropped by a rewind or at the close: expected; anything else pauses sending
        if (!signal.aborted && !this.stopped) this.failed(err);
      },
    );
  }

  /** Starts again at the oldest unacknowledged record once the host lets sending go on. */
  private failed(err: Error): void {
    const held = this.host.sendFailed(err);
    this.held = held;
    const release = () => {
      if (this.held !== held) return;
      this.held = undefined;
      this.wake();
    };
    held.then(release, release);
    this.rewind();
  }

  /** Records this sender may have unacknowledged: one batch while the stream is not open. */
  private window(isolating: boolean): number {
    if (isolating) return 1;
    return this.stream.state === 'open' ? this.limits.maxInflight : Math.min(this.limits.maxInflight, this.limits.maxBatchRecords);
  }

  /**
   * This stream's records of a read, up to one batch; the batch covers the read up to its last
   * record (the others' records in between are theirs to send).
   */
  private own(read: { seq: number; data: Buffer }[], want: number): { records: { seq: number; data: Buffer }[]; lastSeq: number } {
    const records: { seq: number; data: Buffer }[] = [];
    let bytes = 0;
    let lastSeq = this.cursor;
    for (const record of read) {
      if (this.host.owns(record.seq, record.data)) {
        if (records.length > 0 && bytes + record.data.length > this.limits.maxBatchBytes) break;
        records.push(record);
        bytes += record.data.length;
      }
      lastSeq = record.seq;
      if (records.length === want) break; // a batch (while isolating: one record) ends at its last record
    }
    return { records, lastSeq };
  }

  /** Nothing more is sent; callbacks of what is in flight are ignored. */
  stop(): void {
    this.stopped = true;
    this.epoch.abort();
    this.wake();
  }

  /** Something changed (an append, an ack, a state): look again. */
  wake(): void {
    this.wakeSender?.();
  }

  /**
   * The table refused a request with records in flight: resend them one by one. false when
   * isolation gives up (a few refused alone in a row: the table refuses everything).
   */
  isolate(err: ZerobusError, table: string): boolean {
    if (this.inflight.length === 0) return false;
    if (!this.isolation) {
      this.isolation = new RecordIsolation(this.cursor);
      this.host.warning(`Zerobus refused a request for ${table} (${err.message}); resending its records one by one to find those the table refuses`);
      return true;
    }
    const batch = this.inflight.first!;
    if (this.isolation.addSuspect({ seq: batch.lastSeq, reason: err.message, data: batch.data ?? Buffer.alloc(0) })) return true;
    this.isolation = undefined;
    return false;
  }

  /** A final error other than a refused record ends any isolation. */
  endIsolation(): void {
    this.isolation = undefined;
  }

  /** Sending starts again at the oldest unacked record; callbacks of what was in flight are ignored. */
  rewind(): void {
    this.epoch.abort();
    this.epoch = new AbortController();
    this.inflight.clear();
    this.cursor = this.host.ackedSeq();
    this.wake();
  }

  /** Records in the stream's type; a record the converter cannot read is skipped (and counted). */
  private payloadOf(records: { seq: number; data: Buffer }[]): Buffer[] | string[] {
    const json = this.limits.recordType === 'json';
    const out: (Buffer | string)[] = [];
    for (const record of records) {
      try {
        const data = this.host.convert(record.seq, record.data);
        out.push(json ? data.toString('utf8') : data);
      } catch (err) {
        this.host.skipped(record.seq, err as Error);
      }
    }
    return out as Buffer[] | string[];
  }

  private onBatchAcked(signal: AbortSignal, batch: InflightBatch): void {
    if (signal.aborted) return;
    const acked = this.inflight.ack(batch, this.host.now(), (ms) => this.host.latency(ms));
    if (!acked) return;
    if (this.isolation && acked.count > 0) {
      // a record after the suspects was accepted (a batch of other streams' records proves nothing): the suspects never fit; the ack releases them
      const { refused, done } = this.isolation.confirm(acked.upto);
      for (const suspect of refused) this.host.refused(suspect);
      if (done) this.isolation = undefined;
    }
    this.host.acked(acked);
    this.wake();
  }

  /** Waits for wake(). */
  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.wakeSender === done) this.wakeSender = undefined;
        resolve();
      };
      this.wakeSender = done;
    });
  }
}
