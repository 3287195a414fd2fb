/**
 * The encode worker (see encode-thread.ts): deserialises a call's items from its slot of the
 * shared ring, encodes them with the same encodeBatch as the inline path and writes the records
 * back into the slot (or, when they do not fit, sends them as one transferred buffer).
 */
import * as v8 from 'v8';
import { parentPort, workerData } from 'worker_threads';
import { createRecordEncoder, encodeBatch, type RecordEncoder } from './record-encoder';
import type { EncodeJob, EncodeReply } from './encode-thread';

const encoders = new Map<string, RecordEncoder>();

function encoderFor(job: EncodeJob): RecordEncoder {
  const key = `${job.recordType}\u0000${job.sourceSystem}`;
  let encoder = encoders.get(key);
  if (!encoder) {
    encoder = createRecordEncoder({ format: 'ot-event', recordType: job.recordType, table: '', sourceSystem: job.sourceSystem });
    encoders.set(key, encoder);
  }
  return encoder;
}

const port = parentPort;
const ring = Buffer.from((workerData as { ring: SharedArrayBuffer }).ring);
if (port) {
  port.on('message', (job: EncodeJob) => {
    let reply: EncodeReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const items = v8.deserialize(ring.subarray(job.start, job.start + job.length)) as unknown[];
      const batch = encodeBatch(encoderFor(job), items, job.micros, job.maxRecordBytes);
      const lengths = new Int32Array(batch.records.length);
      const inSlot = job.start + batch.bytes <= job.end;
      const out = inSlot ? ring : Buffer.allocUnsafeSlow(batch.bytes);
      let offset = inSlot ? job.start : 0;
      for (let i = 0; i < batch.records.length; i++) {
        const r = batch.records[i];
        r.copy(out, offset);
        offset += r.length;
        lengths[i] = r.length;
      }
      reply = { id: job.id, lengths, rejected: batch.rejected };
      if (!inSlot) {
        reply.data = out.buffer as ArrayBuffer;
        transfer.push(reply.data);
      }
    } catch (err) {
      // the caller encodes this call inline
      reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, transfer);
  });
}
