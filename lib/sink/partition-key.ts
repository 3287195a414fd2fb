/**
 * Which stream a spooled record goes to, read from the record itself: the records of one tag
 * (format ot-event: `tag_path`) or of one value of the partition column (format rows) always
 * share a stream, so their order survives several streams to one table. Reading the key from
 * the stored bytes rather than remembering it keeps the spool's format unchanged and works for
 * a backlog a previous run left. A PROTO record's key is the raw bytes of its top-level field; a
 * JSON record's key is its property (JSON records start with `{`, which no PROTO record of ours
 * does: 0x7b would be field 15 as a group).
 */
import { readVarint } from '../varint';

/** A 32-bit hash of the record's key, or undefined when the record has none (sent round robin). */
export type PartitionKeyReader = (data: Buffer) => number | undefined;

const OPEN_BRACE = 0x7b;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
/** tag_path in the OT event row (docs/DESIGN.md §5) */
const TAG_PATH_FIELD = 3;

export interface PartitionKeyOptions {
  format: 'ot-event' | 'rows';
  /** format rows: the column whose value picks the stream; none = round robin */
  column?: string;
  /** format rows, PROTO: the column's field number in the row's message */
  fieldNumber?: number;
}

/** The key reader for a sink's records; undefined when records are spread round robin. */
export function partitionKeyReader(opts: PartitionKeyOptions): PartitionKeyReader | undefined {
  if (opts.format === 'ot-event') {
    return (data) => (data.length > 0 && data[0] === OPEN_BRACE ? otEventJsonKey(data) : protoFieldHash(data, TAG_PATH_FIELD));
  }
  const { column, fieldNumber } = opts;
  if (!column) return undefined;
  return (data) => {
    if (data.length > 0 && data[0] === OPEN_BRACE) return jsonKey(data, column);
    return fieldNumber === undefined ? undefined : protoFieldHash(data, fieldNumber);
  };
}

const TAG_PATH_MARK = Buffer.from('"tag_path":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * tag_path of an OT event JSON record as lib/tags writes it. The mark cannot occur inside a
 * string value (its quotes would be escaped), so the first match is the column; a path with
 * escapes is read by the JSON parser so that it hashes as its PROTO twin does.
 */
function otEventJsonKey(data: Buffer): number | undefined {
  const at = data.indexOf(TAG_PATH_MARK);
  if (at < 0) return undefined;
  const start = at + TAG_PATH_MARK.length;
  for (let i = start; i < data.length; i++) {
    if (data[i] === QUOTE) return fnv1a(data, start, i);
    if (data[i] === BACKSLASH) return jsonKey(data, 'tag_path');
  }
  return undefined;
}

/** FNV-1a over bytes [start, end). */
export function fnv1a(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/** Hash of the first top-level occurrence of `field` (its value's bytes); undefined when absent or unreadable. */
export function protoFieldHash(buf: Uint8Array, field: number): number | undefined {
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (!tag) return undefined;
    pos = tag[1];
    const wire = tag[0] % 8;
    const start = pos;
    if (wire === WIRE_VARINT) {
      const v = readVarint(buf, pos, end);
      if (!v) return undefined;
      pos = v[1];
    } else if (wire === WIRE_I64) pos += 8;
    else if (wire === WIRE_I32) pos += 4;
    else if (wire === WIRE_LEN) {
      const len = readVarint(buf, pos, end);
      if (!len) return undefined;
      pos = len[1] + len[0];
      if (Math.floor(tag[0] / 8) === field) return pos <= end ? fnv1a(buf, len[1], pos) : undefined;
      continue;
    } else return undefined;
    if (pos > end) return undefined;
    if (Math.floor(tag[0] / 8) === field) return fnv1a(buf, start, pos);
  }
  return undefined;
}

const textEncoder = new TextEncoder();

/** Hash of a JSON record's property: a string by its UTF-8 bytes (as in PROTO), anything else by its JSON text. */
function jsonKey(data: Buffer, property: string): number | undefined {
  let value: unknown;
  try {
    value = (JSON.parse(data.toString('utf8')) as Record<string, unknown>)[property];
  } catch {
    return undefined;
  }
  if (value === undefined || value === null) return undefined;
  const bytes = textEncoder.encode(typeof value === 'string' ? value : JSON.stringify(value));
  return fnv1a(bytes, 0, bytes.length);
}
