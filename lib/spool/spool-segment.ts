import * as path from 'path';
import { FRAME_OVERHEAD_BYTES } from './frame';
import { RecordIndex } from './record-index';
import type { SpoolFile, SpoolFs } from './spool-fs';

const NAME_PATTERN = /^(\d{20})\.seg$/;

/**
 * One file of the log: frames of consecutive records, named by the seq it was created for.
 * `size` is where committed frames end; bytes past it (a failed write) are never read.
 * Readers hold a reference so that a segment retired by an ack is closed only after them.
 */
export class SpoolSegment {
  readonly index: RecordIndex;
  size: number;
  private refs = 0;
  private retired = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly baseSeq: number,
    readonly path: string,
    readonly file: SpoolFile,
    size: number,
    index = new RecordIndex(),
  ) {
    this.size = size;
    this.index = index;
  }

  static fileName(seq: number): string {
    return `${String(seq).padStart(20, '0')}.seg`;
  }

  /** base seq of a segment file name, undefined for other files */
  static parseFileName(name: string): number | undefined {
    const m = NAME_PATTERN.exec(name);
    if (!m) return undefined;
    const seq = Number(m[1]);
    return Number.isSafeInteger(seq) ? seq : undefined;
  }

  static pathFor(dir: string, seq: number): string {
    return path.join(dir, SpoolSegment.fileName(seq));
  }

  /** where frame i ends at the latest (the next frame's start, or the committed end) */
  frameLimit(i: number): number {
    return i + 1 < this.index.count ? this.index.offsetAt(i + 1) : this.size;
  }

  /** records with seq >= `seq` */
  recordsFrom(seq: number): number {
    return this.index.count - this.index.lowerBound(seq);
  }

  /** bytes from the first record with seq >= `seq` to the committed end */
  bytesFrom(seq: number): number {
    const i = this.index.lowerBound(seq);
    return i >= this.index.count ? 0 : this.size - this.index.offsetAt(i);
  }

  /** payload bytes of record i, assuming no corrupt gap follows it (exact in the common case) */
  approxPayloadBytes(i: number): number {
    return this.frameLimit(i) - this.index.offsetAt(i) - FRAME_OVERHEAD_BYTES;
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.retired) void this.close().catch(() => undefined);
  }

  /** Deletes the file; the handle stays open for readers already inside it (POSIX keeps unlinked files readable). */
  async retire(fs: SpoolFs): Promise<void> {
    this.retired = true;
    try {
      await fs.unlink(this.path);
    } finally {
      if (this.refs === 0) await this.close();
    }
  }

  close(): Promise<void> {
    this.closing ??= this.file.close();
    return this.closing;
  }
}
