/**
 * The disk spool: an append-only log of segment files plus a checkpoint of what was
 * acknowledged. Durability is the point: append() resolves only once its bytes are fsync'd,
 * and after any crash open() finds every such record again.
 *
 * DiskSpool is built in layers, a class and a file each, every one extending the one before:
 * its state (disk-spool-state.ts), acknowledgement and space (spool-retention.ts), reading and
 * the tail cache (spool-reader.ts), appending and group commit (spool-appender.ts). This class
 * adds the public API, recovery and shutdown.
 */
import { lockDir } from './dir-lock';
import { parseCheckpoint, type State } from './disk-spool-state';
import { encodeFrames, FRAME_OVERHEAD_BYTES } from './frame';
import { checkMetaArgument, checkSeqArgument, copyJsonObject, framedSizeOf } from './options';
import { recoverLog } from './log-recovery';
import { SpoolAppender } from './spool-appender';
import {
  SpoolClosedError,
  type AppendResult,
  type Spool,
  type SpoolOpenResult,
  type SpoolRecord,
  type SpoolStats,
} from './types';

export { DISK_FULL_RETRY_MS } from './disk-spool-state';

export class DiskSpool extends SpoolAppender implements Spool {
  open(): Promise<SpoolOpenResult> {
    if (this.opening) return this.opening;
    if (this.state !== 'new') return Promise.reject(new SpoolClosedError());
    this.state = 'opening';
    this.opening = this.recover().then(
      (result) => {
        if (this.state === 'opening') this.state = 'open';
        return result;
      },
      async (err: unknown) => {
        await this.closeFiles();
        await this.unlock?.();
        this.state = 'closed';
        throw err;
      },
    );
    return this.opening;
  }

