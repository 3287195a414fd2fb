/**
 * The disk spool: an append-only log of segment files plus a checkpoint of what was
 * acknowledged. Durability is the point: append() resolves only once its bytes are fsync'd,
 * and after any crash open() finds every such record again.
 *
 * Appends wait in a queue; one commit at a time takes everything queued, stamps seqs, writes it
 * with a single write and a single fdatasync (group commit), then publishes the records in the
 * index so that readers see them. A failed write is cut off again before the next one, so the
 * log always ends on a frame boundary.
 */
import { EventEmitter } from 'events';
import { AtomicJsonFile } from './atomic-json-file';
import { CoalescedTask } from './coalesced-task';
import { lockDir } from './dir-lock';
import { checkFrame, encodeFrames, FRAME_OVERHEAD_BYTES, FRAME_PREFIX_BYTES, stampFrames, type EncodedFrames } from './frame';
import { MAX_SEGMENT_BYTES } from './defaults';
import {
  checkMetaArgument,
  checkSeqArgument,
  copyJsonObject,
  fitsReadLimits,
  framedSizeOf,
  resolveSpoolOptions,
  type ResolvedSpoolOptions,
} from './options';
import { recoverLog } from './log-recovery';
import { nodeSpoolFs, readFully, writeFully, type SpoolFs } from './spool-fs';
import { SpoolSegment } from './spool-segment';
import {
  SpoolClosedError,
  SpoolDiskFullError,
  SpoolFullError,
  type AppendResult,
  type Spool,
  type SpoolDropEvent,
  type SpoolOpenResult,
  type SpoolOptions,
  type SpoolRecord,
  type SpoolStats,
} from './types';

const CHECKPOINT_FILE = 'checkpoint.json';
/**
 * The latest committed writes are kept in memory (option tailCacheBytes): a sender that keeps
 * up reads records back moments after they were written, and serving those reads from the
 * bytes just written saves a thread-pool read and a CRC pass per record (the CRC guards against
 * damage on disk, which bytes that never left memory cannot have suffered).
 *
 * A sender that has fallen behind everything cached (Zerobus down, a backlog draining) reads
 * from the files anyway; caching then only keeps each write alive long enough for V8 to move it
 * to the old generation, where the dead writes pile up until a full collection (tens of MB of
 * RSS while a backlog fills). So the cache pauses until a read reaches the committed end again.
 */
interface CachedWrite {
  segment: SpoolSegment;
  /** file offset of buf[0] */
  at: number;
  /** seq of the write's first record */
  firstSeq: number;
  buf: Buffer;
}
const META_FILE = 'meta.json';
/**
 * After the disk ran full, canAppend() says no (the sink answers backpressure, sources 503
 * before sending) until acknowledged records freed space, an append succeeded, or this long has
 * passed. append() itself always tries: on a disk still full it fails fast with the error.
 */
export const DISK_FULL_RETRY_MS = 2000;

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

interface QueuedAppend {
  frames: EncodedFrames;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

interface Checkpoint {
  ackedSeq: number;
  /** acknowledged or dropped: nothing at or below it is delivered again */
  doneSeq: number;
  lastSeq: number;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

function parseCheckpoint(value: unknown): Checkpoint {
  const v = (value ?? {}) as Record<string, unknown>;
  const seq = (x: unknown): number => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0);
  const ackedSeq = seq(v.ackedSeq);
  return { ackedSeq, doneSeq: Math.max(seq(v.doneSeq), ackedSeq), lastSeq: seq(v.lastSeq) };
}

export class DiskSpool extends EventEmitter implements Spool {
  private readonly o: ResolvedSpoolOptions;
  private readonly fs: SpoolFs;
  private readonly checkpointFile: AtomicJsonFile;
  private readonly metaFile: AtomicJsonFile;
  private readonly checkpointTask: CoalescedTask;

  private state: State = 'new';
  private opening: Promise<SpoolOpenResult> | undefined;
  private closing: Promise<void> | undefined;
  private unlock: (() => Promise<void>) | undefined;
  /** Date.now() before which appends are refused because the disk was full (0: not full) */
  private diskFullUntil = 0;
  private acceptingAcks = true;
  private filesClosing = false;

