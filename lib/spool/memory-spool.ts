/**
 * The memory spool: the same contract as the disk spool (seqs, limits, overflow policies,
 * readAfter, ack, meta) without durability, for users who choose speed over surviving a restart.
 * Sizes are counted with the same framing overhead as on disk so both modes fill up alike.
 */
import { EventEmitter } from 'events';
import { frameBytes } from './frame';
import {
  checkMetaArgument,
  checkSeqArgument,
  copyJsonObject,
  fitsReadLimits,
  framedSizeOf,
  resolveSpoolOptions,
  type ResolvedSpoolOptions,
} from './options';
import {
  SpoolClosedError,
  SpoolFullError,
  type AppendResult,
  type Spool,
  type SpoolDropEvent,
  type SpoolOpenResult,
  type SpoolOptions,
  type SpoolRecord,
  type SpoolStats,
} from './types';

type State = 'new' | 'open' | 'closed';

export class MemorySpool extends EventEmitter implements Spool {
  private readonly o: ResolvedSpoolOptions;
  private state: State = 'new';
  /** records[head...] hold seqs headSeq, headSeq+1, ... — all unacknowledged */
  private records: Buffer[] = [];
  private head = 0;
  private headSeq = 1;
  private bytes = 0;
  private lastSeq = 0;
  private ackedSeq = 0;
  private meta: Record<string, unknown> | undefined;
  private appendedRecords = 0;
  private droppedRecords = 0;

  constructor(opts: SpoolOptions = {}) {
    super();
    this.o = resolveSpoolOptions(opts, 'memory');
  }

  async open(): Promise<SpoolOpenResult> {
    if (this.state === 'closed') throw new SpoolClosedError();
    this.state = 'open';
    return { records: this.count(), bytes: this.bytes, truncatedBytes: 0, corruptRecords: 0 };
  }

  async append(records: Buffer[]): Promise<AppendResult> {
    if (this.state !== 'open') throw this.notOpenError();
    const bytes = framedSizeOf(records);
    if (records.length === 0) return { firstSeq: this.lastSeq + 1, lastSeq: this.lastSeq };
    this.makeRoom(bytes);
    const firstSeq = this.lastSeq + 1;
    if (this.count() === 0) this.headSeq = firstSeq;
    // copies: the caller may reuse its buffers, as it may with the disk spool
    for (const r of records) this.records.push(Buffer.from(r));
    this.bytes += bytes;
    this.lastSeq += records.length;
    this.appendedRecords += records.length;
    return { firstSeq, lastSeq: this.lastSeq };
  }

  canAppend(bytes: number, records = 1): boolean {
    if (this.state !== 'open') return false;
    const framed = bytes + frameBytes(0) * records;
    if (framed > this.o.maxBytes) return false;
    return this.o.overflow === 'drop-oldest' || this.bytes + framed <= this.o.maxBytes;
  }

  async readAfter(seq: number, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    if (this.state !== 'open') throw this.notOpenError();
    const after = checkSeqArgument('readAfter seq', seq);
    const limitRecords = checkSeqArgument('readAfter maxRecords', maxRecords);
    const limitBytes = checkSeqArgument('readAfter maxBytes', maxBytes);
    const out: SpoolRecord[] = [];
    let outBytes = 0;
    for (let i = this.head + Math.max(0, after + 1 - this.headSeq); i < this.records.length; i++) {
      const data = this.records[i];
      if (!fitsReadLimits(out, outBytes, data.length, limitRecords, limitBytes)) break;
      out.push({ seq: this.headSeq + (i - this.head), data });
      outBytes += data.length;
    }
    return out;
  }

  async ack(uptoSeq: number): Promise<void> {
    if (this.state !== 'open') return;
    const upto = Math.min(checkSeqArgument('ack seq', uptoSeq), this.lastSeq);
    if (upto <= this.ackedSeq) return;
    this.ackedSeq = upto;
    this.removeThrough(upto);
  }

  readMeta(): Record<string, unknown> | undefined {
    return this.meta && copyJsonObject(this.meta);
  }

  async writeMeta(meta: Record<string, unknown>): Promise<void> {
    if (this.state !== 'open') throw this.notOpenError();
    this.meta = checkMetaArgument(meta);
  }

  stats(): SpoolStats {
    const backlogRecords = this.count();
    return {
      backlogRecords,
      backlogBytes: this.bytes,
      firstSeq: backlogRecords > 0 ? this.headSeq : this.lastSeq + 1,
      lastSeq: this.lastSeq,
      ackedSeq: this.ackedSeq,
      appendedRecords: this.appendedRecords,
      droppedRecords: this.droppedRecords,
      segments: 0,
      mode: 'memory',
      pendingRecords: 0,
      writes: 0,
      fsyncs: 0,
      checkpointWrites: 0,
      diskBytes: 0,
      indexBytes: 0,
      corruptRecords: 0,
      truncatedBytes: 0,
    };
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  private count(): number {
    return this.records.length - this.head;
  }

  private makeRoom(bytes: number): void {
    const { maxBytes, overflow } = this.o;
    if (bytes > maxBytes) {
      throw new SpoolFullError(`a batch of ${bytes} bytes can never fit in the spool (maxBytes ${maxBytes})`);
    }
    const excess = this.bytes + bytes - maxBytes;
    if (excess <= 0) return;
    if (overflow === 'block') throw new SpoolFullError(`spool is full (${this.bytes} of ${maxBytes} bytes)`);
    let freed = 0;
    let dropped = 0;
    while (freed < excess) {
      freed += frameBytes(this.records[this.head + dropped].length);
      dropped++;
    }
    this.removeThrough(this.headSeq + dropped - 1);
    this.droppedRecords += dropped;
    const event: SpoolDropEvent = { records: dropped, bytes: freed };
    this.emit('drop', event);
  }

  private removeThrough(seq: number): void {
    const n = Math.min(seq - this.headSeq + 1, this.count());
    if (n <= 0) return;
    for (let i = this.head; i < this.head + n; i++) this.bytes -= frameBytes(this.records[i].length);
    this.head += n;
    this.headSeq += n;
    // compact once the consumed prefix dominates, so the array does not grow without bound
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  private notOpenError(): SpoolClosedError {
    return new SpoolClosedError(this.state === 'new' ? 'spool is not open yet' : 'spool is closed');
  }
}
