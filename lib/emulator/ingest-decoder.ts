/**
 * The emulator's fast reading of ingest requests: an EphemeralStreamRequest that is exactly
 * `ingest_record` or `ingest_record_batch` in the layout every client writes (offset_id, then
 * the record or batch, nothing else) is read without protobufjs — the records stay where they
 * are in the request buffer, as spans. Anything else (other fields, unknown fields, repeated
 * fields, odd varints, truncation) returns null and goes to protobufjs, so what is accepted
 * and how it is rejected does not change.
 */

/** The records of one request as spans of the request buffer. */
export class RecordSpans {
  constructor(
    readonly buf: Buffer,
    readonly starts: number[],
    readonly ends: number[],
  ) {}

  get length(): number {
    return this.starts.length;
  }

  /** The records' bytes together. */
  payloadBytes(): number {
    let bytes = 0;
    for (let i = 0; i < this.starts.length; i++) bytes += this.ends[i] - this.starts[i];
    return bytes;
  }

  /** Record i as text, decoded as protobufjs decodes a `string` field. */
  text(i: number): string {
    return this.buf.toString('utf8', this.starts[i], this.ends[i]);
  }
}

export interface FastIngest {
  offset: number;
  json: boolean;
  records: RecordSpans;
}

const TAG_RECORD = 0x12; // EphemeralStreamRequest.ingest_record
const TAG_BATCH = 0x1a; // EphemeralStreamRequest.ingest_record_batch
const TAG_OFFSET = 0x08; // offset_id
const TAG_PROTO = 0x12; // proto_encoded_record / proto_encoded_batch
const TAG_JSON = 0x1a; // json_record / json_batch
const TAG_ITEM = 0x0a; // *RecordBatch.records

// varint result (module state: no tuple per read); -1 when not a canonical value below 2^31 / 2^53
let vPos = 0;

/** A length varint (< 2^31, at most 5 bytes) at pos, or -1. */
function readLength(buf: Buffer, pos: number, end: number): number {
  if (pos < end && buf[pos] < 0x80) {
    vPos = pos + 1;
    return buf[pos];
  }
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return -1;
    const b = buf[pos++];
    if (shift === 28 && b > 0x07) return -1;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      vPos = pos;
      return value;
    }
  }
  return -1;
}

/** An offset varint below 2^53 (at most 8 bytes), or -1. */
function readOffset(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 56; shift += 7) {
    if (pos >= end) return -1;
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      vPos = pos;
      return value <= Number.MAX_SAFE_INTEGER ? value : -1;
    }
  }
  return -1;
}

export function decodeIngestFast(buf: Buffer): FastIngest | null {
  const end = buf.length;
  if (end < 2) return null;
  const outer = buf[0];
  if (outer !== TAG_RECORD && outer !== TAG_BATCH) return null;
  const innerLen = readLength(buf, 1, end);
  if (innerLen < 0 || vPos + innerLen !== end) return null;
  let pos = vPos;
  if (buf[pos] !== TAG_OFFSET) return null;
  const offset = readOffset(buf, pos + 1, end);
  if (offset < 0) return null;
  pos = vPos;
  if (pos >= end) return null;
  const kind = buf[pos];
  if (kind !== TAG_PROTO && kind !== TAG_JSON) return null;
  const len = readLength(buf, pos + 1, end);
  if (len < 0 || vPos + len !== end) return null;
  pos = vPos;
  const json = kind === TAG_JSON;
  if (outer === TAG_RECORD) return { offset, json, records: new RecordSpans(buf, [pos], [end]) };
  const starts: number[] = [];
  const ends: number[] = [];
  while (pos < end) {
    if (buf[pos] !== TAG_ITEM) return null;
    const n = readLength(buf, pos + 1, end);
    if (n < 0 || vPos + n > end) return null;
    starts.push(vPos);
    pos = vPos + n;
    ends.push(pos);
  }
  return { offset, json, records: new RecordSpans(buf, starts, ends) };
}
