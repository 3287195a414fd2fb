/**
 * Ack latency over a sliding window: a fixed ring of the most recent samples, sorted only when
 * somebody asks for percentiles (status updates, a few times a second at most). The one home of
 * the package's latency percentiles (the stream's and the sink's): nearest rank, so p99 of 100
 * samples is the 99th smallest, never the maximum; values rounded to 0.01 ms.
 */
export interface LatencySummary { p50: number; p90: number; p99: number; max: number }

export class LatencyWindow {
  private readonly ring: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 2048) {
    this.ring = new Float64Array(size);
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1;
    if (this.count < this.ring.length) this.count++;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.ring.slice(0, this.count).sort();
    const at = (q: number) => round(sorted[Math.min(this.count - 1, Math.ceil(q * this.count) - 1)]);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted[this.count - 1]) };
  }

  /** The short form a sink's stats carry. */
  percentiles(): Pick<LatencySummary, 'p50' | 'p99' | 'max'> {
    const { p50, p99, max } = this.summary();
    return { p50, p99, max };
  }

  reset(): void {
    this.count = 0;
    this.next = 0;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
