/**
 * The landing zone: every request of a stream from the moment it is admitted until the server
 * acknowledged it, in order. The front part has been sent on the current gRPC stream (its
 * physical offsets are `baseOffset + i`), the rest waits to be sent. A recovery rewinds the
 * send position to the front, so everything unacknowledged is resent first, in order, with
 * offsets from 0 on the new stream. It is the single source of truth for what is in flight.
 */
import type { EncodedRequest } from './wire';

/** The caller's view of one ingest() call, which may span several requests. */
export interface IngestTicket {
  seq: number;
  remaining: number;
  resolve(): void;
  reject(err: Error): void;
}

export interface PendingRequest extends EncodedRequest {
  ticket: IngestTicket;
  /** performance.now() of the latest send. */
  sentAt: number;
}

export class LandingZone {
  private items: (PendingRequest | undefined)[] = [];
  private head = 0;
  /** Requests from `head` that were sent on the current stream. */
  private sent = 0;
  /** Physical offset of `items[head]` on the current stream. */
  private baseOffset = 0;
  records = 0;
  bytes = 0;
  sentRecords = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  get sentCount(): number {
    return this.sent;
  }
  get unsentCount(): number {
    return this.length - this.sent;
  }
  /** Highest physical offset sent on this stream, -1 if none. */
  get highestSentOffset(): number {
    return this.baseOffset + this.sent - 1;
  }
  /** Highest offset the server acknowledged on this stream, -1 if none. */
  get lastAckedOffset(): number {
    return this.baseOffset - 1;
  }

  push(req: PendingRequest): void {
    this.items.push(req);
    this.records += req.records;
    this.bytes += req.bytes;
  }

  /** The next request to send and its physical offset, or undefined. */
  peekUnsent(): PendingRequest | undefined {
    return this.items[this.head + this.sent];
  }
  nextOffset(): number {
    return this.baseOffset + this.sent;
  }
  markSent(now: number): void {
    const req = this.items[this.head + this.sent]!;
    req.sentAt = now;
    this.sent++;
    this.sentRecords += req.records;
  }

  /** Pop the requests acknowledged by `ackOffset` (cumulative) and hand each to `each`. */
  ack(ackOffset: number, each: (req: PendingRequest) => void): number {
    const count = ackOffset - this.baseOffset + 1;
    for (let i = 0; i < count; i++) {
      const req = this.items[this.head]!;
      this.items[this.head] = undefined;
      this.head++;
      this.records -= req.records;
      this.bytes -= req.bytes;
      this.sentRecords -= req.records;
      each(req);
    }
    this.sent -= count;
    this.baseOffset += count;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return count;
  }

  /** A new stream begins: nothing is sent on it yet, offsets restart at 0. */
  rewind(): void {
    this.sent = 0;
    this.sentRecords = 0;
    this.baseOffset = 0;
  }

  /** Remove everything (final failure or close) and return what was in it. */
  drain(): PendingRequest[] {
    const out = this.items.slice(this.head) as PendingRequest[];
    this.items = [];
    this.head = 0;
    this.sent = 0;
    this.sentRecords = 0;
    this.baseOffset = 0;
    this.records = 0;
    this.bytes = 0;
    return out;
  }
}
