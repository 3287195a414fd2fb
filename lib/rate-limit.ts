/**
 * Rate limits for what a long-running part tells its user: a flood of identical warnings or
 * error reports at 100k events/s would drown the log and the user's Catch flow.
 */

/** Lets something through at most once per interval (the first time at once). */
export class IntervalGate {
  private last = -Infinity;

  constructor(private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  /** True (and the interval starts again) when the last pass is at least one interval ago. */
  tryPass(): boolean {
    const at = this.now();
    if (at - this.last < this.intervalMs) return false;
    this.last = at;
    return true;
  }

  /** The next `tryPass` passes, whenever it comes. */
  open(): void {
    this.last = -Infinity;
  }
}

/** Counts occurrences and reports their sum at most once per interval (the first at once). */
export class SummedReport {
  private count = 0;
  private readonly gate: IntervalGate;

  constructor(intervalMs: number, private readonly report: (count: number) => void, now?: () => number) {
    this.gate = new IntervalGate(intervalMs, now);
  }

  add(count: number): void {
    this.count += count;
    if (!this.gate.tryPass()) return;
    const sum = this.count;
    this.count = 0;
    this.report(sum);
  }
}

/**
 * A standing condition (e.g. a final failure a sink is stuck in) told again to whoever asks
 * while it lasts, at most once per interval; a new condition is told at once.
 */
export class StandingNotice<T> {
  private value: T | undefined;
  private readonly gate: IntervalGate;

  constructor(intervalMs: number, now?: () => number) {
    this.gate = new IntervalGate(intervalMs, now);
  }

  raise(value: T): void {
    this.value = value;
    this.gate.open();
  }

  clear(): void {
    this.value = undefined;
  }

  /** The condition, when one stands and it was not told within the interval; else undefined. */
  due(): T | undefined {
    if (this.value === undefined || !this.gate.tryPass()) return undefined;
    return this.value;
  }
}
