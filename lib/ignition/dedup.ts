/**
 * A bounded window of recently seen event ids, so that resent batches (the original 8.1 script
 * resends every delivered batch; a read timeout after we accepted also causes a resend) cost
 * nothing downstream.
 *
 * An id can be remembered while its delivery is still pending: a resend that arrives before the
 * first copy became durable must not be answered 200 on the strength of a delivery that may
 * still fail, so it waits for the same outcome. When a delivery fails, its ids are forgotten and
 * the next resend goes through again. Oldest ids are evicted first (a ring, FIFO).
 */

/** Settles true when the events became durable, false when their delivery failed. */
export type PendingDelivery = Promise<boolean>;

export type SeenState = 'new' | 'known' | 'pending';

// shared answers: lookup runs for every event received
const NEW = Object.freeze({ state: 'new' as const });
const KNOWN = Object.freeze({ state: 'known' as const });

export class DedupWindow {
  private readonly entries = new Map<string, PendingDelivery | null>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.entries.size;
  }

  /** What the window knows of `id`; a pending delivery is returned so that callers can wait. */
  lookup(id: string): { state: 'new' } | { state: 'known' } | { state: 'pending'; delivery: PendingDelivery } {
    const e = this.entries.get(id);
    if (e === undefined) return NEW;
    return e === null ? KNOWN : { state: 'pending', delivery: e };
  }

  /** Remembers `id`, optionally as pending until `delivery` settles. */
  remember(id: string, delivery?: PendingDelivery): void {
    if (this.capacity <= 0) return;
    if (this.entries.has(id)) {
      this.entries.set(id, delivery ?? null);
      return;
    }
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.entries.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.entries.set(id, delivery ?? null);
  }

  /** The delivery of these ids succeeded: they are plain known ids from now on. */
  confirm(ids: readonly string[], delivery: PendingDelivery): void {
    for (const id of ids) if (this.entries.get(id) === delivery) this.entries.set(id, null);
  }

  /**
   * The delivery of these ids failed: forget them so that a resend is accepted. Their ring slots
   * stay until overwritten; if such an id is remembered again meanwhile, the stale slot may evict
   * it early, which only lets one more duplicate through (at-least-once is kept).
   */
  forget(ids: readonly string[], delivery: PendingDelivery): void {
    for (const id of ids) if (this.entries.get(id) === delivery) this.entries.delete(id);
  }

  /** Forgets these ids whatever their state (events that never left this node). */
  drop(ids: readonly string[]): void {
    for (const id of ids) this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
    this.ring.fill(undefined);
    this.next = 0;
  }
}