  append(records: Buffer[]): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(this.notOpenError());
    let bytes: number;
    try {
      bytes = framedSizeOf(records);
      if (records.length === 0) return Promise.resolve({ firstSeq: this.lastSeq + 1, lastSeq: this.lastSeq });
      this.makeRoom(bytes);
    } catch (err) {
      return Promise.reject(err);
    }
    const frames = encodeFrames(records);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ frames, resolve, reject });
      this.queuedBytes += bytes;
      this.queuedRecords += frames.count;
      if (!this.committing) this.committing = this.commitLoop();
    });
  }

  canAppend(bytes: number, records = 1): boolean {
    if (this.state !== 'open' || this.diskFull()) return false;
    const framed = bytes + records * FRAME_OVERHEAD_BYTES;
    if (framed > this.o.maxBytes) return false;
    if (this.o.overflow === 'drop-oldest') return true;
    return this.backlogBytes() + this.queuedBytes + framed <= this.o.maxBytes;
  }

  readAfter(seq: number, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    if (this.state !== 'open' && !(this.state === 'closing' && !this.filesClosing)) return Promise.reject(this.notOpenError());
    let from: number;
    try {
      from = Math.max(checkSeqArgument('readAfter seq', seq), this.doneSeq) + 1;
      checkSeqArgument('readAfter maxRecords', maxRecords);
      checkSeqArgument('readAfter maxBytes', maxBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    if (maxRecords < 1) return Promise.resolve([]);
    const read = this.readFrom(from, maxRecords, maxBytes);
    this.reads.add(read);
    void read.catch(() => undefined).finally(() => this.reads.delete(read));
    return read;
  }

  ack(uptoSeq: number): Promise<void> {
    if (!this.acceptingAcks || (this.state !== 'open' && this.state !== 'closing')) return Promise.resolve();
    let upto: number;
    try {
      upto = Math.min(checkSeqArgument('ack seq', uptoSeq), this.lastSeq);
    } catch (err) {
      return Promise.reject(err);
    }
    if (upto <= this.ackedSeq) return Promise.resolve();
    this.ackedSeq = upto;
    if (upto > this.doneSeq) this.doneSeq = upto;
    return this.checkpointTask.request();
  }

  readMeta(): Record<string, unknown> | undefined {
    return this.meta && copyJsonObject(this.meta);
  }

  async writeMeta(meta: Record<string, unknown>): Promise<void> {
    if (this.state !== 'open') throw this.notOpenError();
    const copy = checkMetaArgument(meta);
    await this.metaFile.write(copy);
    this.meta = copy;
  }

  stats(): SpoolStats {
    const from = this.doneSeq + 1;
    let backlogRecords = 0;
    let backlogBytes = 0;
    let firstSeq = 0;
    let diskBytes = 0;
    let indexBytes = 0;
    for (const seg of this.segments) {
      const pending = seg.recordsFrom(from);
      if (pending > 0 && firstSeq === 0) firstSeq = seg.index.seqAt(seg.index.count - pending);
      backlogRecords += pending;
      backlogBytes += seg.bytesFrom(from);
      diskBytes += seg.size;
      indexBytes += seg.index.memoryBytes;
    }
    return {
      backlogRecords,
      backlogBytes,
      firstSeq: firstSeq || this.lastSeq + 1,
      lastSeq: this.lastSeq,
      ackedSeq: this.ackedSeq,
      appendedRecords: this.appendedRecords,
      droppedRecords: this.droppedRecords,
      segments: this.segments.length,
      mode: 'disk',
      pendingRecords: this.queuedRecords,
      writes: this.writes,
      fsyncs: this.fsyncs,
      checkpointWrites: this.checkpointWrites,
      diskFull: this.diskFullUntil > 0 && Date.now() < this.diskFullUntil,
      diskBytes,
      indexBytes,
      corruptRecords: this.corruptRecords,
      truncatedBytes: this.truncatedBytes,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- recovery ----

  private async recover(): Promise<SpoolOpenResult> {
    await this.fs.mkdir(this.dir);
    this.unlock = await lockDir(this.dir);
    const meta = await this.metaFile.read();
    this.meta = meta && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
    const checkpoint = parseCheckpoint(await this.checkpointFile.read());

    const log = await recoverLog(this.fs, this.dir, this.o.fsync);
    this.segments = log.segments;
    this.truncatedBytes += log.truncatedBytes;
    this.corruptRecords += log.corruptRegions;

    // The checkpoint is trusted only up to records that exist: were it ahead of the log (files
    // lost or replaced), records appended from now on must not count as acknowledged. New seqs
    // start after everything either of them has seen, so they keep increasing.
    const maxFound = log.lastSeq;
    this.ackedSeq = checkpoint.ackedSeq;
    this.doneSeq = checkpoint.doneSeq;
    if (this.segments.length > 0) {
      this.ackedSeq = Math.min(this.ackedSeq, maxFound);
      this.doneSeq = Math.min(this.doneSeq, maxFound);
      // Segments are deleted only once done, and before the checkpoint says so (see
      // writeCheckpoint): records below the oldest segment were acknowledged.
      const oldest = this.segments.find((seg) => seg.index.count > 0);
      const before = oldest ? oldest.index.seqAt(0) - 1 : 0;
      if (before > this.doneSeq) this.doneSeq = before;
      if (before > this.ackedSeq) this.ackedSeq = before;
    }
    this.lastSeq = Math.max(maxFound, checkpoint.lastSeq, checkpoint.doneSeq);
    this.nextSeq = this.lastSeq + 1;
    await this.retireThrough(this.doneSeq);

    return {
      records: this.backlogRecords(),
      bytes: this.backlogBytes(),
      truncatedBytes: this.truncatedBytes,
      corruptRecords: log.corruptRegions,
    };
  }

  // ---- shutdown ----

  private async shutdown(): Promise<void> {
    const before = this.state;
    if (before === 'closed') return;
    this.state = 'closing';
    if (before === 'new') {
      this.state = 'closed';
      return;
    }
    await this.opening?.catch(() => undefined);
    if ((this.state as State) === 'closed') return; // open() failed and cleaned up
    while (this.committing) await this.committing;
    await this.repairTail().catch(() => undefined);
    this.acceptingAcks = false;
    await this.checkpointTask.flush();
    this.filesClosing = true;
    await Promise.allSettled([...this.reads]);
    await this.closeFiles();
    await this.unlock?.();
    this.state = 'closed';
  }

  private async closeFiles(): Promise<void> {
    this.tail = [];
    this.tailBytes = 0;
    await Promise.allSettled(this.segments.map((s) => s.close()));
  }

  private notOpenError(): SpoolClosedError {
    return new SpoolClosedError(this.state === 'new' || this.state === 'opening' ? 'spool is not open yet' : 'spool is closed');
  }
}
