/**
 * TagBatcher: packs tag events into batches and thins them per tag on the way.
 *
 * Path of one event (each stage optional, in this order):
 *   1. no tagPath, or `historical: true`  → straight to the output buffer, unfiltered
 *   2. debounce       the newest value of the tag within the window, emitted at the window's end
 *   3. deadband       absolute and percent, against the last value that passed the deadband
 *   4. drop repeats   same value, quality and type as the last value that passed this stage
 *   4b. min interval  too soon (event time) after the tag's last value that went on
 *                     (stages 3–5 follow the tag's compression rule: compression-rules.ts; a
 *                     value stages 3–4b would drop passes as a heartbeat past the rule's max interval)
 *   5. swinging door  only archived points go on
 *   6. output buffer  → a batch when `size` events, the `maxBytes` budget, or `intervalMs` after
 *                       the first buffered event is reached, whichever comes first
 * Events dropped at 2–5 settle their delivery tickets at once (dropping on purpose is the
 * delivery the user asked for). Emitted batches carry the merged tickets of their events.
 *
 * Memory is bounded: per-tag state is kept for at most `maxTags` tags (the least recently
 * seen is evicted, its held values emitted first); while the downstream is blocked the output
 * buffer holds at most `maxBuffered` events and further input is refused, untouched, so that
 * its tickets stay open and its sender can retry.
 *
 * TagBatcher is built in layers, a class and a file each, every one extending the one before:
 * its state and ticket accounting (batcher-state.ts), the output buffer and batch assembly
 * (batch-output.ts), the per-tag filter path (tag-filters.ts). This class adds the public API
 * and the timers that end debounce windows, release held snapshots and flush by interval.
 */
import { distributeTickets, settleShare } from './item-tickets';
import type { Item, Parcel } from './batcher-state';
import type { FlushReason, PushMeta, PushResult, BatcherStats } from './types';
import { TagFilters } from './tag-filters';

export class TagBatcher<O = unknown> extends TagFilters<O> {
  /** Takes one tag event or an array of them. Refused input is left untouched (tickets open). */
  push(input: unknown, meta: PushMeta<O> = {}): PushResult {
    const events = Array.isArray(input) ? input : [input];
    const n = events.length;
    if (this.closed) return { accepted: false, reason: 'closed', buffered: this.bufferedCount, maxBuffered: this.options.maxBuffered };
    if (this.bufferedCount + n > this.options.maxBuffered && this.bufferedCount > 0) {
      this.drain(false);
      if (this.bufferedCount + n > this.options.maxBuffered && this.isBlocked?.()) {
        this.blocked = true;
        this.counters.refused += n;
        this.schedule();
        return { accepted: false, reason: 'full', buffered: this.bufferedCount, maxBuffered: this.options.maxBuffered };
      }
    }
    if (n === 0) {
      // nothing to carry the tickets on: settle them, the message is complete
      if (meta.tickets) for (const id of Object.keys(meta.tickets)) this.tracker.settle(id, meta.tickets[id]);
      this.callLeft(meta.onLeft);
      return { accepted: true, events: 0 };
    }
    const parcel: Parcel<O> | undefined =
      meta.onLeft || meta.origin !== undefined ? { remaining: n, onLeft: meta.onLeft, origin: meta.origin } : undefined;
    const shareOf = distributeTickets(meta.tickets, n);
    const now = this.perTag ? this.now() : 0;
    for (let i = 0; i < n; i++) this.accept({ event: events[i], share: shareOf(i), parcel, bytes: 0 }, now);
    this.drain(false);
    this.schedule();
    return { accepted: true, events: n };
  }

  /**
   * Emits everything now, ignoring a blocked downstream: ends open debounce windows (their
   * values still pass the later filters), archives held swinging-door snapshots, then empties
   * the output buffer in batches.
   */
  flush(reason: FlushReason = 'flush'): void {
    if (this.held > 0) {
      for (const state of this.tags.values()) this.endDebounce(state);
      for (const state of this.tags.values()) this.releaseHold(state);
    }
    while (this.bufferedCount > 0) this.emitBatch(reason);
    this.retryAt = undefined;
    this.afterEmit();
    this.schedule();
  }

