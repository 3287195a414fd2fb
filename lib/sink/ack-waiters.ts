/** accept() in memory mode waits for the acknowledgement of its last record. */
interface AckWaiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The accept() calls of a memory spool waiting for Zerobus, in sequence order. */
export class AckWaiters {
  private waiters: AckWaiter[] = [];

  get length(): number {
    return this.waiters.length;
  }

  /** Resolves once everything up to `seq` is acknowledged (`ackedSeq`: acknowledged so far). */
  waitFor(seq: number, ackedSeq: number): Promise<void> {
    if (seq <= ackedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  resolveUpTo(upto: number): void {
    while (this.waiters.length > 0 && this.waiters[0].seq <= upto) this.waiters.shift()!.resolve();
  }

  rejectBelow(err: Error, below = Infinity): void {
    const keep: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.seq < below) w.reject(err);
      else keep.push(w);
    }
    this.waiters = keep;
  }
}
