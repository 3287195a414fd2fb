/**
 * Acknowledgement and space: the checkpoint of what was acknowledged, retiring segments whose
 * records are all done, giving up the oldest records when the spool overflows (drop-oldest),
 * and refusing appends for a while after the disk ran full (ENOSPC, EDQUOT).
 */
import { DiskSpoolState, DISK_FULL_RETRY_MS, type Checkpoint } from './disk-spool-state';
import type { SpoolSegment } from './spool-segment';
import { SpoolDiskFullError, type SpoolDropEvent } from './types';

export abstract class SpoolRetention extends DiskSpoolState {
  /**
   * Gives up the oldest unacknowledged records to free `excess` bytes: whole sealed segments
   * (their files go once the checkpoint has recorded the drop), record by record in the last one.
   */
  protected dropOldest(excess: number): void {
    const from = this.doneSeq + 1;
    const last = this.segments[this.segments.length - 1];
    let freed = 0;
    let records = 0;
    let done = this.doneSeq;
    for (const seg of this.segments) {
      if (freed >= excess) break;
      let i = seg.index.lowerBound(from);
      if (i >= seg.index.count) continue;
      if (seg !== last) {
        freed += seg.size - seg.index.offsetAt(i);
        records += seg.index.count - i;
        done = seg.index.lastSeq;
        continue;
      }
      for (; i < seg.index.count && freed < excess; i++) {
        freed += seg.frameLimit(i) - seg.index.offsetAt(i);
        records++;
        done = seg.index.seqAt(i);
      }
    }
    this.doneSeq = done;
    this.droppedRecords += records;
    void this.checkpointTask.request().catch(() => undefined); // a failed checkpoint is retried by the next ack
    const event: SpoolDropEvent = { records, bytes: freed };
    this.emit('drop', event);
  }

  /**
   * Frees the space of done segments first, then records the checkpoint: on a full disk the
   * checkpoint's temp file needs the space the segments free. Deleting first is safe: every
   * record of a deleted segment is done, and a crash before the checkpoint only means a
   * checkpoint behind the log, i.e. duplicates of records the log no longer has (none).
   */
  protected async writeCheckpoint(): Promise<void> {
    const snapshot: Checkpoint & { version: number } = {
      version: 1,
      ackedSeq: this.ackedSeq,
      doneSeq: this.doneSeq,
      lastSeq: this.lastSeq,
    };
    let retireError: unknown;
    await this.retireThrough(snapshot.doneSeq).catch((err: unknown) => (retireError = err));
    await this.checkpointFile.write(snapshot); // a failure is retried by the next ack
    this.checkpointWrites++;
    if (retireError) throw retireError;
  }

  /** Refuses appends for a while (see DISK_FULL_RETRY_MS); returns the error appenders get. */
  protected noteDiskFull(cause: unknown): SpoolDiskFullError {
    this.diskFullUntil = Date.now() + DISK_FULL_RETRY_MS;
    const code = (cause as NodeJS.ErrnoException).code;
    return new SpoolDiskFullError(`the disk of spool folder ${this.dir} is full (${(cause as Error).message}): appends are refused until acknowledged records free space`, code);
  }

  protected diskFull(): boolean {
    if (this.diskFullUntil === 0) return false;
    if (Date.now() < this.diskFullUntil) return true;
    this.diskFullUntil = 0; // time to try again: the next append finds out
    return false;
  }

  /**
   * Deletes segments whose records are all done. The one being appended to goes too once it is
   * all done and no write is under way (on a small disk it may be the only one): the next
   * append starts a new segment.
   */
  protected async retireThrough(doneSeq: number, fromCommit = false): Promise<void> {
    const retired: SpoolSegment[] = [];
    const kept: SpoolSegment[] = [];
    const idle = (fromCommit || !this.committing) && !this.dirtyTail && this.state === 'open';
    this.segments.forEach((seg, k) => {
      const last = k === this.segments.length - 1;
      const done = seg.index.count > 0 ? seg.index.lastSeq <= doneSeq : !last;
      if (done && (!last || (idle && seg.size > 0))) retired.push(seg);
      else kept.push(seg);
    });
    if (retired.length === 0) return;
    this.diskFullUntil = 0; // space comes free: appends may try again
    this.segments = kept;
    if (this.tail.length > 0) {
      this.tail = this.tail.filter((w) => !retired.includes(w.segment));
      this.tailBytes = this.tail.reduce((n, w) => n + w.buf.length, 0);
    }
    const results = await Promise.allSettled(retired.map((seg) => seg.retire(this.fs)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason; // the file is deleted at the next open() instead
  }

  protected isAllDone(seg: SpoolSegment | undefined): boolean {
    return !!seg && seg.size > 0 && seg.index.count > 0 && seg.index.lastSeq <= this.doneSeq;
  }

  protected backlogRecords(): number {
    let n = 0;
    for (const seg of this.segments) n += seg.recordsFrom(this.doneSeq + 1);
    return n;
  }

  protected backlogBytes(): number {
    let n = 0;
    for (const seg of this.segments) n += seg.bytesFrom(this.doneSeq + 1);
    return n;
  }
}
