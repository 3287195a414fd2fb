/**
 * ingestRows(): row objects encoded by the client itself, straight into request buffers. PROTO
 * rows use an encoder compiled once from the stream's descriptor (byte-identical to protobufjs,
 * see lib/schema/proto-writer.ts); JSON rows are JSON.stringify'd into the buffer without the
 * intermediate length pass. Either way a row's bytes are written exactly once.
 */
import { readDescriptor } from '../schema/descriptor';
import { createRowEncoder } from '../schema/proto-writer';
import { configError, ZerobusError } from './errors';
import { HEADER_ROOM, maxRecordBytes, RequestBuilder, type EncodedRequest } from './wire';

export type RowWriter = (row: unknown, w: RequestBuilder) => void;

/** UTF-8 of `text`; its exact byte length is computed only when the 3-bytes-per-unit bound does not fit. */
function writeText(text: string, w: RequestBuilder): void {
  if (w.len + text.length * 3 > w.buf.length) w.ensure(Buffer.byteLength(text, 'utf8'));
  w.len += w.buf.write(text, w.len, 'utf8');
}

function writeJsonRow(row: unknown, w: RequestBuilder): void {
  const text = JSON.stringify(row);
  if (typeof text !== 'string') throw new Error(`${row === undefined ? 'undefined' : typeof row} has no JSON text`);
  writeText(text, w);
}

/** A record given as JSON text or bytes (ingest() on a JSON stream), written as it is. */
export function writeRecordAsIs(record: unknown, w: RequestBuilder): void {
  if (typeof record === 'string') {
    writeText(record, w);
  } else {
    const bytes = record as Uint8Array;
    w.ensure(bytes.byteLength);
    w.buf.set(bytes, w.len);
    w.len += bytes.byteLength;
  }
}

export function jsonRowWriter(): RowWriter {
  return writeJsonRow;
}

/** The row writer of a PROTO stream's record message; throws a config error for a descriptor it cannot read. */
export function protoRowWriter(descriptorProto: Uint8Array): RowWriter {
  const read = readDescriptor(descriptorProto);
  if (!read.ok) throw configError(`cannot encode rows with this descriptorProto: ${read.reason}`);
  return createRowEncoder(read.messageType);
}

/**
 * Rows as requests of at most `maxBodyBytes` (body) each. `avgHint` (bytes per record seen
 * before) sizes the buffers so that they rarely grow. Throws INVALID_ARGUMENT naming the row.
 */
export function encodeRows(rows: readonly unknown[], write: RowWriter, json: boolean, maxBodyBytes: number, avgHint: number, label = 'row'): EncodedRequest[] {
  const out: EncodedRequest[] = [];
  const limit = maxRecordBytes(maxBodyBytes + HEADER_ROOM);
  const budget = maxBodyBytes - 6; // batch wrapper tag + length, as in the stream's admit()
  const capacity = (remaining: number) => Math.min(maxBodyBytes + 64, Math.ceil(remaining * (avgHint + 3) * 1.1) + 256);
  let b = new RequestBuilder(json, capacity(rows.length));
  for (let i = 0; i < rows.length; i++) {
    b.beginRecord();
    try {
      write(rows[i], b);
    } catch (err) {
      throw new ZerobusError('INVALID_ARGUMENT', `${label} ${i} cannot be encoded: ${(err as Error).message}`, { retryable: false });
    }
    const n = b.endRecord();
    if (n > limit) {
      throw new ZerobusError('INVALID_ARGUMENT', `${label} ${i} is ${n} bytes, more than one request may carry (${limit})`, {
        retryable: false,
        hint: 'Zerobus accepts at most 10 MB per request; split or shrink the record.',
      });
    }
    if (b.count > 1 && b.size > budget) {
      const next = b.splitLast(capacity(rows.length - i));
      out.push(b.finish());
      b = next;
    }
  }
  out.push(b.finish());
  return out;
}
