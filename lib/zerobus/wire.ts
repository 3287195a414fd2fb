/**
 * Hand-written encoder of the ingest request messages (EphemeralStreamRequest with
 * `ingest_record` / `ingest_record_batch`), byte-identical to protobufjs' output for the same
 * message. Each request is encoded ONCE into a buffer that keeps free room in front of the body;
 * the offset-dependent header is written into that room at send time, so a resend after a
 * recovery (new offsets from 0) costs a few bytes, not a re-encode.
 */
import { ZerobusError } from './errors';
import { grownBuffer } from '../buffer-growth';
import { varintSize, writeVarint } from '../varint';

/** A length-delimited field's own bytes: its tag and a length varint (≤ 5 bytes below 4 GiB). */
const FIELD_HEADER_MAX = 1 + 5;
/** Room reserved before the body: outer tag + length (≤5) + offset tag + offset varint (≤10), rounded up. */
export const HEADER_ROOM = 20;
/**
 * What a request adds around one record's bytes at most: the header room, the batch wrapper and
 * the record's own field header. A record fits a request of N bytes if it has at most
 * N - RECORD_FRAMING_BYTES bytes.
 */
export const RECORD_FRAMING_BYTES = HEADER_ROOM + FIELD_HEADER_MAX + FIELD_HEADER_MAX;

const TAG_INGEST_RECORD = 0x12; // EphemeralStreamRequest.ingest_record = 2, LEN
const TAG_INGEST_BATCH = 0x1a; // EphemeralStreamRequest.ingest_record_batch = 3, LEN
const TAG_OFFSET = 0x08; // offset_id = 1, VARINT
const TAG_PROTO = 0x12; // proto_encoded_record / proto_encoded_batch = 2, LEN
const TAG_JSON = 0x1a; // json_record / json_batch = 3, LEN
const TAG_BATCH_ITEM = 0x0a; // *RecordBatch.records = 1, LEN

export type WireRecord = Buffer | Uint8Array | string;

/** One encoded request: `buf[bodyStart..]` is everything after the offset. */
export interface EncodedRequest {
  buf: Buffer;
  bodyStart: number;
  /** Number of records in this request. */
  records: number;
  /** Encoded size of the body (what counts against in-flight bytes). */
  bytes: number;
  batch: boolean;
}

/** Why record i cannot travel on a stream of this type, or null. */
function recordTypeError(r: unknown, i: number, json: boolean): ZerobusError | null {
  if (typeof r === 'string') return json ? null : mismatch('a string', 'proto');
  if (r instanceof Uint8Array) return null;
  return new ZerobusError('INVALID_ARGUMENT', `record ${i} is ${r === null ? 'null' : typeof r}, not ${json ? 'a JSON string or Buffer' : 'a Buffer'}`, {
    retryable: false,
    hint: json ? 'Give JSON records as strings (JSON.stringify) or UTF-8 Buffers.' : 'Give PROTO records as encoded Buffers.',
  });
}

/** Throws the first record that cannot travel on a stream of this type. */
export function checkRecordTypes(records: readonly unknown[], json: boolean): void {
  for (let i = 0; i < records.length; i++) {
    const err = recordTypeError(records[i], i, json);
    if (err) throw err;
  }
}

/** Wire sizes of the records (payload bytes only), computed once per ingest call. */
export function recordLengths(records: readonly WireRecord[], json: boolean): Int32Array {
  const lens = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (typeof r === 'string' && json) lens[i] = Buffer.byteLength(r, 'utf8');
    else if (r instanceof Uint8Array) lens[i] = r.byteLength;
    else throw recordTypeError(r, i, json)!;
  }
  return lens;
}

function mismatch(what: string, streamType: string): ZerobusError {
  return new ZerobusError('INVALID_ARGUMENT', `record type does not match the stream: got ${what} on a ${streamType} stream`, {
    retryable: false,
    hint: 'Encode records with the stream\'s record type (PROTO: encoded Buffers; JSON: strings).',
  });
}

/** Bytes one record adds inside a batch. */
export function batchItemSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Largest record payload that fits one request of `maxRequestBytes`. */
export function maxRecordBytes(maxRequestBytes: number): number {
  return maxRequestBytes - RECORD_FRAMING_BYTES;
}

/**
 * Encode records[from, to) as one request body. A single record becomes `ingest_record`,
 * several become `ingest_record_batch` (as the official SDK does).
 */
