/**
 * Where each record of a segment starts, in 4 bytes per record, so that reads go straight to
 * the bytes they need without rescanning and without keeping payloads in memory.
 *
 * Seqs are not stored: within a segment they are consecutive except where recovery skipped a
 * corrupt record, so the index keeps "runs" of consecutive seqs (usually exactly one).
 */
interface Run {
  firstSeq: number;
  /** position in `offsets` of the run's first record */
  start: number;
}

export class RecordIndex {
  private offsets = new Uint32Array(1024);
  private readonly runs: Run[] = [];
  private n = 0;
  private last = 0;

  get count(): number {
    return this.n;
  }

  /** seq of the first record, 0 when empty */
  get firstSeq(): number {
    return this.n === 0 ? 0 : this.runs[0].firstSeq;
  }

  /** seq of the last record, 0 when empty */
  get lastSeq(): number {
    return this.last;
  }

  get memoryBytes(): number {
    return this.offsets.byteLength + this.runs.length * 32;
  }

  /** Records a frame; seqs must increase. */
  add(seq: number, offset: number): void {
    if (this.n > 0 && seq <= this.last) throw new Error(`record index: seq ${seq} after ${this.last}`);
    if (this.n === 0 || seq !== this.last + 1) this.runs.push({ firstSeq: seq, start: this.n });
    if (this.n === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.n++] = offset;
    this.last = seq;
  }

  /** Releases spare capacity once the segment no longer grows. */
  compact(): void {
    if (this.offsets.length > this.n) this.offsets = this.offsets.slice(0, Math.max(this.n, 1));
  }

  offsetAt(i: number): number {
    return this.offsets[i];
  }

  seqAt(i: number): number {
    const run = this.runs[this.runIndexOfPosition(i)];
    return run.firstSeq + (i - run.start);
  }

  /** Position of the first record with seq >= `seq` (count when none). */
  lowerBound(seq: number): number {
    if (this.n === 0 || seq > this.last) return this.n;
    // last run whose firstSeq <= seq
    let lo = 0;
    let hi = this.runs.length - 1;
    if (seq < this.runs[0].firstSeq) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid].firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    const run = this.runs[lo];
    const runEnd = lo + 1 < this.runs.length ? this.runs[lo + 1].start : this.n;
    const pos = run.start + (seq - run.firstSeq);
    return pos < runEnd ? pos : runEnd; // seq fell in a gap: the next run starts after it
  }

  private runIndexOfPosition(i: number): number {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid].start <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
