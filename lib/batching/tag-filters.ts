/**
 * The per-tag filter path (stages 2-5 in tag-batcher.ts): debounce, then deadband, drop
 * repeats, min interval and swinging door as the tag's compression rule says, and the bounded
 * per-tag state with its least-recently-seen eviction.
 */
import { BatchOutput } from './batch-output';
import type { Item, State } from './batcher-state';
import { isHistorical, numericValueOf, tagKeyOf, timestampOf, valueClassOf } from './event-fields';
import { SwingingDoor } from './swinging-door';
import { passDeadband, passRepeat, TagState } from './tag-state';

export abstract class TagFilters<O> extends BatchOutput<O> {
  protected accept(item: Item<O>, now: number): void {
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

  protected afterDebounce(state: State<O>, item: Item<O>, now: number): void {
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

  protected endDebounce(state: State<O>): void {
    const item = state.pending;
    if (!item) return;
    state.pending = undefined;
    this.held--;
    this.counters.debounce.out++;
    this.afterDebounce(state, item, this.now());
  }

  protected releaseHold(state: State<O>): void {
    state.holdScheduled = false;
    const item = state.door?.release();
    if (!item) return;
    this.held--;
    this.counters.swingingDoor.out++;
    state.rule.counters.out++;
    this.enqueue(item);
  }

  protected stateFor(key: string): State<O> {
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
  protected evictLeastRecent(): void {
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
}
