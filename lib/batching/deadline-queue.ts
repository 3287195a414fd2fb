/**
 * A FIFO of deadlines. Every deadline the batcher sets is "now + a constant" (debounce window,
 * swinging-door hold limit), so entries arrive in deadline order and a plain queue replaces
 * a heap. Entries that no longer apply are skipped by the consumer (generation check).
 */
export interface Deadline<T> {
  at: number;
  target: T;
  generation: number;
}

export class DeadlineQueue<T> {
  private items: Deadline<T>[] = [];
  private head = 0;

  push(at: number, target: T, generation: number): void {
    this.items.push({ at, target, generation });
  }

  /** Deadline of the first entry, or undefined when empty. */
  peekAt(): number | undefined {
    return this.head < this.items.length ? this.items[this.head].at : undefined;
  }

  /** Removes and returns the first entry if it is due at `now`. */
  popDue(now: number): Deadline<T> | undefined {
    if (this.head >= this.items.length || this.items[this.head].at > now) return undefined;
    const entry = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}
