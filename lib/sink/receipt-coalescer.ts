import type { SinkReceipt } from './types';

/**
 * Sums acknowledgement receipts and hands them on at most once per interval, so a consumer of
 * receipts (a dashboard) is not flooded at 100k records/s. The first receipt of a quiet spell
 * starts the interval; the sum carries the latest offset, latency and backlog.
 */
export class ReceiptCoalescer {
  private pending: SinkReceipt | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly intervalMs: number, private readonly emit: (sum: SinkReceipt) => void) {}

  add(r: SinkReceipt): void {
    if (this.closed) return;
    this.pending = this.pending
      ? { acknowledged: this.pending.acknowledged + r.acknowledged, offset: r.offset, latencyMs: r.latencyMs, backlog: r.backlog }
      : { ...r };
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Stops: what is pending is not handed on. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const sum = this.pending;
    this.pending = undefined;
    if (sum) this.emit(sum);
  }
}
