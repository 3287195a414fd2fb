import type { Spool } from '../spool';

/** Releases acknowledged records from the spool: one spool.ack at a time, always for the newest sequence. */
export class SpoolAcker {
  private target = 0;
  private done = 0;
  /** the ack in progress, if any: close() waits for it */
  running: Promise<void> | undefined;

  constructor(private readonly spool: Spool, private readonly warn: (text: string) => void) {}

  /** The spool opened with everything up to `seq` already released. */
  startAt(seq: number): void {
    this.target = this.done = seq;
  }

  ack(upto: number): void {
    this.target = Math.max(this.target, upto);
    if (this.running) return;
    this.running = (async () => {
      while (this.target > this.done) {
        const target = this.target;
        await this.spool.ack(target);
        this.done = target;
      }
    })()
      .catch((err: Error) => this.warn(`could not release acknowledged records from the spool: ${err.message}`))
      .finally(() => {
        this.running = undefined;
      });
  }
}
