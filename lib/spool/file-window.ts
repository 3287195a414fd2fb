import { readFully, type SpoolFile } from './spool-fs';

const DEFAULT_CHUNK = 1024 * 1024;

/** A sliding read window over a file, so that a sequential scan costs one read per chunk. */
export class FileWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly file: SpoolFile,
    readonly size: number,
    private readonly chunk = DEFAULT_CHUNK,
  ) {}

  /**
   * A buffer and a position `at` in it such that buf[at...] are the file's bytes from `pos`:
   * at least `length` of them, fewer only where the file ends.
   */
  async view(pos: number, length: number): Promise<{ buf: Buffer; at: number }> {
    const wanted = Math.min(length, this.size - pos);
    if (pos < this.start || pos + wanted > this.start + this.buf.length) {
      this.buf = await readFully(this.file, Math.min(Math.max(length, this.chunk), this.size - pos), pos);
      this.start = pos;
    }
    return { buf: this.buf, at: pos - this.start };
  }
}
