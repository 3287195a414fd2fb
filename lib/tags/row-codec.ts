/**
 * Wire encodings of the OT event row: PROTO (the `OtEvent` message of proto/ot_event.proto)
 * and JSON (one object of the present columns), plus the DescriptorProto Zerobus needs.
 *
 * encodeOtEventProto is the hottest path of the product (every record of every stream), so it
 * is written by hand for this fixed 14-field message rather than going through protobufjs'
 * generic encoder: one pass, straight into the slab the record is then a view of (about 2x the
 * throughput of protobufjs `Type.encode` here; the bench reports the ratio).
 * bench/mapping.ts measures it against protobufjs `Type.encode` and checks byte equality.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';
import { PROTO_DIR } from '../paths';
import { writeVarint } from '../varint';
import { RowMappingError, toOtEventRowIdDigested, type OtEventRow, type RowContext } from './row';
import { writeUuidText } from './uuid-v5';

const root = new protobuf.Root().loadSync(path.join(PROTO_DIR, 'ot_event.proto'), { keepCase: true });
root.resolveAll();

/** protobufjs type of the row (snake_case field names, as in the .proto). */
export const OT_EVENT_TYPE: protobuf.Type = root.lookupType('ot_lakehouse.OtEvent');

function descriptorBytes(type: protobuf.Type): Buffer {
  const toDescriptor = (type as unknown as { toDescriptor(edition: string): protobuf.Message }).toDescriptor;
  const bytes = descriptor.DescriptorProto.encode(toDescriptor.call(type, 'proto2')).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `google.protobuf.DescriptorProto` of OtEvent, as Zerobus' CreateIngestStreamRequest wants it. */
export const OT_EVENT_DESCRIPTOR: Buffer = descriptorBytes(OT_EVENT_TYPE);

// Field keys: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const K_EVENT_ID = (1 << 3) | 2;
const K_EVENT_TIME = (2 << 3) | 0;
const K_TAG_PATH = (3 << 3) | 2;
const K_TAG_PROVIDER = (4 << 3) | 2;
const K_NUMERIC_VALUE = (5 << 3) | 1;
const K_STRING_VALUE = (6 << 3) | 2;
const K_BOOLEAN_VALUE = (7 << 3) | 0;
const K_QUALITY = (8 << 3) | 2;
const K_QUALITY_CODE = (9 << 3) | 0;
const K_SOURCE_SYSTEM = (10 << 3) | 2;
const K_INGESTION_TIMESTAMP = (11 << 3) | 0;
const K_DATA_TYPE = (12 << 3) | 2;
const K_ALARM_STATE = (13 << 3) | 2;
const K_ALARM_PRIORITY = (14 << 3) | 0;

/**
 * Records are written straight into a 64 KiB slab and returned as views of it, as Node's own
 * pool does for small Buffers but without a copy: the exact size is only known once written
 * (writing into scratch and copying out cost ≈ 0.25 µs per record, a quarter of the encoding).
 * A slab lives as long as any record in it; records are spooled or sent in the order they
 * were made, so that is about one slab beyond the records still in flight.
 */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** Strings this short (UTF-16 units) encode to ≤ 127 bytes: their length prefix is one byte. */
const SHORT_STRING = 42;

/** Writes a string field; returns the new position. */
function writeString(buf: Buffer, pos: number, key: number, s: string): number {
  buf[pos++] = key;
  const n = s.length;
  if (n <= SHORT_STRING) {
    const start = pos + 1;
    let p = start;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        p = start + buf.write(s, start, 'utf8');
        break;
      }
      buf[p++] = c;
    }
    buf[pos] = p - start;
    return p;
  }
  const len = Buffer.byteLength(s, 'utf8');
  pos = writeVarint(buf, pos, len);
  return pos + buf.write(s, pos, len, 'utf8');
}

