/** Events per second over a sliding window, kept in one-second buckets (no timers). */
export class RateMeter {
  private readonly buckets: number[];
  private readonly stamps: number[];

  constructor(private readonly windowSeconds = 5, private readonly now: () => number = Date.now) {
    this.buckets = new Array<number>(windowSeconds + 1).fill(0);
    this.stamps = new Array<number>(windowSeconds + 1).fill(-1);
  }

  add(count: number): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.buckets.length;
    if (this.stamps[i] !== second) {
      this.stamps[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i] += count;
  }

  /** Average over the last `windowSeconds` complete seconds plus the running one, prorated. */
  perSecond(): number {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const age = second - this.stamps[i];
      if (this.stamps[i] >= 0 && age >= 0 && age <= this.windowSeconds) total += this.buckets[i];
    }
    const span = this.windowSeconds + (nowMs % 1000) / 1000;
    return total / span;
  }
}

/** Latency percentiles have one home, shared with the stream. */
export { LatencyWindow } from '../zerobus/metrics';
