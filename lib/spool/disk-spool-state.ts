/**
 * The disk spool's state: the first of the layers that make up DiskSpool (see disk-spool.ts).
 * Layers are subclasses rather than separate objects so that the hot paths reach this state as
 * plain fields, without indirection.
 */
import { EventEmitter } from 'events';
import { AtomicJsonFile } from './atomic-json-file';
import { CoalescedTask } from './coalesced-task';
import type { EncodedFrames } from './frame';
import { resolveSpoolOptions, type ResolvedSpoolOptions } from './options';
import { nodeSpoolFs, type SpoolFs } from './spool-fs';
import type { SpoolSegment } from './spool-segment';
import type { AppendResult, SpoolOpenResult, SpoolOptions } from './types';

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

export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface QueuedAppend {
  frames: EncodedFrames;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

export interface Checkpoint {
  ackedSeq: number;
  /** acknowledged or dropped: nothing at or below it is delivered again */
  doneSeq: number;
  lastSeq: number;
}

export type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

export function parseCheckpoint(value: unknown): Checkpoint {
  const v = (value ?? {}) as Record<string, unknown>;
  const seq = (x: unknown): number => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0);
  const ackedSeq = seq(v.ackedSeq);
  return { ackedSeq, doneSeq: Math.max(seq(v.doneSeq), ackedSeq), lastSeq: seq(v.lastSeq) };
}

export abstract class DiskSpoolState extends EventEmitter {
  protected readonly o: ResolvedSpoolOptions;
  protected readonly fs: SpoolFs;
  protected readonly checkpointFile: AtomicJsonFile;
  protected readonly metaFile: AtomicJsonFile;
  protected readonly checkpointTask: CoalescedTask;

  protected state: State = 'new';
  protected opening: Promise<SpoolOpenResult> | undefined;
  protected closing: Promise<void> | undefined;
  protected unlock: (() => Promise<void>) | undefined;
  /** Date.now() before which appends are refused because the disk was full (0: not full) */
  protected diskFullUntil = 0;
  protected acceptingAcks = true;
  protected filesClosing = false;

  /** oldest first; the last one is the one appended to */
  protected segments: SpoolSegment[] = [];
  protected meta: Record<string, unknown> | undefined;

  protected nextSeq = 1;
  protected lastSeq = 0;
  protected ackedSeq = 0;
  protected doneSeq = 0;

  protected queue: QueuedAppend[] = [];
  protected queuedBytes = 0;
  protected queuedRecords = 0;
  protected committing: Promise<void> | undefined;
  /** set while a write may have left bytes past the committed end */
  protected dirtyTail: { segment: SpoolSegment; size: number } | undefined;
  protected readonly reads = new Set<Promise<unknown>>();
  /** the latest committed writes, oldest first, contiguous per segment (see CachedWrite) */
  protected tail: CachedWrite[] = [];
  protected tailBytes = 0;
  /** the highest seq a read has returned: where the sender is */
  protected readFront = 0;
  /** seq of the first record of the latest write */
  protected latestWriteSeq = 0;

  protected appendedRecords = 0;
  protected droppedRecords = 0;
  protected writes = 0;
  protected fsyncs = 0;
  protected checkpointWrites = 0;
  protected corruptRecords = 0;
  protected truncatedBytes = 0;

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

  /** Records the acknowledged state on disk (spool-retention.ts). */
  protected abstract writeCheckpoint(): Promise<void>;
}