  /** oldest first; the last one is the one appended to */
  private segments: SpoolSegment[] = [];
  private meta: Record<string, unknown> | undefined;

  private nextSeq = 1;
  private lastSeq = 0;
  private ackedSeq = 0;
  private doneSeq = 0;

  private queue: QueuedAppend[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private committing: Promise<void> | undefined;
  /** set while a write may have left bytes past the committed end */
  private dirtyTail: { segment: SpoolSegment; size: number } | undefined;
  private readonly reads = new Set<Promise<unknown>>();
  /** the latest committed writes, oldest first, contiguous per segment (see CachedWrite) */
  private tail: CachedWrite[] = [];
  private tailBytes = 0;
  /** the highest seq a read has returned: where the sender is */
  private readFront = 0;
  /** seq of the first record of the latest write */
  private latestWriteSeq = 0;

  private appendedRecords = 0;
  private droppedRecords = 0;
  private writes = 0;
  private fsyncs = 0;
  private checkpointWrites = 0;
  private corruptRecords = 0;
  private truncatedBytes = 0;

  constructor(
    readonly dir: string,
    opts: SpoolOptions = {},
  ) {
    super();
    this.o = resolveSpoolOptions(opts, 'disk');
    this.fs = opts.fs ?? nodeSpoolFs;
    this.checkpointFile = new AtomicJsonFile(this.fs, dir, CHECKPOINT_FILE, this.o.fsync);
    this.metaFile = new AtomicJsonFile(this.fs, dir, META_FILE, this.o.fsync);
    this.checkpointTask = new CoalescedTask(() => this.writeCheckpoint(), this.o.checkpointIntervalMs);
  }

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

  // ---- appending ----

  private makeRoom(bytes: number): void {
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

  /**
   * Gives up the oldest unacknowledged records to free `excess` bytes: whole sealed segments
   * (their files go once the checkpoint has recorded the drop), record by record in the last one.
   */
  private dropOldest(excess: number): void {
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

  private async commitLoop(): Promise<void> {
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
  private nextBatchLength(): number {
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

  private async commit(batch: QueuedAppend[]): Promise<void> {
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
  private async repairTail(): Promise<void> {
    const tail = this.dirtyTail;
    if (!tail) return;
    await tail.segment.file.truncate(tail.size);
    if (this.o.fsync) await tail.segment.file.datasync();
    this.dirtyTail = undefined;
  }

  private async segmentFor(bytes: number): Promise<SpoolSegment> {
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

  // ---- reading ----

  private async readFrom(from: number, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    const out: SpoolRecord[] = [];
    let outBytes = 0;
    const k = this.segments.findIndex((s) => s.index.count > 0 && s.index.lastSeq >= from);
    if (k < 0) return out;
    // Hold every segment we may read, so an ack retiring one meanwhile keeps its file open.
    const held = this.segments.slice(k);
    held.forEach((s) => s.acquire());
    try {
      for (const seg of held) {
        const { index } = seg;
        const count = index.count;
        const first = index.lowerBound(from);
        if (first >= count) continue;
        // choose the records to read from the index alone, then read them with one call
        let end = first;
        let planned = outBytes;
        while (end < count && out.length + (end - first) < maxRecords) {
          const approx = seg.approxPayloadBytes(end);
          if (out.length + (end - first) > 0 && planned + approx > maxBytes) break;
          planned += approx;
          end++;
        }
        if (end === first) break;
        const start = index.offsetAt(first);
        const length = seg.frameLimit(end - 1) - start;
        const cached = this.cachedRange(seg, start, length);
        const buf = cached ?? (await readFully(seg.file, length, start));
        let full = false;
        for (let i = first; i < end; i++) {
          const at = index.offsetAt(i) - start;
          let payloadStart: number;
          let payloadEnd: number;
          if (cached) {
            // our own committed bytes: the index says where each frame starts
            payloadStart = at + FRAME_PREFIX_BYTES;
            payloadEnd = payloadStart + buf.readUInt32BE(at + 4);
          } else {
            const check = checkFrame(buf, at);
            if (!check.ok || check.seq !== index.seqAt(i)) {
              this.corruptRecords++; // damaged on disk since it was written: nothing can bring it back
              continue;
            }
            payloadStart = check.payloadStart;
            payloadEnd = check.payloadEnd;
          }
          if (!fitsReadLimits(out, outBytes, payloadEnd - payloadStart, maxRecords, maxBytes)) {
            full = true;
            break;
          }
          out.push({ seq: index.seqAt(i), data: buf.subarray(payloadStart, payloadEnd) });
          outBytes += payloadEnd - payloadStart;
        }
        if (full || end < count || out.length >= maxRecords) break;
        from = index.lastSeq + 1;
      }
    } finally {
      held.forEach((s) => s.release());
    }
    if (out.length > 0) this.readFront = Math.max(this.readFront, out[out.length - 1].seq);
    return out;
  }

  // ---- the tail cache ----

  private cacheWrite(segment: SpoolSegment, at: number, firstSeq: number, buf: Buffer): void {
    const limit = this.o.tailCacheBytes;
    // paused, the cache resumes once the sender has reached the write before this one
    const oldest = this.tail.length > 0 ? this.tail[0].firstSeq : this.latestWriteSeq;
    this.latestWriteSeq = firstSeq;
    if (buf.length > limit) return;
    if (this.readFront + 1 < oldest) {
      // the sender is behind everything cached: pause until it catches up (see CachedWrite)
      this.tail = [];
      this.tailBytes = 0;
      return;
    }
    this.tail.push({ segment, at, firstSeq, buf });
    this.tailBytes += buf.length;
    while (this.tailBytes > limit) this.tailBytes -= this.tail.shift()!.buf.length;
  }

  /** Bytes [start, start+length) of `seg` from the cache (a view, or a copy when they span writes), else undefined. */
  private cachedRange(seg: SpoolSegment, start: number, length: number): Buffer | undefined {
    const tail = this.tail;
    let k = tail.length - 1;
    // the newest write of this segment that begins at or before `start`
    while (k >= 0 && !(tail[k].segment === seg && tail[k].at <= start)) k--;
    if (k < 0) return undefined;
    const first = tail[k];
    const end = start + length;
    if (start >= first.at + first.buf.length) return undefined;
    if (end <= first.at + first.buf.length) return first.buf.subarray(start - first.at, end - first.at);
    const parts: Buffer[] = [first.buf.subarray(start - first.at)];
    let covered = first.at + first.buf.length;
    for (let j = k + 1; j < tail.length && covered < end; j++) {
      const w = tail[j];
      if (w.segment !== seg || w.at !== covered) return undefined;
      parts.push(w.buf.subarray(0, Math.min(w.buf.length, end - w.at)));
      covered = w.at + w.buf.length;
    }
    return covered >= end ? Buffer.concat(parts, length) : undefined;
  }

  // ---- acknowledgement and space ----

  /**
   * Frees the space of done segments first, then records the checkpoint: on a full disk the
   * checkpoint's temp file needs the space the segments free. Deleting first is safe: every
   * record of a deleted segment is done, and a crash before the checkpoint only means a
   * checkpoint behind the log, i.e. duplicates of records the log no longer has (none).
   */
  private async writeCheckpoint(): Promise<void> {
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
  private noteDiskFull(cause: unknown): SpoolDiskFullError {
    this.diskFullUntil = Date.now() + DISK_FULL_RETRY_MS;
    const code = (cause as NodeJS.ErrnoException).code;
    return new SpoolDiskFullError(`the disk of spool folder ${this.dir} is full (${(cause as Error).message}): appends are refused until acknowledged records free space`, code);
  }

  private diskFull(): boolean {
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
  private async retireThrough(doneSeq: number, fromCommit = false): Promise<void> {
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

  private isAllDone(seg: SpoolSegment | undefined): boolean {
    return !!seg && seg.size > 0 && seg.index.count > 0 && seg.index.lastSeq <= this.doneSeq;
  }

  private backlogRecords(): number {
    let n = 0;
    for (const seg of this.segments) n += seg.recordsFrom(this.doneSeq + 1);
    return n;
  }

  private backlogBytes(): number {
    let n = 0;
    for (const seg of this.segments) n += seg.bytesFrom(this.doneSeq + 1);
    return n;
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
