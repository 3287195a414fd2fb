/**
 * Tag events (format 'ot-event') mapped to rows, given their event id and encoded on a worker
 * thread, so that this per-event work (SHA-1, number formatting, a second normalisation, PROTO
 * or JSON encoding) leaves the thread that also runs Node-RED's HTTP, receiver and batching.
 *
 * One worker per process, shared by every sink that uses it (acquire/release; the worker is
 * terminated when the last user releases it). A call's items cross as ONE v8.serialize buffer
 * written into a shared ring, and the worker writes the records back into the same slot (with
 * their lengths): messages carry only numbers. Measured: posting or transferring the 75 kB of
 * a 500-event call cost more (0.3–0.7 µs per event on the sending thread) than serialising it;
 * a copy into shared memory and a message of three numbers cost ≈ 0.05 µs per event.
 *
 * Only what the worker reproduces exactly goes there: plain objects whose fields the mapping
 * reads are primitives (a clone keeps those bit for bit). Anything else — class instances,
 * Dates, Buffers or nested objects in those fields, something v8 cannot serialise — is encoded
 * on the calling thread with the same `encodeBatch`, as is everything after the worker failed
 * or exited, including the calls it had not answered: the result never depends on where it ran.
 */
import * as path from 'path';
import * as v8 from 'v8';
import { Worker } from 'worker_threads';
import { encodeBatch, type EncodedBatch, type RecordEncoder } from './record-encoder';
import type { SinkRecordType } from './options';

/** Fewer items than this are encoded inline: a thread round trip costs more than it saves. */
export const OFFLOAD_MIN_ITEMS = 32;

/** The fields normaliseTagEvent reads: the ones that must survive the clone unchanged. */
const EVENT_FIELDS = ['tagPath', 'tagProvider', 'timestamp', 'value', 'dataType', 'quality', 'qualityCode', 'sourceSystem', 'alarmState', 'alarmPriority', 'historical'] as const;

/** Shared ring of call slots; a call that does not fit now is encoded inline. */
const RING_BYTES = 32 * 1024 * 1024;
/** A slot holds the serialised items, then the records: room for records up to this × the input. */
const SLOT_FACTOR = 3;

export interface EncodeJob {
  id: number;
  /** the serialised items are ring[start, start + length); the slot ends at `end` */
  start: number;
  length: number;
  end: number;
  micros: number;
  maxRecordBytes: number;
  recordType: SinkRecordType;
  sourceSystem: string;
}

/** The records are ring[start, start + sum(lengths)), or in `data` when they did not fit the slot. */
export type EncodeReply =
  | { id: number; lengths: Int32Array; data?: ArrayBuffer; rejected: { index: number; reason: string }[] }
  | { id: number; error: string };

interface Pending {
  start: number;
  end: number;
  run: () => EncodedBatch;
  resolve: (batch: EncodedBatch) => void;
}

/** Settings of the encoder the worker uses for a sink (its own copy, made from these). */
export interface ThreadEncoding {
  recordType: SinkRecordType;
  sourceSystem: string;
}

export class EncodeThread {
  private worker: Worker | undefined;
  /** set when the worker failed: encode inline until every user released it */
  private broken = false;
  private users = 0;
  private nextId = 1;
  /** calls in flight, oldest first (the worker answers in order); their slots are in the ring */
  private readonly pending = new Map<number, Pending>();
  private ring: Buffer | undefined;
  private ringHead = 0;

  acquire(): void {
    this.users++;
  }

  /** The last user gone: the worker ends (calls it had not answered are encoded inline). */
  release(): void {
    if (this.users === 0) return;
    if (--this.users > 0) return;
    const w = this.worker;
    this.worker = undefined;
    this.broken = false;
    if (w) {
      void w.terminate().catch(() => undefined);
      this.settleInline();
    }
  }

  /** Whether the worker would take these items (see the file comment). */
  takes(items: unknown[]): boolean {
    if (this.users === 0 || this.broken || items.length < OFFLOAD_MIN_ITEMS) return false;
    try {
      for (let i = 0; i < items.length; i++) if (!plainEvent(items[i])) return false;
    } catch {
      return false; // a throwing getter: the inline path reports it per item
    }
    return true;
  }

