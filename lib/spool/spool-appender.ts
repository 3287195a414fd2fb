/**
 * Appending: appends wait in a queue; one commit at a time takes everything queued that fits
 * the current segment, stamps seqs, writes it with a single write and a single fdatasync (group
 * commit), then publishes the records in the index so that readers see them. A failed write is
 * cut off again before the next one, so the log always ends on a frame boundary.
 */
import { MAX_SEGMENT_BYTES } from './defaults';
import { isDiskFull, type QueuedAppend } from './disk-spool-state';
import { stampFrames } from './frame';
import { writeFully } from './spool-fs';
import { SpoolReader } from './spool-reader';
import { SpoolSegment } from './spool-segment';
import { SpoolFullError, type AppendResult } from './types';

export abstract class SpoolAppender extends SpoolReader {
  protected makeRoom(bytes: number): void {
    const { maxBytes, overflow } = this.o;
    if (bytes > maxBytes || bytes > MAX_SEGMENT_BYTES) {
      throw new SpoolFullError(`a batch of ${bytes} bytes can never fit in the spool (maxBytes ${maxBytes})`);
    }
    const backlog = this.backlogBytes();
    const excess = backlog + this.queuedBytes + bytes - maxBytes;
    if (excess <= 0) return;
    if (overflow === 'block' || backlog < excess) {
      throw new SpoolFullError(`spool is full (${backlog + this.queuedBytes} of ${maxBytes} bytes)`);
    }
    this.dropOldest(excess);
  }

  protected async commitLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.commit(this.queue.splice(0, this.nextBatchLength()));
      }
    } finally {
      this.committing = undefined;
    }
  }

  /**
   * How many queued appends the next commit takes: all that fit in the segment they go to
   * (at least one), so a burst of appends does not grow a segment far past segmentBytes.
   */
  protected nextBatchLength(): number {
    if (!this.o.groupCommit) return 1;
    const { segmentBytes } = this.o;
    const current = this.segments[this.segments.length - 1];
    let room = segmentBytes;
    if (current && current.size > 0 && current.size + this.queue[0].frames.buf.length <= segmentBytes) {
      room = segmentBytes - current.size;
    }
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n].frames.buf.length <= room)) {
      bytes += this.queue[n].frames.buf.length;
      n++;
    }
    return n;
  }

  protected async commit(batch: QueuedAppend[]): Promise<void> {
    let bytes = 0;
    let count = 0;
    for (const a of batch) {
      bytes += a.frames.buf.length;
      count += a.frames.count;
    }
    const settle = (): void => {
      this.queuedBytes -= bytes;
      this.queuedRecords -= count;
    };
    try {
      await this.repairTail();
      const seg = await this.segmentFor(bytes);
      let seq = this.nextSeq;
      for (const a of batch) {
        stampFrames(a.frames, seq);
        seq += a.frames.count;
      }
      const buf = batch.length === 1 ? batch[0].frames.buf : Buffer.concat(batch.map((a) => a.frames.buf), bytes);
      const at = seg.size;
      this.dirtyTail = { segment: seg, size: at };
      await writeFully(seg.file, buf, at);
      this.writes++;
      if (this.o.fsync) {
        await seg.file.datasync();
        this.fsyncs++;
      }
      this.dirtyTail = undefined;

      // durable: publish to readers, then tell the appenders
      let base = at;
      seq = this.nextSeq;
      const results: AppendResult[] = [];
      for (const a of batch) {
        const { starts } = a.frames;
        for (let i = 0; i < a.frames.count; i++) seg.index.add(seq + i, base + starts[i]);
        results.push({ firstSeq: seq, lastSeq: seq + a.frames.count - 1 });
        seq += a.frames.count;
        base += a.frames.buf.length;
      }
      seg.size = at + bytes;
      this.cacheWrite(seg, at, this.nextSeq, buf);
      this.nextSeq = seq;
      this.lastSeq = seq - 1;
      this.appendedRecords += count;
      this.diskFullUntil = 0;
      settle();
      batch.forEach((a, i) => a.resolve(results[i]));
    } catch (err) {
      // cut the failed bytes before answering (if that fails too, it is retried before the next write)
      await this.repairTail().catch(() => undefined);
      settle();
      const failure = isDiskFull(err) ? this.noteDiskFull(err) : err;
      batch.forEach((a) => a.reject(failure));
    }
  }

  /** Cuts bytes a failed write may have left, so the next frame starts at the committed end. */
  protected async repairTail(): Promise<void> {
    const tail = this.dirtyTail;
    if (!tail) return;
    await tail.segment.file.truncate(tail.size);
    if (this.o.fsync) await tail.segment.file.datasync();
    this.dirtyTail = undefined;
  }

  protected async segmentFor(bytes: number): Promise<SpoolSegment> {
    // Segments all done go before anything is written: on a full disk the write needs their space
    // (the ack that made them done may have come while a write was under way, or its checkpoint
    // found no room, and no other ack may follow).
    if (this.segments.some((seg) => this.isAllDone(seg))) await this.retireThrough(this.doneSeq, true);
    const current = this.segments[this.segments.length - 1];
    if (current && (current.size === 0 || current.size + bytes <= this.o.segmentBytes)) return current;
    current?.index.compact();
    const segmentPath = SpoolSegment.pathFor(this.dir, this.nextSeq);
    const file = await this.fs.open(segmentPath, 'create');
    try {
      if (this.o.fsync) await this.fs.syncDir(this.dir); // the new name must survive a power cut
    } catch (err) {
      await file.close().catch(() => undefined);
      await this.fs.unlink(segmentPath).catch(() => undefined);
      throw err;
    }
    const seg = new SpoolSegment(this.nextSeq, segmentPath, file, 0);
    this.segments.push(seg);
    return seg;
  }
}
