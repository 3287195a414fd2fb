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
 */
import { deliveryTracker, type TicketCounts } from '../delivery/tickets';
import { DeadlineQueue } from './deadline-queue';
import { approxEventBytes, isHistorical, numericValueOf, tagKeyOf, timestampOf, valueClassOf } from './event-fields';
import { addShare, distributeTickets, settleShare, type TicketShare } from './item-tickets';
import { resolveBatcherOptions, type BatcherOptions, type BatcherTimers, type ResolvedBatcherOptions } from './options';
import { SwingingDoor, type DoorOutcome, type DoorPoint } from './swinging-door';
import { CompressionRules } from './compression-rules';
import { passDeadband, passRepeat, TagState } from './tag-state';
import type { BatcherHandlers, BatcherStats, FlushReason, PushMeta, PushResult } from './types';

interface Parcel<O> {
  remaining: number;
  onLeft: (() => void) | undefined;
  origin: O | undefined;
}

interface Item<O> {
  event: unknown;
  share: TicketShare;
  parcel: Parcel<O> | undefined;
  bytes: number;
}

type State<O> = TagState<Item<O>>;

const defaultTimers: BatcherTimers = {
  // looked up at call time so that fake timers installed after construction still apply
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class TagBatcher<O = unknown> {
  readonly options: ResolvedBatcherOptions;
  private readonly now: () => number;
  private readonly timers: BatcherTimers;
  private readonly isBlocked: (() => boolean) | undefined;
  private readonly tracker: NonNullable<BatcherOptions['tracker']>;
  private readonly perTag: boolean;
  private readonly rules: CompressionRules;

  private out: Item<O>[] = [];
  private outHead = 0;
  private outBytes = 0;
  private firstBufferedAt: number | undefined;
  private retryAt: number | undefined;
  private blocked = false;

  private readonly tags = new Map<string, State<O>>();
  private readonly debounceQueue = new DeadlineQueue<State<O>>();
  private readonly holdQueue = new DeadlineQueue<State<O>>();
  private held = 0;
  private accessSeq = 0;

  private timer: unknown;
  private armedAt = Infinity;
  private closed = false;
  private readonly doorOut: DoorOutcome<Item<O>> = { archive: [], discard: [] };
  private readonly doorPoint: DoorPoint = { t: 0, v: undefined, cls: '' };

  private readonly counters = {
    in: 0, out: 0, passThrough: 0, filtered: 0, batches: 0, evictedTags: 0, refused: 0, resetDropped: 0,
    debounce: { in: 0, out: 0 }, deadband: { in: 0, out: 0 }, repeats: { in: 0, out: 0 }, swingingDoor: { in: 0, out: 0 }, minInterval: { in: 0, out: 0 },
  };

  constructor(options: BatcherOptions, private readonly handlers: BatcherHandlers<O>) {
    this.options = resolveBatcherOptions(options);
    this.now = options.now ?? (() => Date.now());
    this.timers = options.timers ?? defaultTimers;
    this.isBlocked = options.isBlocked;
    this.tracker = options.tracker ?? deliveryTracker;
    const o = this.options;
    this.rules = new CompressionRules(options.rules, o);
    this.perTag = o.debounceMs > 0 || this.rules.active;
  }

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

  // ---- the filter path -------------------------------------------------------------------

  private accept(item: Item<O>, now: number): void {
    this.counters.in++;
    const key = this.perTag ? tagKeyOf(item.event) : undefined;
    if (key === undefined || isHistorical(item.event)) {
      if (this.perTag) this.counters.passThrough++;
      this.enqueue(item);
      return;
    }
    const state = this.stateFor(key);
    if (this.options.debounceMs > 0) {
      this.counters.debounce.in++;
      if (state.pending) {
        this.drop(state.pending);
      } else {
        this.held++;
        state.debounceGen++;
        this.debounceQueue.push(now + this.options.debounceMs, state, state.debounceGen);
      }
      state.pending = item;
      return;
    }
    this.afterDebounce(state, item, now);
  }

  private afterDebounce(state: State<O>, item: Item<O>, now: number): void {
    const rule = state.rule;
    const rc = rule.counters;
    const c = this.counters;
    const event = item.event;
    const v = numericValueOf(event);
    const cls = valueClassOf(event);
    const sd = rule.swingingDoor;
    const t = sd || rule.minIntervalMs > 0 || rule.maxIntervalMs > 0 ? timestampOf(event, now) : 0;
    rc.in++;
    let keep = true;
    if (rule.deadband > 0 || rule.deadbandPercent > 0) {
      c.deadband.in++;
      keep = passDeadband(state, v, cls, rule.deadband, rule.deadbandPercent);
      if (keep) c.deadband.out++;
    }
    if (keep && rule.dropRepeats) {
      c.repeats.in++;
      keep = passRepeat(state, (event as { value?: unknown }).value, cls);
      if (keep) c.repeats.out++;
    }
    if (keep && rule.minIntervalMs > 0) {
      c.minInterval.in++;
      keep = !(state.hasPass && state.passCls === cls && t - state.passT < rule.minIntervalMs);
      if (keep) c.minInterval.out++;
    }
    if (!keep) {
      if (!(rule.maxIntervalMs > 0 && state.hasPass && t - state.passT >= rule.maxIntervalMs)) {
        rc.dropped++;
        return this.drop(item);
      }
      rc.heartbeats++;
    }
    state.hasPass = true;
    state.passT = t;
    state.passCls = cls;
    if (!sd) {
      rc.out++;
      return this.enqueue(item);
    }
    c.swingingDoor.in++;
    state.door ??= new SwingingDoor<Item<O>>(sd.deviation, sd.maxIntervalMs);
    const door = state.door;
    const wasHolding = door.holding;
    const out = this.doorOut;
    const point = this.doorPoint;
    point.t = t;
    point.v = v;
    point.cls = cls;
    door.offer(point, item, out);
    this.held += (door.holding ? 1 : 0) - (wasHolding ? 1 : 0);
    for (const archived of out.archive) {
      c.swingingDoor.out++;
      rc.out++;
      this.enqueue(archived);
    }
    for (const discarded of out.discard) {
      rc.dropped++;
      this.drop(discarded);
    }
    out.archive.length = 0;
    out.discard.length = 0;
    if (door.holding && !state.holdScheduled && sd.maxIntervalMs > 0) {
      // bound the wall-clock time a value may sit as the snapshot of a tag that went quiet
      state.holdScheduled = true;
      state.holdGen++;
      this.holdQueue.push(now + sd.maxIntervalMs, state, state.holdGen);
    }
  }

  private endDebounce(state: State<O>): void {
    const item = state.pending;
    if (!item) return;
    state.pending = undefined;
    this.held--;
    this.counters.debounce.out++;
    this.afterDebounce(state, item, this.now());
  }

  private releaseHold(state: State<O>): void {
    state.holdScheduled = false;
    const item = state.door?.release();
    if (!item) return;
    this.held--;
    this.counters.swingingDoor.out++;
    state.rule.counters.out++;
    this.enqueue(item);
  }

  private stateFor(key: string): State<O> {
    const seq = ++this.accessSeq;
    let state = this.tags.get(key);
    if (state) {
      state.seen = seq;
      return state;
    }
    if (this.tags.size >= this.options.maxTags) this.evictLeastRecent();
    state = new TagState<Item<O>>();
    state.rule = this.rules.ruleFor(key);
    state.seen = state.queued = seq;
    this.tags.set(key, state);
    return state;
  }

  /**
   * Evicts the least recently seen tag. Re-ordering the Map on every event would cost more
   * than all the filters, so the Map stays in insertion order and eviction gives a "second
   * chance" instead: a tag at the front that was seen since it was queued moves to the back
   * (in the order found), and the first one not seen since it was queued is
   * evicted. Amortised O(1) per event.
   */
  private evictLeastRecent(): void {
    for (;;) {
      const first = this.tags.entries().next();
      if (first.done) return;
      const [key, state] = first.value;
      this.tags.delete(key);
      if (state.seen > state.queued) {
        state.queued = ++this.accessSeq;
        this.tags.set(key, state);
        continue;
      }
      // its held values are emitted, never lost; only the comparison references are forgotten
      this.endDebounce(state);
      this.releaseHold(state);
      state.evicted = true;
      this.counters.evictedTags++;
      return;
    }
  }

  private drop(item: Item<O>): void {
    this.counters.filtered++;
    settleShare(this.tracker, item.share);
    this.leave(item);
  }

  private leave(item: Item<O>): void {
    const parcel = item.parcel;
    if (parcel && --parcel.remaining === 0) this.callLeft(parcel.onLeft);
  }

  private callLeft(onLeft: (() => void) | undefined): void {
    if (!onLeft) return;
    try {
      onLeft();
    } catch (err) {
      this.handlers.onError?.(err);
    }
  }

  // ---- output buffer and batches -----------------------------------------------------------

  private get bufferedCount(): number {
    return this.out.length - this.outHead;
  }

  private enqueue(item: Item<O>): void {
    if (this.options.maxBytes > 0) {
      item.bytes = approxEventBytes(item.event);
      this.outBytes += item.bytes;
    }
    if (this.bufferedCount === 0) this.firstBufferedAt = this.now();
    this.out.push(item);
  }

  private clearBuffer(): void {
    this.out = [];
    this.outHead = 0;
    this.outBytes = 0;
    this.firstBufferedAt = undefined;
  }

  /** Emits the full batches (and all the rest when the interval is due) unless blocked. */
  private drain(intervalDue: boolean): void {
    const o = this.options;
    let emitted = false;
    let checked = false;
    while (this.bufferedCount > 0) {
      const full = this.bufferedCount >= o.size || (o.maxBytes > 0 && this.outBytes > o.maxBytes);
      if (!full && !intervalDue) break;
      if (!checked && this.isBlocked) {
        checked = true;
        this.blocked = this.isBlocked();
        if (this.blocked) {
          this.retryAt = this.now() + o.blockedRetryMs;
          break;
        }
        this.retryAt = undefined;
      }
      this.emitBatch(full ? 'size' : 'interval');
      emitted = true;
    }
    if (emitted) this.afterEmit();
  }

  private afterEmit(): void {
    if (this.bufferedCount === 0) this.clearBuffer();
    // what remains after a cut counts its interval from now
    else this.firstBufferedAt = this.now();
    if (this.outHead > 4096 && this.outHead * 2 > this.out.length) {
      this.out = this.out.slice(this.outHead);
      this.outHead = 0;
    }
  }

  /** Takes the next batch from the front of the buffer: at most `size` events and `maxBytes`. */
  private emitBatch(fallbackReason: FlushReason): void {
    const o = this.options;
    const start = this.outHead;
    const limit = Math.min(this.out.length, start + o.size);
    let end = start;
    let bytes = 0;
    let cutByBytes = false;
    if (o.maxBytes > 0) {
      while (end < limit) {
        const b = this.out[end].bytes;
        if (end > start && bytes + b > o.maxBytes) {
          cutByBytes = true;
          break;
        }
        bytes += b;
        end++;
      }
    } else {
      end = limit;
    }
    const reason: FlushReason = fallbackReason === 'size' && cutByBytes ? 'bytes' : fallbackReason;
    const items = this.out.slice(start, end);
    this.outHead = end;
    this.outBytes -= bytes;
    const events = new Array<unknown>(items.length);
    let tickets: TicketCounts | undefined;
    // The events of one message usually share one share object: added once per run of them,
    // not once per event (a keyed update of the counts object per event showed in profiles).
    let run: TicketShare | undefined;
    let runLength = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      events[i] = item.event;
      if (item.share === run) {
        runLength++;
        continue;
      }
      if (run && (run.id !== undefined || run.extra)) addShare((tickets ??= {}), run, runLength);
      run = item.share;
      runLength = 1;
    }
    if (run && (run.id !== undefined || run.extra)) addShare((tickets ??= {}), run, runLength);
    this.counters.out += items.length;
    this.counters.batches++;
    try {
      this.handlers.onBatch({ events, tickets, reason, bytes, origin: items[0].parcel?.origin });
    } catch (err) {
      this.handlers.onError?.(err);
    }
    for (const item of items) this.leave(item);
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