  /**
   * Encodes on the worker; `encoder` (the caller's own, same settings) encodes inline when the
   * items cannot be serialised or the worker is gone before it answered.
   */
  encode(items: unknown[], micros: number, maxRecordBytes: number, settings: ThreadEncoding, encoder: RecordEncoder): Promise<EncodedBatch> {
    const run = () => encodeBatch(encoder, items, micros, maxRecordBytes);
    const worker = this.users > 0 && !this.broken ? this.ensureWorker() : undefined;
    if (!worker) return Promise.resolve(run());
    let bytes: Buffer;
    try {
      bytes = v8.serialize(items);
    } catch {
      return Promise.resolve(run());
    }
    const start = this.allocate(bytes.length * SLOT_FACTOR);
    if (start < 0) return Promise.resolve(run());
    bytes.copy(this.ring!, start);
    const id = this.nextId++;
    const end = start + bytes.length * SLOT_FACTOR;
    const job: EncodeJob = { id, start, length: bytes.length, end, micros, maxRecordBytes, recordType: settings.recordType, sourceSystem: settings.sourceSystem };
    return new Promise<EncodedBatch>((resolve) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { start, end, run, resolve });
      worker.postMessage(job);
    });
  }

  /** Start of a free slot of `size` bytes after the newest one, or -1 (calls free slots in order). */
  private allocate(size: number): number {
    const ring = this.ring!;
    if (size > ring.length) return -1;
    if (this.pending.size === 0) {
      this.ringHead = size;
      return 0;
    }
    const oldest = this.pending.values().next().value!.start;
    const head = this.ringHead;
    if (head > oldest) {
      // free: [head, ring end) and [0, oldest)
      if (head + size <= ring.length) return (this.ringHead = head + size) - size;
      if (size <= oldest) return (this.ringHead = size) - size;
      return -1;
    }
    // wrapped: free is [head, oldest)
    if (head + size <= oldest) return (this.ringHead = head + size) - size;
    return -1;
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    let w: Worker;
    const ring = Buffer.from(new SharedArrayBuffer(RING_BYTES));
    try {
      w = startWorker(ring.buffer as SharedArrayBuffer);
    } catch {
      this.broken = true;
      return undefined;
    }
    w.on('message', (reply: EncodeReply) => this.onReply(reply));
    // error is followed by exit; exit alone (e.g. out of memory) means the same
    w.on('error', () => this.onGone(w));
    w.on('exit', () => this.onGone(w));
    w.unref(); // referenced only while a call waits for it
    this.worker = w;
    this.ring = ring;
    return w;
  }

  private onReply(reply: EncodeReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in reply) {
      p.resolve(p.run());
      return;
    }
    const lengths = reply.lengths;
    let total = 0;
    for (let i = 0; i < lengths.length; i++) total += lengths[i];
    // the records leave the slot (reused by later calls) in one copy, then are cut into views
    let data: ArrayBuffer;
    if (reply.data) data = reply.data;
    else {
      const own = Buffer.allocUnsafeSlow(total);
      this.ring!.copy(own, 0, p.start, p.start + total);
      data = own.buffer as ArrayBuffer;
    }
    const records: Buffer[] = new Array(lengths.length);
    let offset = 0;
    for (let i = 0; i < lengths.length; i++) {
      records[i] = Buffer.from(data, offset, lengths[i]);
      offset += lengths[i];
    }
    p.resolve({ records, rejected: reply.rejected, bytes: total });
  }

  private onGone(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.broken = true;
    this.settleInline();
  }

  private settleInline(): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.resolve(p.run());
  }
}

function startWorker(ring: SharedArrayBuffer): Worker {
  const ext = path.extname(__filename);
  const entry = path.join(__dirname, `encode-worker${ext}`);
  if (ext !== '.ts') return new Worker(entry, { workerData: { ring } });
  // running from sources (tests, benches under tsx): the worker registers tsx itself
  const tsx = require.resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, { eval: true, workerData: { ring } });
}

function plainEvent(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const proto = Object.getPrototypeOf(item);
  if (proto !== Object.prototype && proto !== null) return false;
  const r = item as Record<string, unknown>;
  for (let i = 0; i < EVENT_FIELDS.length; i++) {
    const v = r[EVENT_FIELDS[i]];
    if (v !== null && (typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol')) return false;
  }
  return true;
}

/** The process's encode thread. */
export const encodeThread = new EncodeThread();
