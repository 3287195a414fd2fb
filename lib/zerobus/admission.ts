/**
 * Admission: ingest calls become requests in the landing zone only while the in-flight limits
 * (records, bytes) leave room; the others wait here, in order. A call is split into requests
 * of at most the request body size when it is admitted.
 */
import { ZerobusError } from './errors';
import type { IngestTicket, LandingZone, PendingRequest } from './landing-zone';
import { batchItemSize, encodeRequest, HEADER_ROOM, maxRecordBytes, recordLengths, type EncodedRequest, type WireRecord } from './wire';

export interface Admission {
  records: number;
  bytes: number;
  ticket: IngestTicket;
  /** ingest(): the records, encoded into requests once admitted. */
  raw?: { records: readonly WireRecord[]; lens: Int32Array };
  /** ingestRows(): the requests, encoded at the call. */
  encoded?: EncodedRequest[];
}

export interface AdmissionLimits {
  maxRecords: number;
  maxBytes: number;
  /** request size less the room for its header */
  maxBodyBytes: number;
  json: boolean;
}

/** Measures ingest()'s records; throws when one can never fit in a request. */
export function measureRecords(records: readonly WireRecord[], limits: AdmissionLimits): Pick<Admission, 'bytes' | 'raw'> {
  const lens = recordLengths(records, limits.json);
  const limit = maxRecordBytes(limits.maxBodyBytes + HEADER_ROOM);
  let bytes = 0;
  for (let i = 0; i < lens.length; i++) {
    if (lens[i] > limit) {
      throw new ZerobusError('INVALID_ARGUMENT', `record ${i} is ${lens[i]} bytes, more than one request may carry (${limit})`, {
        retryable: false,
        hint: 'Zerobus accepts at most 10 MB per request; split or shrink the record.',
      });
    }
    bytes += batchItemSize(lens[i]);
  }
  return { bytes, raw: { records, lens } };
}

export class AdmissionQueue {
  private readonly waiting: (Admission | undefined)[] = [];
  private head = 0;

  /** `admitted`: requests were added to the landing zone (the sender may write them). */
  constructor(private readonly lz: LandingZone, private readonly limits: AdmissionLimits, private readonly admitted: () => void) {}

  /** Nothing waits for room. */
  get idle(): boolean {
    return this.head === this.waiting.length;
  }

  waitingRecords(): number {
    let n = 0;
    for (let i = this.head; i < this.waiting.length; i++) n += this.waiting[i]!.records;
    return n;
  }

  offer(a: Admission): void {
    if (this.idle && this.hasRoom(a.records, a.bytes)) this.admit(a);
    else this.waiting.push(a);
  }

  /** Acks made room: admit what waits, in order. */
  admitWaiting(): void {
    while (this.head < this.waiting.length) {
      const a = this.waiting[this.head]!;
      if (!this.hasRoom(a.records, a.bytes)) break;
      this.waiting[this.head++] = undefined;
      this.admit(a);
    }
    if (this.idle && this.head > 0) this.clear();
  }

  rejectAll(err: Error): void {
    for (let i = this.head; i < this.waiting.length; i++) this.waiting[i]!.ticket.reject(err);
    this.clear();
  }

  private clear(): void {
    this.waiting.length = 0;
    this.head = 0;
  }

  private hasRoom(records: number, bytes: number): boolean {
    if (this.lz.length === 0) return true; // an oversize call still goes alone
    return this.lz.records + records <= this.limits.maxRecords && this.lz.bytes + bytes <= this.limits.maxBytes;
  }

  /** Encode an ingest call into requests of at most maxRequestBytes each. */
  private admit(a: Admission): void {
    const { ticket } = a;
    if (a.encoded) {
      for (const req of a.encoded) this.enqueue(req, ticket);
      this.admitted();
      return;
    }
    const { records, lens } = a.raw!;
    const { json } = this.limits;
    const budget = this.limits.maxBodyBytes - 6; // batch wrapper tag + length
    let from = 0;
    let size = 0;
    for (let i = 0; i < records.length; i++) {
      const item = batchItemSize(lens[i]);
      if (i > from && size + item > budget) {
        this.enqueue(encodeRequest(records, lens, from, i, json), ticket);
        from = i;
        size = 0;
      }
      size += item;
    }
    this.enqueue(encodeRequest(records, lens, from, records.length, json), ticket);
    this.admitted();
  }

  private enqueue(req: EncodedRequest, ticket: IngestTicket): void {
    ticket.remaining++;
    const pending = req as PendingRequest;
    pending.ticket = ticket;
    pending.sentAt = 0;
    this.lz.push(pending);
  }
}
