import type { EventEmitter } from 'events';
import type { SpoolFs } from './spool-fs';

export type OverflowPolicy = 'block' | 'drop-oldest';

export interface SpoolOptions {
  /** disk mode when set (created if missing); memory mode when absent */
  dir?: string;
  /** limit on unacknowledged bytes (payload + 20 bytes of framing per record); default 1 GiB (disk) / 64 MiB (memory) */
  maxBytes?: number;
  /** what append() does when the limit would be exceeded; default 'block' */
  overflow?: OverflowPolicy;
  /** a segment file is rolled once it reaches this size; default 16 MiB */
  segmentBytes?: number;
  /** default true: append() resolves only after fdatasync (group commit: one fsync for all waiting appends) */
  fsync?: boolean;
  /** default true; false = one write+fsync per append() call (the baseline group commit is measured against) */
  groupCommit?: boolean;
  /** acknowledgements are written to the checkpoint file at most once per this interval; default 100 ms */
  checkpointIntervalMs?: number;
  /** Disk mode: the latest committed writes kept in memory to serve reads of fresh records (default 8 MiB, 0 = off). */
  tailCacheBytes?: number;
  /** file system layer; tests inject faults through it */
  fs?: SpoolFs;
}

export interface SpoolRecord {
  seq: number;
  data: Buffer;
}

export interface SpoolStats {
  backlogRecords: number;
  backlogBytes: number;
  /** seq of the oldest unacknowledged record; lastSeq + 1 when the backlog is empty */
  firstSeq: number;
  /** highest seq made durable */
  lastSeq: number;
  ackedSeq: number;
  /** records appended since open() */
  appendedRecords: number;
  /** records dropped by the 'drop-oldest' policy since open() */
  droppedRecords: number;
  segments: number;
  mode: 'disk' | 'memory';
  /** appends queued and not yet durable */
  pendingRecords: number;
  /** write calls and fdatasync calls on segment files (group commit makes these far fewer than appends) */
  writes: number;
  fsyncs: number;
  checkpointWrites: number;
  /** the disk ran full lately: canAppend() refuses until space is freed (disk mode only) */
  diskFull?: boolean;
  /** bytes of segment files on disk (0 in memory mode) */
  diskBytes: number;
  /** memory held by the per-segment record index */
  indexBytes: number;
  /** records found corrupt (bad CRC, broken frame) and skipped, at open() or when read */
  corruptRecords: number;
  /** bytes cut from torn or garbage tails at open() */
  truncatedBytes: number;
}

export interface SpoolOpenResult {
  /** unacknowledged records found */
  records: number;
  /** their bytes, framing included */
  bytes: number;
  /** bytes cut from torn or garbage segment tails */
  truncatedBytes: number;
  /** corrupt records skipped in the middle of segments */
  corruptRecords: number;
}

export interface SpoolDropEvent {
  records: number;
  bytes: number;
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
}

/** append() would exceed maxBytes under the 'block' policy (or the batch can never fit). Nothing was written. */
export class SpoolFullError extends Error {
  readonly code = 'SPOOL_FULL';
  constructor(message = 'spool is full') {
    super(message);
    this.name = 'SpoolFullError';
  }
}

/** The spool was closed (or not opened yet). */
export class SpoolClosedError extends Error {
  readonly code = 'SPOOL_CLOSED';
  constructor(message = 'spool is closed') {
    super(message);
    this.name = 'SpoolClosedError';
  }
}

/** Who holds a spool folder's lock file. */
export interface SpoolLockOwner {
  pid: number;
  host: string;
  /** boot id of the host when the lock was taken ('' where unknown) */
  boot: string;
  /** ISO time the lock was taken */
  since: string;
}

/** Another spool (of this process, or of the process named in `owner`) has the same directory open. */
export class SpoolLockedError extends Error {
  readonly code = 'SPOOL_LOCKED';
  readonly retryable = false;
  readonly hint = 'Each zerobus-out needs its own spool folder, and a second Node-RED on this machine must not share it: stop the other process or choose another folder.';
  constructor(
    readonly dir: string,
    readonly owner?: SpoolLockOwner,
  ) {
    super(
      owner
        ? `spool folder ${dir} is in use by process ${owner.pid} on host ${owner.host}${owner.since ? ` (since ${owner.since})` : ''}`
        : `spool folder ${dir} is already in use by another spool`,
    );
    this.name = 'SpoolLockedError';
  }
}

/** The disk is full: appends are refused until acknowledged records free space (or a retry finds room). */
export class SpoolDiskFullError extends Error {
  constructor(
    message = 'the spool disk is full',
    /** the file system's code: ENOSPC, or EDQUOT for a quota */
    readonly code = 'ENOSPC',
  ) {
    super(message);
    this.name = 'SpoolDiskFullError';
  }
}

/** events: 'drop' (SpoolDropEvent) in drop-oldest mode */
export interface Spool extends EventEmitter {
  open(): Promise<SpoolOpenResult>;
  /** resolves when the records are durable (fsync'd); seqs are consecutive within one call */
  append(records: Buffer[]): Promise<AppendResult>;
  /** false when 'block' and appending `bytes` of payload in `records` records would exceed maxBytes */
  canAppend(bytes: number, records?: number): boolean;
  /** unacknowledged records with seq > `seq`, in order; at least one record when any exists, even above maxBytes */
  readAfter(seq: number, maxRecords: number, maxBytes: number): Promise<SpoolRecord[]>;
  /** everything <= uptoSeq is done; resolves once that is checkpointed and the space reclaimed */
  ack(uptoSeq: number): Promise<void>;
  readMeta(): Record<string, unknown> | undefined;
  writeMeta(meta: Record<string, unknown>): Promise<void>;
  stats(): SpoolStats;
  close(): Promise<void>;
}