/** int64 varint of any safe integer: negative values are 64-bit two's complement (10 bytes). */
function writeInt64(buf: Buffer, pos: number, v: number): number {
  if (v >= 0) return writeVarint(buf, pos, v);
  let u = BigInt.asUintN(64, BigInt(v));
  while (u > 127n) {
    buf[pos++] = Number(u & 127n) | 128;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

/** int32 varint: negative values are sign-extended to 64 bits (10 bytes), as protobuf says. */
function writeInt32(buf: Buffer, pos: number, v: number): number {
  if (v >= 0) return writeVarint(buf, pos, v);
  let lo = v >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  // bits 28..31 of the low word, then the all-ones high word
  buf[pos++] = (lo & 0x0f) | 0x70 | 128;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

function checkInt64(v: number, column: string): void {
  if (!Number.isSafeInteger(v)) throw new RowMappingError(`${column} ${v} is not a safe integer`);
}

function checkInt32(v: number, column: string): void {
  if ((v | 0) !== v) throw new RowMappingError(`${column} ${v} is not a 32-bit integer`);
}

/** Room for a string field: 3 bytes per UTF-16 unit, a 5-byte length and the key. */
function room(s: string | undefined): number {
  return s == null ? 0 : s.length * 3 + 6;
}

/** Protobuf bytes of one row; absent columns are absent fields (NULL), as proto2 keeps presence. */
export function encodeOtEventProto(row: OtEventRow): Buffer {
  return encodeRow(row, false);
}

/** Length of a UUID's text; its field takes two bytes more (key and a one-byte length). */
const UUID_TEXT_BYTES = 36;

/**
 * encodeOtEventProto(toOtEventRow(event, ctx)) without the event id's string: the id's text
 * goes from the hash straight into the record. Throws RowMappingError as they do.
 */
export function encodeOtEventRecordProto(event: unknown, ctx: RowContext): Buffer {
  return encodeRow(toOtEventRowIdDigested(event, ctx), true);
}

/** `idDigested`: row.event_id is empty and the id is uuid-v5's latest digest (toOtEventRowIdDigested). */
function encodeRow(row: OtEventRow, idDigested: boolean): Buffer {
  // upper bound of the size: fixed-width fields at their widest (11-byte varints, 9-byte double)
  const sv = row.string_value;
  const bound =
    5 * 11 + 9 + 2 + (idDigested ? UUID_TEXT_BYTES + 2 : room(row.event_id)) + room(row.tag_path) + room(row.tag_provider) + room(sv) +
    room(row.quality) + room(row.source_system) + room(row.data_type) + room(row.alarm_state);
  // a rare huge row (a big JSON value) gets a buffer of its own
  let buf: Buffer;
  if (bound <= SLAB_BYTES) {
    if (slabUsed + bound > SLAB_BYTES) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabUsed = 0;
    }
    buf = slab;
  } else buf = Buffer.allocUnsafe(bound);
  const start = buf === slab ? slabUsed : 0;
  let p = start;
  let v: string | number | boolean | undefined;
  if (idDigested) {
    buf[p++] = K_EVENT_ID;
    buf[p++] = UUID_TEXT_BYTES;
    p = writeUuidText(buf, p);
  } else if ((v = row.event_id) != null) p = writeString(buf, p, K_EVENT_ID, v);
  if ((v = row.event_time) != null) {
    checkInt64(v, 'event_time');
    buf[p++] = K_EVENT_TIME;
    p = writeInt64(buf, p, v);
  }
  if ((v = row.tag_path) != null) p = writeString(buf, p, K_TAG_PATH, v);
  if ((v = row.tag_provider) != null) p = writeString(buf, p, K_TAG_PROVIDER, v);
  if ((v = row.numeric_value) != null) {
    buf[p++] = K_NUMERIC_VALUE;
    p = buf.writeDoubleLE(v, p);
  }
  if (sv != null) p = writeString(buf, p, K_STRING_VALUE, sv);
  if ((v = row.boolean_value) != null) {
    buf[p++] = K_BOOLEAN_VALUE;
    buf[p++] = v ? 1 : 0;
  }
  if ((v = row.quality) != null) p = writeString(buf, p, K_QUALITY, v);
  if ((v = row.quality_code) != null) {
    checkInt32(v, 'quality_code');
    buf[p++] = K_QUALITY_CODE;
    p = writeInt32(buf, p, v);
  }
  if ((v = row.source_system) != null) p = writeString(buf, p, K_SOURCE_SYSTEM, v);
  if ((v = row.ingestion_timestamp) != null) {
    checkInt64(v, 'ingestion_timestamp');
    buf[p++] = K_INGESTION_TIMESTAMP;
    p = writeInt64(buf, p, v);
  }
  if ((v = row.data_type) != null) p = writeString(buf, p, K_DATA_TYPE, v);
  if ((v = row.alarm_state) != null) p = writeString(buf, p, K_ALARM_STATE, v);
  if ((v = row.alarm_priority) != null) {
    checkInt32(v, 'alarm_priority');
    buf[p++] = K_ALARM_PRIORITY;
    p = writeInt32(buf, p, v);
  }
  // a row that throws above (an unwritable column) leaves slabUsed as it was: its bytes are reused
  if (buf === slab) slabUsed = p;
  return buf.subarray(start, p);
}


/** The same bytes through protobufjs' generic encoder: the baseline of bench/mapping.ts. */
export function encodeOtEventProtoGeneric(row: OtEventRow): Buffer {
  const bytes = OT_EVENT_TYPE.encode(row as unknown as protobuf.Message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const quote = JSON.stringify;

function sep(o: string): string {
  return o.length === 1 ? '' : ',';
}

/** Text of a number column; non-numbers and non-finite numbers cannot be written. */
function numberText(v: unknown, column: string): string {
  if (typeof v !== 'number') throw new RowMappingError(`${column} must be a number, not ${typeof v}`);
  if (v - v !== 0) throw new RowMappingError(`${column} ${v} is not a finite number`);
  return '' + v;
}

/**
 * JSON text of one row: the present columns only, in column order (other properties of the
 * object are not columns and are left out). A non-finite numeric_value (only possible in a row
 * not made by toOtEventRow) follows the mapper's rule: its text goes to string_value.
 * Unrolled by column: as fast as JSON.stringify of the row, with the guarantees above.
 */
export function encodeOtEventJson(row: OtEventRow): string {
  let v: unknown;
  // event_id is always there in a mapped row; the separator logic only matters for hand-made rows
  let o = (v = row.event_id) != null ? '{"event_id":' + quote(String(v)) : '{';
  if ((v = row.event_time) != null) o += sep(o) + '"event_time":' + numberText(v, 'event_time');
  if ((v = row.tag_path) != null) o += sep(o) + '"tag_path":' + quote(String(v));
  if ((v = row.tag_provider) != null) o += sep(o) + '"tag_provider":' + quote(String(v));
  let sv: unknown = row.string_value;
  if ((v = row.numeric_value) != null) {
    if (typeof v === 'number' && v - v !== 0) {
      if (sv == null) sv = String(v);
    } else o += sep(o) + '"numeric_value":' + numberText(v, 'numeric_value');
  }
  if (sv != null) o += sep(o) + '"string_value":' + quote(String(sv));
  if ((v = row.boolean_value) != null) o += sep(o) + (v ? '"boolean_value":true' : '"boolean_value":false');
  if ((v = row.quality) != null) o += sep(o) + '"quality":' + quote(String(v));
  if ((v = row.quality_code) != null) o += sep(o) + '"quality_code":' + numberText(v, 'quality_code');
  if ((v = row.source_system) != null) o += sep(o) + '"source_system":' + quote(String(v));
  if ((v = row.ingestion_timestamp) != null) o += sep(o) + '"ingestion_timestamp":' + numberText(v, 'ingestion_timestamp');
  if ((v = row.data_type) != null) o += sep(o) + '"data_type":' + quote(String(v));
  if ((v = row.alarm_state) != null) o += sep(o) + '"alarm_state":' + quote(String(v));
  if ((v = row.alarm_priority) != null) o += sep(o) + '"alarm_priority":' + numberText(v, 'alarm_priority');
  return o + '}';
}

/** Decodes PROTO bytes into a row with exactly the fields present on the wire. */
export function decodeOtEventProto(buf: Uint8Array): OtEventRow {
  const msg = OT_EVENT_TYPE.decode(buf);
  return OT_EVENT_TYPE.toObject(msg, { longs: Number, defaults: false }) as unknown as OtEventRow;
}
