/**
 * A bounded window of recently seen event ids, so that resent batches (the original 8.1 script
 * resends every delivered batch; a read timeout after we accepted also causes a resend) cost
 * nothing downstream.
 *
 * An id can be remembered while its delivery is still pending: a resend that arrives before the
 * first copy became durable must not be answered 200 on the strength of a delivery that may
 * still fail, so it waits for the same outcome. When a delivery fails, its ids are forgotten and
 * the next resend goes through again. Oldest ids are evicted first (a ring, FIFO).
 *
 * This runs for every event received, so ids are kept as 128-bit keys (four int32 words,
 * `dedupKey`) in an open-addressing table of typed arrays: no id text, no Map entry and no
 * string hashing per event, and nothing for the garbage collector to trace but one array of
 * pending deliveries. Keys are passed as `keys[4*i .. 4*i+3]` of a caller's Int32Array.
 */

/** Settles true when the events became durable, false when their delivery failed. */
export type PendingDelivery = Promise<boolean>;

export type SeenState = 'new' | 'known' | 'pending';

// shared answers: lookup runs for every event received
const NEW = Object.freeze({ state: 'new' as const });
const KNOWN = Object.freeze({ state: 'known' as const });

export class DedupWindow {
  /** table slots (a power of two, at least twice the capacity: short probe runs) */
  private readonly slots: number;
  private readonly mask: number;
  private readonly keys: Int32Array;
  private readonly used: Uint8Array;
  /** per slot: the pending delivery, or null for a plain known id (also when its delivery is in `confirmed`) */
  private readonly state: (PendingDelivery | null)[];
  /** deliveries that succeeded; weak, so that a delivery no slot holds any more can go */
  private readonly confirmed = new WeakSet<PendingDelivery>();
  /** ids in the order they were first remembered, for FIFO eviction */
  private readonly ring: Int32Array;
  private ringFilled = 0;
  private next = 0;
  private count = 0;
  /** bumped by every change, so that a persisted copy knows whether it is behind */
  private changes = 0;

