/**
 * The sink's sender: reads the spool in order from its cursor and hands batches to the stream,
 * keeping at most maxInflight records unacknowledged. Everything it sends belongs to an epoch
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

/** What the sender needs from its sink. */
export interface SenderHost {
  /** every record up to this one is acknowledged */
  ackedSeq(): number;
  /** the last record appended to the spool */
  appendedSeq(): number;
  /** true while nothing should be sent (a final error is being waited out) */
  paused(): boolean;
  convert: RecordConverter;
  /** records up to `upto` are acknowledged */
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

  constructor(private readonly spool: Spool, private readonly stream: ZerobusStream, private readonly host: SenderHost, private readonly limits: SenderLimits) {}

  get inFlightRecords(): number {
    return this.inflight.records;
  }

  /** Streams spooled records in order until stop(). */
  async run(): Promise<void> {
    this.cursor = this.host.ackedSeq();
    while (!this.stopped) {
      const { signal } = this.epoch;
      const isolating = !!this.isolation;
      const room = (isolating ? 1 : this.limits.maxInflight) - this.inflight.records;
      if (room <= 0 || this.cursor >= this.host.appendedSeq() || this.host.paused()) {
        await this.sleep();
        continue;
      }
      let records: { seq: number; data: Buffer }[];
      try {
        records = await this.spool.readAfter(this.cursor, isolating ? 1 : Math.min(room, this.limits.maxBatchRecords), this.limits.maxBatchBytes);
      } catch (err) {
        if (this.stopped) return;
        this.rewind();
        await this.host.sendFailed(new SpoolReadError(err as Error));
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
      const batch: InflightBatch = { lastSeq: records[records.length - 1].seq, count: records.length, sentAt: this.host.now(), acked: false };
      if (isolating) batch.data = records[0].data;
      this.cursor = batch.lastSeq;
      const payload = this.payloadOf(records);
      this.inflight.push(batch);
      if (payload.length === 0) {
        this.onBatchAcked(signal, batch);
        continue;
      }
      this.stream.ingest(payload as Buffer[]).then(
        () => this.onBatchAcked(signal, batch),
        (err: Error) => {
          // dropped by a rewind or at the close: expected; anything else pauses sending
          if (signal.aborted || this.stopped) return;
          this.rewind();
          void this.host.sendFailed(err);
        },
      );
    }
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
    if (this.isolation) {
      // a record after the suspects was accepted: the suspects never fit; the ack releases them
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
