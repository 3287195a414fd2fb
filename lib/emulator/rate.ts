/**
 * Rows stored per second: counts in 250 ms buckets over the last minute, so the page can draw
 * the recent history and `stats()` can give a rate that reacts within a second or two.
 */
const BUCKET_MS = 250;
const BUCKETS = 240;

export class RateMeter {
  private readonly counts = new Float64Array(BUCKETS);
  private currentBucket: number;

  constructor(private readonly now: () => number = Date.now) {
    this.currentBucket = Math.floor(now() / BUCKET_MS);
  }

  add(n: number): void {
    this.advance();
    this.counts[this.currentBucket % BUCKETS] += n;
  }

  /** Average rate over the last `windowMs` (whole buckets before the current one, plus the current one's elapsed share). */
  perSecond(windowMs = 2000): number {
    this.advance();
    const full = Math.max(1, Math.round(windowMs / BUCKET_MS));
    const t = this.now();
    const elapsedInCurrent = t - this.currentBucket * BUCKET_MS;
    let sum = this.counts[this.currentBucket % BUCKETS];
    for (let i = 1; i <= full; i++) sum += this.counts[(this.currentBucket - i + BUCKETS) % BUCKETS];
    return (sum * 1000) / (full * BUCKET_MS + elapsedInCurrent);
  }

  /** Rows/s for each whole second of the last `seconds`, oldest first. */
  history(seconds = 60): number[] {
    this.advance();
    const perSecond = 1000 / BUCKET_MS;
    const n = Math.min(seconds, Math.floor(BUCKETS / perSecond) - 1);
    const out: number[] = [];
    // The newest full second ends where the current (partial) bucket starts.
    for (let s = n; s >= 1; s--) {
      let sum = 0;
      for (let b = 0; b < perSecond; b++) sum += this.counts[(this.currentBucket - (s - 1) * perSecond - b - 1 + BUCKETS * 2) % BUCKETS];
      out.push(sum);
    }
    return out;
  }

  private advance(): void {
    const bucket = Math.floor(this.now() / BUCKET_MS);
    if (bucket === this.currentBucket) return;
    const steps = Math.min(bucket - this.currentBucket, BUCKETS);
    for (let i = 1; i <= steps; i++) this.counts[(this.currentBucket + i) % BUCKETS] = 0;
    this.currentBucket = bucket;
  }
}