export function encodeRequest(records: readonly WireRecord[], lens: Int32Array, from: number, to: number, json: boolean): EncodedRequest {
  const count = to - from;
  const fieldTag = json ? TAG_JSON : TAG_PROTO;
  let bodyLen: number;
  let inner = 0;
  if (count === 1) {
    const len = lens[from];
    bodyLen = 1 + varintSize(len) + len;
  } else {
    for (let i = from; i < to; i++) inner += batchItemSize(lens[i]);
    bodyLen = 1 + varintSize(inner) + inner;
  }
  const buf = Buffer.allocUnsafe(HEADER_ROOM + bodyLen);
  let pos = HEADER_ROOM;
  buf[pos++] = fieldTag;
  if (count === 1) {
    pos = writeVarint(buf, pos, lens[from]);
    pos = writeRecord(buf, pos, records[from], lens[from]);
  } else {
    pos = writeVarint(buf, pos, inner);
    for (let i = from; i < to; i++) {
      buf[pos++] = TAG_BATCH_ITEM;
      pos = writeVarint(buf, pos, lens[i]);
      pos = writeRecord(buf, pos, records[i], lens[i]);
    }
  }
  return { buf, bodyStart: HEADER_ROOM, records: count, bytes: bodyLen, batch: count > 1 };
}

function writeRecord(buf: Buffer, pos: number, r: WireRecord, len: number): number {
  if (typeof r === 'string') {
    buf.write(r, pos, len, 'utf8');
  } else {
    buf.set(r, pos);
  }
  return pos + len;
}

/**
 * The complete EphemeralStreamRequest for this request at physical `offset`: writes the header
 * in the room before the body and returns a view (no copy of the body).
 */
export function frameRequest(req: EncodedRequest, offset: number): Buffer {
  const innerLen = 1 + varintSize(offset) + req.bytes;
  const headerLen = 1 + varintSize(innerLen) + 1 + varintSize(offset);
  const start = req.bodyStart - headerLen;
  const buf = req.buf;
  let pos = start;
  buf[pos++] = req.batch ? TAG_INGEST_BATCH : TAG_INGEST_RECORD;
  pos = writeVarint(buf, pos, innerLen);
  buf[pos++] = TAG_OFFSET;
  writeVarint(buf, pos, offset);
  return buf.subarray(start, req.bodyStart + req.bytes);
}

/** Where the first record item of a request built in place begins (room for the batch wrapper). */
const RECORDS_START = HEADER_ROOM + 6;

/**
 * A request built record by record: each record is written straight into the request buffer
 * (after a batch item tag and a length slot), so rows encoded here are never copied again.
 * The length slot is two bytes (records of 128 B–16 KiB); other sizes move the record once.
 */
export class RequestBuilder {
  buf: Buffer;
  len = RECORDS_START;
  count = 0;
  private itemStart = 0;

  constructor(private readonly json: boolean, capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(RECORDS_START + 64, capacity));
  }

  ensure(n: number): void {
    if (this.len + n > this.buf.length) this.buf = grownBuffer(this.buf, this.len, n);
  }

  /** Encoded size of the records so far (what counts against the request budget). */
  get size(): number {
    return this.len - RECORDS_START;
  }

  beginRecord(): void {
    this.ensure(3);
    this.itemStart = this.len;
    this.buf[this.len] = TAG_BATCH_ITEM;
    this.len += 3;
  }

  /** Ends the record begun last; returns its payload length. */
  endRecord(): number {
    const dataStart = this.itemStart + 3;
    const n = this.len - dataStart;
    const size = varintSize(n);
    if (size !== 2) {
      const shift = size - 2;
      if (shift > 0) this.ensure(shift);
      this.buf.copyWithin(dataStart + shift, dataStart, this.len);
      this.len += shift;
    }
    writeVarint(this.buf, this.itemStart + 1, n);
    this.count++;
    return n;
  }

  /** Removes the last record and returns a new builder that starts with it. */
  splitLast(capacity: number): RequestBuilder {
    const next = new RequestBuilder(this.json, capacity);
    const n = this.len - this.itemStart;
    next.ensure(n);
    this.buf.copy(next.buf, next.len, this.itemStart, this.len);
    next.itemStart = next.len;
    next.len += n;
    next.count = 1;
    this.len = this.itemStart;
    this.count--;
    return next;
  }

  /** The finished request (a single record becomes `ingest_record`, as in encodeRequest). */
  finish(): EncodedRequest {
    const fieldTag = this.json ? TAG_JSON : TAG_PROTO;
    const inner = this.len - RECORDS_START;
    let buf = this.buf;
    if (buf.length - this.len > (this.len >> 2) + 1024) {
      // do not keep a mostly empty buffer alive while the request is in flight
      buf = Buffer.allocUnsafe(this.len);
      this.buf.copy(buf, 0, 0, this.len);
    }
    if (this.count === 1) {
      buf[RECORDS_START] = fieldTag;
      return { buf, bodyStart: RECORDS_START, records: 1, bytes: inner, batch: false };
    }
    const bodyStart = RECORDS_START - 1 - varintSize(inner);
    buf[bodyStart] = fieldTag;
    writeVarint(buf, bodyStart + 1, inner);
    return { buf, bodyStart, records: this.count, bytes: this.len - bodyStart, batch: true };
  }
}
