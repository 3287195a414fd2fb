/**
 * Exponential backoff with jitter between reconnection attempts (no cap on attempts): the
 * Zerobus stream's and the Sparkplug host's MQTT connection's.
 */
export interface BackoffOptions { initialMs?: number; maxMs?: number; multiplier?: number; jitter?: number }

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private current: number;

  constructor(opts: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initialMs = Math.max(0, opts.initialMs ?? 500);
    this.maxMs = Math.max(this.initialMs, opts.maxMs ?? 30_000);
    this.multiplier = Math.max(1, opts.multiplier ?? 2);
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
    this.current = this.initialMs;
  }

  /** Delay before the next attempt; grows until `maxMs`. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.maxMs, this.current * this.multiplier);
    const spread = base * this.jitter;
    return Math.max(0, Math.round(base - spread + 2 * spread * this.random()));
  }

  reset(): void {
    this.current = this.initialMs;
  }
}
