import type { SinkReceipt } from './types';

/**
 * Sums acknowledgement receipts and hands them on at most once per interval, so a consumer of
 * receipts (a dashboard) is not flooded at 100k records/s. The first receipt of a quiet spell
 * starts the interval; the sum carries the latest offset, latency and backlog.
 */
export class ReceiptCoalescer {
  private pending: SinkReceipt | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number, private readonly emit: (sum: SinkReceipt) => void) {}

  add(r: SinkReceipt): void {
    this.pending = this.pending
      ? { acknowledged: this.pending.acknowledged + r.acknowledged, offset: r.offset, latencyMs: r.latencyMs, backlog: r.backlog }
      : { ...r };
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref?.();
  }

  /**
   * Cancels the interval under way (at a node's close). Receipts that still come (acks of the
   * sink's drain at a close) start a new one, and their sum carries what was pending.
   */
  cancelInterval(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const sum = this.pending;
    this.pending = undefined;
    if (sum) this.emit(sum);
  }
}