  constructor(readonly capacity: number) {
    const cap = Math.max(0, Math.floor(capacity));
    let slots = 2;
    while (slots < cap * 2) slots *= 2;
    this.slots = slots;
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * 4);
    this.used = new Uint8Array(slots);
    this.state = new Array<PendingDelivery | null>(slots).fill(null);
    this.ring = new Int32Array(Math.max(1, cap) * 4);
  }

  get size(): number {
    return this.count;
  }

  /** Changes so far (remember, forget, drop, clear): a saved snapshot is current while this is unchanged. */
  get version(): number {
    return this.changes;
  }

  /**
   * The ids whose delivery is done (plain known ids), oldest first, four words each: what may
   * be remembered across a restart. Ids still pending are left out: their delivery may yet fail.
   */
  knownIds(): Int32Array {
    const ring = this.ring;
    const slotsInRing = ring.length / 4;
    const out = new Int32Array(4 * this.ringFilled); // an id forgotten and remembered again is in the ring twice
    let n = 0;
    // the oldest entry is at `next` once the ring has wrapped, else at 0
    const start = this.ringFilled < slotsInRing ? 0 : this.next;
    // ids next to each other in the ring mostly came in one request, with one delivery: ask the
    // WeakSet once per run of them, not once per id (this runs over the whole window, on the main thread)
    let last: PendingDelivery | null = null;
    let lastConfirmed = true;
    for (let k = 0; k < this.ringFilled; k++) {
      const r = 4 * ((start + k) % slotsInRing);
      const slot = this.find(ring, r);
      if (slot < 0) continue; // forgotten since
      const delivery = this.state[slot];
      if (delivery !== last) {
        last = delivery;
        lastConfirmed = delivery === null || this.confirmed.has(delivery);
      }
      if (!lastConfirmed) continue;
      const o = 4 * n++;
      out[o] = ring[r];
      out[o + 1] = ring[r + 1];
      out[o + 2] = ring[r + 2];
      out[o + 3] = ring[r + 3];
    }
    return out.subarray(0, 4 * n);
  }

  /** Remembers saved ids (knownIds() of an earlier run), oldest first, behind nothing newer than them. */
  restore(ids: Int32Array): void {
    for (let i = 0; 4 * i < ids.length; i++) {
      if (this.find(ids, 4 * i) < 0) this.remember(ids, i);
    }
  }

  /** What the window knows of id `i` of `keys`; a pending delivery is returned so that callers can wait. */
  lookup(keys: Int32Array, i: number): { state: 'new' } | { state: 'known' } | { state: 'pending'; delivery: PendingDelivery } {
    const slot = this.find(keys, 4 * i);
    if (slot < 0) return NEW;
    const delivery = this.state[slot];
    if (delivery === null) return KNOWN;
    if (this.confirmed.has(delivery)) {
      this.state[slot] = null;
      return KNOWN;
    }
    return { state: 'pending', delivery };
  }

  /** Remembers id `i` of `keys`, optionally as pending until `delivery` settles. */
  remember(keys: Int32Array, i: number, delivery?: PendingDelivery): void {
    if (this.capacity <= 0) return;
    this.changes++;
    const at = 4 * i;
    const found = this.find(keys, at);
    if (found >= 0) {
      this.state[found] = delivery ?? null;
      return;
    }
    const ring = this.ring;
    const r = 4 * this.next;
    if (this.ringFilled > this.next) {
      const evicted = this.find(ring, r);
      if (evicted >= 0) this.remove(evicted);
    } else {
      this.ringFilled++;
    }
    ring[r] = keys[at];
    ring[r + 1] = keys[at + 1];
    ring[r + 2] = keys[at + 2];
    ring[r + 3] = keys[at + 3];
    this.next = (this.next + 1) % (ring.length / 4);
    this.insert(keys, at, delivery ?? null);
  }

  /**
   * `delivery` succeeded: the ids remembered with it are plain known ids from now on. Marked
   * once per delivery, not per id: a lookup that meets one of its ids clears the slot then (a
   * pass over every id of every request cost ≈ 0.15 µs per event, mostly cache misses in the
   * table, for ids that are rarely looked up again). A confirmed delivery is never remembered
   * again: each request makes its own.
   */
  confirm(delivery: PendingDelivery): void {
    this.changes++;
    this.confirmed.add(delivery);
  }

  /**
   * The delivery of the first `n` ids of `keys` failed: forget them so that a resend is
   * accepted. Their ring slots stay until overwritten; if such an id is remembered again
   * meanwhile, the stale slot may evict it early, which only lets one more duplicate through
   * (at-least-once is kept).
   */
  forget(keys: Int32Array, n: number, delivery: PendingDelivery): void {
    if (this.confirmed.has(delivery)) return; // its ids are known ids, not its any more
    this.changes++;
    for (let i = 0; i < n; i++) {
      const slot = this.find(keys, 4 * i);
      if (slot >= 0 && this.state[slot] === delivery) this.remove(slot);
    }
  }

  /** Forgets the first `n` ids of `keys` whatever their state (events that never left this node). */
  drop(keys: Int32Array, n: number): void {
    this.changes++;
    for (let i = 0; i < n; i++) {
      const slot = this.find(keys, 4 * i);
      if (slot >= 0) this.remove(slot);
    }
  }

  clear(): void {
    this.changes++;
    this.used.fill(0);
    this.state.fill(null);
    this.ringFilled = 0;
    this.next = 0;
    this.count = 0;
  }

  // ---- open addressing with linear probing ----

  /** Home slot: the words are hash output, so any of their bits are uniform. */
  private home(words: Int32Array, at: number): number {
    return (words[at] ^ words[at + 3]) & this.mask;
  }

  private find(words: Int32Array, at: number): number {
    const k0 = words[at], k1 = words[at + 1], k2 = words[at + 2], k3 = words[at + 3];
    const keys = this.keys;
    const used = this.used;
    let slot = (k0 ^ k3) & this.mask;
    while (used[slot] !== 0) {
      const j = 4 * slot;
      if (keys[j] === k0 && keys[j + 1] === k1 && keys[j + 2] === k2 && keys[j + 3] === k3) return slot;
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  private insert(words: Int32Array, at: number, delivery: PendingDelivery | null): void {
    let slot = this.home(words, at);
    while (this.used[slot] !== 0) slot = (slot + 1) & this.mask;
    const j = 4 * slot;
    this.keys[j] = words[at];
    this.keys[j + 1] = words[at + 1];
    this.keys[j + 2] = words[at + 2];
    this.keys[j + 3] = words[at + 3];
    this.used[slot] = 1;
    this.state[slot] = delivery;
    this.count++;
  }

  /** Deletes a slot and shifts the rest of its probe run back, so no lookup stops early. */
  private remove(slot: number): void {
    const { keys, used, state, mask } = this;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      if (used[j] === 0) break;
      const home = this.home(keys, 4 * j);
      // j's entry may move into the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      keys.copyWithin(4 * hole, 4 * j, 4 * j + 4);
      state[hole] = state[j];
      hole = j;
    }
    used[hole] = 0;
    state[hole] = null;
    this.count--;
  }
}