  /**
   * Drops every buffered and held event and forgets all per-tag state. The dropped events'
   * tickets are settled as done: the user asked for them to be discarded.
   */
  reset(): number {
    let dropped = 0;
    const drop = (item: Item<O> | undefined) => {
      if (!item) return;
      dropped++;
      settleShare(this.tracker, item.share);
      this.leave(item);
    };
    const buffered = this.out.slice(this.outHead);
    this.clearBuffer();
    for (const state of this.tags.values()) {
      drop(state.pending);
      drop(state.door?.release());
      state.evicted = true;
    }
    this.tags.clear();
    this.debounceQueue.clear();
    this.holdQueue.clear();
    this.held = 0;
    this.retryAt = undefined;
    for (const item of buffered) drop(item);
    this.counters.resetDropped += dropped;
    this.schedule();
    return dropped;
  }

  /**
   * Stops the timers and takes no more input. With `emit` (the downstream can accept) it
   * flushes everything; without, held events are abandoned: their tickets stay open so that
   * their senders retry, and their inputs' onLeft is still called. Returns the counts.
   */
  close(emit: boolean): { emitted: number; abandoned: number } {
    if (this.closed) return { emitted: 0, abandoned: 0 };
    const before = this.counters.out;
    let abandoned = 0;
    if (emit) {
      this.flush('close');
    } else {
      const items: Item<O>[] = this.out.slice(this.outHead);
      this.clearBuffer();
      for (const state of this.tags.values()) {
        if (state.pending) items.push(state.pending);
        const h = state.door?.release();
        if (h) items.push(h);
      }
      abandoned = items.length;
      for (const item of items) this.leave(item);
    }
    this.closed = true;
    this.tags.clear();
    this.debounceQueue.clear();
    this.holdQueue.clear();
    this.held = 0;
    this.clearTimer();
    return { emitted: this.counters.out - before, abandoned };
  }

  /** Events in the output buffer plus events held by filters. */
  get pendingCount(): number {
    return this.bufferedCount + this.held;
  }

  /** The batching settings in effect (for configuration reports). */
  settingsView(): { size: number; intervalMs: number; maxBuffered: number } {
    const o = this.options;
    return { size: o.size, intervalMs: o.intervalMs, maxBuffered: o.maxBuffered };
  }

  stats(): BatcherStats {
    const c = this.counters;
    return {
      in: c.in, out: c.out, passThrough: c.passThrough, filtered: c.filtered, batches: c.batches,
      buffered: this.bufferedCount, held: this.held, tags: this.tags.size, evictedTags: c.evictedTags,
      refused: c.refused, resetDropped: c.resetDropped, blocked: this.blocked,
      filters: {
        debounce: { ...c.debounce }, deadband: { ...c.deadband }, repeats: { ...c.repeats }, swingingDoor: { ...c.swingingDoor }, minInterval: { ...c.minInterval },
      },
      rules: this.rules.stats(),
    };
  }

  // ---- timers --------------------------------------------------------------------------------

  private schedule(): void {
    if (this.closed) return;
    let next = Infinity;
    if (this.bufferedCount > 0) {
      if (this.retryAt !== undefined) next = this.retryAt;
      else if (this.options.intervalMs > 0 && this.firstBufferedAt !== undefined) next = this.firstBufferedAt + this.options.intervalMs;
    }
    const d = this.debounceQueue.peekAt();
    if (d !== undefined && d < next) next = d;
    const h = this.holdQueue.peekAt();
    if (h !== undefined && h < next) next = h;
    if (next === Infinity) {
      this.clearTimer();
      return;
    }
    if (this.timer !== undefined && this.armedAt <= next) return;
    this.clearTimer();
    this.armedAt = next;
    this.timer = this.timers.setTimeout(() => this.onTimer(), Math.max(0, next - this.now()));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.closed) return;
    const now = this.now();
    for (let e = this.debounceQueue.popDue(now); e; e = this.debounceQueue.popDue(now)) {
      const state = e.target;
      if (!state.evicted && state.debounceGen === e.generation) this.endDebounce(state);
    }
    for (let e = this.holdQueue.popDue(now); e; e = this.holdQueue.popDue(now)) {
      const state = e.target;
      if (!state.evicted && state.holdScheduled && state.holdGen === e.generation) this.releaseHold(state);
    }
    if (this.retryAt !== undefined && this.retryAt <= now) this.retryAt = undefined;
    const intervalDue =
      this.retryAt === undefined &&
      this.options.intervalMs > 0 &&
      this.firstBufferedAt !== undefined &&
      now >= this.firstBufferedAt + this.options.intervalMs;
    if (this.retryAt === undefined) this.drain(intervalDue);
    this.schedule();
  }
}
